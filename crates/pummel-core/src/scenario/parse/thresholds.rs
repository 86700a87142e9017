//! `thresholds`: pass/fail conditions on the run's metrics.

use std::time::Duration;

use super::decoder::{DecodeInfo, Decoder, Fields};
use crate::scenario::threshold::{Condition, Metric, Scope, Threshold};
use crate::scenario::threshold_filter::{FilterSpans, StepFilter};
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    pub(super) fn decode_thresholds(
        &mut self,
        node: &Node,
        info: &mut DecodeInfo,
    ) -> Vec<Threshold> {
        let Some(items) = self.seq(node, "`thresholds`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let (cond_node, f) = match &item.kind {
                Kind::Str(_) => (item, None),
                _ => {
                    let Some(f) = self.fields(
                        item,
                        "a threshold",
                        &[
                            "condition",
                            "scenario",
                            "step",
                            "group",
                            "tag",
                            "abort_on_fail",
                            "abort_grace",
                        ],
                    ) else {
                        continue;
                    };
                    match f.get("condition") {
                        Some(c) => (c, Some(f)),
                        None => {
                            self.missing(
                                &f,
                                f.span,
                                "a threshold needs `condition`, e.g. condition: \"p95 < 300ms\"",
                            );
                            continue;
                        }
                    }
                }
            };
            let Some(text) = self.string(cond_node, "`condition`") else {
                continue;
            };
            let condition = match Condition::parse(&text) {
                Ok(c) => c,
                Err((start, end, message)) => {
                    let span = cond_node.inner_span(self.source, start, end);
                    self.err(span, message);
                    continue;
                }
            };
            let mut threshold = Threshold {
                source: text.trim().to_owned(),
                condition,
                scope: Scope::Run,
                custom: matches!(condition.metric, Metric::Custom(_))
                    .then(|| custom_metric_name(&text))
                    .flatten(),
                filter: StepFilter::default(),
                abort_on_fail: false,
                abort_grace: Duration::ZERO,
                span: cond_node.span,
            };
            let mut spans = (None, None);
            let mut filter_spans = FilterSpans::default();
            if let Some(f) = f {
                filter_spans = self.decode_threshold_filter(&f, &mut threshold);
                let scenario = f.get("scenario").and_then(|n| self.string(n, "`scenario`"));
                let step = f.get("step").and_then(|n| self.string(n, "`step`"));
                spans = (
                    f.get("scenario").map(|n| n.span),
                    f.get("step").map(|n| n.span),
                );
                threshold.scope = match (scenario, step) {
                    (scenario, Some(step)) => Scope::Step { scenario, step },
                    (Some(s), None) => Scope::Scenario(s),
                    (None, None) => Scope::Run,
                };
                if let Some(n) = f.get("abort_on_fail") {
                    threshold.abort_on_fail = self.bool(n, "`abort_on_fail`").unwrap_or(false);
                }
                if let Some(n) = f.get("abort_grace") {
                    threshold.abort_grace = self.duration(n, "`abort_grace`").unwrap_or_default();
                    if !threshold.abort_on_fail {
                        self.err(
                            f.key_span("abort_grace"),
                            "`abort_grace` only applies with `abort_on_fail: true`",
                        );
                    }
                }
            }
            info.threshold_scopes.push(spans);
            info.threshold_filters.push(filter_spans);
            out.push(threshold);
        }
        out
    }

    /// A threshold's `group` and `tag`, and where they are written.
    fn decode_threshold_filter(
        &mut self,
        f: &Fields<'_>,
        threshold: &mut Threshold,
    ) -> FilterSpans {
        threshold.filter.group = f.get("group").and_then(|n| self.name(n, "`group`"));
        threshold.filter.tags = f
            .get("tag")
            .map(|n| self.decode_tags(n))
            .unwrap_or_default();
        let metric = threshold.condition.metric;
        if !threshold.filter.is_empty() && matches!(metric, Metric::Iterations | Metric::Dropped) {
            self.err(
                f.key_span(if f.has("group") { "group" } else { "tag" }),
                format!("`{metric}` counts a scenario's iterations: `group` and `tag` narrow a threshold to steps (scope it with `scenario`)"),
            );
        }
        FilterSpans {
            group: f.get("group").map(|n| n.span),
            tag: f.get("tag").map(|n| n.span),
        }
    }
}

/// The metric a custom-metric condition names: `basket_total` in
/// `basket_total.p95 < 500`.
fn custom_metric_name(condition: &str) -> Option<String> {
    let before_op = condition.split(['<', '>']).next()?;
    let (name, _) = before_op.trim().split_once('.')?;
    Some(name.to_owned())
}
