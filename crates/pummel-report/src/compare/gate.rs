//! Regression gates (`--fail-if 'p95>+10%'`): parsing one, and judging it
//! on a scope of a comparison.

use crate::figures::{Metric, Scope};
use crate::format;

use super::{relative_pct, ScopeComparison};

/// A comparison operator of a gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        }
    }
}

/// How a gate measures the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Amount {
    /// Percent of the base value.
    Relative,
    /// In the metric's unit: milliseconds, requests/s, or a fraction for the
    /// error rate (written in percentage points).
    Absolute,
}

/// A regression gate: `[SCOPE:] METRIC OP CHANGE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// As written.
    pub text: String,
    /// A step (`NAME` or `SCENARIO/NAME`); `None` for the whole run.
    pub scope: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// Percent for [`Amount::Relative`]; the metric's unit otherwise.
    pub value: f64,
    pub amount: Amount,
}

impl Gate {
    /// Parses `p95>+10%`, `rps<-5%`, `p99>=+20ms`, `error_rate>+0.5pp`,
    /// `checkout: p95>+10%`.
    pub fn parse(text: &str) -> Result<Gate, String> {
        let bad = |why: &str| {
            format!(
                "invalid gate {text:?}: {why}; expected [STEP:] METRIC OP CHANGE, e.g. 'p95>+10%', \
                 'rps<-5%', 'p99>+20ms', 'error_rate>+0.5pp', 'search: p95>+10%'"
            )
        };
        let (scope, condition) = match text.rsplit_once(':') {
            Some((scope, condition)) if !scope.trim().is_empty() => {
                (Some(scope.trim().to_owned()), condition)
            }
            Some(_) => return Err(bad("empty step name before ':'")),
            None => (None, text),
        };
        let condition = condition.trim();
        let op_at = condition
            .find(['<', '>'])
            .ok_or_else(|| bad("no comparison (< <= > >=)"))?;
        let metric_text = condition[..op_at].trim();
        let metric = Metric::parse(metric_text).ok_or_else(|| {
            bad(&format!(
                "unknown metric {metric_text:?} (use {})",
                Metric::ALL.map(Metric::name).join(", ")
            ))
        })?;
        let rest = &condition[op_at..];
        let (op, rest) = if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix('>') {
            (Op::Gt, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else {
            return Err(bad("no comparison"));
        };
        let change = rest.trim().to_ascii_lowercase();
        let number_end = change
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
            .unwrap_or(change.len());
        let (number, unit) = change.split_at(number_end);
        let number: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad(&format!("{:?} is not a change", rest.trim())))?;
        let (value, amount) = match (unit.trim(), metric) {
            ("%", _) => (number, Amount::Relative),
            ("pp", Metric::ErrorRate) => (number / 100.0, Amount::Absolute),
            ("ms", m) if m.is_latency() => (number, Amount::Absolute),
            ("s", m) if m.is_latency() => (number * 1000.0, Amount::Absolute),
            ("us" | "µs", m) if m.is_latency() => (number / 1000.0, Amount::Absolute),
            ("" | "/s", Metric::Rps) => (number, Amount::Absolute),
            (unit, m) => {
                let allowed = match m {
                    Metric::Rps => "% or a number of requests/s",
                    Metric::ErrorRate => "% (relative) or pp (percentage points)",
                    _ => "% or a duration (ms, s)",
                };
                return Err(bad(&format!(
                    "unit {unit:?} does not fit {} (use {allowed})",
                    m.name()
                )));
            }
        };
        Ok(Gate {
            text: text.trim().to_owned(),
            scope,
            metric,
            op,
            value,
            amount,
        })
    }

    /// The measured change for this gate, in its own terms.
    fn measure(&self, base: f64, new: f64) -> f64 {
        match self.amount {
            Amount::Relative => relative_pct(base, new),
            Amount::Absolute => new - base,
        }
    }

    fn show_measure(&self, v: f64) -> String {
        match (self.amount, self.metric) {
            (Amount::Relative, _) => format::change(Some(v)),
            (Amount::Absolute, Metric::ErrorRate) => format!("{:+.2} pp", v * 100.0),
            (Amount::Absolute, Metric::Rps) => format!("{:+} req/s", format::rate(v)),
            (Amount::Absolute, _) => {
                format!("{}{}", if v >= 0.0 { "+" } else { "" }, format::ms(v))
            }
        }
    }
}

/// A gate judged on one scope.
#[derive(Clone, Debug, PartialEq)]
pub struct GateOutcome {
    pub gate: Gate,
    pub scope: Scope,
    pub tripped: bool,
    /// What was measured, in words: `p95 5.50 ms → 21.3 ms (+287%)`.
    pub detail: String,
}

pub(super) fn judge(gate: &Gate, s: &ScopeComparison) -> GateOutcome {
    let (tripped, detail) = match (&s.base, &s.new) {
        (Some(b), Some(n)) => {
            let (bv, nv) = (b.get(gate.metric), n.get(gate.metric));
            let measured = gate.measure(bv, nv);
            (
                gate.op.holds(measured, gate.value),
                format!(
                    "{} {} → {} ({})",
                    gate.metric.name(),
                    gate.metric.show(bv),
                    gate.metric.show(nv),
                    gate.show_measure(measured)
                ),
            )
        }
        (Some(_), None) => (true, "the step is missing from the new result".to_owned()),
        (None, _) => (true, "the step is missing from the base result".to_owned()),
    };
    GateOutcome {
        gate: gate.clone(),
        scope: s.scope.clone(),
        tripped,
        detail,
    }
}
