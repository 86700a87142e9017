//! Thresholds: the pass/fail criteria that make a run a CI gate.
//!
//! A threshold is a condition on one metric, over the whole run or one
//! scenario or step: `p95 < 300ms`, `error_rate < 1%`, `checks > 99%`,
//! `rps > 100`. This module parses conditions into a typed form and says
//! whether an observed value holds; computing the observed values from the
//! run's metrics is the engine's and the report's job.

use std::fmt;
use std::time::Duration;

use super::custom_metric::CustomStat;
use super::diagnostic::Span;
use super::duration::{format_duration, parse_duration};

/// A latency statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LatencyStat {
    /// `p95`, `p99.9`: the percentile, 0–100.
    Percentile(f64),
    Mean,
    Min,
    Max,
}

/// What a threshold measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Metric {
    /// Request latency (milliseconds).
    Latency(LatencyStat),
    /// Share of requests that failed (0–1): a transport error, or a status
    /// of 400 or more.
    ErrorRate,
    /// Share of checks that passed (0–1).
    Checks,
    /// Completed requests per second over the scope's active time.
    Rps,
    /// Completed requests (a count).
    Requests,
    /// Requests that got no response at all (refused, reset, timed out,
    /// malformed): a count. HTTP error statuses are not included.
    Errors,
    /// Completed iterations (a count).
    Iterations,
    /// Open-model iterations dropped because no VU was free (a count).
    Dropped,
    /// A figure of a custom metric (`basket_total.p95`); the threshold's
    /// `custom` names the metric.
    Custom(CustomStat),
}

/// The kind of value a metric compares against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Written as a duration (`300ms`), compared in milliseconds.
    Millis,
    /// Written as `1%` or `0.01`, compared as a fraction.
    Ratio,
    /// A plain number.
    Number,
}

impl Metric {
    /// The metric names a condition may use, for messages and suggestions.
    pub(crate) const NAMES: [&'static str; 16] = [
        "p50",
        "p90",
        "p95",
        "p99",
        "p99.9",
        "median",
        "mean",
        "min",
        "max",
        "error_rate",
        "checks",
        "rps",
        "requests",
        "errors",
        "iterations",
        "dropped",
    ];

    pub(crate) fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "median" => Metric::Latency(LatencyStat::Percentile(50.0)),
            "mean" | "avg" => Metric::Latency(LatencyStat::Mean),
            "min" => Metric::Latency(LatencyStat::Min),
            "max" => Metric::Latency(LatencyStat::Max),
            "error_rate" => Metric::ErrorRate,
            "checks" => Metric::Checks,
            "rps" => Metric::Rps,
            "requests" => Metric::Requests,
            "errors" => Metric::Errors,
            "iterations" => Metric::Iterations,
            "dropped" => Metric::Dropped,
            other => {
                // `p99.9` is a latency percentile; `basket.p95` a custom
                // metric's figure.
                if let Some(CustomStat::Percentile(n)) = CustomStat::parse(other) {
                    return Some(Metric::Latency(LatencyStat::Percentile(n)));
                }
                let (name, stat) = other.split_once('.')?;
                if name.is_empty() {
                    return None;
                }
                Metric::Custom(CustomStat::parse(stat)?)
            }
        })
    }

    pub(crate) fn unit(&self) -> Unit {
        match self {
            Metric::Latency(_) => Unit::Millis,
            Metric::ErrorRate | Metric::Checks => Unit::Ratio,
            _ => Unit::Number,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Latency(LatencyStat::Percentile(p)) => write!(f, "p{p}"),
            Metric::Latency(LatencyStat::Mean) => f.write_str("mean"),
            Metric::Latency(LatencyStat::Min) => f.write_str("min"),
            Metric::Latency(LatencyStat::Max) => f.write_str("max"),
            Metric::ErrorRate => f.write_str("error_rate"),
            Metric::Checks => f.write_str("checks"),
            Metric::Rps => f.write_str("rps"),
            Metric::Requests => f.write_str("requests"),
            Metric::Errors => f.write_str("errors"),
            Metric::Iterations => f.write_str("iterations"),
            Metric::Dropped => f.write_str("dropped"),
            Metric::Custom(stat) => write!(f, "{stat}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// What part of the run a threshold looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Run,
    Scenario(String),
    /// A step by name, in one scenario or in all that have it.
    Step {
        scenario: Option<String>,
        step: String,
    },
}

/// A parsed condition: `metric op bound`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Condition {
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit: milliseconds, a fraction, or a number.
    pub bound: f64,
}

impl Condition {
    /// Whether `observed` (in the metric's unit) satisfies the condition.
    pub(crate) fn holds(&self, observed: f64) -> bool {
        match self.op {
            Op::Lt => observed < self.bound,
            Op::Le => observed <= self.bound,
            Op::Gt => observed > self.bound,
            Op::Ge => observed >= self.bound,
        }
    }

    /// Parses `p95 < 300ms`. An error carries the byte range of the
    /// offending part of `text`.
    pub(crate) fn parse(text: &str) -> Result<Condition, (usize, usize, String)> {
        let op_at = text.find(['<', '>', '=', '!']).ok_or_else(|| {
            (0, text.len(), format!("condition {text:?} has no comparison: write it like `p95 < 300ms` or `error_rate < 1%`"))
        })?;
        let name = text[..op_at].trim();
        let name_start = text.find(name).unwrap_or(0);
        let rest = &text[op_at..];
        let (op, op_len) = if rest.starts_with("<=") {
            (Op::Le, 2)
        } else if rest.starts_with(">=") {
            (Op::Ge, 2)
        } else if rest.starts_with('<') {
            (Op::Lt, 1)
        } else if rest.starts_with('>') {
            (Op::Gt, 1)
        } else {
            return Err((
                op_at,
                op_at + 2.min(rest.len()),
                "use <, <=, > or >= (a threshold is a bound)".into(),
            ));
        };
        if name.is_empty() {
            return Err((
                0,
                op_at.max(1).min(text.len()),
                "the condition names no metric, e.g. `p95 < 300ms`".into(),
            ));
        }
        let metric = Metric::parse(name).ok_or_else(|| {
            let message = super::diagnostic::with_suggestion(
                format!("unknown metric `{name}` (metrics: p50…p99.9, mean, min, max, error_rate, checks, rps, requests, errors, iterations, dropped; a custom metric's figure as `name.p95`, `name.count`, `name.value`)"),
                name,
                Metric::NAMES,
            );
            (name_start, name_start + name.len(), message)
        })?;
        let value_text = text[op_at + op_len..].trim();
        let value_start = (op_at
            + op_len
            + text[op_at + op_len..]
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(0))
        .min(text.len());
        // The value's range, or the empty place after the operator when it is missing.
        let at = |m: String| {
            let start = value_start.min(text.len());
            (start, (start + value_text.len()).min(text.len()), m)
        };
        if value_text.is_empty() {
            return Err(at(format!("`{name} {}` needs a value", op.as_str())));
        }
        let bound = match metric.unit() {
            Unit::Millis => {
                if value_text.parse::<f64>().is_ok() {
                    return Err(at(format!(
                        "{name} compares durations: write {value_text}ms or {value_text}s"
                    )));
                }
                parse_duration(value_text)
                    .map_err(|e| at(e.to_string()))?
                    .as_secs_f64()
                    * 1000.0
            }
            Unit::Ratio => {
                let (number, scale) = match value_text.strip_suffix('%') {
                    Some(n) => (n.trim(), 100.0),
                    None => (value_text, 1.0),
                };
                let v = number
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| v / scale);
                match v {
                    Some(v) if (0.0..=1.0).contains(&v) => v,
                    _ => return Err(at(format!("{name} is a share: write a percentage such as 1% or a fraction from 0 to 1"))),
                }
            }
            Unit::Number => {
                let number = value_text.strip_suffix("/s").unwrap_or(value_text).trim();
                match number.parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => v,
                    _ => {
                        return Err(at(format!(
                            "{name} compares with a number, e.g. `{name} {} 100`",
                            op.as_str()
                        )))
                    }
                }
            }
        };
        Ok(Condition { metric, op, bound })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.metric, self.op.as_str())?;
        match self.metric.unit() {
            Unit::Millis => match Duration::try_from_secs_f64(self.bound / 1000.0) {
                Ok(d) => f.write_str(&format_duration(d)),
                Err(_) => write!(f, "{}ms", self.bound),
            },
            Unit::Ratio => write!(f, "{}%", self.bound * 100.0),
            Unit::Number => write!(f, "{}", self.bound),
        }
    }
}

/// One threshold of a plan.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Threshold {
    /// The condition as written.
    pub source: String,
    pub condition: Condition,
    pub scope: Scope,
    /// The custom metric a [`Metric::Custom`] condition is about.
    pub custom: Option<String>,
    /// `group` and `tag`: the steps of the scope it looks at.
    pub filter: super::threshold_filter::StepFilter,
    /// Stop the run as soon as the threshold fails (evaluated during the run).
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: ignore failures during this first part of the
    /// run, while there are too few samples to judge.
    pub abort_grace: Duration,
    pub span: Span,
}

impl Threshold {
    pub(crate) fn holds(&self, observed: f64) -> bool {
        self.condition.holds(observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Condition {
        Condition::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn parses_conditions_into_canonical_units() {
        let c = parse("p95 < 300ms");
        assert_eq!(
            (c.metric, c.op, c.bound),
            (
                Metric::Latency(LatencyStat::Percentile(95.0)),
                Op::Lt,
                300.0
            )
        );
        assert_eq!(parse("p99.9<=1.5s").bound, 1500.0);
        assert_eq!(parse("error_rate < 1%").bound, 0.01);
        assert_eq!(parse("checks >= 0.99").bound, 0.99);
        assert_eq!(parse("rps > 100/s").bound, 100.0);
        assert_eq!(parse("  requests>=10 ").bound, 10.0);
        assert_eq!(parse("mean < 1m").bound, 60_000.0);
        assert_eq!(
            parse("median < 20ms").metric,
            Metric::Latency(LatencyStat::Percentile(50.0))
        );
        assert_eq!(parse("p95 < 300ms").to_string(), "p95 < 300ms");
        assert_eq!(parse("error_rate < 1%").to_string(), "error_rate < 1%");
    }

    #[test]
    fn custom_metric_figures() {
        assert_eq!(
            parse("basket.p95 < 500").metric,
            Metric::Custom(CustomStat::Percentile(95.0))
        );
        assert_eq!(
            parse("basket.p99.9 < 500").metric,
            Metric::Custom(CustomStat::Percentile(99.9))
        );
        assert_eq!(
            parse("orders.count > 10").metric,
            Metric::Custom(CustomStat::Count)
        );
        assert_eq!(parse("queue.value <= 3").bound, 3.0);
        assert!(Condition::parse(".p95 < 1").is_err());
        assert!(Condition::parse("basket.p0 < 1").is_err());
        assert!(Condition::parse("basket.median_x < 1").is_err());
    }

    #[test]
    fn holds() {
        assert!(parse("p95 < 300ms").holds(299.9));
        assert!(!parse("p95 < 300ms").holds(300.0));
        assert!(parse("p95 <= 300ms").holds(300.0));
        assert!(parse("checks > 99%").holds(0.995));
        assert!(!parse("rps >= 100").holds(99.0));
    }

    #[test]
    fn errors_point_at_the_part() {
        let err = |s: &str| Condition::parse(s).unwrap_err();
        let (a, b, m) = err("p95 < 300");
        assert_eq!((a, b), (6, 9));
        assert!(m.contains("300ms"), "{m}");
        let (a, b, m) = err("p96x < 1s");
        assert_eq!((a, b), (0, 4));
        assert!(m.contains("unknown metric"));
        let (_, _, m) = err("eror_rate < 1%");
        assert!(m.contains("did you mean `error_rate`?"), "{m}");
        assert!(err("p95 300ms").2.contains("no comparison"));
        assert!(err("p95 == 300ms").2.contains("use <"));
        assert!(err("< 3s").2.contains("no metric"));
        assert!(err("p95 <").2.contains("needs a value"));
        assert!(err("error_rate < 150%").2.contains("share"));
        assert!(err("rps > fast").2.contains("number"));
        assert!(err("p0 < 1s").2.contains("unknown metric"));
        assert!(err("p95 < 1 parsec").2.contains("invalid duration"));
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            "<",
            ">=",
            "p95<",
            "é<é",
            "<=<=<=",
            "p95 < é",
            "%",
            "x>%",
            "checks > %",
            "rps > /s",
            "p95 !< 1s",
        ] {
            if let Err((a, b, _)) = Condition::parse(s) {
                assert!(a <= b && b <= s.len(), "{s:?}: {a}..{b}");
            }
        }
    }
}
