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
use crate::metrics::{Recorder, WorkerReport};
use crate::scenario::feeder::Feeder;
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

/// State the VUs of one worker share (all on one thread).
pub(super) struct WorkerState {
    pub(super) program: Arc<Program>,
    pub(super) recorder: RefCell<Recorder>,
    pub(super) connectors: Rc<Connectors>,
    pub(super) feeders: Vec<Feeder>,
    pub(super) initial_vars: InitialVars,
    pub(super) stopping: Cell<bool>,
    stop_notify: Notify,
    pub(super) run_stop: StopSignal,
    pub(super) pick: WeightedPick,
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
    sockets: Cell<u64>,
    failures: RefCell<Vec<String>>,
    /// A failure that must end the run (a unique feeder ran dry).
    fatal: RefCell<Option<String>>,
    workers: u32,
    worker_index: u32,
}

impl WorkerState {
    /// The shared state of a worker (or of the global setup's lone VU).
    pub(super) fn new(plan: &WorkerPlan, recorder: Recorder, budget: u64) -> Rc<WorkerState> {
        Rc::new(WorkerState {
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
            sockets: Cell::new(0),
            failures: RefCell::new(Vec::new()),
            fatal: RefCell::new(None),
            workers: plan.workers,
            worker_index: plan.segment.index,
        })
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
        index as u64 * u64::from(self.workers) + u64::from(self.worker_index) + 1
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
        self.recorder
            .borrow_mut()
            .set_gauge(VUS_GAUGE, active, Instant::now());
    }
}
