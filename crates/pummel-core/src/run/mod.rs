//! `pummel run`: scenario files under a load model.
//!
//! The plan (a loaded scenario file) is compiled once ([`program`]), its
//! global setup runs once as VU 0 (`global`), then the load runs as one
//! segment per worker thread (`worker`), each with its share of the
//! virtual users (`vu`) and the state they share (`worker_state`); the
//! requests and iterations under way when the run ends are counted as cut
//! (`in_flight`); the coordinator merges their snapshots and collects their
//! reports.
//! Thresholds are judged on the merged figures ([`verdict`]), during the
//! run for those that abort; `result` builds the run's result.
//!
//! The modules call one way: this one → `global`, `worker` → `vu` →
//! `vu::websocket`, `worker` and `vu` → `in_flight`, all of them →
//! `worker_state` and `program`.

mod global;
mod in_flight;
pub(crate) mod program;
mod result;
mod runner;
mod runner_slots;
pub(crate) mod verdict;
mod vu;
mod worker;
mod worker_state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::coordinator::{self, Measured, Progress, SpawnError, StopSignal, Worker, WorkerContext};
use crate::http::session::SessionOptions;
use crate::http::tls::SharedClientConfig;
use crate::metrics::{PhaseOf, RunMetrics, WorkerMessage};
use crate::result::{ChecksTotal, RunFacts, RunResult, ThresholdResult};
use crate::scenario::load_model::CycleWindow;
use crate::scenario::model::Plan;
use crate::segment::Segment;

pub use global::GlobalStepsError;
use program::Program;
pub use vu::{RenderError, StepPart};
use worker_state::{InitialVars, WorkerPlan};

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
    /// The target's host name did not resolve.
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    /// The global setup's steps failed; the load did not start.
    #[error("the global setup failed: {0}")]
    Setup(GlobalStepsError),
    /// A runner process could not start, or did not speak the protocol.
    #[error("the {kind} runner for {file} could not start: {message}")]
    Runner {
        kind: &'static str,
        file: String,
        message: String,
    },
    /// A worker thread (or a runtime) could not be started.
    #[error(transparent)]
    Thread(#[from] SpawnError),
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
    on_progress: impl FnMut(&Progress<'_>),
) -> Result<RunOutcome, RunError> {
    let program = Arc::new(Program::compile(plan.clone()));
    let plans = WorkerPlans {
        program: program.clone(),
        known_addrs: resolve_target(&plan)?,
        session: SessionOptions {
            tls: SharedClientConfig::new(options.insecure),
            ..SessionOptions::default()
        },
        stop: stop.clone(),
    };

    // Global setup: once, before the load; its captures seed every VU. What
    // the global steps measure joins the totals, not the timeline.
    let (initial_vars, mut extra) = global_setup(&plans)?;
    let max_vus = u64::from(plan.load.max_vus()).max(1);
    // A runner's journey runs one process per worker thread.
    let threads = plan
        .runner
        .as_ref()
        .and_then(|r| r.processes)
        .map_or(options.threads, u64::from);
    let workers = threads.clamp(1, max_vus) as u32;
    // A runner's processes start, and say hello, before the load: one that
    // cannot start stops the run before it began.
    let mut runners = match &plan.runner {
        Some(spec) => {
            let origin = std::time::Instant::now();
            runner::start_all(spec, workers, origin)
                .map_err(|message| RunError::Runner {
                    kind: spec.kind().as_str(),
                    file: spec.file().display().to_string(),
                    message,
                })?
                .into_iter()
                .map(|ready| Some(worker::Runner { ready, origin }))
                .collect()
        }
        None => Vec::new(),
    };
    let worker_fns: Vec<Worker> = Segment::all(workers)
        .map(|segment| {
            let plan = plans.segment(segment, workers, initial_vars.clone());
            let runner = runners
                .get_mut(segment.index as usize)
                .and_then(Option::take);
            Box::new(move |ctx: WorkerContext| worker::run(plan, runner, ctx)) as Worker
        })
        .collect();
    let windows = plan.load.cycle_windows();
    let (mut measured, aborted_by) = run_load(&program, worker_fns, &windows, stop, on_progress)?;

    // Global teardown: once, after the load.
    extra.extend(global_teardown(&plans, initial_vars, &mut measured));
    merge_extra(&mut measured.metrics, extra);
    Ok(outcome(
        &program,
        options,
        workers,
        measured,
        &windows,
        &aborted_by,
    ))
}

/// Runs the global setup, if any: the variables every VU starts with (its
/// captures) and what it measured.
fn global_setup(plans: &WorkerPlans) -> Result<(InitialVars, Vec<WorkerMessage>), RunError> {
    let program = &plans.program;
    let empty_vars = Arc::new(vec![None; program.plan.vars.len()]);
    if program.setup.is_empty() {
        return Ok((empty_vars, Vec::new()));
    }
    let (vars, measured) = global::run_global_steps(
        &plans.whole(empty_vars),
        &program.setup,
        program.layout.clone(),
    )
    .map_err(RunError::Setup)?;
    Ok((Arc::new(vars), measured))
}

/// Runs the global teardown, if any: what it measured. Its failure is
/// reported with the first worker's.
fn global_teardown(
    plans: &WorkerPlans,
    initial_vars: InitialVars,
    measured: &mut Measured,
) -> Vec<WorkerMessage> {
    let program = &plans.program;
    if program.teardown.is_empty() {
        return Vec::new();
    }
    match global::run_global_steps(
        &plans.whole(initial_vars),
        &program.teardown,
        program.layout.clone(),
    ) {
        Ok((_, teardown_measured)) => teardown_measured,
        Err(e) => {
            if let Some(first) = measured.reports.first_mut() {
                first.failures.push(format!("teardown: {e}"));
            }
            Vec::new()
        }
    }
}

/// What every worker's plan has in common, to make one per segment.
struct WorkerPlans {
    program: Arc<Program>,
    known_addrs: HashMap<(String, u16), Vec<std::net::SocketAddr>>,
    session: SessionOptions,
    stop: StopSignal,
}

impl WorkerPlans {
    fn segment(&self, segment: Segment, workers: u32, initial_vars: InitialVars) -> WorkerPlan {
        WorkerPlan {
            program: self.program.clone(),
            segment,
            workers,
            initial_vars,
            connectors: self.session.clone(),
            known_addrs: self.known_addrs.clone(),
            run_stop: self.stop.clone(),
        }
    }

    /// The plan of the global setup's and teardown's lone VU.
    fn whole(&self, initial_vars: InitialVars) -> WorkerPlan {
        self.segment(Segment::WHOLE, 1, initial_vars)
    }
}

/// Runs the workers under the coordinator. Thresholds that abort are
/// judged once a second on the figures so far; returns what was measured
/// and the thresholds that stopped the run.
fn run_load(
    program: &Program,
    workers: Vec<Worker>,
    windows: &[CycleWindow],
    stop: &StopSignal,
    mut on_progress: impl FnMut(&Progress<'_>),
) -> Result<(Measured, Vec<usize>), RunError> {
    let phases = (!windows.is_empty()).then(|| {
        let w = windows.to_vec();
        // Metrics are kept per second: a second belongs to the cycle whose
        // steady window holds its middle, so even a one-second hold is
        // measured (over the second that overlaps it most).
        let phase_of: PhaseOf = Box::new(move |interval: u32| {
            let middle = Duration::from_millis(u64::from(interval) * 1000 + 500);
            w.iter().position(|c| middle >= c.steady && middle < c.end)
        });
        (windows.len(), phase_of)
    });
    let mut aborted_by: Vec<usize> = Vec::new();
    let measured = coordinator::run(workers, program.layout.clone(), phases, stop, |p| {
        for (i, t) in program.plan.thresholds.iter().enumerate() {
            if t.abort_on_fail && p.elapsed >= t.abort_grace && !aborted_by.contains(&i) {
                let figures = verdict::Figures {
                    per_key: p.per_key,
                    counters: p.counters,
                    elapsed_s: p.elapsed.as_secs_f64(),
                };
                let judged = verdict::judge(program, t, &figures);
                if judged.observed.is_some() && !judged.passed {
                    aborted_by.push(i);
                    stop.stop();
                }
            }
        }
        on_progress(&p);
    })?;
    Ok((measured, aborted_by))
}

/// The run's outcome from what was measured: failures, verdict, result.
fn outcome(
    program: &Program,
    options: &RunOptions,
    workers: u32,
    measured: Measured,
    windows: &[CycleWindow],
    aborted_by: &[usize],
) -> RunOutcome {
    let plan = &program.plan;
    let metrics = &measured.metrics;
    let mut failures = Vec::new();
    let mut fatal = None;
    for r in measured.reports {
        failures.extend(r.failures);
        if fatal.is_none() {
            fatal = r.fatal;
        }
    }
    failures.truncate(worker_state::MAX_FAILURE_EXAMPLES);

    let elapsed_s = measured.elapsed.as_secs_f64();
    let thresholds = judge_thresholds(program, metrics, elapsed_s, aborted_by);
    let passed = thresholds.iter().all(|t| t.passed);
    let partial = measured.partial && aborted_by.is_empty();

    let mut result = RunResult::new(RunFacts {
        kind: "run",
        config: result::config_json(plan, options.threads, workers),
        totals: &metrics.combined(),
        timeline: metrics.timeline.clone(),
        elapsed: measured.elapsed,
        started_at: measured.started_at,
        rate: plan
            .load
            .is_open()
            .then(|| plan.load.rate_at(Duration::ZERO).unwrap_or(0.0)),
        partial: partial || fatal.is_some(),
    });
    result.steps = result::step_results(program, metrics, elapsed_s);
    result.scenarios = result::scenario_results(program, metrics);
    let checks = program.check_infos();
    result.checks = (!checks.is_empty()).then(|| {
        let mut total = ChecksTotal::default();
        for c in checks.iter() {
            total.passed += metrics.counters[c.pass.0 as usize];
            total.failed += metrics.counters[c.fail.0 as usize];
        }
        total
    });
    result.iteration_counts = Some(result::iteration_total(&result.scenarios, plan));
    result.cycles = result::cycle_results(program, metrics, windows);
    result.verdict =
        (!thresholds.is_empty()).then(|| if passed { "pass" } else { "fail" }.to_owned());
    result.thresholds = thresholds;
    result.failures = failures;
    result.runner = result::runner_result(program, metrics, workers);
    RunOutcome {
        result,
        fatal,
        passed,
    }
}

/// Every threshold judged on the run's totals; those that aborted the run
/// fail whatever the totals say.
fn judge_thresholds(
    program: &Program,
    metrics: &RunMetrics,
    elapsed_s: f64,
    aborted_by: &[usize],
) -> Vec<ThresholdResult> {
    let figures = verdict::Figures {
        per_key: &metrics.totals,
        counters: &metrics.counters,
        elapsed_s,
    };
    program
        .plan
        .thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut judged = verdict::judge(program, t, &figures);
            if aborted_by.contains(&i) {
                judged.passed = false;
                judged.aborted_run = true;
            }
            judged
        })
        .collect()
}

fn resolve_target(
    plan: &Plan,
) -> Result<HashMap<(String, u16), Vec<std::net::SocketAddr>>, RunError> {
    let mut known = HashMap::new();
    let Some(target) = &plan.target else {
        return Ok(known);
    };
    let runtime = coordinator::local_runtime()?;
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
