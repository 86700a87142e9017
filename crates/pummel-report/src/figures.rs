//! The key figures of a run and of each of its steps: what every table in
//! every format shows, computed once and the same way for all of them.
//!
//! **Errors.** A request counts as failed when it got no response (a
//! transport error: refused, reset, timed out …) *or* its response had a
//! status of 400 or more that the step's own `status` check did not accept
//! (a step that checks `status: [201, 409]` expects its 409s) — the
//! definition the `error_rate` threshold uses, so a report and a threshold
//! never disagree. The two parts are kept apart too (`errors`,
//! `error_statuses`), because they mean different things.

use std::collections::BTreeMap;

use pummel_result::result::{RunResult, StepResult};
use pummel_result::LatencySummary;

use crate::apdex::Apdex;

/// What a row of figures covers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The whole run: every request.
    Run,
    /// One request step. `scenario` is `None` for the global setup and
    /// teardown.
    Step {
        scenario: Option<String>,
        name: String,
        /// `"setup"` or `"teardown"` for a step of the global setup or
        /// teardown, when the result says which.
        global: Option<String>,
    },
}

impl Scope {
    /// `run`, `browse / search`, or `login` for a setup step.
    pub fn label(&self) -> String {
        match self {
            Scope::Run => "run".to_owned(),
            Scope::Step {
                scenario: Some(s),
                name,
                ..
            } => format!("{s} / {name}"),
            Scope::Step {
                scenario: None,
                name,
                ..
            } => name.clone(),
        }
    }

    /// Where a step belongs, as tables show it: its scenario, or
    /// `(setup)` / `(teardown)` for the global flows.
    pub fn flow(&self) -> String {
        match self {
            Scope::Run => String::new(),
            Scope::Step {
                scenario: Some(s), ..
            } => s.clone(),
            Scope::Step { global, .. } => {
                format!("({})", global.as_deref().unwrap_or("setup"))
            }
        }
    }

    /// Whether a user's `NAME` or `SCENARIO/NAME` (spaces around `/`
    /// optional) designates this scope; `run` designates the run.
    pub fn matches(&self, given: &str) -> bool {
        let given = given.trim();
        match self {
            Scope::Run => given.eq_ignore_ascii_case("run"),
            Scope::Step { scenario, name, .. } => {
                if given == name {
                    return true;
                }
                match (scenario, given.split_once('/')) {
                    (Some(s), Some((gs, gn))) => gs.trim() == s && gn.trim() == name,
                    _ => false,
                }
            }
        }
    }
}

/// The key figures of a run or of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub scope: Scope,
    /// Requests that finished: responses plus transport errors.
    pub requests: u64,
    pub responses: u64,
    /// Requests with no response (transport errors), all kinds together.
    pub errors: u64,
    /// Responses with a status of 400 or more.
    pub error_statuses: u64,
    pub rps: f64,
    pub latency: LatencySummary,
    /// `None` when the histogram is missing or does not decode.
    pub apdex: Option<Apdex>,
    pub status: BTreeMap<String, u64>,
    pub error_kinds: BTreeMap<String, u64>,
}

impl Figures {
    /// The whole run's figures.
    pub fn of_run(r: &RunResult, apdex_t_ms: f64) -> Figures {
        let errors = r.errors.values().sum();
        // A scenario run's steps know which error statuses were accepted;
        // a bench has no checks, so every status of 400 or more counts.
        let statuses = if r.steps.is_empty() {
            error_statuses(&r.status)
        } else {
            r.steps.iter().map(unaccepted_error_statuses).sum()
        };
        Figures {
            scope: Scope::Run,
            requests: r.requests,
            responses: r.responses,
            errors,
            error_statuses: statuses,
            rps: r.rps,
            latency: r.latency_ms,
            apdex: Apdex::from_encoded(&r.histogram, errors, statuses, apdex_t_ms),
            status: r.status.clone(),
            error_kinds: r.errors.clone(),
        }
    }

    /// One step's figures.
    pub fn of_step(s: &StepResult, apdex_t_ms: f64) -> Figures {
        let errors = s.errors.values().sum();
        let statuses = unaccepted_error_statuses(s);
        Figures {
            scope: Scope::Step {
                scenario: s.scenario.clone(),
                name: s.name.clone(),
                global: s.global.clone(),
            },
            requests: s.requests,
            responses: s.responses,
            errors,
            error_statuses: statuses,
            rps: s.rps,
            latency: s.latency_ms,
            apdex: Apdex::from_encoded(&s.histogram, errors, statuses, apdex_t_ms),
            status: s.status.clone(),
            error_kinds: s.errors.clone(),
        }
    }

    /// The run first, then every step in the result's order.
    pub fn all(r: &RunResult, apdex_t_ms: f64) -> Vec<Figures> {
        std::iter::once(Figures::of_run(r, apdex_t_ms))
            .chain(r.steps.iter().map(|s| Figures::of_step(s, apdex_t_ms)))
            .collect()
    }

    /// Failed requests: transport errors plus error statuses.
    pub fn failed(&self) -> u64 {
        self.errors + self.error_statuses
    }

    /// Failed requests as a fraction of requests; 0 when there were none.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            (self.failed() as f64 / self.requests as f64).min(1.0)
        }
    }

    pub fn apdex_score(&self) -> Option<f64> {
        self.apdex.and_then(|a| a.score())
    }

    /// The value of a comparable metric.
    pub fn get(&self, metric: Metric) -> f64 {
        let l = &self.latency;
        match metric {
            Metric::P50 => l.p50,
            Metric::P90 => l.p90,
            Metric::P95 => l.p95,
            Metric::P99 => l.p99,
            Metric::Mean => l.mean,
            Metric::Max => l.max,
            Metric::Rps => self.rps,
            Metric::ErrorRate => self.error_rate(),
        }
    }
}

/// Responses whose status is 400 or more (keys that are not numbers are
/// ignored: they cannot be judged).
/// A step's responses with a status of 400 or more that its `status` check
/// did not accept: its failed requests less its transport errors.
fn unaccepted_error_statuses(s: &StepResult) -> u64 {
    let transport: u64 = s.errors.values().sum();
    s.failed
        .saturating_sub(transport)
        .min(error_statuses(&s.status))
}

pub fn error_statuses(status: &BTreeMap<String, u64>) -> u64 {
    status
        .iter()
        .filter(|(code, _)| code.parse::<u16>().is_ok_and(|c| c >= 400))
        .map(|(_, n)| n)
        .sum()
}

/// A figure that comparisons, gates and trends speak of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    P50,
    P90,
    P95,
    P99,
    Mean,
    Max,
    Rps,
    ErrorRate,
}

impl Metric {
    /// In the order tables show them.
    pub const ALL: [Metric; 8] = [
        Metric::Rps,
        Metric::ErrorRate,
        Metric::Mean,
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::Max,
    ];

    /// The name users write (`--fail-if 'p95>+10%'`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Mean => "mean",
            Metric::Max => "max",
            Metric::Rps => "rps",
            Metric::ErrorRate => "error_rate",
        }
    }

    /// The name a table shows.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Rps => "requests/s",
            Metric::ErrorRate => "error rate",
            other => other.name(),
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        let s = s.trim().to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .or(match s.as_str() {
                "median" => Some(Metric::P50),
                "errors" | "error-rate" | "errorrate" => Some(Metric::ErrorRate),
                "throughput" | "rate" => Some(Metric::Rps),
                _ => None,
            })
    }

    /// Whether a larger value is better (throughput) or worse (latency, errors).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Rps)
    }

    pub fn is_latency(self) -> bool {
        !matches!(self, Metric::Rps | Metric::ErrorRate)
    }

    /// The value as a table shows it.
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::Rps => crate::format::rate(v),
            Metric::ErrorRate => crate::format::percent(v),
            _ => crate::format::ms(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_and_step_figures() {
        let r = crate::testdata::scenario_run();
        let all = Figures::all(&r, 500.0);
        assert_eq!(all.len(), 1 + r.steps.len());
        let run = &all[0];
        assert_eq!(run.scope, Scope::Run);
        assert_eq!(run.error_statuses, 50);
        assert_eq!(run.errors, 2);
        assert!((run.error_rate() - 52.0 / 1002.0).abs() < 1e-12);
        assert!(run.apdex_score().is_some());
        let flaky = all
            .iter()
            .find(|f| f.scope.label() == "buy / flaky")
            .unwrap();
        assert_eq!(flaky.error_statuses, 50);
        assert_eq!(flaky.get(Metric::ErrorRate), 1.0);
    }

    #[test]
    fn scopes_match_what_users_write() {
        let s = Scope::Step {
            scenario: Some("browse".into()),
            name: "list games".into(),
            global: None,
        };
        assert!(s.matches("list games"));
        assert!(s.matches("browse/list games"));
        assert!(s.matches("browse / list games"));
        assert!(!s.matches("buy/list games"));
        assert!(Scope::Run.matches("RUN"));
        assert_eq!(
            Scope::Step {
                scenario: None,
                name: "login".into(),
                global: None,
            }
            .label(),
            "login"
        );
        let teardown = Scope::Step {
            scenario: None,
            name: "logout".into(),
            global: Some("teardown".into()),
        };
        assert_eq!(teardown.flow(), "(teardown)");
    }

    #[test]
    fn metrics_parse_and_show() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Some(m));
        }
        assert_eq!(Metric::parse("median"), Some(Metric::P50));
        assert_eq!(Metric::parse("p42"), None);
        assert_eq!(Metric::ErrorRate.show(0.5), "50.00%");
        assert!(Metric::Rps.higher_is_better());
        assert!(!Metric::P95.higher_is_better());
    }

    #[test]
    fn nothing_measured_is_zero_not_nan() {
        let r = crate::testdata::minimal();
        let f = Figures::of_run(&r, 500.0);
        assert_eq!(f.error_rate(), 0.0);
        assert_eq!(f.apdex_score(), None);
    }
}
