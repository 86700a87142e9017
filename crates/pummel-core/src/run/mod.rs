//! `pummel run`: scenario files under a load model.
//!
//! The plan (a loaded scenario file) is compiled once ([`program`]), its
//! global setup runs once as VU 0, then the load runs as one segment per
//! worker thread ([`worker`]), each with its share of the virtual users
//! ([`vu`]); the coordinator merges their snapshots. Thresholds are judged
//! on the merged figures ([`verdict`]), during the run for those that abort.

pub mod program;
pub mod verdict;
pub mod vu;
mod vu_ws;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::coordinator::{self, Progress, StopSignal, Worker, WorkerContext};
use crate::http::session::SessionOptions;
use crate::http::tls::SharedClientConfig;
use crate::metrics::{KeyId, RunMetrics, Stats, WorkerMessage};
use crate::result::{
    error_map, status_map, CheckResult, ChecksTotal, CycleResult, RunFacts, RunResult,
    ScenarioResult, StepResult, ThresholdResult,
};
use crate::scenario::model::Plan;
use crate::segment::Segment;

use program::{KeyKind, Program};
use worker::{WorkerPlan, WorkerReport};

/// How to run a plan (beyond what the file says).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (capped by the number of VUs the model can run).
    pub threads: u64,
    /// Accept any TLS certificate.
    pub insecure: bool,
}

/// Why a run could not start, or could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("the global setup failed: {0}")]
    Setup(String),
    #[error("cannot start worker thread: {0}")]
    Thread(std::io::Error),
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub result: RunResult,
    /// A failure that ended the run early (a unique feeder ran dry).
    pub fatal: Option<String>,
    /// True when every threshold held (or there were none).
    pub passed: bool,
}

/// Runs a plan to the end or until `stop`.
pub fn run(
    plan: Arc<Plan>,
    options: &RunOptions,
    stop: &StopSignal,
    mut on_progress: impl FnMut(&Progress<'_>),
) -> Result<RunOutcome, RunError> {
    let program = Arc::new(Program::compile(plan.clone()));
    let known_addrs = resolve_target(&plan)?;
    let session = SessionOptions {
        tls: SharedClientConfig::new(options.insecure),
        ..SessionOptions::default()
    };
    let worker_plan = |segment: Segment, workers: u32, vars: Arc<Vec<Option<String>>>| WorkerPlan {
        program: program.clone(),
        segment,
        workers,
        initial_vars: vars,
        connectors: session.clone(),
        known_addrs: known_addrs.clone(),
        run_stop: stop.clone(),
    };

    // Global setup: once, before the load; its captures seed every VU.
    let mut extra: Vec<WorkerMessage> = Vec::new();
    let empty_vars = Arc::new(vec![None; plan.vars.len()]);
    let initial_vars = if program.setup.is_empty() {
        empty_vars
    } else {
        let (vars, measured) = worker::run_once(
            &worker_plan(Segment::WHOLE, 1, empty_vars),
            &program.setup,
            program.layout.clone(),
        )
        .map_err(RunError::Setup)?;
        extra.extend(measured);
        Arc::new(vars)
    };

    let max_vus = u64::from(plan.load.max_vus()).max(1);
    let workers = options.threads.clamp(1, max_vus) as u32;
    let reports: Vec<Arc<Mutex<WorkerReport>>> = (0..workers).map(|_| Arc::default()).collect();
    let worker_fns: Vec<Worker> = Segment::all(workers)
        .zip(&reports)
        .map(|(segment, report)| {
            let plan = worker_plan(segment, workers, initial_vars.clone());
            let report = report.clone();
            Box::new(move |ctx: WorkerContext| worker::run(plan, ctx, &report)) as Worker
        })
        .collect();

    let windows = plan.load.cycle_windows();
    let phases = (!windows.is_empty()).then(|| {
        let w = windows.clone();
        // Metrics are kept per second: a second belongs to the cycle whose
        // steady window holds its middle, so even a one-second hold is
        // measured (over the second that overlaps it most).
        let phase_of: crate::metrics::PhaseOf = Box::new(move |interval: u32| {
            let middle = Duration::from_millis(u64::from(interval) * 1000 + 500);
            w.iter().position(|c| middle >= c.steady && middle < c.end)
        });
        (windows.len(), phase_of)
    });

    // Thresholds that abort are judged once a second on the figures so far.
    let mut aborted_by: Vec<usize> = Vec::new();
    let outcome = coordinator::run(worker_fns, program.layout.clone(), phases, stop, |p| {
        for (i, t) in plan.thresholds.iter().enumerate() {
            if t.abort_on_fail && p.elapsed >= t.abort_grace && !aborted_by.contains(&i) {
                let figures = verdict::Figures {
                    per_key: p.per_key,
                    counters: p.counters,
                    elapsed_s: p.elapsed.as_secs_f64(),
                };
                let judged = verdict::judge(&program, t, &figures);
                if judged.observed.is_some() && !judged.passed {
                    aborted_by.push(i);
                    stop.stop();
                }
            }
        }
        on_progress(&p);
    })
    .map_err(|e| RunError::Thread(e.0))?;

    // Global teardown: once, after the load.
    if !program.teardown.is_empty() {
        match worker::run_once(
            &worker_plan(Segment::WHOLE, 1, initial_vars.clone()),
            &program.teardown,
            program.layout.clone(),
        ) {
            Ok((_, measured)) => extra.extend(measured),
            Err(message) => reports[0]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .failures
                .push(format!("teardown: {message}")),
        }
    }

    let mut metrics = outcome.metrics;
    merge_extra(&mut metrics, extra);
    let mut failures = Vec::new();
    let mut fatal = None;
    for r in &reports {
        let r = r.lock().unwrap_or_else(|e| e.into_inner());
        failures.extend(r.failures.iter().cloned());
        if fatal.is_none() {
            fatal = r.fatal.clone();
        }
    }
    failures.truncate(20);

    let elapsed_s = outcome.elapsed.as_secs_f64();
    let figures = verdict::Figures {
        per_key: &metrics.totals,
        counters: &metrics.counters,
        elapsed_s,
    };
    let thresholds: Vec<ThresholdResult> = plan
        .thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut judged = verdict::judge(&program, t, &figures);
            if aborted_by.contains(&i) {
                judged.passed = false;
                judged.aborted_run = true;
            }
            judged
        })
        .collect();
    let passed = thresholds.iter().all(|t| t.passed);
    let partial = outcome.partial && aborted_by.is_empty();

    let mut result = RunResult::new(RunFacts {
        kind: "run",
        config: config_json(&plan, options, workers),
        totals: &metrics.combined(),
        timeline: metrics.timeline.clone(),
        elapsed: outcome.elapsed,
        started_at: outcome.started_at,
        rate: plan
            .load
            .is_open()
            .then(|| plan.load.rate_at(Duration::ZERO).unwrap_or(0.0)),
        partial: partial || fatal.is_some(),
    });
    result.steps = step_results(&program, &metrics, elapsed_s);
    result.scenarios = scenario_results(&program, &metrics);
    result.checks = (!program.checks.is_empty()).then(|| {
        let mut total = ChecksTotal::default();
        for c in &program.checks {
            total.passed += metrics.counters[c.pass.0 as usize];
            total.failed += metrics.counters[c.fail.0 as usize];
        }
        total
    });
    result.cycles = cycle_results(&program, &metrics, &windows);
    result.verdict =
        (!thresholds.is_empty()).then(|| if passed { "pass" } else { "fail" }.to_owned());
    result.thresholds = thresholds;
    result.failures = failures;
    // An open model schedules iterations: late and dropped count iterations,
    // and live on the iteration keys (kept out of the request totals).
    if let Some(open) = &mut result.open_model {
        let iterations = program
            .keys
            .iter()
            .enumerate()
            .filter(|(_, kind)| matches!(kind, KeyKind::Iteration { .. }))
            .map(|(i, _)| &metrics.totals[i]);
        (open.late, open.dropped) =
            iterations.fold((0, 0), |(l, d), s| (l + s.late, d + s.dropped));
    }
    Ok(RunOutcome {
        result,
        fatal,
        passed,
    })
}

fn resolve_target(
    plan: &Plan,
) -> Result<HashMap<(String, u16), Vec<std::net::SocketAddr>>, RunError> {
    let mut known = HashMap::new();
    let Some(target) = &plan.target else {
        return Ok(known);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Thread)?;
    let addrs = runtime
        .block_on(target.resolve())
        .map_err(|source| RunError::Resolve {
            host: target.host.clone(),
            source,
        })?;
    known.insert((target.host.clone(), target.port), addrs);
    Ok(known)
}

/// Adds what the global setup and teardown measured into the run's totals
/// (they are not part of the timeline: they ran outside it).
fn merge_extra(metrics: &mut RunMetrics, extra: Vec<WorkerMessage>) {
    for message in extra {
        if let WorkerMessage::Interval { snapshot, .. } = message {
            for (total, s) in metrics.totals.iter_mut().zip(&snapshot.stats) {
                total.merge(s);
            }
            for (total, n) in metrics.counters.iter_mut().zip(&snapshot.counters) {
                *total += n;
            }
        }
    }
}

fn config_json(plan: &Plan, options: &RunOptions, workers: u32) -> serde_json::Value {
    serde_json::json!({
        "file": plan.file,
        "name": plan.name,
        "url": plan.target.as_ref().map(|t| t.absolute()),
        "load": load_json(&plan.load),
        "scenarios": plan.scenarios.iter().map(|s| serde_json::json!({"name": s.name, "weight": s.weight})).collect::<Vec<_>>(),
        "threads": workers,
        "requested_threads": options.threads,
        "max_vus": plan.load.max_vus(),
    })
}

/// The load model as the result records it.
fn load_json(load: &crate::scenario::load_model::LoadModel) -> serde_json::Value {
    use crate::scenario::load_model::LoadModel;
    let secs = |d: Duration| d.as_secs_f64();
    let stages = |stages: &[crate::scenario::load_model::Stage]| -> Vec<serde_json::Value> {
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

fn step_results(program: &Program, metrics: &RunMetrics, elapsed_s: f64) -> Vec<StepResult> {
    program
        .keys
        .iter()
        .enumerate()
        .filter_map(|(i, kind)| {
            let KeyKind::Step { scenario, name } = kind else {
                return None;
            };
            let s: &Stats = &metrics.totals[i];
            let checks = program
                .checks
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
                checks,
                histogram: s.latency.to_base64(),
            })
        })
        .collect()
}

fn scenario_results(program: &Program, metrics: &RunMetrics) -> Vec<ScenarioResult> {
    program
        .scenarios
        .iter()
        .map(|s| {
            let it = &metrics.totals[s.iteration_key.index()];
            ScenarioResult {
                name: s.name.clone(),
                iterations: it.responses,
                aborted: metrics.counters[s.aborted_counter.0 as usize],
                iteration_ms: it.latency.summary(),
                late: it.late,
                dropped: it.dropped,
            }
        })
        .collect()
}

fn cycle_results(
    program: &Program,
    metrics: &RunMetrics,
    windows: &[crate::scenario::load_model::CycleWindow],
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
