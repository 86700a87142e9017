//! The coordinator of a local run: starts one worker thread per segment,
//! owns the collector, relays the stop signal, reports progress.
//!
//! It is the only place where the workers' measurements meet, and they meet
//! by message: each worker sends its interval snapshots over a channel, then
//! its report (failures) in its final message; the coordinator's loop merges
//! them (the dispatcher shape: one owner of all aggregated state, everything
//! else talks to it). Nothing else is shared between workers and collector.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::metrics::{
    Collector, IntervalSnapshot, MetricLayout, PhaseOf, Recorder, RunMetrics, Stats, TimelinePoint,
    WorkerMessage, WorkerReport,
};

/// Asks a running plan to stop early (Ctrl-C, or a threshold that aborts);
/// cheap to clone, safe to set from a signal handler thread.
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a worker is handed when it starts.
pub(crate) struct WorkerContext {
    pub index: usize,
    /// The run's start: intervals and schedules count from here.
    pub start: Instant,
    pub sink: mpsc::Sender<WorkerMessage>,
    /// Turns true when the run must stop.
    pub stop: watch::Receiver<bool>,
    pub layout: Arc<MetricLayout>,
}

/// A worker: runs on its own thread, returns the moment it stopped.
pub(crate) type Worker = Box<dyn FnOnce(WorkerContext) -> Instant + Send>;

/// Live figures, handed to the progress callback after each second.
#[derive(Debug)]
pub struct Progress<'a> {
    pub elapsed: Duration,
    /// All closed seconds so far, all keys merged.
    pub totals: &'a Stats,
    /// The last closed second.
    pub last: &'a TimelinePoint,
    /// All closed seconds so far, per metric key.
    pub per_key: &'a [Stats],
    pub counters: &'a [u64],
    /// What the keys, counters and gauges are called.
    pub layout: &'a MetricLayout,
}

/// What the workers measured and reported.
#[derive(Debug)]
pub struct Measured {
    pub metrics: RunMetrics,
    /// Each worker's final report, by worker index (a worker that died
    /// without finishing has an empty one).
    pub reports: Vec<WorkerReport>,
    /// From the start to the moment the last worker stopped.
    pub elapsed: Duration,
    pub started_at: SystemTime,
    /// Stopped early: the figures cover only part of the plan.
    pub partial: bool,
}

/// A run could not start its workers (a thread, or a worker's runtime).
/// The one place this message is written: `bench` and `run` wrap it.
#[derive(Debug, thiserror::Error)]
#[error("cannot start worker thread: {0}")]
pub struct SpawnError(#[from] pub std::io::Error);

/// The single-threaded runtime a worker runs on (and the one a run's host
/// lookup uses): failing to build one is failing to start a worker.
pub(crate) fn local_runtime() -> Result<tokio::runtime::Runtime, SpawnError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SpawnError)
}

impl WorkerContext {
    /// Ends a worker that could not start: its final message says why, so
    /// the run fails instead of passing the other workers' share for the
    /// whole. Returns the moment it stopped.
    pub(crate) fn fail(self, error: &SpawnError) -> Instant {
        let mut recorder = Recorder::new(self.index, self.start, self.layout, self.sink);
        recorder.finish(WorkerReport {
            failures: Vec::new(),
            fatal: Some(error.to_string()),
        });
        Instant::now()
    }
}

/// Waits until the run's `start` (a worker sets itself up before it), or
/// until the run is stopped. To within microseconds, not the timer's
/// millisecond: agents of a distributed run start together only as closely
/// as each of them starts on time.
pub(crate) async fn until_start(start: Instant, stop: &mut watch::Receiver<bool>) {
    if Instant::now() < start {
        tokio::select! {
            () = crate::pacer::wait_until(start) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
    }
}

/// The wall-clock time of `start`, an instant of this process's clock.
fn wall_clock_at(start: Instant) -> SystemTime {
    let (now, wall) = (Instant::now(), SystemTime::now());
    if start >= now {
        wall + (start - now)
    } else {
        wall.checked_sub(now - start).unwrap_or(wall)
    }
}

/// Starts one thread per worker.
fn spawn(
    workers: Vec<Worker>,
    start: Instant,
    sink: &mpsc::Sender<WorkerMessage>,
    stop: &watch::Receiver<bool>,
    layout: &Arc<MetricLayout>,
) -> Result<Vec<std::thread::JoinHandle<Instant>>, SpawnError> {
    let mut handles = Vec::with_capacity(workers.len());
    for (index, worker) in workers.into_iter().enumerate() {
        let context = WorkerContext {
            index,
            start,
            sink: sink.clone(),
            stop: stop.clone(),
            layout: layout.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("pummel-worker-{index}"))
            .spawn(move || worker(context))?;
        handles.push(handle);
    }
    Ok(handles)
}

/// Waits for every worker thread; returns the moment the last one stopped.
///
/// A worker whose thread died (a panic is a bug, but its share of the plan
/// did not run) must not pass for one that finished: its report says so,
/// and the run fails instead of showing the others as the whole.
fn join(
    handles: Vec<std::thread::JoinHandle<Instant>>,
    reports: &mut [WorkerReport],
) -> Option<Instant> {
    let mut end = None;
    for (index, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(stopped) => end = end.max(Some(stopped)),
            Err(_) => {
                if let Some(report) = reports.get_mut(index) {
                    report.fatal.get_or_insert_with(|| {
                        format!(
                            "worker thread {index} stopped before its share of the plan was done"
                        )
                    });
                }
            }
        }
    }
    end
}

/// Runs `workers` to the end or until `stop`, calling `on_progress` once a
/// second. `phases` optionally splits the run's totals into phases. The
/// run starts at `start_at` (at once if `None`); `on_interval`, if given,
/// receives each second's snapshot, merged over all workers, as it closes.
pub(crate) fn run(
    workers: Vec<Worker>,
    layout: Arc<MetricLayout>,
    phases: Option<(usize, PhaseOf)>,
    stop: &StopSignal,
    start_at: Option<Instant>,
    mut on_interval: Option<&mut dyn FnMut(IntervalSnapshot)>,
    mut on_progress: impl FnMut(Progress<'_>),
) -> Result<Measured, SpawnError> {
    let count = workers.len();
    let (sink, inbox) = mpsc::channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = start_at.unwrap_or_else(Instant::now);
    let started_at = wall_clock_at(start);
    let handles = match spawn(workers, start, &sink, &stop_rx, &layout) {
        Ok(handles) => handles,
        Err(e) => {
            let _ = stop_tx.send(true);
            return Err(e);
        }
    };
    drop(sink);

    let mut collector = Collector::new(layout.clone(), count);
    if let Some((n, phase_of)) = phases {
        collector = collector.with_phases(n, phase_of);
    }
    if on_interval.is_some() {
        collector = collector.keeping_closed();
    }
    let mut reports = vec![WorkerReport::default(); count];
    let mut partial = false;
    while !collector.all_finished() {
        if stop.is_stopped() && !partial {
            partial = true;
            let _ = stop_tx.send(true);
        }
        match inbox.recv_timeout(Duration::from_millis(50)) {
            Ok(message) => {
                let closed = match message {
                    WorkerMessage::Interval { worker, snapshot } => {
                        collector.accept(worker, snapshot)
                    }
                    WorkerMessage::Finished { worker, report } => {
                        if let Some(slot) = reports.get_mut(worker) {
                            *slot = report;
                        }
                        collector.source_finished(worker)
                    }
                };
                if let Some(on_interval) = on_interval.as_deref_mut() {
                    collector
                        .take_closed()
                        .into_iter()
                        .for_each(&mut *on_interval);
                }
                if closed > 0 && !collector.all_finished() {
                    if let Some(last) = collector.timeline().last() {
                        let totals = collector.combined_totals();
                        on_progress(Progress {
                            elapsed: start.elapsed(),
                            totals: &totals,
                            last,
                            per_key: collector.totals(),
                            counters: collector.counters(),
                            layout: &layout,
                        });
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every worker is gone; one that died without finishing loses
            // only its unsent current second.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let end = join(handles, &mut reports);
    if let Some(on_interval) = on_interval {
        collector.all_sources_finished();
        collector.take_closed().into_iter().for_each(on_interval);
    }
    let end = end.unwrap_or_else(Instant::now);
    let elapsed = end.saturating_duration_since(start);
    Ok(Measured {
        metrics: collector.finish(elapsed),
        reports,
        elapsed,
        started_at,
        partial,
    })
}
