//! `pummel bench`: one request, sent as fast as possible (closed model) or
//! at a fixed rate (open model), from a worker thread per core.
//!
//! The coordinator (this module) splits the plan into one segment per worker,
//! starts the workers, and owns the collector: it is the only place the
//! workers' measurements meet, by message.

mod result;
mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use result::result;

use crate::coordinator::{self, SpawnError, Worker, WorkerContext};
use crate::coordinator::{Measured, Progress, StopSignal};
use crate::http::tls::{self, Alpn};
use crate::http::transport::InvalidServerName;
use crate::http::{Connector, RequestSpec};
use crate::metrics::{CounterId, GaugeId, IntervalSnapshot, KeyId, MetricLayout};
use crate::pacer::{ConstantRate, Share};
use crate::segment::{Segment, SegmentOptions};
use crate::ws::WsUrl;

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
    /// WebSocket bench: each connection is a socket sending `request.body`
    /// as a message and waiting for the reply (an echo).
    pub websocket: Option<WsUrl>,
    /// The addresses the bench may connect to (an agent of a shared
    /// server); `None`: any.
    pub connect_filter: Option<crate::http::ConnectFilter>,
    /// The HTTP proxy every connection goes through (`--proxy`).
    pub proxy: Option<crate::http::ProxyUrl>,
}

/// The metric keys of a WebSocket bench.
pub(crate) const WS_ROUNDTRIP: KeyId = KeyId(0);
pub(crate) const WS_CONNECT: KeyId = KeyId(1);
pub(crate) const WS_SOCKETS: GaugeId = GaugeId(0);
/// Messages that went out on a connected socket: a failed connect uses up a
/// message of the plan, but sends nothing.
pub(crate) const WS_MESSAGES_SENT: CounterId = CounterId(0);
/// The name of [`WS_SOCKETS`] in the timeline.
const SOCKETS_GAUGE: &str = "sockets";

impl BenchPlan {
    /// The share of this plan that `segment` runs: of its connections and
    /// requests. The rate stays the whole plan's: a segment sends its share
    /// of the one schedule ([`BenchPlan::schedule`]), not a smaller rate.
    pub fn segment(&self, segment: Segment) -> BenchPlan {
        BenchPlan {
            connections: segment.share(self.connections),
            requests: self.requests.map(|n| segment.share(n)),
            ..self.clone()
        }
    }

    /// Open model: the share of the whole plan's schedule that `segment`
    /// sends (the whole plan's rate, request count and duration).
    fn schedule(&self, segment: Segment) -> Option<Share<ConstantRate>> {
        let rate = self.rate?;
        let whole = ConstantRate::new(rate, self.requests, self.duration);
        Some(Share::new(whole, segment))
    }

    /// Worker threads to use: never more than there are connections.
    pub(crate) fn worker_count(&self) -> u64 {
        self.connections_that_run().min(self.threads).max(1)
    }

    /// Connections that can carry a request: never more than the requests
    /// asked for (`-n`). Each connection's lane is set up before the first
    /// request, so a connection that could never be used would only cost
    /// memory — `-c 100000 -n 100` would otherwise reserve a hundred
    /// thousand lanes to send a hundred requests.
    pub(crate) fn connections_that_run(&self) -> u64 {
        self.connections
            .min(self.requests.unwrap_or(u64::MAX))
            .max(1)
    }
}

/// A bench that could not start: the user must fix something.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    /// The target's host cannot be a TLS server name (an https URL).
    #[error(transparent)]
    ServerName(#[from] InvalidServerName),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// A worker could not run its share (it could not start its runtime,
    /// or its thread died): the figures of the others are not the bench's.
    #[error("{0}")]
    Worker(String),
    /// The target's address is outside the networks the bench may reach.
    #[error("{host} resolves to an address outside the networks this bench may reach")]
    AddressRefused { host: String },
}

/// Runs a bench to the end (or until `stop`), calling `on_progress` once a
/// second with the figures so far.
pub fn run(
    plan: &BenchPlan,
    stop: &StopSignal,
    on_progress: impl FnMut(Progress<'_>),
) -> Result<Measured, BenchError> {
    run_segment(plan, &SegmentOptions::default(), stop, None, on_progress)
}

/// The metric keys of `plan`'s bench: the same for every segment of it, so
/// a server merges its agents' snapshots by key id.
pub fn layout(plan: &BenchPlan) -> Arc<MetricLayout> {
    let layout = if plan.websocket.is_some() {
        // Round trips are the "requests"; connects are kept apart.
        MetricLayout::new(
            vec!["roundtrip".into(), "connect".into()],
            plan.rate.is_some(),
        )
        .with_gauges(vec![SOCKETS_GAUGE.into()])
        .with_counters(vec!["ws:messages_sent".into()])
        .without_aggregate(WS_CONNECT)
    } else {
        MetricLayout::new(vec!["bench".into()], plan.rate.is_some())
    };
    Arc::new(layout)
}

/// Runs one segment of a bench (an agent's share of a distributed one):
/// `part.segment` of the whole `plan`'s connections, requests and open
/// schedule, split again among `plan.threads` worker threads, started at
/// `part.start_at`. `on_interval`, if given, receives each second's
/// snapshot of this segment (all its threads merged) as it closes, the
/// last ones before this returns. The [`Measured`] is this segment's alone.
pub fn run_segment(
    plan: &BenchPlan,
    part: &SegmentOptions,
    stop: &StopSignal,
    on_interval: Option<&mut dyn FnMut(IntervalSnapshot)>,
    on_progress: impl FnMut(Progress<'_>),
) -> Result<Measured, BenchError> {
    let outer = part.segment;
    if !outer.is_valid() {
        return Err(BenchError::Worker(format!(
            "segment {}/{} is not a segment",
            outer.index, outer.count
        )));
    }
    let plan = &BenchPlan {
        connections: plan.connections_that_run(),
        ..plan.clone()
    };
    if outer.share(plan.connections) == 0 {
        // Its share of the requests or of the schedule would never be sent.
        return Err(BenchError::Worker(format!(
            "segment {}/{} has no connection: the bench's {} cannot be shared among {} segments",
            outer.index, outer.count, plan.connections, outer.count
        )));
    }
    let addrs = resolve(plan)?;
    if let Some(filter) = &plan.connect_filter {
        if !filter.allows_all(&addrs) {
            return Err(BenchError::AddressRefused {
                host: plan.request.url.host.clone(),
            });
        }
    }
    let tls_config = plan.request.url.scheme.is_tls().then(|| {
        tls::client_config(
            plan.insecure,
            if plan.http2 { Alpn::Http2 } else { Alpn::Http1 },
        )
    });
    let connect_timeout = plan.timeout;
    let mut connector = Connector::new(&plan.request.url, addrs, tls_config, connect_timeout)?;
    if let Some(proxy) = &plan.proxy {
        let proxy_addrs = resolve_proxy(proxy)?;
        // HTTP/2 with prior knowledge and WebSockets need a tunnel; plain
        // HTTP/1.1 is forwarded in absolute form.
        let tunnel = plan.http2 || plan.websocket.is_some();
        connector = connector.through(
            std::sync::Arc::new(proxy.clone()),
            proxy_addrs,
            &plan.request.url,
            tunnel,
        );
    }

    // This segment's threads are segments of the whole plan (see
    // `Segment::within`): each takes its share of the whole's connections,
    // requests and schedule slots.
    let workers = plan.segment(outer).worker_count() as u32;
    let segments = Segment::all(workers)
        .map(|inner| inner.within(outer))
        .collect::<Option<Vec<Segment>>>()
        .ok_or_else(|| {
            BenchError::Worker(format!(
                "segment {}/{} cannot be split into {workers} threads",
                outer.index, outer.count
            ))
        })?;
    let deadline_after = plan.duration;
    let workers: Vec<Worker> = segments
        .into_iter()
        .map(|segment| {
            let schedule = plan.schedule(segment);
            let plan = plan.segment(segment);
            let connector = connector.clone();
            Box::new(move |ctx: WorkerContext| {
                worker::run(worker::WorkerPlan {
                    plan,
                    schedule,
                    connector,
                    deadline: deadline_after.map(|d| ctx.start + d),
                    ctx,
                })
            }) as Worker
        })
        .collect();
    let measured = coordinator::run(
        workers,
        layout(plan),
        None,
        stop,
        part.start_at,
        on_interval,
        on_progress,
    )?;
    if let Some(fatal) = measured.reports.iter().find_map(|r| r.fatal.clone()) {
        return Err(BenchError::Worker(fatal));
    }
    Ok(measured)
}

fn resolve_proxy(proxy: &crate::http::ProxyUrl) -> Result<Vec<std::net::SocketAddr>, BenchError> {
    let runtime = coordinator::local_runtime()?;
    runtime
        .block_on(proxy.resolve())
        .map_err(|source| BenchError::Resolve {
            host: proxy.host.clone(),
            source,
        })
}

fn resolve(plan: &BenchPlan) -> Result<Vec<std::net::SocketAddr>, BenchError> {
    let url = &plan.request.url;
    if plan.proxy.is_some() {
        // The proxy resolves the target's name; this machine may not know
        // it. The connector's addresses are the proxy's.
        return Ok(Vec::new());
    }
    let runtime = coordinator::local_runtime()?;
    runtime
        .block_on(url.resolve())
        .map_err(|source| BenchError::Resolve {
            host: url.host.clone(),
            source,
        })
}
