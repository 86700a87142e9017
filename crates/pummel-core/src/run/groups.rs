//! Groups rolled up: each group's figures are those of the steps inside
//! it (nested groups' steps included), summed, their histograms merged;
//! a `parallel` batch's group also has the batches' own latency.

use super::program::{KeyKind, Program};
use crate::metrics::{RunMetrics, Stats};
use crate::result::{BatchResult, ChecksTotal, GroupResult};

/// One entry per group path of each scenario (and of the global setup and
/// teardown), in the order the file first names them.
pub(super) fn group_results(
    program: &Program,
    metrics: &RunMetrics,
    elapsed_s: f64,
) -> Vec<GroupResult> {
    struct Acc {
        scenario: Option<String>,
        name: String,
        steps: u64,
        failed: u64,
        checks: ChecksTotal,
        stats: Stats,
    }
    let mut groups: Vec<Acc> = Vec::new();
    for (i, kind) in program.keys.iter().enumerate() {
        let KeyKind::Step {
            scenario, group, ..
        } = kind
        else {
            continue;
        };
        let Some(stats) = metrics.totals.get(i) else {
            continue;
        };
        let failed = program.failed(i, stats, &metrics.counters);
        let mut checks = ChecksTotal::default();
        for c in program.checks.iter().filter(|c| c.key.index() == i) {
            checks.passed += metrics.counters[c.pass.0 as usize];
            checks.failed += metrics.counters[c.fail.0 as usize];
        }
        for depth in 1..=group.len() {
            let name = group[..depth].join("/");
            let at = match groups
                .iter()
                .position(|g| g.scenario == *scenario && g.name == name)
            {
                Some(at) => at,
                None => {
                    groups.push(Acc {
                        scenario: scenario.clone(),
                        name,
                        steps: 0,
                        failed: 0,
                        checks: ChecksTotal::default(),
                        stats: Stats::default(),
                    });
                    groups.len() - 1
                }
            };
            let g = &mut groups[at];
            g.steps += 1;
            g.failed += failed;
            g.checks.passed += checks.passed;
            g.checks.failed += checks.failed;
            g.stats.merge(stats);
        }
    }
    let mut batches: Vec<(Option<String>, String, Stats)> = Vec::new();
    for (i, kind) in program.keys.iter().enumerate() {
        if let (KeyKind::Batch { scenario, group }, Some(stats)) = (kind, metrics.totals.get(i)) {
            let name = group.join("/");
            match batches
                .iter_mut()
                .find(|(s, n, _)| s == scenario && *n == name)
            {
                Some((_, _, merged)) => merged.merge(stats),
                None => batches.push((scenario.clone(), name, stats.clone())),
            }
        }
    }
    groups
        .into_iter()
        .map(|g| GroupResult {
            batch: batches
                .iter()
                .find(|(s, n, _)| *s == g.scenario && *n == g.name)
                .map(|(_, _, b)| BatchResult {
                    batches: b.responses,
                    latency_ms: b.latency.summary(),
                    histogram: b.latency.to_base64(),
                }),
            name: g.name,
            scenario: g.scenario,
            steps: g.steps,
            requests: g.stats.requests(),
            responses: g.stats.responses,
            failed: g.failed,
            rps: if elapsed_s > 0.0 {
                g.stats.requests() as f64 / elapsed_s
            } else {
                0.0
            },
            latency_ms: g.stats.latency.summary(),
            checks: g.checks,
            histogram: g.stats.latency.to_base64(),
        })
        .collect()
}
