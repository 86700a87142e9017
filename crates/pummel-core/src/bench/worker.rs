//! A bench worker: one OS thread, one single-threaded runtime, many lanes.
//!
//! A lane is one request at a time, in a loop: for HTTP/1.1 a lane owns a
//! connection; for HTTP/2 several lanes share one. Everything a worker's lanes
//! share (recorder, budget, pacer) lives on the worker's own thread behind
//! `Rc`/`Cell`/`RefCell`: no locks, no atomics on the hot path.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;

use super::BenchPlan;
use crate::coordinator::WorkerContext;
use crate::error_kind::ErrorKind;
use crate::http::h2::{self, H2Sender};
use crate::http::{Connector, Discard, H1Connection, H1Error, RequestSpec};
use crate::metrics::recorder::roll_each_second;
use crate::metrics::{KeyId, Recorder};
use crate::pacer::{ConstantRate, Pacer};

/// An open-model request counts as late when it starts this long after its
/// scheduled moment (its latency still counts from the schedule).
pub const LATE_AFTER: Duration = Duration::from_millis(1);

/// The only metric key of a bench.
const KEY: KeyId = KeyId(0);

/// Everything a worker needs.
pub(super) struct WorkerSetup {
    /// This worker's share of the plan.
    pub plan: BenchPlan,
    pub connector: Connector,
    pub deadline: Option<Instant>,
    pub ctx: WorkerContext,
}

/// State shared by the lanes of one worker.
struct Shared {
    recorder: RefCell<Recorder>,
    connector: Connector,
    request: RequestSpec,
    h1_request: Bytes,
    timeout: Duration,
    /// Closed model: requests left to start (`u64::MAX` when unbounded).
    budget: Cell<u64>,
    pacer: Option<Pacer>,
    in_flight: Cell<u64>,
    /// WebSocket bench: sockets open now.
    sockets: Cell<u64>,
    /// WebSocket bench: handshakes allowed at once (see [`HANDSHAKES_AT_ONCE`]).
    handshakes: tokio::sync::Semaphore,
}

/// WebSocket handshakes a worker runs at once. A handshake holds about 8 KB
/// of buffers; ten thousand sockets all shaking hands at the start would
/// spike memory by 80 MB (which the allocator then keeps), for no gain: the
/// server accepts connections one at a time anyway.
const HANDSHAKES_AT_ONCE: usize = 64;

impl Shared {
    /// The next request to send: its scheduled start (open model), or `None`
    /// when the plan has no more. `Some(None)` is a closed-model request.
    async fn next(&self) -> Option<Option<Instant>> {
        match &self.pacer {
            Some(pacer) => pacer.take().await.map(|(_, at)| Some(at)),
            None => {
                let left = self.budget.get();
                if left == 0 {
                    return None;
                }
                self.budget.set(left - 1);
                Some(None)
            }
        }
    }

    fn record(&self, scheduled: Option<Instant>, sent: Instant, outcome: Outcome) {
        let end = Instant::now();
        let mut recorder = self.recorder.borrow_mut();
        let stats = recorder.stats(KEY, end);
        let bytes_sent = self.h1_request.len() as u64;
        match outcome {
            Outcome::Response {
                status,
                bytes_received,
            } => {
                let from = scheduled.unwrap_or(sent);
                let uncorrected = scheduled.map(|_| end - sent);
                stats.record_response(end - from, uncorrected, status, bytes_received, bytes_sent);
            }
            Outcome::Failed {
                kind,
                bytes_received,
                sent_request,
            } => {
                stats.record_error(
                    kind,
                    bytes_received,
                    if sent_request { bytes_sent } else { 0 },
                );
            }
        }
        if scheduled.is_some_and(|at| sent.saturating_duration_since(at) > LATE_AFTER) {
            stats.late += 1;
        }
    }
}

/// How one request ended.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    Response {
        status: u16,
        bytes_received: u64,
    },
    Failed {
        kind: ErrorKind,
        bytes_received: u64,
        sent_request: bool,
    },
}

impl Outcome {
    fn connect_failed(kind: ErrorKind) -> Outcome {
        Outcome::Failed {
            kind,
            bytes_received: 0,
            sent_request: false,
        }
    }

    fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Failed {
                sent_request: false,
                ..
            }
        )
    }
}

/// Runs a worker to the end of its share; returns when it stopped.
pub(super) fn run(setup: WorkerSetup) -> Instant {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime can be built");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, drive(setup))
}

async fn drive(setup: WorkerSetup) -> Instant {
    let WorkerSetup {
        plan,
        connector,
        deadline,
        ctx,
    } = setup;
    let WorkerContext {
        index,
        start,
        sink,
        mut stop,
        layout,
    } = ctx;
    let open_model = plan.rate.is_some();
    let pacer = plan.rate.map(|rate| {
        let schedule = ConstantRate::new(rate, plan.requests, deadline.map(|d| d - start));
        Pacer::new(start, Box::new(schedule))
    });
    let shared = Rc::new(Shared {
        recorder: RefCell::new(Recorder::new(index, start, layout, sink)),
        connector,
        h1_request: plan.request.encode_h1(),
        request: plan.request.clone(),
        timeout: plan.timeout,
        budget: Cell::new(if open_model {
            0
        } else {
            plan.requests.unwrap_or(u64::MAX)
        }),
        pacer,
        in_flight: Cell::new(0),
        sockets: Cell::new(0),
        handshakes: tokio::sync::Semaphore::new(HANDSHAKES_AT_ONCE),
    });

    let mut lanes = JoinSet::new();
    if let Some(url) = &plan.websocket {
        for conn in 0..plan.connections {
            lanes.spawn_local(ws_lane(shared.clone(), url.clone(), index + conn as usize));
        }
    } else if plan.http2 {
        for conn in 0..plan.connections {
            let group = Rc::new(H2Group::default());
            for _ in 0..plan.h2_streams {
                lanes.spawn_local(h2_lane(
                    shared.clone(),
                    group.clone(),
                    index + conn as usize,
                ));
            }
        }
    } else {
        for conn in 0..plan.connections {
            lanes.spawn_local(h1_lane(shared.clone(), index + conn as usize));
        }
    }
    let ticker = {
        let shared = shared.clone();
        tokio::task::spawn_local(async move { roll_each_second(&shared.recorder, start).await })
    };
    let pacer_task = shared.pacer.is_some().then(|| {
        let shared = shared.clone();
        tokio::task::spawn_local(async move {
            if let Some(pacer) = &shared.pacer {
                pacer.run().await;
            }
        })
    });

    let deadline_reached = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = async { while lanes.join_next().await.is_some() {} } => {}
        _ = stop.wait_for(|stopped| *stopped) => {}
        _ = deadline_reached => {}
    }
    let end = Instant::now();
    lanes.abort_all();
    ticker.abort();
    if let Some(task) = pacer_task {
        task.abort();
    }

    let mut recorder = shared.recorder.borrow_mut();
    let stats = recorder.stats(KEY, end);
    stats.aborted += shared.in_flight.get();
    if let Some(pacer) = &shared.pacer {
        stats.dropped += pacer.dropped(end);
    }
    recorder.finish(Default::default());
    end
}

/// After a request: in the closed model, waits a little after consecutive
/// connect failures, so a dead target is counted at a sane pace rather than
/// in a busy loop. (In the open model the schedule sets the pace.)
async fn back_off_after(outcome: Outcome, scheduled: Option<Instant>, failures: &mut u32) {
    if !outcome.is_connect_failure() {
        *failures = 0;
        return;
    }
    *failures += 1;
    if scheduled.is_none() {
        tokio::time::sleep(connect_backoff(*failures)).await;
    }
}

/// The wait after `failures` consecutive connect failures: 2, 4, … up to 100 ms.
fn connect_backoff(failures: u32) -> Duration {
    Duration::from_millis((1u64 << failures.min(7)).min(100))
}

async fn h1_lane(shared: Rc<Shared>, lane: usize) {
    let mut conn: Option<H1Connection> = None;
    let mut connects = lane;
    let mut connect_failures = 0u32;
    while let Some(scheduled) = shared.next().await {
        let sent = Instant::now();
        shared.in_flight.set(shared.in_flight.get() + 1);
        let outcome = tokio::time::timeout(
            shared.timeout,
            h1_exchange(&shared, &mut conn, &mut connects),
        )
        .await;
        shared.in_flight.set(shared.in_flight.get() - 1);
        let outcome = outcome.unwrap_or_else(|_| {
            // The connection is mid-exchange: it cannot be reused.
            conn = None;
            Outcome::Failed {
                kind: ErrorKind::Timeout,
                bytes_received: 0,
                sent_request: true,
            }
        });
        shared.record(scheduled, sent, outcome);
        back_off_after(outcome, scheduled, &mut connect_failures).await;
    }
}

async fn h1_exchange(
    shared: &Shared,
    conn: &mut Option<H1Connection>,
    connects: &mut usize,
) -> Outcome {
    // One retry, for a keep-alive connection the server closed while idle.
    for _ in 0..2 {
        let c = match conn {
            Some(c) => c,
            None => match shared.connector.connect(*connects).await {
                Ok(stream) => {
                    *connects += 1;
                    conn.insert(H1Connection::new(stream))
                }
                Err(kind) => return Outcome::connect_failed(kind),
            },
        };
        match c
            .exchange(&shared.h1_request, shared.request.is_head(), &mut Discard)
            .await
        {
            Ok(response) => {
                if !c.is_reusable() {
                    *conn = None;
                }
                return Outcome::Response {
                    status: response.status,
                    bytes_received: response.bytes_received,
                };
            }
            Err(H1Error::Stale) => *conn = None,
            Err(H1Error::Failed {
                kind,
                bytes_received,
            }) => {
                *conn = None;
                return Outcome::Failed {
                    kind,
                    bytes_received,
                    sent_request: true,
                };
            }
        }
    }
    Outcome::Failed {
        kind: ErrorKind::Closed,
        bytes_received: 0,
        sent_request: true,
    }
}

/// One HTTP/2 connection shared by several lanes.
#[derive(Default)]
struct H2Group {
    sender: RefCell<Option<H2Sender>>,
    /// Held while (re)connecting, so lanes that find the connection gone
    /// open one new connection between them, not one each.
    connecting: tokio::sync::Mutex<()>,
    connects: Cell<usize>,
}

impl H2Group {
    async fn sender(&self, shared: &Shared, lane: usize) -> Result<H2Sender, ErrorKind> {
        if let Some(s) = self.live_sender() {
            return Ok(s);
        }
        let _guard = self.connecting.lock().await;
        if let Some(s) = self.live_sender() {
            return Ok(s);
        }
        let attempt = lane + self.connects.get();
        self.connects.set(self.connects.get() + 1);
        let stream = shared.connector.connect(attempt).await?;
        let sender = h2::handshake(stream).await?;
        *self.sender.borrow_mut() = Some(sender.clone());
        Ok(sender)
    }

    fn live_sender(&self) -> Option<H2Sender> {
        self.sender
            .borrow()
            .as_ref()
            .filter(|s| !s.is_closed())
            .cloned()
    }
}

async fn h2_lane(shared: Rc<Shared>, group: Rc<H2Group>, lane: usize) {
    let mut connect_failures = 0u32;
    while let Some(scheduled) = shared.next().await {
        let sent = Instant::now();
        shared.in_flight.set(shared.in_flight.get() + 1);
        let outcome = tokio::time::timeout(shared.timeout, async {
            let mut sender = match group.sender(&shared, lane).await {
                Ok(s) => s,
                Err(kind) => return Outcome::connect_failed(kind),
            };
            match h2::exchange(&mut sender, shared.request.to_h2(), |_| {}).await {
                Ok(r) => Outcome::Response {
                    status: r.status,
                    bytes_received: r.bytes_received,
                },
                Err(kind) => Outcome::Failed {
                    kind,
                    bytes_received: 0,
                    sent_request: true,
                },
            }
        })
        .await
        .unwrap_or(Outcome::Failed {
            kind: ErrorKind::Timeout,
            bytes_received: 0,
            sent_request: true,
        });
        shared.in_flight.set(shared.in_flight.get() - 1);
        shared.record(scheduled, sent, outcome);
        back_off_after(outcome, scheduled, &mut connect_failures).await;
    }
}

impl Shared {
    fn set_sockets(&self, delta: i64) {
        let open = (self.sockets.get() as i64 + delta).max(0) as u64;
        self.sockets.set(open);
        self.recorder
            .borrow_mut()
            .set_gauge(super::WS_SOCKETS, open, Instant::now());
    }
}

/// A WebSocket lane: one socket, connected before the first message, then
/// message → reply round trips. A failed socket is replaced.
async fn ws_lane(shared: Rc<Shared>, url: crate::ws::WsUrl, lane: usize) {
    use tokio_tungstenite::tungstenite::Message;
    // Text when the message is UTF-8 (what echo servers and browsers mostly
    // exchange), binary otherwise.
    let payload = match std::str::from_utf8(&shared.request.body) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(shared.request.body.clone()),
    };
    let headers = shared.request.headers.clone();
    let mut socket = None;
    let mut attempts = lane;
    let mut connect_failures = 0u32;
    loop {
        if socket.is_none() {
            let Ok(permit) = shared.handshakes.acquire().await else {
                break;
            };
            let started = Instant::now();
            attempts += 1;
            // Boxed: the handshake's state is large and needed once; inline,
            // it would stay in every lane's future for the whole run.
            let connected = tokio::time::timeout(
                shared.timeout,
                Box::pin(crate::ws::connect(
                    &shared.connector,
                    &url,
                    &headers,
                    &[],
                    attempts,
                )),
            )
            .await
            .unwrap_or(Err(ErrorKind::ConnectTimeout));
            let end = Instant::now();
            drop(permit);
            match connected {
                Ok((ws, handshake)) => {
                    shared
                        .recorder
                        .borrow_mut()
                        .stats(super::WS_CONNECT, end)
                        .record_response(end - started, None, 101, handshake.bytes_received, 0);
                    socket = Some(ws);
                    shared.set_sockets(1);
                    connect_failures = 0;
                }
                Err(kind) => {
                    shared
                        .recorder
                        .borrow_mut()
                        .stats(super::WS_CONNECT, end)
                        .record_error(kind, 0, 0);
                    connect_failures += 1;
                    // A failed connect uses up a message of the plan, so a
                    // dead server cannot keep a bounded run going for ever.
                    let Some(scheduled) = shared.next().await else {
                        break;
                    };
                    shared.record(scheduled, end, Outcome::connect_failed(kind));
                    tokio::time::sleep(connect_backoff(connect_failures)).await;
                    continue;
                }
            }
        }
        let Some(scheduled) = shared.next().await else {
            break;
        };
        let Some(ws) = socket.as_mut() else { continue };
        let sent = Instant::now();
        shared.in_flight.set(shared.in_flight.get() + 1);
        let outcome = tokio::time::timeout(shared.timeout, async {
            crate::ws::send(ws, payload.clone()).await?;
            crate::ws::next_data(ws).await
        })
        .await
        .unwrap_or(Err(ErrorKind::Timeout));
        shared.in_flight.set(shared.in_flight.get() - 1);
        let end = Instant::now();
        let mut recorder = shared.recorder.borrow_mut();
        let stats = recorder.stats(KEY, end);
        let bytes_sent = shared.request.body.len() as u64;
        match outcome {
            Ok(reply) => {
                let from = scheduled.unwrap_or(sent);
                stats.record_message(
                    end - from,
                    scheduled.map(|_| end - sent),
                    crate::ws::payload_len(&reply),
                    bytes_sent,
                );
            }
            Err(kind) => {
                stats.record_error(kind, 0, bytes_sent);
                drop(recorder);
                socket = None;
                shared.set_sockets(-1);
                continue;
            }
        }
        if scheduled.is_some_and(|at| sent.saturating_duration_since(at) > LATE_AFTER) {
            stats.late += 1;
        }
    }
    // The plan is over: a socket still open here was open when the run
    // ended, and counts in `open_at_end` (it closes when the worker stops).
    drop(socket);
}
