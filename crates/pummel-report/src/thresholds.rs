//! How a threshold's outcome reads in a report: its observed value in the
//! condition's own unit (`16.5 ms` for `p99 < 3ms`, `13.87%` for
//! `error_rate < 1%`), and a sentence for a failure.

use pummel_result::result::ThresholdResult;

use crate::format;

/// The unit a threshold's observed value is in, from its metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Ms,
    Fraction,
    PerSecond,
    Count,
}

fn unit_of(condition: &str) -> Unit {
    let metric: String = condition
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect::<String>()
        .to_ascii_lowercase();
    let is_percentile = metric.len() > 1
        && metric.starts_with('p')
        && metric[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
    match metric.as_str() {
        _ if is_percentile => Unit::Ms,
        "median" | "mean" | "min" | "max" | "avg" => Unit::Ms,
        "error_rate" | "checks" => Unit::Fraction,
        "rps" => Unit::PerSecond,
        _ => Unit::Count,
    }
}

/// The observed value in the condition's unit; `nothing measured` when the
/// scope saw nothing.
pub fn observed(t: &ThresholdResult) -> String {
    let Some(v) = t.observed else {
        return "nothing measured".to_owned();
    };
    match unit_of(&t.condition) {
        Unit::Ms => format::ms(v),
        Unit::Fraction => format::percent(v),
        Unit::PerSecond => format!("{}/s", format::rate(v)),
        Unit::Count => format::sig3(v),
    }
}

/// `p99 < 3ms on step slow: observed 16.5 ms` — one line for a failure.
pub fn describe(t: &ThresholdResult) -> String {
    let scope = if t.scope.is_empty() || t.scope == "run" {
        "the run".to_owned()
    } else {
        t.scope.clone()
    };
    let aborted = if t.aborted_run {
        " (failed during the run and stopped it)"
    } else {
        ""
    };
    format!(
        "{} on {scope}: observed {}{aborted}",
        t.condition,
        observed(t)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(condition: &str, observed: Option<f64>) -> ThresholdResult {
        serde_json::from_value(serde_json::json!({
            "condition": condition, "scope": "step slow", "observed": observed, "passed": false
        }))
        .unwrap()
    }

    #[test]
    fn observed_values_read_in_the_conditions_unit() {
        assert_eq!(observed(&t("p99 < 3ms", Some(16.543))), "16.5 ms");
        assert_eq!(observed(&t("p99.9 < 1s", Some(1500.0))), "1.5 s");
        assert_eq!(observed(&t("median<3ms", Some(0.5))), "500 µs");
        assert_eq!(observed(&t("error_rate < 1%", Some(0.13868))), "13.87%");
        assert_eq!(observed(&t("checks > 99%", Some(0.8613))), "86.13%");
        assert_eq!(observed(&t("rps > 100", Some(1234.5))), "1,235/s");
        assert_eq!(observed(&t("iterations > 10", Some(7.0))), "7");
        assert_eq!(observed(&t("p95 < 1s", None)), "nothing measured");
        assert_eq!(
            describe(&t("p99 < 3ms", Some(16.543))),
            "p99 < 3ms on step slow: observed 16.5 ms"
        );
    }
}
