//! A run's result: the merged figures, per step, scenario and cycle, as the
//! JSON result records them.

use std::time::Duration;

use super::program::{KeyKind, Program};
use super::runner_slots::Incident;
use crate::metrics::{KeyId, RunMetrics, Stats};
use crate::result::{
    error_map, status_map, CheckResult, CustomMetricResult, CycleResult, IterationCounts,
    RunnerResult, ScenarioResult, StepResult,
};
use crate::scenario::load_model::{CycleWindow, LoadModel, Stage};
use crate::scenario::model::Plan;

/// The run's configuration as the result records it: `requested_threads`
/// as asked, `workers` as run.
pub(super) fn config_json(plan: &Plan, requested_threads: u64, workers: u32) -> serde_json::Value {
    serde_json::json!({
        "file": plan.file,
        "name": plan.name,
        "url": plan.target.as_ref().map(|t| t.absolute()),
        "load": load_json(&plan.load),
        "scenarios": plan.scenarios.iter().map(scenario_json).collect::<Vec<_>>(),
        "threads": workers,
        "requested_threads": requested_threads,
        "max_vus": plan.load.max_vus(),
        "arrivals": plan.load.is_open().then(|| plan.arrivals.name()),
        "seed": plan.seed,
    })
}

/// A scenario as the result's configuration records it: its tags only
/// when it has some, so results of files without tags keep their shape.
fn scenario_json(s: &crate::scenario::model::Scenario) -> serde_json::Value {
    let mut v = serde_json::json!({"name": s.name, "weight": s.weight});
    if !s.tags.is_empty() {
        let tags: serde_json::Map<String, serde_json::Value> = s
            .tags
            .iter()
            .map(|(k, t)| (k.to_owned(), serde_json::Value::from(t)))
            .collect();
        v["tags"] = serde_json::Value::Object(tags);
    }
    v
}

/// The load model as the result records it.
fn load_json(load: &LoadModel) -> serde_json::Value {
    let secs = |d: Duration| d.as_secs_f64();
    let stages = |stages: &[Stage]| -> Vec<serde_json::Value> {
        stages
            .iter()
            .map(|s| serde_json::json!({"duration_s": secs(s.duration), "target": s.target}))
            .collect()
    };
    match load {
        LoadModel::Vus {
            vus,
            duration,
            iterations,
        } => serde_json::json!({
            "model": "vus", "vus": vus, "duration_s": duration.map(secs), "iterations": iterations,
        }),
        LoadModel::RampingVus { start, stages: s } => serde_json::json!({
            "model": "stages", "start_vus": start, "stages": stages(s),
        }),
        LoadModel::Rate {
            rate,
            duration,
            max_vus,
        } => serde_json::json!({
            "model": "rate", "rate": rate, "duration_s": secs(*duration), "max_vus": max_vus,
        }),
        LoadModel::RampingRate {
            start,
            stages: s,
            max_vus,
        } => serde_json::json!({
            "model": "rate_stages", "start_rate": start, "stages": stages(s), "max_vus": max_vus,
        }),
        LoadModel::Cycles(c) => serde_json::json!({
            "model": "cycles", "levels": c.levels, "cycle_duration_s": secs(c.cycle_duration),
            "startup_delay_s": secs(c.startup_delay), "pause_s": secs(c.pause),
        }),
    }
}

pub(super) fn step_results(
    program: &Program,
    metrics: &RunMetrics,
    elapsed_s: f64,
) -> Vec<StepResult> {
    let checks = program.check_infos();
    program
        .key_kinds()
        .iter()
        .enumerate()
        .filter_map(|(i, kind)| {
            let KeyKind::Step {
                scenario,
                name,
                global,
                group,
                tags,
            } = kind
            else {
                return None;
            };
            let s: &Stats = &metrics.totals[i];
            let checks = checks
                .iter()
                .filter(|c| c.key.index() == i)
                .map(|c| CheckResult {
                    label: c.label.clone(),
                    passed: metrics.counters[c.pass.0 as usize],
                    failed: metrics.counters[c.fail.0 as usize],
                })
                .collect();
            Some(StepResult {
                name: name.clone(),
                scenario: scenario.clone(),
                global: global.map(|g| g.as_str().to_owned()),
                group: (!group.is_empty()).then(|| group.join("/")),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                requests: s.requests(),
                responses: s.responses,
                failed: program.failed(i, s, &metrics.counters),
                rps: if elapsed_s > 0.0 {
                    s.requests() as f64 / elapsed_s
                } else {
                    0.0
                },
                latency_ms: s.latency.summary(),
                status: status_map(s),
                errors: error_map(s),
                bytes_received: s.bytes_received,
                bytes_sent: s.bytes_sent,
                cut: s.aborted,
                checks,
                retries: program
                    .has_retry(i)
                    .then(|| program.retries(i, &metrics.counters)),
                histogram: s.latency.to_base64(),
            })
        })
        .collect()
}

/// Per scenario: its iterations' duration and what became of each one.
pub(super) fn scenario_results(program: &Program, metrics: &RunMetrics) -> Vec<ScenarioResult> {
    let open_model = program.plan.load.is_open();
    program
        .scenarios
        .iter()
        .map(|s| {
            let it = &metrics.totals[s.iteration_key.index()];
            let completed = metrics.counters[s.completed_counter.0 as usize];
            let failed = metrics.counters[s.aborted_counter.0 as usize];
            let (cut, dropped) = (it.aborted, it.dropped);
            ScenarioResult {
                name: s.name.clone(),
                iterations: completed + failed,
                aborted: failed,
                iteration_ms: it.latency.summary(),
                late: it.late,
                dropped,
                iteration_counts: Some(IterationCounts {
                    // Every slot the schedule released by the end was taken
                    // (and then completed, failed or cut) or dropped.
                    scheduled: open_model.then_some(completed + failed + cut + dropped),
                    completed,
                    failed,
                    cut,
                    dropped,
                }),
            }
        })
        .collect()
}

/// The scenarios' iteration counts together.
pub(super) fn iteration_total(scenarios: &[ScenarioResult], plan: &Plan) -> IterationCounts {
    let mut total = IterationCounts {
        scheduled: plan.load.is_open().then_some(0),
        ..IterationCounts::default()
    };
    for s in scenarios {
        total.add(&s.counts());
    }
    total
}

pub(super) fn cycle_results(
    program: &Program,
    metrics: &RunMetrics,
    windows: &[CycleWindow],
) -> Vec<CycleResult> {
    metrics
        .phases
        .iter()
        .zip(windows)
        .map(|(phase, window)| {
            let combined = program.layout.combine(&phase.stats);
            let duration_s = f64::from(phase.intervals);
            let requests = combined.requests();
            let errors: u64 = (0..phase.stats.len())
                .filter(|&i| program.is_request_key(KeyId(i as u32)))
                .map(|i| program.failed(i, &phase.stats[i], &phase.counters))
                .sum();
            CycleResult {
                index: window.index,
                level: window.level,
                duration_s,
                requests,
                rps: if duration_s > 0.0 {
                    requests as f64 / duration_s
                } else {
                    0.0
                },
                errors,
                error_rate: if requests > 0 {
                    errors as f64 / requests as f64
                } else {
                    0.0
                },
                latency_ms: combined.latency.summary(),
            }
        })
        .collect()
}

/// A runner's run: what ran it, what went wrong, its custom metrics.
pub(super) fn runner_result(
    program: &Program,
    metrics: &RunMetrics,
    processes: u32,
) -> Option<RunnerResult> {
    let spec = program.plan.runner.as_ref()?;
    let slots = program.runner.as_ref()?;
    let incidents = Incident::ALL
        .iter()
        .map(|i| {
            (
                i.as_str().to_owned(),
                metrics.counters[slots.incident(*i).0 as usize],
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let names = slots.snapshot();
    let mut custom = Vec::new();
    for (name, id) in names.counters.iter().zip(&slots.counters) {
        custom.push(CustomMetricResult {
            name: name.clone(),
            kind: "counter".into(),
            value: Some(metrics.counters[id.0 as usize] as f64),
            trend: None,
        });
    }
    for (kind, names, keys) in [
        ("gauge", &names.gauges, &slots.gauges),
        ("trend", &names.trends, &slots.trends),
    ] {
        for (name, key) in names.iter().zip(keys) {
            let summary = metrics.totals[key.index()].latency.summary();
            custom.push(CustomMetricResult {
                name: name.clone(),
                kind: kind.into(),
                value: (kind == "gauge").then_some(summary.max),
                trend: Some(summary),
            });
        }
    }
    Some(RunnerResult {
        kind: spec.kind.as_str().to_owned(),
        file: spec.file.display().to_string(),
        entry: spec.entry.clone(),
        processes,
        incidents,
        metrics: custom,
    })
}
