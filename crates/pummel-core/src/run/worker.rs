//! One worker thread of a scenario run: its share of the virtual users,
//! driven by the load model (closed: a target number of VUs over time;
//! open: iterations released at their scheduled moments).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::program::{Program, VUS_GAUGE};
use super::vu::{pacing_wait, Abort, Vu};
use crate::coordinator::WorkerContext;
use crate::http::session::Connectors;
use crate::metrics::recorder::roll_each_second;
use crate::metrics::Recorder;
use crate::pacer::{Pacer, Schedule};
use crate::scenario::feeder::Feeder;
use crate::scenario::load_model::LoadModel;
use crate::scenario::pick::WeightedPick;
use crate::segment::Segment;

/// How often a closed model's VU count is brought to its target.
const RAMP_STEP: Duration = Duration::from_millis(100);
/// Teardown steps (per VU) get this long once the run has stopped.
const TEARDOWN_GRACE: Duration = Duration::from_secs(5);
/// Failure messages kept per worker, as examples for the summary.
const MAX_FAILURE_EXAMPLES: usize = 20;

/// What a worker needs from the coordinator.
pub struct WorkerPlan {
    pub program: Arc<Program>,
    pub segment: Segment,
    /// Total worker count, to number VUs uniquely across workers.
    pub workers: u32,
    /// Variables after the global setup (its captures).
    pub initial_vars: Arc<Vec<Option<String>>>,
    pub connectors: crate::http::session::SessionOptions,
    /// The run's stop signal: a worker that meets a fatal error stops them all.
    pub run_stop: crate::coordinator::StopSignal,
    pub known_addrs: std::collections::HashMap<(String, u16), Vec<std::net::SocketAddr>>,
}

/// State the VUs of one worker share (all on one thread).
pub struct WorkerShared {
    pub program: Arc<Program>,
    pub recorder: RefCell<Recorder>,
    pub connectors: Rc<Connectors>,
    pub feeders: Vec<Feeder>,
    pub initial_vars: Arc<Vec<Option<String>>>,
    pub stopping: Cell<bool>,
    stop_notify: Notify,
    run_stop: crate::coordinator::StopSignal,
    pick: WeightedPick,
    /// Closed model: VUs with an index below this keep iterating.
    desired: Cell<usize>,
    alive: RefCell<Vec<bool>>,
    active: Cell<u64>,
    /// Closed model with `iterations`: left to start.
    budget: Cell<u64>,
    idle: Cell<u64>,
    /// WebSockets open on this worker.
    sockets: Cell<u64>,
    pub failures: RefCell<Vec<String>>,
    /// A failure that must end the run (a unique feeder ran dry).
    pub fatal: RefCell<Option<String>>,
    workers: u32,
    worker_index: u32,
}

impl WorkerShared {
    /// Keeps a few failure messages, for the summary.
    pub fn note_failure(&self, step: &str, what: &str, message: &str) {
        let mut failures = self.failures.borrow_mut();
        if failures.len() < MAX_FAILURE_EXAMPLES {
            failures.push(format!("{step}: {what}: {message}"));
        }
    }

    /// The shared state of a worker (or of the global setup's lone VU).
    pub fn new(plan: &WorkerPlan, recorder: Recorder, budget: u64) -> Rc<WorkerShared> {
        Rc::new(WorkerShared {
            recorder: RefCell::new(recorder),
            connectors: Connectors::new(plan.connectors.clone(), plan.known_addrs.clone()),
            feeders: plan
                .program
                .plan
                .feeders
                .iter()
                .map(|f| f.rows_for(plan.segment))
                .collect(),
            initial_vars: plan.initial_vars.clone(),
            pick: plan.program.plan.scenario_pick(),
            program: plan.program.clone(),
            stopping: Cell::new(false),
            stop_notify: Notify::new(),
            run_stop: plan.run_stop.clone(),
            desired: Cell::new(0),
            alive: RefCell::new(Vec::new()),
            active: Cell::new(0),
            budget: Cell::new(budget),
            idle: Cell::new(0),
            sockets: Cell::new(0),
            failures: RefCell::new(Vec::new()),
            fatal: RefCell::new(None),
            workers: plan.workers,
            worker_index: plan.segment.index,
        })
    }

    fn stop(&self) {
        self.stopping.set(true);
        self.stop_notify.notify_waiters();
    }

    async fn stopped(&self) {
        while !self.stopping.get() {
            self.stop_notify.notified().await;
        }
    }

    fn vu_id(&self, index: usize) -> u64 {
        index as u64 * u64::from(self.workers) + u64::from(self.worker_index) + 1
    }

    pub fn socket_opened(&self) {
        self.sockets.set(self.sockets.get() + 1);
        self.recorder.borrow_mut().set_gauge(
            super::program::SOCKETS_GAUGE,
            self.sockets.get(),
            Instant::now(),
        );
    }

    pub fn socket_closed(&self) {
        self.sockets.set(self.sockets.get().saturating_sub(1));
        self.recorder.borrow_mut().set_gauge(
            super::program::SOCKETS_GAUGE,
            self.sockets.get(),
            Instant::now(),
        );
    }

    fn set_active(&self, delta: i64) {
        let active = (self.active.get() as i64 + delta).max(0) as u64;
        self.active.set(active);
        self.recorder
            .borrow_mut()
            .set_gauge(VUS_GAUGE, active, Instant::now());
    }
}

/// What a worker reports when it ends (besides its snapshots).
#[derive(Debug, Default)]
pub struct WorkerReport {
    pub failures: Vec<String>,
    pub fatal: Option<String>,
}

/// Runs one worker to the end of its share; returns when it stopped.
pub fn run(
    plan: WorkerPlan,
    ctx: WorkerContext,
    report: &std::sync::Mutex<WorkerReport>,
) -> Instant {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime can be built");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, drive(plan, ctx, report))
}

async fn drive(
    plan: WorkerPlan,
    ctx: WorkerContext,
    report: &std::sync::Mutex<WorkerReport>,
) -> Instant {
    let WorkerContext {
        index,
        start,
        sink,
        mut stop,
        layout,
    } = ctx;
    let model = plan.program.plan.load.segment(plan.segment);
    let budget = match &model {
        LoadModel::Vus {
            iterations: Some(n),
            ..
        } => *n,
        _ => u64::MAX,
    };
    let recorder = Recorder::new(index, start, layout, sink);
    let shared = WorkerShared::new(&plan, recorder, budget);
    let deadline = model.duration().map(|d| start + d);

    let ticker = {
        let shared = shared.clone();
        tokio::task::spawn_local(async move { roll_each_second(&shared.recorder, start).await })
    };
    let mut vus = tokio::task::JoinSet::new();
    let pacer = model
        .is_open()
        .then(|| Rc::new(Pacer::new(start, Box::new(ModelSchedule(model.clone())))));
    let driven = async {
        match &pacer {
            Some(pacer) => drive_open(&shared, pacer.clone(), &model, &mut vus).await,
            None => drive_closed(&shared, &model, start, &mut vus).await,
        }
    };
    let deadline_reached = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = driven => {}
        _ = stop.wait_for(|stopped| *stopped) => {}
        _ = deadline_reached => {}
    }
    let end = Instant::now();
    if let Some(pacer) = &pacer {
        // Iterations that were due and never started. No scenario was
        // picked for them: they count on the first scenario's iterations.
        let dropped = pacer.dropped(end);
        let key = shared.program.scenarios[0].iteration_key;
        shared.recorder.borrow_mut().stats(key, end).dropped += dropped;
    }
    // VUs abandon their iteration and run their teardown within the grace
    // period.
    shared.stop();
    let _ = tokio::time::timeout(TEARDOWN_GRACE, async {
        while vus.join_next().await.is_some() {}
    })
    .await;
    vus.abort_all();
    ticker.abort();

    let mut recorder = shared.recorder.borrow_mut();
    recorder.set_gauge(VUS_GAUGE, 0, Instant::now());
    recorder.finish();
    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
    r.failures.extend(shared.failures.borrow().iter().cloned());
    if r.fatal.is_none() {
        r.fatal = shared.fatal.borrow().clone();
    }
    end
}

/// Closed model: keeps the number of running VUs at the model's target.
async fn drive_closed(
    shared: &Rc<WorkerShared>,
    model: &LoadModel,
    start: Instant,
    vus: &mut tokio::task::JoinSet<()>,
) {
    loop {
        let elapsed = start.elapsed();
        let target = model.vus_at(elapsed).unwrap_or(0) as usize;
        shared.desired.set(target);
        for index in 0..target {
            let needs_start = {
                let mut alive = shared.alive.borrow_mut();
                if alive.len() <= index {
                    alive.resize(index + 1, false);
                }
                !std::mem::replace(&mut alive[index], true)
            };
            if needs_start {
                vus.spawn_local(closed_vu(shared.clone(), index));
            }
        }
        let iterations_done = shared.budget.get() == 0 && shared.active.get() == 0;
        let schedule_over = model.duration().is_some_and(|d| elapsed >= d);
        if iterations_done || schedule_over || shared.stopping.get() {
            // Wait for the last VUs to finish their iterations.
            while vus.join_next().await.is_some() {}
            return;
        }
        // Reap finished VUs so the set does not grow over a long ramp.
        while vus.try_join_next().is_some() {}
        tokio::time::sleep(RAMP_STEP).await;
    }
}

async fn closed_vu(shared: Rc<WorkerShared>, index: usize) {
    let mut vu = Vu::new(shared.vu_id(index), index, &shared);
    shared.set_active(1);
    if let Err(message) = vu.init_variables(&shared) {
        shared.note_failure("variables", "render", &message);
    } else {
        loop {
            if shared.stopping.get() || index >= shared.desired.get() {
                break;
            }
            let left = shared.budget.get();
            if left == 0 {
                break;
            }
            if left != u64::MAX {
                shared.budget.set(left - 1);
            }
            let keep_going = tokio::select! {
                r = iteration(&shared, &mut vu, None) => r,
                _ = shared.stopped() => false,
            };
            if !keep_going {
                break;
            }
        }
    }
    teardown(&shared, &mut vu).await;
    shared.alive.borrow_mut()[index] = false;
    shared.set_active(-1);
}

/// Open model: iterations start at the schedule's moments on free VUs; a
/// new VU starts when none is free, up to the model's pool.
async fn drive_open(
    shared: &Rc<WorkerShared>,
    pacer: Rc<Pacer>,
    model: &LoadModel,
    vus: &mut tokio::task::JoinSet<()>,
) {
    let max_vus = model.max_vus() as usize;
    let next_index = Cell::new(0usize);
    let spawn = |vus: &mut tokio::task::JoinSet<()>| {
        let index = next_index.get();
        next_index.set(index + 1);
        vus.spawn_local(open_vu(shared.clone(), pacer.clone(), index));
    };
    // Start with a small pool; it grows on demand.
    for _ in 0..max_vus.min(1) {
        spawn(vus);
    }
    let vus_cell = RefCell::new(std::mem::take(vus));
    pacer
        .run_with(|backlog| {
            let mut set = vus_cell.borrow_mut();
            let free = shared.idle.get();
            let mut needed = backlog.saturating_sub(free) as usize;
            while needed > 0 && next_index.get() < max_vus {
                spawn(&mut set);
                needed -= 1;
            }
        })
        .await;
    *vus = vus_cell.into_inner();
    // The schedule is over: let running iterations finish (the deadline cuts them).
    while vus.join_next().await.is_some() {}
}

async fn open_vu(shared: Rc<WorkerShared>, pacer: Rc<Pacer>, index: usize) {
    let mut vu = Vu::new(shared.vu_id(index), index, &shared);
    shared.set_active(1);
    if let Err(message) = vu.init_variables(&shared) {
        shared.note_failure("variables", "render", &message);
    } else {
        loop {
            shared.idle.set(shared.idle.get() + 1);
            let slot = tokio::select! {
                s = pacer.take() => s,
                _ = shared.stopped() => None,
            };
            shared.idle.set(shared.idle.get() - 1);
            let Some((_, scheduled)) = slot else { break };
            let keep_going = tokio::select! {
                r = iteration(&shared, &mut vu, Some(scheduled)) => r,
                _ = shared.stopped() => false,
            };
            if !keep_going {
                break;
            }
        }
    }
    teardown(&shared, &mut vu).await;
    shared.set_active(-1);
}

/// One iteration: a scenario picked by weight, its per-VU setup the first
/// time, then its steps. Returns false when the VU must stop.
async fn iteration(shared: &Rc<WorkerShared>, vu: &mut Vu, scheduled: Option<Instant>) -> bool {
    let program = shared.program.clone();
    let which = shared.pick.pick();
    let scenario = &program.scenarios[which];
    let started = Instant::now();
    let from = scheduled.unwrap_or(started);
    if let Err(message) = vu.draw_rows(shared) {
        // The run cannot go on as planned: stop every worker, not only this one.
        *shared.fatal.borrow_mut() = Some(message);
        shared.run_stop.stop();
        shared.stop();
        return false;
    }
    let mut first = scheduled;
    if !vu.set_up[which] {
        // The setup counts as done only once it succeeds: a VU whose login
        // failed tries again on its next iteration of this scenario.
        match vu.run_ops(shared, &scenario.setup, &mut first).await {
            Ok(()) => vu.set_up[which] = true,
            Err(abort) => return after_abort(shared, scenario, vu, abort, scheduled).await,
        }
    }
    let outcome = vu.run_ops(shared, &scenario.steps, &mut first).await;
    let end = Instant::now();
    {
        let mut recorder = shared.recorder.borrow_mut();
        let stats = recorder.stats(scenario.iteration_key, end);
        stats.record_response(end - from, scheduled.map(|_| end - started), 0, 0, 0);
        if scheduled
            .is_some_and(|at| started.saturating_duration_since(at) > crate::pacer::LATE_AFTER)
        {
            stats.late += 1;
        }
    }
    vu.iteration += 1;
    match outcome {
        Ok(()) => vu.aborts_in_a_row = 0,
        Err(abort) => {
            if !after_abort(shared, scenario, vu, abort, scheduled).await {
                return false;
            }
        }
    }
    if let Some(wait) = pacing_wait(started, scenario.pacing) {
        tokio::time::sleep(wait).await;
    }
    true
}

/// Counts an aborted iteration; in a closed model, backs off after
/// consecutive aborts (a target that is down would otherwise be hammered
/// with failing iterations in a busy loop). Returns false when the VU must stop.
async fn after_abort(
    shared: &WorkerShared,
    scenario: &super::program::ScenarioOps,
    vu: &mut Vu,
    abort: Abort,
    scheduled: Option<Instant>,
) -> bool {
    if !note_abort(shared, scenario, abort) {
        return false;
    }
    vu.aborts_in_a_row = vu.aborts_in_a_row.saturating_add(1);
    if scheduled.is_none() {
        let backoff = Duration::from_millis((1u64 << vu.aborts_in_a_row.min(7)).min(100));
        tokio::time::sleep(backoff).await;
    }
    true
}

fn note_abort(shared: &WorkerShared, scenario: &super::program::ScenarioOps, abort: Abort) -> bool {
    match abort {
        Abort::Stopping => false,
        Abort::Iteration(message) => {
            shared
                .recorder
                .borrow_mut()
                .count(scenario.aborted_counter, 1, Instant::now());
            shared.note_failure(&scenario.name, "iteration aborted", &message);
            true
        }
    }
}

/// Runs the teardown of every scenario whose setup this VU ran.
async fn teardown(shared: &Rc<WorkerShared>, vu: &mut Vu) {
    let program = shared.program.clone();
    for (i, scenario) in program.scenarios.iter().enumerate() {
        if vu.set_up[i] && !scenario.teardown.is_empty() {
            // A failed teardown step is counted like any step; nothing more to do.
            let _ = vu.run_teardown(shared, &scenario.teardown).await;
        }
    }
    vu.close(shared);
}

/// An open load model's arrival schedule.
struct ModelSchedule(LoadModel);

impl Schedule for ModelSchedule {
    fn at(&self, k: u64) -> Option<Duration> {
        self.0.arrival_time(k)
    }

    fn due(&self, t: Duration) -> u64 {
        self.0
            .arrivals_by(t)
            .map_or(0, |n| n.ceil().max(0.0) as u64)
    }
}

/// Runs the global setup or teardown steps once, as VU 0, on the calling
/// thread. Returns the variables afterwards (the setup's captures) and what
/// the steps measured; an aborted step is an error.
pub fn run_once(
    plan: &WorkerPlan,
    ops: &[super::program::Op],
    layout: Arc<crate::metrics::MetricLayout>,
) -> Result<(Vec<Option<String>>, Vec<crate::metrics::WorkerMessage>), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    let (sink, inbox) = std::sync::mpsc::channel();
    let vars = local.block_on(&runtime, async {
        let recorder = Recorder::new(0, Instant::now(), layout, sink);
        let shared = WorkerShared::new(plan, recorder, u64::MAX);
        let mut vu = Vu::new(0, 0, &shared);
        vu.init_variables(&shared)?;
        vu.draw_rows(&shared)?;
        let outcome = vu.run_teardown(&shared, ops).await;
        vu.close(&shared);
        shared.recorder.borrow_mut().finish();
        match outcome {
            Err(Abort::Iteration(message)) => Err(message),
            _ => Ok(vu.into_vars()),
        }
    })?;
    Ok((vars, inbox.try_iter().collect()))
}
