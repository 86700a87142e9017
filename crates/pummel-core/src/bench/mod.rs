//! `pummel bench`: one request, sent as fast as possible (closed model) or
//! at a fixed rate (open model), from a worker thread per core.
//!
//! The coordinator (this module) splits the plan into one segment per worker,
//! starts the workers, and owns the collector: it is the only place the
//! workers' measurements meet, by message.

mod pacer;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

pub use pacer::wait_until;
pub use worker::LATE_AFTER;

use crate::http::tls::{self, Alpn};
use crate::http::{Connector, RequestSpec};
use crate::metrics::{Collector, MetricKeys, RunMetrics, Stats, TimelinePoint};
use crate::segment::Segment;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    pub request: RequestSpec,
    /// Connections (HTTP/1.1: also the concurrency).
    pub connections: u64,
    /// HTTP/2 only: concurrent streams per connection.
    pub h2_streams: u64,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Open model: requests per second, scheduled regardless of responses.
    pub rate: Option<f64>,
    pub threads: u64,
    pub timeout: Duration,
    pub http2: bool,
    pub insecure: bool,
}

impl BenchPlan {
    /// The share of this plan that `segment` runs.
    pub fn segment(&self, segment: Segment) -> BenchPlan {
        BenchPlan {
            connections: segment.share(self.connections),
            requests: self.requests.map(|n| segment.share(n)),
            rate: self.rate.map(|r| segment.share_rate(r)),
            ..self.clone()
        }
    }

    /// Worker threads to use: never more than there are connections.
    fn worker_count(&self) -> u64 {
        self.threads.clamp(1, self.connections.max(1))
    }
}

/// Asks a running bench to stop early (Ctrl-C); cheap to clone.
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

/// A bench that could not start: the user must fix something.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve { host: String, source: std::io::Error },
    #[error("{0}")]
    Tls(String),
    #[error("cannot start worker thread: {0}")]
    Thread(std::io::Error),
}

/// Live figures, handed to the progress callback after each second.
#[derive(Debug)]
pub struct Progress<'a> {
    pub elapsed: Duration,
    /// All closed seconds so far.
    pub totals: &'a Stats,
    /// The last closed second.
    pub last: &'a TimelinePoint,
}

/// What a bench measured.
#[derive(Debug)]
pub struct BenchOutcome {
    pub metrics: RunMetrics,
    /// From the start to the moment the last worker stopped.
    pub elapsed: Duration,
    pub started_at: SystemTime,
    /// Stopped early by the user: the figures cover only part of the plan.
    pub partial: bool,
}

/// Runs a bench to the end (or until `stop`), calling `on_progress` once a
/// second with the figures so far.
pub fn run(
    plan: &BenchPlan,
    stop: &StopSignal,
    mut on_progress: impl FnMut(Progress<'_>),
) -> Result<BenchOutcome, BenchError> {
    let addrs = resolve(plan)?;
    let tls_config = plan
        .request
        .url
        .scheme
        .is_tls()
        .then(|| tls::client_config(plan.insecure, if plan.http2 { Alpn::Http2 } else { Alpn::Http1 }));
    let connect_timeout = plan.timeout;
    let connector = Connector::new(&plan.request.url, addrs, tls_config, connect_timeout).map_err(BenchError::Tls)?;

    let workers = plan.worker_count();
    let (sink, inbox) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let deadline = plan.duration.map(|d| start + d);

    let mut handles = Vec::new();
    for segment in Segment::all(workers as u32) {
        let setup = worker::WorkerSetup {
            index: segment.index as usize,
            plan: plan.segment(segment),
            connector: connector.clone(),
            start,
            deadline,
            sink: sink.clone(),
            stop: stop_rx.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("pummel-worker-{}", segment.index))
            .spawn(move || worker::run(setup))
            .map_err(BenchError::Thread)?;
        handles.push(handle);
    }
    drop(sink);

    let mut collector = Collector::new(MetricKeys::new(vec!["bench".into()]), workers as usize, plan.rate.is_some());
    let mut partial = false;
    while !collector.all_finished() {
        if stop.is_stopped() && !partial {
            partial = true;
            let _ = stop_tx.send(true);
        }
        match inbox.recv_timeout(Duration::from_millis(50)) {
            Ok(message) => {
                if collector.accept(message) > 0 && !collector.all_finished() {
                    if let Some(last) = collector.timeline().last() {
                        let totals = collector.combined_totals();
                        on_progress(Progress { elapsed: start.elapsed(), totals: &totals, last });
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every worker is gone; a worker that died without finishing
            // loses only its unsent current second.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let end = handles
        .into_iter()
        .filter_map(|h| h.join().ok())
        .max()
        .unwrap_or_else(Instant::now);
    let elapsed = end.saturating_duration_since(start);
    Ok(BenchOutcome {
        metrics: collector.finish(elapsed),
        elapsed,
        started_at,
        partial,
    })
}

fn resolve(plan: &BenchPlan) -> Result<Vec<std::net::SocketAddr>, BenchError> {
    let url = &plan.request.url;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Thread)?;
    runtime
        .block_on(url.resolve())
        .map_err(|source| BenchError::Resolve { host: url.host.clone(), source })
}
