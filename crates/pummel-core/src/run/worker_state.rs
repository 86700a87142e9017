//! The state the virtual users of one worker share (all on one thread, so
//! `Cell`s and `RefCell`s, no lock): the recorder, connections, feeders,
//! the VU counts the load model steers, and the failures to report.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::program::{Program, SOCKETS_GAUGE, VUS_GAUGE};
use crate::coordinator::StopSignal;
use crate::http::session::{Connectors, SessionOptions};
use crate::metrics::{GaugeId, Recorder, WorkerReport};
use crate::scenario::feeder::Feeder;
use crate::scenario::model::LoadGroup;
use crate::scenario::pick::WeightedPick;
use crate::segment::Segment;

/// Failure messages kept per worker, as examples for the summary.
pub(super) const MAX_FAILURE_EXAMPLES: usize = 20;

/// The values every VU starts with (the global setup's captures), by
/// variable index.
pub(super) type InitialVars = Arc<Vec<Option<String>>>;

/// What a worker needs from the coordinator.
pub(super) struct WorkerPlan {
    pub(super) program: Arc<Program>,
    pub(super) segment: Segment,
    /// Total worker count, to number VUs uniquely across workers.
    pub(super) workers: u32,
    /// Variables after the global setup (its captures).
    pub(super) initial_vars: InitialVars,
    pub(super) connectors: SessionOptions,
    /// The run's stop signal: a worker that meets a fatal error stops them all.
    pub(super) run_stop: StopSignal,
    pub(super) known_addrs: std::collections::HashMap<(String, u16), Vec<std::net::SocketAddr>>,
    /// `--http-debug`, when asked for.
    pub(super) debug: Option<super::HttpDebug>,
}

/// State the VUs of one load model of a worker share (all on one thread).
/// A run whose scenarios have loads of their own has one per load model,
/// sharing the recorder, connections, feeders and failures.
pub(super) struct WorkerState {
    pub(super) program: Arc<Program>,
    pub(super) recorder: Rc<RefCell<Recorder>>,
    pub(super) connectors: Rc<Connectors>,
    pub(super) feeders: Rc<Vec<Feeder>>,
    pub(super) initial_vars: InitialVars,
    pub(super) stopping: Cell<bool>,
    stop_notify: Notify,
    pub(super) run_stop: StopSignal,
    pub(super) pick: WeightedPick,
    /// The scenarios this load model runs: a pick indexes this.
    scenarios: Vec<usize>,
    /// Closed model: each VU stops after this many iterations.
    pub(super) iterations_per_vu: Option<u64>,
    /// VUs that stopped after their `iterations_per_vu`.
    pub(super) quota_done: Cell<usize>,
    /// A scenario's own load: the gauges of its VUs and started iterations.
    own_gauges: Option<(GaugeId, GaugeId)>,
    started: Cell<u64>,
    /// Added to VU ids, so that each load model's VUs have ids of their own.
    vu_offset: u64,
    /// The worker's VUs over all its load models.
    all_active: Rc<Cell<u64>>,
    /// The next scenario when the plan takes them in order (`--once`).
    pub(super) next_in_order: Option<Cell<u64>>,
    pub(super) debug: Option<super::HttpDebug>,
    /// Closed model: VUs with an index below this keep iterating.
    pub(super) desired: Cell<usize>,
    pub(super) alive: RefCell<Vec<bool>>,
    pub(super) active: Cell<u64>,
    /// Closed model with `iterations`: left to start.
    pub(super) budget: Cell<u64>,
    pub(super) idle: Cell<u64>,
    /// WebSockets open on this worker.
    sockets: Rc<Cell<u64>>,
    failures: Rc<RefCell<Vec<String>>>,
    /// A failure that must end the run (a unique feeder ran dry).
    fatal: Rc<RefCell<Option<String>>>,
    workers: u32,
    worker_index: u32,
}

impl WorkerState {
    /// The shared state of a worker (or of the global setup's lone VU).
    pub(super) fn new(plan: &WorkerPlan, recorder: Recorder, budget: u64) -> Rc<WorkerState> {
        Rc::new(WorkerState {
            recorder: Rc::new(RefCell::new(recorder)),
            connectors: Connectors::new(plan.connectors.clone(), plan.known_addrs.clone()),
            feeders: Rc::new(
                plan.program
                    .plan
                    .feeders
                    .iter()
                    .map(|f| f.rows_for(plan.segment))
                    .collect(),
            ),
            initial_vars: plan.initial_vars.clone(),
            pick: plan.program.plan.scenario_pick(),
            scenarios: (0..plan.program.scenarios.len()).collect(),
            iterations_per_vu: None,
            quota_done: Cell::new(0),
            own_gauges: None,
            started: Cell::new(0),
            vu_offset: 0,
            all_active: Rc::new(Cell::new(0)),
            next_in_order: plan.program.plan.in_order.then(|| Cell::new(0)),
            debug: plan.debug.clone(),
            program: plan.program.clone(),
            stopping: Cell::new(false),
            stop_notify: Notify::new(),
            run_stop: plan.run_stop.clone(),
            desired: Cell::new(0),
            alive: RefCell::new(Vec::new()),
            active: Cell::new(0),
            budget: Cell::new(budget),
            idle: Cell::new(0),
            sockets: Rc::new(Cell::new(0)),
            failures: Rc::new(RefCell::new(Vec::new())),
            fatal: Rc::new(RefCell::new(None)),
            workers: plan.workers,
            worker_index: plan.segment.index,
        })
    }

    /// The state of the VUs of one more load model of this worker: its own
    /// VU counts, scenarios and stop; the recorder, connections, feeders
    /// and failures this one's.
    pub(super) fn for_group(
        &self,
        group: &LoadGroup,
        budget: u64,
        vu_offset: u64,
    ) -> Rc<WorkerState> {
        let own_gauges = match group.scenarios.as_slice() {
            [one] if group.own.is_some() => self.program.scenarios[*one].own_gauges,
            _ => None,
        };
        Rc::new(WorkerState {
            program: self.program.clone(),
            recorder: self.recorder.clone(),
            connectors: self.connectors.clone(),
            feeders: self.feeders.clone(),
            initial_vars: self.initial_vars.clone(),
            stopping: Cell::new(false),
            stop_notify: Notify::new(),
            run_stop: self.run_stop.clone(),
            pick: group.pick.clone(),
            scenarios: group.scenarios.clone(),
            iterations_per_vu: group.iterations_per_vu,
            quota_done: Cell::new(0),
            own_gauges,
            started: Cell::new(0),
            next_in_order: self.next_in_order.as_ref().map(|_| Cell::new(0)),
            debug: self.debug.clone(),
            vu_offset,
            all_active: self.all_active.clone(),
            desired: Cell::new(0),
            alive: RefCell::new(Vec::new()),
            active: Cell::new(0),
            budget: Cell::new(budget),
            idle: Cell::new(0),
            sockets: self.sockets.clone(),
            failures: self.failures.clone(),
            fatal: self.fatal.clone(),
            workers: self.workers,
            worker_index: self.worker_index,
        })
    }

    /// The scenario of the next iteration: drawn by weight among this load
    /// model's scenarios (an index into the program's scenarios).
    pub(super) fn draw_scenario(&self) -> usize {
        let scenario = self.scenarios.get(self.pick.pick()).copied().unwrap_or(0);
        if let Some((_, started)) = self.own_gauges {
            self.started.set(self.started.get() + 1);
            self.recorder
                .borrow_mut()
                .set_gauge(started, self.started.get(), Instant::now());
        }
        scenario
    }

    /// The scenario of pick `k` when the plan takes them in order (`--once`).
    pub(super) fn pick_in_order(&self, k: u64) -> usize {
        self.scenarios
            .get(self.pick.pick_with(k))
            .copied()
            .unwrap_or(0)
    }

    /// `n` iterations this load model dropped, counted per scenario (an
    /// index into the program's scenarios) as [`Self::draw_scenario`] would.
    pub(super) fn draw_dropped(&self, n: u64) -> Vec<(usize, u64)> {
        self.scenarios
            .iter()
            .copied()
            .zip(self.pick.pick_many(n))
            .collect()
    }

    /// Keeps a few failure messages, for the summary.
    pub(super) fn note_failure(&self, step: &str, what: &str, message: &str) {
        let mut failures = self.failures.borrow_mut();
        if failures.len() < MAX_FAILURE_EXAMPLES {
            failures.push(format!("{step}: {what}: {message}"));
        }
    }

    /// Notes a failure that ends the run.
    pub(super) fn note_fatal(&self, message: String) {
        *self.fatal.borrow_mut() = Some(message);
    }

    /// What this worker reports when it ends.
    pub(super) fn report(&self) -> WorkerReport {
        WorkerReport {
            failures: self.failures.borrow().clone(),
            fatal: self.fatal.borrow().clone(),
        }
    }

    /// Tells the worker's VUs to stop.
    pub(super) fn stop(&self) {
        self.stopping.set(true);
        self.stop_notify.notify_waiters();
    }

    /// Resolves once the worker is stopping.
    pub(super) async fn stopped(&self) {
        while !self.stopping.get() {
            self.stop_notify.notified().await;
        }
    }

    /// The run-wide id of this worker's VU number `index`.
    pub(super) fn vu_id(&self, index: usize) -> u64 {
        (self.vu_offset + index as u64) * u64::from(self.workers) + u64::from(self.worker_index) + 1
    }

    pub(super) fn socket_opened(&self) {
        self.sockets.set(self.sockets.get() + 1);
        self.recorder
            .borrow_mut()
            .set_gauge(SOCKETS_GAUGE, self.sockets.get(), Instant::now());
    }

    pub(super) fn socket_closed(&self) {
        self.sockets.set(self.sockets.get().saturating_sub(1));
        self.recorder
            .borrow_mut()
            .set_gauge(SOCKETS_GAUGE, self.sockets.get(), Instant::now());
    }

    /// Counts VUs starting (`delta` > 0) or ending, on the VU gauge.
    pub(super) fn set_active(&self, delta: i64) {
        let active = (self.active.get() as i64 + delta).max(0) as u64;
        self.active.set(active);
        let all = (self.all_active.get() as i64 + delta).max(0) as u64;
        self.all_active.set(all);
        let mut recorder = self.recorder.borrow_mut();
        let now = Instant::now();
        recorder.set_gauge(VUS_GAUGE, all, now);
        if let Some((vus, _)) = self.own_gauges {
            recorder.set_gauge(vus, active, now);
        }
    }
}
