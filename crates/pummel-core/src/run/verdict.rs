//! Thresholds judged against a run's figures.

use crate::metrics::Stats;
use crate::result::ThresholdResult;
use crate::scenario::threshold::{LatencyStat, Metric, Scope, Threshold};

use super::program::{KeyKind, Program};

/// The figures a threshold can look at, per metric key, plus counters.
pub(crate) struct Figures<'a> {
    pub per_key: &'a [Stats],
    pub counters: &'a [u64],
    /// The gauges' levels now (custom gauges among them).
    pub gauges: &'a std::collections::BTreeMap<String, u64>,
    pub elapsed_s: f64,
}

/// Judges one threshold. `observed` is `None` when its scope measured nothing.
pub(crate) fn judge(
    program: &Program,
    threshold: &Threshold,
    figures: &Figures<'_>,
) -> ThresholdResult {
    let observed = observe(program, threshold, figures);
    // A scope that saw no request cannot show a latency or a rate: such a
    // threshold fails, since nothing proves it holds.
    let passed = observed.is_some_and(|v| threshold.holds(v));
    ThresholdResult {
        condition: threshold.source.clone(),
        scope: match (&threshold.scope, threshold.filter.is_empty()) {
            (Scope::Run, false) => threshold.filter.describe().trim_start().to_owned(),
            (scope, _) => format!("{}{}", describe_scope(scope), threshold.filter.describe()),
        },
        observed,
        passed,
        aborted_run: false,
    }
}

pub(crate) fn describe_scope(scope: &Scope) -> String {
    match scope {
        Scope::Run => "run".into(),
        Scope::Scenario(s) => format!("scenario {s}"),
        Scope::Step {
            scenario: Some(s),
            step,
        } => format!("step {s}/{step}"),
        Scope::Step {
            scenario: None,
            step,
        } => format!("step {step}"),
    }
}

fn in_scope(kind: &KeyKind, scope: &Scope) -> bool {
    match (kind, scope) {
        (KeyKind::Step { .. }, Scope::Run) => true,
        (
            KeyKind::Step {
                scenario: Some(s), ..
            },
            Scope::Scenario(want),
        ) => s == want,
        (
            KeyKind::Step { scenario, name, .. },
            Scope::Step {
                scenario: want_scenario,
                step,
            },
        ) => {
            name == step
                && want_scenario
                    .as_ref()
                    .is_none_or(|w| scenario.as_deref() == Some(w.as_str()))
        }
        _ => false,
    }
}

fn iterations_in_scope(kind: &KeyKind, scope: &Scope) -> bool {
    match (kind, scope) {
        (KeyKind::Iteration { .. }, Scope::Run) => true,
        (KeyKind::Iteration { scenario }, Scope::Scenario(want)) => scenario == want,
        _ => false,
    }
}

fn observe(program: &Program, threshold: &Threshold, f: &Figures<'_>) -> Option<f64> {
    if let (Metric::Custom(stat), Some(name)) = (threshold.condition.metric, &threshold.custom) {
        return super::custom_metrics::observe(
            program,
            name,
            stat,
            f.per_key,
            f.counters,
            f.gauges,
            f.elapsed_s,
        );
    }
    let scope = &threshold.scope;
    let mut merged = Stats::default();
    let mut keys = Vec::new();
    let kinds = program.key_kinds();
    for (i, kind) in kinds.iter().enumerate() {
        let admitted = match kind {
            KeyKind::Step { group, tags, .. } => threshold.filter.admits(group, tags),
            KeyKind::Iteration { .. } | KeyKind::Trend { .. } => true,
            // A batch's latency is not a request's: thresholds judge the
            // batch's requests, each a step of the batch's group.
            KeyKind::Unused | KeyKind::Batch { .. } => false,
        };
        if admitted && in_scope(kind, scope) {
            if let Some(s) = f.per_key.get(i) {
                merged.merge(s);
                keys.push(i);
            }
        }
    }
    let requests = merged.requests();
    match threshold.condition.metric {
        Metric::Latency(stat) => {
            if merged.latency.is_empty() {
                return None;
            }
            let s = merged.latency.summary();
            Some(match stat {
                LatencyStat::Percentile(p) => merged.latency.quantile_ms(p / 100.0),
                LatencyStat::Mean => s.mean,
                LatencyStat::Min => s.min,
                LatencyStat::Max => s.max,
            })
        }
        Metric::ErrorRate => {
            if requests == 0 {
                return None;
            }
            let failed: u64 = keys
                .iter()
                .map(|&i| program.failed(i, &f.per_key[i], f.counters))
                .sum();
            Some(failed as f64 / requests as f64)
        }
        Metric::Checks => {
            let (mut passed, mut failed) = (0u64, 0u64);
            for check in program.check_infos().iter() {
                if keys.contains(&check.key.index()) {
                    passed += f.counters.get(check.pass.0 as usize).copied().unwrap_or(0);
                    failed += f.counters.get(check.fail.0 as usize).copied().unwrap_or(0);
                }
            }
            let total = passed + failed;
            (total > 0).then(|| passed as f64 / total as f64)
        }
        // A scope that sent nothing shows no rate, as it shows no latency:
        // `rps < 100` must not pass on a step that never ran.
        Metric::Rps => (f.elapsed_s > 0.0 && requests > 0).then(|| requests as f64 / f.elapsed_s),
        Metric::Requests => Some(requests as f64),
        Metric::Errors => Some(merged.errors.total() as f64),
        // Judged above, by the metric's name.
        Metric::Custom(_) => None,
        Metric::Iterations | Metric::Dropped => {
            let mut iterations = Stats::default();
            for (i, kind) in kinds.iter().enumerate() {
                if iterations_in_scope(kind, scope) {
                    if let Some(s) = f.per_key.get(i) {
                        iterations.merge(s);
                    }
                }
            }
            Some(match threshold.condition.metric {
                Metric::Iterations => iterations.responses as f64,
                _ => iterations.dropped as f64,
            })
        }
    }
}
