//! Custom metrics after the run: their figures for the result, and the
//! figure a threshold on one of them compares.

use std::collections::BTreeMap;

use super::program::{CustomMetricInfo, MetricSink, Program};
use crate::metrics::{RunMetrics, Stats};
use crate::result::MetricResult;
use crate::scenario::custom_metric::{from_units, CustomStat, MetricKind};

/// The name a custom gauge has in the layout (and the timeline).
pub(super) fn gauge_name(metric: &str) -> String {
    format!("metric:{metric}")
}

/// The figures the result keeps of each custom metric.
pub(super) fn metric_results(program: &Program, metrics: &RunMetrics) -> Vec<MetricResult> {
    let empty = BTreeMap::new();
    let gauges = metrics.timeline.last().map_or(&empty, |p| &p.gauges);
    program
        .metrics
        .iter()
        .map(|m| {
            let invalid = metrics
                .counters
                .get(m.invalid.0 as usize)
                .copied()
                .unwrap_or(0);
            let mut r = MetricResult {
                name: m.name.clone(),
                kind: m.kind.as_str().to_owned(),
                value: 0.0,
                count: None,
                trend: None,
                histogram: None,
                invalid,
            };
            match m.sink {
                MetricSink::Counter(id) => {
                    r.value = from_units(metrics.counters.get(id.0 as usize).copied().unwrap_or(0));
                }
                MetricSink::Gauge(_) => {
                    r.value = from_units(gauges.get(&gauge_name(&m.name)).copied().unwrap_or(0));
                }
                MetricSink::Trend(key) => {
                    if let Some(s) = metrics.totals.get(key.index()) {
                        let summary = s.latency.summary();
                        r.value = summary.mean;
                        r.count = Some(s.latency.len());
                        r.trend = Some(summary);
                        r.histogram = Some(s.latency.to_base64());
                    }
                }
            }
            r
        })
        .collect()
}

/// The figure `stat` of custom metric `name`; `None` when it has no value
/// yet (a trend that got no value, a gauge never set).
pub(super) fn observe(
    program: &Program,
    name: &str,
    stat: CustomStat,
    per_key: &[Stats],
    counters: &[u64],
    gauges: &BTreeMap<String, u64>,
    elapsed_s: f64,
) -> Option<f64> {
    let m: &CustomMetricInfo = program.metrics.iter().find(|m| m.name == name)?;
    match (m.sink, stat) {
        (MetricSink::Counter(id), CustomStat::Count) => Some(from_units(
            counters.get(id.0 as usize).copied().unwrap_or(0),
        )),
        (MetricSink::Counter(id), CustomStat::Rate) => (elapsed_s > 0.0)
            .then(|| from_units(counters.get(id.0 as usize).copied().unwrap_or(0)) / elapsed_s),
        (MetricSink::Gauge(_), CustomStat::Value) => {
            gauges.get(&gauge_name(name)).copied().map(from_units)
        }
        (MetricSink::Trend(key), stat) if m.kind == MetricKind::Trend => {
            let h = &per_key.get(key.index())?.latency;
            if h.is_empty() {
                return None;
            }
            let s = h.summary();
            match stat {
                CustomStat::Count => Some(h.len() as f64),
                CustomStat::Percentile(p) => Some(h.quantile_ms(p / 100.0)),
                CustomStat::Mean => Some(s.mean),
                CustomStat::Min => Some(s.min),
                CustomStat::Max => Some(s.max),
                CustomStat::Rate | CustomStat::Value => None,
            }
        }
        _ => None,
    }
}
