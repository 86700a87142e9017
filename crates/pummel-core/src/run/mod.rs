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

mod custom_metrics;
mod debug;
mod global;
mod groups;
mod in_flight;
mod parts;
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
use crate::metrics::{IntervalSnapshot, PhaseOf, RunMetrics, WorkerMessage};
use crate::result::{ChecksTotal, RunFacts, RunResult, ThresholdResult};
use crate::scenario::load_model::CycleWindow;
use crate::scenario::model::Plan;
use crate::segment::{Segment, SegmentOptions};

pub use debug::{DebugMode, HttpDebug, MAX_SHOWN};
pub use global::GlobalStepsError;
pub use parts::{
    collector, finish, global_setup, global_teardown, layout, run_segment, run_segment_named,
    AbortWatch, Captures, GlobalSteps, SegmentsMerge,
};
use program::Program;
pub use runner_slots::RunnerNames;
pub use vu::{RenderError, StepPart};
use worker_state::{InitialVars, WorkerPlan};

/// How to run a plan (beyond what the file says).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (capped by the number of VUs the model can run).
    pub threads: u64,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Show requests and responses (`--http-debug`); `None` costs nothing.
    pub http_debug: Option<HttpDebug>,
    /// The proxy requests go through (`--proxy`), in place of the file's
    /// `defaults.proxy`; requests that name their own keep it.
    pub proxy: Option<crate::http::ProxyUrl>,
    /// The addresses the run may connect to (an agent of a shared server);
    /// `None`: any, as for a local run.
    pub connect_filter: Option<crate::http::ConnectFilter>,
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
    /// The segment to run is not one (`index` not below `count`), or cannot
    /// be split among the threads asked for.
    #[error(
        "segment {index}/{count} cannot be run: not a segment, or too many to split among threads"
    )]
    Segment { index: u32, count: u32 },
    /// A closed model's segment with no virtual user of its own: the
    /// plan has fewer VUs than there are segments, and this one's share of
    /// the iterations would never run.
    #[error("segment {index}/{count} has no virtual user: the plan's {vus} cannot be shared among {count} segments")]
    NoVus { index: u32, count: u32, vus: u32 },
    /// Captures given to a segment or a teardown name a variable the plan
    /// does not have: they are another plan's.
    #[error("the captures name variable {0:?}, which the plan does not have")]
    UnknownCapture(String),
    /// The global teardown's steps failed.
    #[error("the global teardown failed: {0}")]
    Teardown(GlobalStepsError),
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
    let program = Arc::new(Program::compile(plan));
    let plans = WorkerPlans::new(program.clone(), options, stop)?;

    // Global setup: once, before the load; its captures seed every VU. What
    // the global steps measure joins the totals, not the timeline.
    let (initial_vars, mut extra) = setup_steps(&plans)?;
    let mut aborts = AbortWatch::of(program.clone());
    let (mut measured, workers) = run_load(
        &plans,
        options,
        &SegmentOptions::default(),
        initial_vars.clone(),
        None,
        |p| {
            if aborts.check(p) {
                stop.stop();
            }
            on_progress(p);
        },
    )?;

    // Global teardown: once, after the load.
    match teardown_steps(&plans, initial_vars) {
        Ok(teardown) => extra.extend(teardown),
        Err(e) => {
            if let Some(first) = measured.reports.first_mut() {
                first.failures.push(format!("teardown: {e}"));
            }
        }
    }
    merge_extra(&mut measured.metrics, &extra);
    let windows = program.plan.load.cycle_windows();
    Ok(outcome(
        &program,
        options,
        workers,
        measured,
        &windows,
        aborts.aborted_by(),
    ))
}

/// Runs the global setup, if any: the variables every VU starts with (its
/// captures) and what it measured.
fn setup_steps(plans: &WorkerPlans) -> Result<(InitialVars, Vec<IntervalSnapshot>), RunError> {
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
    Ok((Arc::new(vars), intervals(measured)))
}

/// Runs the global teardown, if any: what it measured.
fn teardown_steps(
    plans: &WorkerPlans,
    initial_vars: InitialVars,
) -> Result<Vec<IntervalSnapshot>, GlobalStepsError> {
    let program = &plans.program;
    if program.teardown.is_empty() {
        return Ok(Vec::new());
    }
    let (_, measured) = global::run_global_steps(
        &plans.whole(initial_vars),
        &program.teardown,
        program.layout.clone(),
    )?;
    Ok(intervals(measured))
}

/// The interval snapshots among a worker's messages.
fn intervals(messages: Vec<WorkerMessage>) -> Vec<IntervalSnapshot> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            WorkerMessage::Interval { snapshot, .. } => Some(snapshot),
            WorkerMessage::Finished { .. } => None,
        })
        .collect()
}

/// What every worker's plan has in common, to make one per segment.
struct WorkerPlans {
    program: Arc<Program>,
    known_addrs: HashMap<(String, u16), Vec<std::net::SocketAddr>>,
    session: SessionOptions,
    stop: StopSignal,
    debug: Option<HttpDebug>,
}

impl WorkerPlans {
    /// Resolves the plan's target once, for every worker.
    fn new(
        program: Arc<Program>,
        options: &RunOptions,
        stop: &StopSignal,
    ) -> Result<WorkerPlans, RunError> {
        let mut proxies = program.plan.proxies.clone();
        let default_proxy = match &options.proxy {
            Some(proxy) => {
                proxies.push(Arc::new(proxy.clone()));
                Some(proxies.len() - 1)
            }
            None => match program.plan.defaults.proxy {
                crate::http::proxy::ProxySetting::Via(id) => Some(id),
                _ => None,
            },
        };
        let session = SessionOptions {
            tls: SharedClientConfig::with_profiles(options.insecure, &program.plan.tls_profiles),
            hosts: program.plan.defaults.hosts.iter().cloned().collect(),
            proxies,
            default_proxy,
            connect_filter: options.connect_filter.clone(),
            ..SessionOptions::default()
        };
        Ok(WorkerPlans {
            known_addrs: resolve_target(&program.plan, &session)?,
            session,
            program,
            stop: stop.clone(),
            debug: options.http_debug.clone(),
        })
    }

    /// The plan of the worker that runs `segment` of the whole plan.
    fn segment(&self, segment: Segment, initial_vars: InitialVars) -> WorkerPlan {
        WorkerPlan {
            program: self.program.clone(),
            segment,
            // VU ids are numbered across every segment of the whole.
            workers: segment.count,
            initial_vars,
            connectors: self.session.clone(),
            known_addrs: self.known_addrs.clone(),
            run_stop: self.stop.clone(),
            debug: self.debug.clone(),
        }
    }

    /// The plan of the global setup's and teardown's lone VU.
    fn whole(&self, initial_vars: InitialVars) -> WorkerPlan {
        self.segment(Segment::WHOLE, initial_vars)
    }
}

/// Runs `part`'s share of the load, split among worker threads, under the
/// coordinator; returns what was measured and the number of threads.
fn run_load(
    plans: &WorkerPlans,
    options: &RunOptions,
    part: &SegmentOptions,
    initial_vars: InitialVars,
    on_interval: Option<&mut dyn FnMut(IntervalSnapshot)>,
    mut on_progress: impl FnMut(&Progress<'_>),
) -> Result<(Measured, u32), RunError> {
    let program = &plans.program;
    let outer = part.segment;
    let bad_segment = || RunError::Segment {
        index: outer.index,
        count: outer.count,
    };
    if !outer.is_valid() {
        return Err(bad_segment());
    }
    let whole_vus = program.plan.load.max_vus();
    let own_vus = outer.share(u64::from(whole_vus));
    if own_vus == 0 && !program.plan.load.is_open() && outer.count > 1 {
        return Err(RunError::NoVus {
            index: outer.index,
            count: outer.count,
            vus: whole_vus,
        });
    }
    // Never more threads than the segment has VUs to run.
    // A runner's journey runs one process per worker thread.
    let threads = program
        .plan
        .runner
        .as_ref()
        .and_then(|r| r.processes)
        .map_or(options.threads, u64::from);
    let max_vus = outer.share(u64::from(program.plan.max_vus_all())).max(1);
    let workers = threads.clamp(1, max_vus) as u32;
    // Each thread runs a segment of the whole plan (`Segment::within`).
    let segments = Segment::all(workers)
        .map(|inner| inner.within(outer))
        .collect::<Option<Vec<Segment>>>()
        .ok_or_else(bad_segment)?;
    // A runner's processes start, and say hello, before the load: one that
    // cannot start stops the run before it began.
    let mut runners = match &program.plan.runner {
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
    let worker_fns: Vec<Worker> = segments
        .into_iter()
        .enumerate()
        .map(|(i, segment)| {
            let plan = plans.segment(segment, initial_vars.clone());
            let runner = runners.get_mut(i).and_then(Option::take);
            Box::new(move |ctx: WorkerContext| worker::run(plan, runner, ctx)) as Worker
        })
        .collect();
    let measured = coordinator::run(
        worker_fns,
        program.layout.clone(),
        phases(&program.plan),
        &plans.stop,
        part.start_at,
        on_interval,
        |p| on_progress(&p),
    )?;
    Ok((measured, workers))
}

/// A cycles run's phases: a second belongs to the cycle whose steady
/// window holds its middle, so even a one-second hold is measured (over the
/// second that overlaps it most).
fn phases(plan: &Plan) -> Option<(usize, PhaseOf)> {
    let windows = plan.load.cycle_windows();
    (!windows.is_empty()).then(|| {
        let count = windows.len();
        let phase_of: PhaseOf = Box::new(move |interval: u32| {
            let middle = Duration::from_millis(u64::from(interval) * 1000 + 500);
            windows
                .iter()
                .position(|c| middle >= c.steady && middle < c.end)
        });
        (count, phase_of)
    })
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
    result.groups = groups::group_results(program, metrics, elapsed_s);
    result.metrics = custom_metrics::metric_results(program, metrics);
    let retried = result.steps.iter().filter_map(|s| s.retries);
    result.retries = result
        .steps
        .iter()
        .any(|s| s.retries.is_some())
        .then(|| retried.sum());
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
    let no_gauges = std::collections::BTreeMap::new();
    let figures = verdict::Figures {
        per_key: &metrics.totals,
        counters: &metrics.counters,
        gauges: metrics.timeline.last().map_or(&no_gauges, |p| &p.gauges),
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
    session: &SessionOptions,
) -> Result<HashMap<(String, u16), Vec<std::net::SocketAddr>>, RunError> {
    let mut known = HashMap::new();
    if !session.proxies.is_empty() {
        // Every proxy is resolved now: a name that does not resolve is the
        // user's to fix before any load starts.
        let runtime = coordinator::local_runtime()?;
        for proxy in &session.proxies {
            let addrs = runtime
                .block_on(proxy.resolve())
                .map_err(|source| RunError::Resolve {
                    host: proxy.host.clone(),
                    source,
                })?;
            known.insert((proxy.host.clone(), proxy.port), addrs);
        }
    }
    let Some(target) = &plan.target else {
        return Ok(known);
    };
    if session.default_proxy.is_some() {
        // The proxy resolves the target's name, which this machine may
        // not know at all.
        return Ok(known);
    }
    if plan
        .defaults
        .hosts
        .iter()
        .any(|(name, _)| target.host.eq_ignore_ascii_case(name))
    {
        // `hosts:` says where the target is: no lookup, which may well fail.
        return Ok(known);
    }
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
fn merge_extra(metrics: &mut RunMetrics, extra: &[IntervalSnapshot]) {
    for snapshot in extra {
        for (total, s) in metrics.totals.iter_mut().zip(&snapshot.stats) {
            total.merge(s);
        }
        for (total, n) in metrics.counters.iter_mut().zip(&snapshot.counters) {
            *total += n;
        }
    }
}
