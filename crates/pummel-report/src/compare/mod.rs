//! Comparing two results: the numbers, the noise band and the gates behind
//! `pummel compare BASE.json NEW.json`.
//!
//! Every key figure ([`Metric`]) of the run and of each step present in
//! either result is set side by side with its relative change. A change
//! inside the **noise band** (default ±5 %) counts as *unchanged*: two runs of
//! the same build never give the same p99, and a report that calls every
//! wobble a regression teaches people to ignore it. Beyond the band a change
//! is *better* or *worse* according to the metric's direction (lower latency
//! and error rate are better, higher throughput is better). The error rate
//! moves in whole failures, so changes under 0.1 percentage point are
//! unchanged too (one timeout in an otherwise clean run is not a regression).
//!
//! **Gates** (`--fail-if 'p95>+10%'`) make a comparison a CI check: each is a
//! metric, a comparison and a change — relative (`+10%`) or absolute (`+5ms`,
//! `-100` requests/s, `+0.5pp` of error rate) — optionally for one step
//! (`'search: p95>+10%'`). A gate trips when the change satisfies it; gates
//! ignore the noise band (they carry their own tolerance).

mod gate;
mod text;

use pummel_result::result::RunResult;

use crate::figures::{Figures, Metric, Scope};
use crate::format;

pub use gate::{Amount, Gate, GateOutcome, Op};
pub use text::{render_markdown, render_text};

/// The default noise band, in percent.
pub const DEFAULT_NOISE_PCT: f64 = 5.0;

/// Error-rate changes smaller than this (a fraction: 0.1 percentage point)
/// count as unchanged.
const ERROR_RATE_FLOOR: f64 = 0.001;

/// How a figure moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Better,
    Worse,
    /// Within the noise band.
    Same,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Better => "better",
            Mark::Worse => "worse",
            Mark::Same => "",
        }
    }
}

/// One metric of one scope, before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub metric: Metric,
    pub base: f64,
    pub new: f64,
    /// `(new - base) / base` in percent; `+∞` when only `new` is non-zero.
    pub pct: f64,
    pub mark: Mark,
}

impl Change {
    fn new(metric: Metric, base: f64, new: f64, noise_pct: f64) -> Change {
        let pct = relative_pct(base, new);
        let inside_band = pct.abs() <= noise_pct
            || (metric == Metric::ErrorRate && (new - base).abs() < ERROR_RATE_FLOOR);
        let mark = if inside_band {
            Mark::Same
        } else if (new > base) == metric.higher_is_better() {
            Mark::Better
        } else {
            Mark::Worse
        };
        Change {
            metric,
            base,
            new,
            pct,
            mark,
        }
    }

    /// The change as a table shows it: percent, or points for the error rate.
    pub fn show_change(&self) -> String {
        if self.metric == Metric::ErrorRate {
            let pp = (self.new - self.base) * 100.0;
            return if pp == 0.0 {
                "0".to_owned()
            } else {
                format!("{pp:+.2} pp")
            };
        }
        format::change(Some(self.pct))
    }
}

/// `(new - base) / base` in percent, with 0 → 0 being no change and
/// 0 → anything an infinite one.
pub fn relative_pct(base: f64, new: f64) -> f64 {
    if base == 0.0 {
        if new == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(new)
        }
    } else {
        (new - base) / base.abs() * 100.0
    }
}

/// One scope (the run, or a step) of both results.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeComparison {
    pub scope: Scope,
    pub base: Option<Figures>,
    pub new: Option<Figures>,
    /// Empty when the scope is in only one of the results.
    pub changes: Vec<Change>,
}

/// Options of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// Changes within ± this percentage count as unchanged.
    pub noise_pct: f64,
    pub gates: Vec<Gate>,
    pub apdex_t_ms: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            noise_pct: DEFAULT_NOISE_PCT,
            gates: Vec::new(),
            apdex_t_ms: crate::apdex::DEFAULT_T_MS,
        }
    }
}

/// Two results compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub noise_pct: f64,
    /// The run first, then steps in the order of the base result, then steps
    /// only the new one has.
    pub scopes: Vec<ScopeComparison>,
    pub gates: Vec<GateOutcome>,
}

impl Comparison {
    pub fn count(&self, mark: Mark) -> usize {
        self.scopes
            .iter()
            .flat_map(|s| &s.changes)
            .filter(|c| c.mark == mark)
            .count()
    }

    pub fn tripped(&self) -> impl Iterator<Item = &GateOutcome> {
        self.gates.iter().filter(|g| g.tripped)
    }

    /// `2 worse · 1 better · 13 unchanged`.
    pub fn summary(&self) -> String {
        format!(
            "{} worse · {} better · {} unchanged (noise band ±{}%)",
            self.count(Mark::Worse),
            self.count(Mark::Better),
            self.count(Mark::Same),
            format::sig3(self.noise_pct)
        )
    }
}

/// A gate naming a step that neither result has.
#[derive(Debug, thiserror::Error)]
#[error("gate {gate:?}: no step {step:?} in either result (steps: {known})")]
pub struct UnknownStep {
    pub gate: String,
    pub step: String,
    pub known: String,
}

/// Compares `new` against `base`.
pub fn compare(
    base: &RunResult,
    new: &RunResult,
    options: &CompareOptions,
) -> Result<Comparison, UnknownStep> {
    let base_figures = Figures::all(base, options.apdex_t_ms);
    let mut new_figures: Vec<Option<Figures>> = Figures::all(new, options.apdex_t_ms)
        .into_iter()
        .map(Some)
        .collect();
    let mut scopes = Vec::new();
    for b in base_figures {
        let n = new_figures
            .iter_mut()
            .find(|n| n.as_ref().is_some_and(|n| n.scope == b.scope))
            .and_then(Option::take);
        scopes.push(scope_comparison(
            b.scope.clone(),
            Some(b),
            n,
            options.noise_pct,
        ));
    }
    for n in new_figures.into_iter().flatten() {
        scopes.push(scope_comparison(
            n.scope.clone(),
            None,
            Some(n),
            options.noise_pct,
        ));
    }

    let mut gates = Vec::new();
    for gate in &options.gates {
        let targets: Vec<&ScopeComparison> = match &gate.scope {
            None => scopes.iter().filter(|s| s.scope == Scope::Run).collect(),
            Some(name) => scopes
                .iter()
                .filter(|s| s.scope != Scope::Run && s.scope.matches(name))
                .collect(),
        };
        if targets.is_empty() {
            let known: Vec<String> = scopes.iter().skip(1).map(|s| s.scope.label()).collect();
            return Err(UnknownStep {
                gate: gate.text.clone(),
                step: gate.scope.clone().unwrap_or_default(),
                known: if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
            });
        }
        for s in targets {
            gates.push(gate::judge(gate, s));
        }
    }
    Ok(Comparison {
        noise_pct: options.noise_pct,
        scopes,
        gates,
    })
}

fn scope_comparison(
    scope: Scope,
    base: Option<Figures>,
    new: Option<Figures>,
    noise_pct: f64,
) -> ScopeComparison {
    let changes = match (&base, &new) {
        (Some(b), Some(n)) => Metric::ALL
            .iter()
            .map(|&m| Change::new(m, b.get(m), n.get(m), noise_pct))
            .collect(),
        _ => Vec::new(),
    };
    ScopeComparison {
        scope,
        base,
        new,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn slower(r: &RunResult, factor: f64) -> RunResult {
        let mut r = r.clone();
        let l = &mut r.latency_ms;
        for v in [
            &mut l.min,
            &mut l.mean,
            &mut l.p50,
            &mut l.p90,
            &mut l.p95,
            &mut l.p99,
            &mut l.p999,
            &mut l.max,
        ] {
            *v *= factor;
        }
        r.rps /= factor;
        r
    }

    #[test]
    fn the_same_result_is_unchanged() {
        let r = testdata::scenario_run();
        let c = compare(&r, &r, &CompareOptions::default()).unwrap();
        assert_eq!(c.scopes.len(), 4);
        assert_eq!(c.count(Mark::Worse) + c.count(Mark::Better), 0);
        assert_eq!(c.count(Mark::Same), 4 * Metric::ALL.len());
    }

    #[test]
    fn a_slower_run_is_worse_and_trips_its_gate() {
        let base = testdata::bench();
        let new = slower(&base, 4.0);
        let gates = vec![
            Gate::parse("p95>+10%").unwrap(),
            Gate::parse("rps<-80%").unwrap(),
        ];
        let c = compare(
            &base,
            &new,
            &CompareOptions {
                gates,
                ..Default::default()
            },
        )
        .unwrap();
        let run = &c.scopes[0];
        let p95 = run
            .changes
            .iter()
            .find(|ch| ch.metric == Metric::P95)
            .unwrap();
        assert_eq!(p95.mark, Mark::Worse);
        assert!((p95.pct - 300.0).abs() < 1e-9);
        assert_eq!(
            run.changes
                .iter()
                .find(|ch| ch.metric == Metric::Rps)
                .unwrap()
                .mark,
            Mark::Worse
        );
        assert_eq!(c.tripped().count(), 1);
        assert_eq!(c.gates[0].detail, "p95 9.05 ms → 36.2 ms (+300%)");
        assert!(!c.gates[1].tripped);
        let text = render_text(&c, &base, &new, "a.json", "b.json");
        assert!(
            text.contains("TRIPPED  p95>+10%   run: p95 9.05 ms → 36.2 ms (+300%)"),
            "{text}"
        );
        assert!(text.contains("✗ worse"));
        // …and the reverse is better.
        let c = compare(&new, &base, &CompareOptions::default()).unwrap();
        assert!(c.count(Mark::Better) >= 7, "{}", c.summary());
    }

    #[test]
    fn noise_band_and_error_rate_floor() {
        let base = testdata::bench();
        let mut new = slower(&base, 1.04);
        new.errors.insert("timeout".into(), 1);
        new.requests += 1;
        let c = compare(&base, &new, &CompareOptions::default()).unwrap();
        assert_eq!(
            c.count(Mark::Worse),
            0,
            "{}",
            render_text(&c, &base, &new, "a", "b")
        );
        let c = compare(
            &base,
            &new,
            &CompareOptions {
                noise_pct: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(c.count(Mark::Worse) >= 6);
        assert_eq!(relative_pct(0.0, 0.0), 0.0);
        assert_eq!(relative_pct(0.0, 0.2), f64::INFINITY);
    }

    #[test]
    fn steps_are_matched_and_gated_by_name() {
        let base = testdata::scenario_run();
        let mut new = base.clone();
        new.steps[1].latency_ms.p95 *= 2.0;
        new.steps.remove(2);
        let gates = vec![
            Gate::parse("slow <1>: p95>+50%").unwrap(),
            Gate::parse("buy/flaky: p95>+50%").unwrap(),
        ];
        let c = compare(
            &base,
            &new,
            &CompareOptions {
                gates,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.gates.len(), 2);
        assert!(c.gates[0].tripped, "{:?}", c.gates[0]);
        assert!(c.gates[1].tripped);
        assert_eq!(c.gates[1].detail, "the step is missing from the new result");
        assert!(c.scopes[3].changes.is_empty());
        let err = compare(
            &base,
            &new,
            &CompareOptions {
                gates: vec![Gate::parse("nope: p95>+1%").unwrap()],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("no step \"nope\""), "{err}");
    }

    #[test]
    fn markdown_for_a_pull_request() {
        let base = testdata::scenario_run();
        let mut new = base.clone();
        new.latency_ms.p95 *= 3.0;
        let gates = vec![Gate::parse("p95>+10%").unwrap()];
        let c = compare(
            &base,
            &new,
            &CompareOptions {
                gates,
                ..Default::default()
            },
        )
        .unwrap();
        let md = render_markdown(&c, &base, &new, "main.json", "pr.json");
        assert!(
            md.starts_with("### ❌ pummel compare: 1 of 1 gates tripped"),
            "{md}"
        );
        assert!(
            md.contains("| ❌ | `p95>+10%` | run | p95 19 ms → 57 ms (+200%) |"),
            "{md}"
        );
        assert!(
            md.contains("| p95 | 19 ms | 57 ms | +200% | 🔴 worse |"),
            "{md}"
        );
        assert!(md.contains("Unchanged within the noise band: step browse / json, step browse / slow &lt;1&gt;, step buy / flaky."), "{md}");
    }

    #[test]
    fn gates_parse() {
        let g = Gate::parse("p95>+10%").unwrap();
        assert_eq!(
            (g.metric, g.op, g.value, g.amount, g.scope),
            (Metric::P95, Op::Gt, 10.0, Amount::Relative, None)
        );
        let g = Gate::parse(" rps <= -5 % ").unwrap();
        assert_eq!((g.metric, g.op, g.value), (Metric::Rps, Op::Le, -5.0));
        assert_eq!(Gate::parse("p99>=+0.02s").unwrap().value, 20.0);
        assert_eq!(Gate::parse("error_rate>+0.5pp").unwrap().value, 0.005);
        assert_eq!(Gate::parse("rps<-100").unwrap().amount, Amount::Absolute);
        let g = Gate::parse("checkout: mean>10%").unwrap();
        assert_eq!(g.scope.as_deref(), Some("checkout"));
        for bad in [
            "p95",
            "p42>+1%",
            "p95>fast",
            "p95>+10",
            "error_rate>+5ms",
            ": p95>1%",
            "rps>+5pp",
        ] {
            let e = Gate::parse(bad).unwrap_err();
            assert!(e.starts_with("invalid gate"), "{bad}: {e}");
        }
    }

    #[test]
    fn infinite_change_trips_a_relative_gate() {
        let base = testdata::bench();
        let mut new = base.clone();
        new.errors.insert("reset".into(), 100);
        new.requests += 100;
        let gates = vec![
            Gate::parse("error_rate>+50%").unwrap(),
            Gate::parse("error_rate>+5pp").unwrap(),
        ];
        let c = compare(
            &base,
            &new,
            &CompareOptions {
                gates,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(c.gates[0].tripped);
        assert!(!c.gates[1].tripped, "{:?}", c.gates[1]);
        assert!(c.gates[0].detail.ends_with("(+∞)"), "{}", c.gates[0].detail);
    }
}
