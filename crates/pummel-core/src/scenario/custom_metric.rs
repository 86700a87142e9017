//! Custom metrics: `metric:` steps that feed a named counter, gauge or
//! trend with a value rendered from the VU's variables (a capture, say).
//!
//! Values are kept in thousandths ([`SCALE`]), as integers: a counter is
//! then exact whatever the number of threads adding to it (for values with
//! at most three decimals), a gauge fits the engine's integer levels, and a
//! trend is an HDR histogram of the value × 1000 — the latency histogram,
//! three significant figures, so a percentile is exact to 0.1% of itself.
//! Values are non-negative; a trend counts a value below 0.001 as 0.001.

use super::diagnostic::Span;
use super::template::Template;

/// A metric value's units per unit of the value as written.
pub(crate) const SCALE: f64 = 1000.0;

/// What a custom metric does with its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricKind {
    /// Adds every value: threads' and agents' counters add up.
    Counter,
    /// Keeps the last value; the run's value is the sum of each thread's
    /// last value.
    Gauge,
    /// Keeps every value in a histogram: percentiles, mean, min, max.
    Trend,
}

impl MetricKind {
    pub(crate) const NAMES: [&'static str; 3] = ["counter", "gauge", "trend"];

    pub(crate) fn parse(text: &str) -> Option<MetricKind> {
        match text {
            "counter" => Some(MetricKind::Counter),
            "gauge" => Some(MetricKind::Gauge),
            "trend" => Some(MetricKind::Trend),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Trend => "trend",
        }
    }
}

/// A `metric:` step.
#[derive(Clone, Debug)]
pub(crate) struct MetricStep {
    pub name: String,
    pub kind: MetricKind,
    /// Rendered each time the step runs; must give a non-negative number.
    pub value: Template,
    pub span: Span,
}

/// A rendered value in thousandths, or `None` when it is not a
/// non-negative finite number.
pub(crate) fn to_units(text: &str) -> Option<u64> {
    let v: f64 = text.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0 && v * SCALE < u64::MAX as f64).then(|| (v * SCALE).round() as u64)
}

/// Thousandths back to the value as written.
pub(crate) fn from_units(units: u64) -> f64 {
    units as f64 / SCALE
}

/// A figure of a custom metric a threshold compares: `basket_total.p95`,
/// `orders.count`, `queue.value`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CustomStat {
    /// A counter's total; a trend's number of values.
    Count,
    /// A counter's total per second of the run.
    Rate,
    /// A gauge's value at the end of the run.
    Value,
    /// A trend's percentile, 0–100.
    Percentile(f64),
    Mean,
    Min,
    Max,
}

impl CustomStat {
    pub(crate) fn parse(text: &str) -> Option<CustomStat> {
        Some(match text {
            "count" => CustomStat::Count,
            "rate" => CustomStat::Rate,
            "value" => CustomStat::Value,
            "mean" | "avg" => CustomStat::Mean,
            "min" => CustomStat::Min,
            "max" => CustomStat::Max,
            "median" => CustomStat::Percentile(50.0),
            p => {
                let n: f64 = p.strip_prefix('p')?.parse().ok()?;
                if !(n > 0.0 && n <= 100.0) {
                    return None;
                }
                CustomStat::Percentile(n)
            }
        })
    }

    /// Whether a metric of `kind` has this figure.
    pub(crate) fn fits(self, kind: MetricKind) -> bool {
        match kind {
            MetricKind::Counter => matches!(self, CustomStat::Count | CustomStat::Rate),
            MetricKind::Gauge => self == CustomStat::Value,
            MetricKind::Trend => !matches!(self, CustomStat::Rate | CustomStat::Value),
        }
    }

    /// The figures a metric of `kind` has, for messages.
    pub(crate) fn names_for(kind: MetricKind) -> &'static str {
        match kind {
            MetricKind::Counter => "count, rate",
            MetricKind::Gauge => "value",
            MetricKind::Trend => "count, p50…p99.9, median, mean, min, max",
        }
    }
}

impl std::fmt::Display for CustomStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CustomStat::Count => f.write_str("count"),
            CustomStat::Rate => f.write_str("rate"),
            CustomStat::Value => f.write_str("value"),
            CustomStat::Percentile(p) => write!(f, "p{p}"),
            CustomStat::Mean => f.write_str("mean"),
            CustomStat::Min => f.write_str("min"),
            CustomStat::Max => f.write_str("max"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_in_thousandths() {
        assert_eq!(to_units("12.5"), Some(12_500));
        assert_eq!(to_units(" 0.0014 "), Some(1));
        assert_eq!(to_units("0"), Some(0));
        assert_eq!(to_units("-1"), None);
        assert_eq!(to_units("abc"), None);
        assert_eq!(to_units("NaN"), None);
        assert_eq!(to_units("inf"), None);
        assert_eq!(from_units(12_500), 12.5);
    }
}
