//! Journeys written in another language, run by runner processes that
//! speak the runner protocol (docs/runner-protocol.md).
//!
//! Each worker thread hosts one runner process (`process`) and the VUs of
//! its share: the load model drives them as it drives YAML VUs (closed,
//! open, cycles: `worker`), but an iteration is a `start` message and the
//! `end` that answers it. What the runner reports — hits, checks, custom
//! metrics — goes into the worker's recorder under the keys the program set
//! aside for a runner's names (`runner_slots`), so results, thresholds,
//! reports and comparisons read them as they read YAML steps.
//!
//! pummel keeps the clock: a runner reports a hit's start on pummel's clock
//! (the hello gives it pummel's reading), and in an open model the first
//! hit of an iteration is measured from the iteration's scheduled start,
//! as a YAML scenario's first request is.
//!
//! Containment: a process that exits, closes its output or writes anything
//! that is not the protocol is counted (`runner_crashed`,
//! `runner_protocol`), its iterations fail, and it is started again with
//! its VUs re-created (they are created on their next `start`); an
//! iteration that outlives the iteration timeout counts as hung and its VU
//! is replaced (a new runner VU id); a process that does not let go of a
//! hung VU is restarted.

mod process;
mod protocol;

pub(super) use process::{start_all, Ready};

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::BufReader;
use tokio::process::ChildStderr;
use tokio::sync::{mpsc, oneshot, Notify};

use super::in_flight::IterationInFlight;
use super::runner_slots::{Incident, MetricKind, NameCache, RunnerSlots};
use super::worker_state::WorkerState;
use crate::scenario::runner::RunnerSpec;
use crate::ErrorKind;
use process::Line;
use protocol::Message;

/// How long a runner has, after `stop`, to finish and exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a runner has to let go of a VU that hung before it is restarted.
const RETIRE_GRACE: Duration = Duration::from_secs(3);
/// Log lines (stderr and `log` messages) kept per process per second; the
/// rest are counted as dropped.
const LOG_LINES_PER_SECOND: u32 = 100;
/// Log lines kept to say why a process failed.
const LOG_TAIL: usize = 12;

/// How an iteration ended.
enum Ending {
    Ok,
    Failed(String),
    /// The process was lost (crashed, garbage); already counted.
    Lost,
}

struct Pending {
    iteration: u64,
    scheduled: Option<Instant>,
    first_hit: bool,
    done: oneshot::Sender<Ending>,
}

/// The running process, as the VUs see it.
struct Live {
    generation: u64,
    input: mpsc::UnboundedSender<String>,
    kill: Rc<Notify>,
    exited: Rc<Notify>,
    done: Rc<Cell<bool>>,
}

#[derive(Default)]
struct HostState {
    generation: u64,
    live: Option<Live>,
    starting: bool,
    started_once: bool,
    /// Runner VU ids are never reused: a VU replaced after a hang, or
    /// re-created in a new process, gets a new one.
    next_vu: u64,
    next_iteration: u64,
    /// pummel's VU id → its runner VU id in the live process.
    vus: HashMap<u64, u64>,
    pending: HashMap<u64, Pending>,
    retired: HashSet<u64>,
    failures_in_a_row: u32,
    log_tail: VecDeque<String>,
}

/// One worker's runner process and its VUs.
pub(super) struct RunnerHost {
    spec: RunnerSpec,
    /// The process started before the load, until the first iteration adopts it.
    ready: RefCell<Option<process::Ready>>,
    origin: Instant,
    state: RefCell<HostState>,
    changed: Notify,
    cache: RefCell<NameCache>,
    stopping: Cell<bool>,
}

impl RunnerHost {
    pub(super) fn new(
        spec: RunnerSpec,
        origin: Instant,
        ready: Option<process::Ready>,
    ) -> Rc<RunnerHost> {
        Rc::new(RunnerHost {
            spec,
            ready: RefCell::new(ready),
            origin,
            state: RefCell::new(HostState::default()),
            changed: Notify::new(),
            cache: RefCell::new(NameCache::default()),
            stopping: Cell::new(false),
        })
    }

    /// The live process's generation and input, starting one if needed.
    /// `None` when no process can be started at all (the run stops, and
    /// says why) or the worker is stopping.
    async fn input(
        self: &Rc<Self>,
        shared: &Rc<WorkerState>,
    ) -> Option<(u64, mpsc::UnboundedSender<String>)> {
        loop {
            if self.stopping.get() || shared.stopping.get() {
                return None;
            }
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let backoff = {
                let mut state = self.state.borrow_mut();
                if let Some(live) = &state.live {
                    return Some((live.generation, live.input.clone()));
                }
                if state.starting {
                    None
                } else {
                    state.starting = true;
                    Some(Duration::from_millis(
                        (50u64 << state.failures_in_a_row.min(6)).min(2_000),
                    ))
                }
            };
            let Some(backoff) = backoff else {
                changed.await;
                continue;
            };
            if self.state.borrow().started_once && self.state.borrow().failures_in_a_row > 0 {
                tokio::time::sleep(backoff).await;
            }
            let pre_started = self.ready.borrow_mut().take();
            let started = match pre_started {
                Some(ready) => process::Process::adopt(ready)
                    .map_err(|e| format!("cannot take over the runner's pipes: {e}")),
                None => process::start(&self.spec, self.origin).await,
            };
            let first = !self.state.borrow().started_once;
            match started {
                Ok(p) => {
                    if !first {
                        count(shared, Incident::Restarted);
                    }
                    self.adopt(shared, p);
                }
                Err(message) if first => {
                    // Nothing can run: the run stops and says why.
                    shared.note_fatal(format!(
                        "the {} runner for {} could not start: {message}",
                        self.spec.kind.as_str(),
                        self.spec.file.display()
                    ));
                    shared.run_stop.stop();
                    shared.stop();
                    let mut state = self.state.borrow_mut();
                    state.starting = false;
                    drop(state);
                    self.changed.notify_waiters();
                    return None;
                }
                Err(message) => {
                    count(shared, Incident::Crashed);
                    shared.note_failure("runner", "restart failed", &message);
                    self.state.borrow_mut().failures_in_a_row += 1;
                }
            }
            self.state.borrow_mut().starting = false;
            self.changed.notify_waiters();
        }
    }

    /// Makes `p` the live process: its reader and log tasks start.
    fn adopt(self: &Rc<Self>, shared: &Rc<WorkerState>, mut p: process::Process) {
        let kill = Rc::new(Notify::new());
        let exited = Rc::new(Notify::new());
        let done = Rc::new(Cell::new(false));
        let generation = {
            let mut state = self.state.borrow_mut();
            state.generation += 1;
            state.started_once = true;
            state.vus.clear();
            state.live = Some(Live {
                generation: state.generation,
                input: p.input.clone(),
                kill: kill.clone(),
                exited: exited.clone(),
                done: done.clone(),
            });
            state.generation
        };
        let _ = &p.client;
        if let Some(log) = p.log.take() {
            tokio::task::spawn_local(self.clone().read_log(shared.clone(), log));
        }
        let host = self.clone();
        let shared = shared.clone();
        tokio::task::spawn_local(async move {
            let lost = tokio::select! {
                lost = host.read_output(&shared, generation, &mut p.output) => lost,
                _ = kill.notified() => None,
            };
            let status = p.child.kill_and_wait().await;
            if !host.stopping.get() {
                let (incident, message) = match lost {
                    Some(lost) => lost,
                    None if host.is_current(generation) => (
                        Some(Incident::Crashed),
                        match status {
                            Ok(s) => format!("the runner process exited ({s})"),
                            Err(e) => format!("the runner process was lost: {e}"),
                        },
                    ),
                    None => (None, String::new()),
                };
                host.lost(&shared, generation, incident, &message);
            }
            done.set(true);
            exited.notify_waiters();
        });
    }

    fn is_current(&self, generation: u64) -> bool {
        self.state
            .borrow()
            .live
            .as_ref()
            .is_some_and(|l| l.generation == generation)
    }

    /// The process of `generation` is gone: count why, fail its
    /// iterations, forget its VUs (re-created in the next process).
    fn lost(
        &self,
        shared: &WorkerState,
        generation: u64,
        incident: Option<Incident>,
        message: &str,
    ) {
        let pending = {
            let mut state = self.state.borrow_mut();
            if state.live.as_ref().map(|l| l.generation) != Some(generation) {
                return;
            }
            state.live = None;
            state.vus.clear();
            state.failures_in_a_row += 1;
            let tail: Vec<String> = state.log_tail.drain(..).collect();
            if let Some(incident) = incident {
                let detail = if tail.is_empty() {
                    message.to_owned()
                } else {
                    format!("{message}; its last log lines: {}", tail.join(" | "))
                };
                shared.note_failure("runner", incident.as_str(), &detail);
            }
            std::mem::take(&mut state.pending)
        };
        if let Some(incident) = incident {
            count(shared, incident);
        }
        for (_, p) in pending {
            let _ = p.done.send(Ending::Lost);
        }
        self.changed.notify_waiters();
    }

    /// Reads the process's messages until it ends; returns why it must be
    /// given up (`None`: it ended by itself).
    async fn read_output(
        &self,
        shared: &WorkerState,
        generation: u64,
        output: &mut BufReader<tokio::process::ChildStdout>,
    ) -> Option<(Option<Incident>, String)> {
        let mut buf = Vec::with_capacity(512);
        loop {
            match process::read_line(output, &mut buf).await {
                Ok(Line::End) => return None,
                Err(e) => {
                    return Some((Some(Incident::Crashed), format!("reading its output: {e}")))
                }
                Ok(Line::TooLong) => {
                    return Some((
                        Some(Incident::Protocol),
                        format!("it wrote a line over {} bytes", protocol::MAX_LINE),
                    ))
                }
                Ok(Line::Text) => {
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match serde_json::from_slice::<Message<'_>>(&buf) {
                        Ok(message) => self.handle(shared, generation, message),
                        Err(e) => {
                            let shown = String::from_utf8_lossy(&buf[..buf.len().min(200)]);
                            return Some((
                                Some(Incident::Protocol),
                                format!("it wrote {shown:?}, not a protocol message ({e})"),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn handle(&self, shared: &WorkerState, generation: u64, message: Message<'_>) {
        let Some(slots) = slots(shared) else {
            return;
        };
        match message {
            Message::Hit(hit) => self.record_hit(shared, slots, &hit),
            Message::Check(check) => {
                let mut cache = self.cache.borrow_mut();
                let (step, _) = cache.step(slots, &check.step);
                let (pass, fail) = cache.check(slots, step, &check.name);
                let id = if check.ok { pass } else { fail };
                shared.recorder.borrow_mut().count(id, 1, Instant::now());
            }
            Message::Metric(m) => self.record_metric(shared, slots, &m),
            Message::Log(log) => self.keep_log(shared, &log.message),
            Message::End(end) => {
                let mut state = self.state.borrow_mut();
                let matches = state
                    .pending
                    .get(&end.vu)
                    .is_some_and(|p| p.iteration == end.iteration);
                if matches && is_live(&state, generation) {
                    if let Some(p) = state.pending.remove(&end.vu) {
                        let ending = if end.ok {
                            Ending::Ok
                        } else {
                            Ending::Failed(end.error.map_or_else(
                                || "the iteration failed".to_owned(),
                                |e| e.into_owned(),
                            ))
                        };
                        let _ = p.done.send(ending);
                    }
                }
            }
            Message::Retired(r) => {
                self.state.borrow_mut().retired.insert(r.vu);
            }
        }
    }

    fn record_hit(&self, shared: &WorkerState, slots: &RunnerSlots, hit: &protocol::Hit<'_>) {
        let (_, key) = self.cache.borrow_mut().step(slots, &hit.name);
        let now = Instant::now();
        let start = (self.origin + Duration::from_nanos(hit.start)).min(now);
        let duration = Duration::from_nanos(hit.duration);
        let end = start + duration;
        // The first hit of an open model's iteration counts from the
        // iteration's scheduled start, as a YAML scenario's first request.
        let scheduled = {
            let mut state = self.state.borrow_mut();
            match state.pending.get_mut(&hit.vu) {
                Some(p) if p.iteration == hit.iteration && p.first_hit => {
                    p.first_hit = false;
                    p.scheduled
                }
                _ => None,
            }
        };
        let latency = scheduled.map_or(duration, |at| {
            end.saturating_duration_since(at).max(duration)
        });
        let uncorrected = scheduled.map(|_| duration);
        let mut recorder = shared.recorder.borrow_mut();
        let stats = recorder.stats(key, now);
        match (&hit.error, hit.status) {
            (Some(kind), _) => stats.record_error(
                ErrorKind::from_key(kind).unwrap_or(ErrorKind::Io),
                hit.bytes_received,
                hit.bytes_sent,
            ),
            (None, Some(status)) => stats.record_response(
                latency,
                uncorrected,
                status,
                hit.bytes_received,
                hit.bytes_sent,
            ),
            // An exchange without a status (a WebSocket round trip).
            (None, None) => {
                stats.record_message(latency, uncorrected, hit.bytes_received, hit.bytes_sent);
            }
        }
    }

    fn record_metric(
        &self,
        shared: &WorkerState,
        slots: &RunnerSlots,
        m: &protocol::MetricValue<'_>,
    ) {
        let Some(kind) = MetricKind::parse(&m.kind) else {
            count(shared, Incident::Protocol);
            return;
        };
        if !m.value.is_finite() {
            count(shared, Incident::Protocol);
            return;
        }
        let i = self.cache.borrow_mut().metric(slots, kind, &m.name);
        let now = Instant::now();
        let mut recorder = shared.recorder.borrow_mut();
        match kind {
            MetricKind::Counter => recorder.count(slots.counters[i], m.value.max(0.0) as u64, now),
            MetricKind::Gauge | MetricKind::Trend => {
                // Values are kept as a distribution, to the thousandth
                // (as milliseconds are, to the microsecond).
                let key = if kind == MetricKind::Gauge {
                    slots.gauges[i]
                } else {
                    slots.trends[i]
                };
                let d = Duration::from_secs_f64((m.value.max(0.0) / 1000.0).min(1e9));
                recorder.stats(key, now).record_message(d, None, 0, 0);
            }
        }
    }

    /// Keeps a log line for the failure messages (the last few), within
    /// the rate limit; counts the rest as dropped.
    fn keep_log(&self, shared: &WorkerState, line: &str) {
        let mut state = self.state.borrow_mut();
        if state.log_tail.len() == LOG_TAIL {
            state.log_tail.pop_front();
        }
        let line: String = line.chars().take(500).collect();
        state.log_tail.push_back(line);
        drop(state);
        let _ = shared;
    }

    /// Reads the process's stderr: its log lines, bounded in length and rate.
    async fn read_log(self: Rc<Self>, shared: Rc<WorkerState>, mut log: BufReader<ChildStderr>) {
        let mut buf = Vec::new();
        let mut second = Instant::now();
        let mut in_second = 0u32;
        while let Ok(Line::Text | Line::TooLong) = process::read_line(&mut log, &mut buf).await {
            if second.elapsed() >= Duration::from_secs(1) {
                second = Instant::now();
                in_second = 0;
            }
            in_second += 1;
            if in_second > LOG_LINES_PER_SECOND {
                count(&shared, Incident::LogDropped);
                continue;
            }
            self.keep_log(&shared, &String::from_utf8_lossy(&buf));
        }
    }

    /// Asks the runner to let go of a hung VU; restarts the process if it
    /// does not within [`RETIRE_GRACE`] (a busy loop holds the whole
    /// process, not only its VU).
    fn retire_hung(self: &Rc<Self>, runner_vu: u64, generation: u64) {
        let kill = {
            let state = self.state.borrow();
            match &state.live {
                Some(live) if live.generation == generation => {
                    let _ = live.input.send(protocol::retire(runner_vu));
                    live.kill.clone()
                }
                _ => return,
            }
        };
        let host = self.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(RETIRE_GRACE).await;
            let let_go = host.state.borrow_mut().retired.remove(&runner_vu);
            if !let_go && host.is_current(generation) && !host.stopping.get() {
                kill.notify_one();
            }
        });
    }

    /// Ends the process: `stop`, then a grace to finish its iterations
    /// (their hits are still recorded), then a kill.
    pub(super) async fn shutdown(&self) {
        self.stopping.set(true);
        let live = self.state.borrow_mut().live.take();
        let Some(live) = live else { return };
        let _ = live.input.send(protocol::STOP.to_owned());
        let exited = live.exited.notified();
        tokio::pin!(exited);
        exited.as_mut().enable();
        if !live.done.get() && tokio::time::timeout(STOP_GRACE, exited).await.is_err() {
            live.kill.notify_one();
            let exited = live.exited.notified();
            if !live.done.get() {
                let _ = tokio::time::timeout(Duration::from_secs(1), exited).await;
            }
        }
    }
}

/// Counts an incident under its name.
fn count(shared: &WorkerState, incident: Incident) {
    if let Some(slots) = slots(shared) {
        shared
            .recorder
            .borrow_mut()
            .count(slots.incident(incident), 1, Instant::now());
    }
}

/// The program's pools for a runner's names.
fn slots(shared: &WorkerState) -> Option<&RunnerSlots> {
    shared.program.runner.as_ref()
}

fn is_live(state: &HostState, generation: u64) -> bool {
    state
        .live
        .as_ref()
        .is_some_and(|l| l.generation == generation)
}

/// One iteration of VU `vu_id` run by the worker's runner. Returns false
/// when the VU must stop.
pub(super) async fn iteration(
    shared: &Rc<WorkerState>,
    host: &Rc<RunnerHost>,
    vu_id: u64,
    it: IterationInFlight<'_>,
    scheduled: Option<Instant>,
) -> bool {
    let Some((generation, input)) = host.input(shared).await else {
        return false;
    };
    let started = Instant::now();
    let from = scheduled.unwrap_or(started);
    let (done, ended) = oneshot::channel();
    let (runner_vu, iteration) = {
        let mut state = host.state.borrow_mut();
        let runner_vu = match state.vus.get(&vu_id) {
            Some(v) => *v,
            None => {
                state.next_vu += 1;
                let v = state.next_vu;
                state.vus.insert(vu_id, v);
                v
            }
        };
        state.next_iteration += 1;
        let iteration = state.next_iteration;
        state.pending.insert(
            runner_vu,
            Pending {
                iteration,
                scheduled,
                first_hit: true,
                done,
            },
        );
        (runner_vu, iteration)
    };
    let at = scheduled.map(|s| s.saturating_duration_since(host.origin).as_nanos() as u64);
    let _ = input.send(protocol::start(runner_vu, iteration, at));
    let ending = match tokio::time::timeout(host.spec.iteration_timeout, ended).await {
        Ok(Ok(ending)) => ending,
        Ok(Err(_)) => Ending::Lost,
        Err(_) => {
            // Hung: the VU is replaced (a new runner VU next time) and the
            // runner told to let go of this one.
            {
                let mut state = host.state.borrow_mut();
                state.pending.remove(&runner_vu);
                state.vus.remove(&vu_id);
            }
            count(shared, Incident::Hung);
            shared.note_failure(
                "runner",
                Incident::Hung.as_str(),
                &format!(
                    "an iteration ran past the iteration timeout ({:?}); its VU was replaced",
                    host.spec.iteration_timeout
                ),
            );
            host.retire_hung(runner_vu, generation);
            it.failed();
            return true;
        }
    };
    let scenario = &shared.program.scenarios[it.scenario()];
    if !matches!(ending, Ending::Lost) {
        let end = Instant::now();
        shared
            .recorder
            .borrow_mut()
            .stats(scenario.iteration_key, end)
            .record_response(end - from, scheduled.map(|_| end - started), 0, 0, 0);
    }
    match ending {
        Ending::Ok => {
            host.state.borrow_mut().failures_in_a_row = 0;
            it.completed();
        }
        Ending::Failed(message) => {
            shared.note_failure(&scenario.name, "iteration failed", &message);
            it.failed();
        }
        Ending::Lost => it.failed(),
    }
    true
}
