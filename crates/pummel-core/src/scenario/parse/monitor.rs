//! `monitor:` — the system under test's Prometheus endpoints to scrape
//! each second during the run, and the series to keep from each:
//!
//! ```yaml
//! monitor:
//!   - url: http://127.0.0.1:9100/metrics        # node_exporter
//!     series:
//!       - node_memory_MemAvailable_bytes
//!       - series: node_cpu_seconds_total{mode="idle"}
//!         rate: true        # per-second rate of a counter
//!         sum: true         # one series for all CPUs
//!         as: CPU idle      # the name in the report
//!   - url: http://127.0.0.1:8080/metrics        # no series: sensible defaults
//! ```
//!
//! A series may also be written as PromQL writes it,
//! `sum(rate(node_cpu_seconds_total{mode="idle"}))`.

use pummel_live::monitor::{EndpointUrl, MonitorTarget, SeriesSpec, MAX_ENDPOINTS};

use super::decoder::Decoder;
use crate::scenario::diagnostic::Span;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    pub(super) fn decode_monitor(&mut self, node: &Node) -> Vec<MonitorTarget> {
        let Some(items) = self.seq(node, "`monitor`") else {
            return Vec::new();
        };
        if items.len() > MAX_ENDPOINTS {
            self.err(
                node.span,
                format!(
                    "`monitor` names {} endpoints: at most {MAX_ENDPOINTS}",
                    items.len()
                ),
            );
        }
        items
            .iter()
            .take(MAX_ENDPOINTS)
            .filter_map(|item| self.decode_endpoint(item))
            .collect()
    }

    fn decode_endpoint(&mut self, node: &Node) -> Option<MonitorTarget> {
        if let Kind::Str(_) = node.kind {
            let url = self.monitor_url(node)?;
            return Some(MonitorTarget {
                url,
                series: SeriesSpec::defaults(),
            });
        }
        let f = self.fields(node, "a `monitor` entry", &["url", "series"])?;
        let Some(url_node) = f.get("url") else {
            self.err(f.span, "a `monitor` entry needs `url`: the endpoint to scrape, e.g. http://127.0.0.1:9100/metrics");
            return None;
        };
        let url = self.monitor_url(url_node);
        let series = match f.get("series") {
            Some(n) => {
                let items = self.seq(n, "`series`").unwrap_or_default();
                if items.is_empty() {
                    self.err(n.span, "`series` is empty: name the series to keep, or leave `series` out for the defaults");
                }
                items.iter().filter_map(|s| self.decode_series(s)).collect()
            }
            None => SeriesSpec::defaults(),
        };
        Some(MonitorTarget { url: url?, series })
    }

    fn monitor_url(&mut self, node: &Node) -> Option<EndpointUrl> {
        let text = self.string(node, "the monitored endpoint's `url`")?;
        EndpointUrl::parse(text.trim())
            .map_err(|e| self.err(node.span, format!("`url`: {e}")))
            .ok()
    }

    fn decode_series(&mut self, node: &Node) -> Option<SeriesSpec> {
        if let Kind::Str(_) = node.kind {
            return self.series_expr(node);
        }
        let f = self.fields(node, "a `series` entry", &["series", "rate", "sum", "as"])?;
        let Some(expr) = f.get("series") else {
            self.err(f.span, "a `series` entry needs `series`: a metric name with optional {label=\"value\"} matchers");
            return None;
        };
        let spec = self.series_expr(expr);
        let rate = f.get("rate").and_then(|n| self.bool(n, "`rate`"));
        let sum = f.get("sum").and_then(|n| self.bool(n, "`sum`"));
        let name = f.get("as").and_then(|n| self.string(n, "`as`"));
        let mut spec = spec?;
        spec.rate |= rate.unwrap_or(false);
        spec.sum |= sum.unwrap_or(false);
        spec.name = name;
        Some(spec)
    }

    /// A series expression, its error placed at the column it concerns.
    fn series_expr(&mut self, node: &Node) -> Option<SeriesSpec> {
        let text = self.string(node, "a series")?;
        match SeriesSpec::parse(&text) {
            Ok(spec) => Some(spec),
            Err(e) => {
                // A quoted scalar starts one column before its text.
                let quoted = node
                    .offset
                    .and_then(|o| self.source.as_bytes().get(o))
                    .is_some_and(|b| *b == b'"' || *b == b'\'');
                let before = text.get(..e.offset).map_or(0, |s| s.chars().count()) as u32;
                let column = node.span.column + before + u32::from(quoted);
                self.err(
                    Span::new(node.span.line, column, 1),
                    format!("series `{}`: {}", text.trim(), e.message),
                );
                None
            }
        }
    }
}
