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
use crate::coordinator::{local_runtime, until_start, WorkerContext};
use crate::http::h2::{self, H2Sender};
use crate::http::{Connector, Discard, H1Connection, H1Error, RequestSpec};
use crate::metrics::recorder::roll_each_second;
use crate::metrics::{KeyId, Recorder};
use crate::pacer::{self, ConstantRate, Pacer, Share};
use crate::ErrorKind;

/// The only metric key of a bench.
const KEY: KeyId = KeyId(0);

/// Everything a worker needs.
pub(super) struct WorkerPlan {
    /// This worker's share of the plan.
    pub plan: BenchPlan,
    /// Open model: this worker's share of the whole plan's schedule.
    pub schedule: Option<Share<ConstantRate>>,
    pub connector: Connector,
    pub deadline: Option<Instant>,
    pub ctx: WorkerContext,
}

/// The state of one worker, shared by its lanes.
struct WorkerState {
    recorder: RefCell<Recorder>,
    connector: Connector,
    request: RequestSpec,
    h1_request: Bytes,
    /// Requests go to a forwarding proxy: a 407 is its refusal.
    forwarded: bool,
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

/// A request of the plan that a lane may send.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// Closed model: now; its latency counts from when it is sent.
    Now,
    /// Open model: released at its scheduled moment, from which its latency
    /// counts.
    Scheduled(Instant),
}

impl Slot {
    fn scheduled(self) -> Option<Instant> {
        match self {
            Slot::Now => None,
            Slot::Scheduled(at) => Some(at),
        }
    }
}

impl WorkerState {
    /// The next request to send, or `None` when the plan has no more.
    async fn next(&self) -> Option<Slot> {
        match &self.pacer {
            Some(pacer) => pacer.take().await.map(|(_, at)| Slot::Scheduled(at)),
            None => {
                let left = self.budget.get();
                if left == 0 {
                    return None;
                }
                self.budget.set(left - 1);
                Some(Slot::Now)
            }
        }
    }

    fn record(&self, slot: Slot, sent: Instant, outcome: RequestOutcome) {
        let scheduled = slot.scheduled();
        let end = Instant::now();
        let mut recorder = self.recorder.borrow_mut();
        let stats = recorder.stats(KEY, end);
        let bytes_sent = self.h1_request.len() as u64;
        match outcome {
            RequestOutcome::Response {
                status,
                bytes_received,
            } => {
                let from = scheduled.unwrap_or(sent);
                let uncorrected = scheduled.map(|_| end - sent);
                stats.record_response(end - from, uncorrected, status, bytes_received, bytes_sent);
            }
            RequestOutcome::Failed {
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
        if scheduled.is_some_and(|at| pacer::is_late(at, sent)) {
            stats.late += 1;
        }
    }
}

/// How one request ended.
#[derive(Clone, Copy, Debug)]
enum RequestOutcome {
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

impl RequestOutcome {
    fn connect_failed(kind: ErrorKind) -> RequestOutcome {
        RequestOutcome::Failed {
            kind,
            bytes_received: 0,
            sent_request: false,
        }
    }

    fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            RequestOutcome::Failed {
                sent_request: false,
                ..
            }
        )
    }
}

/// Runs a worker to the end of its share; returns when it stopped.
pub(super) fn run(setup: WorkerPlan) -> Instant {
    match local_runtime() {
        Ok(runtime) => tokio::task::LocalSet::new().block_on(&runtime, drive(setup)),
        // Out of file descriptors, say: this share cannot run.
        Err(e) => setup.ctx.fail(&e),
    }
}

async fn drive(setup: WorkerPlan) -> Instant {
    let WorkerPlan {
        plan,
        schedule,
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
    let pacer = schedule.map(|schedule| Pacer::new(start, Box::new(schedule)));
    let state = Rc::new(WorkerState {
        recorder: RefCell::new(Recorder::new(index, start, layout, sink)),
        forwarded: connector.forwarding_proxy().is_some(),
        h1_request: match connector.forwarding_proxy() {
            None => plan.request.encode_h1(),
            Some(proxy) => {
                let mut encoded = plan.request.encode_h1().to_vec();
                crate::http::proxy::to_absolute_form(&mut encoded, &plan.request.url, proxy);
                Bytes::from(encoded)
            }
        },
        connector,
        request: plan.request.clone(),
        timeout: plan.timeout,
        // Closed model only: an open model's pacer counts its own slots.
        budget: Cell::new(plan.requests.unwrap_or(u64::MAX)),
        pacer,
        in_flight: Cell::new(0),
        sockets: Cell::new(0),
        handshakes: tokio::sync::Semaphore::new(HANDSHAKES_AT_ONCE),
    });

    // Set up before the run's start, so that every worker, and every agent
    // of a distributed run, starts on time.
    until_start(start, &mut stop).await;
    let mut lanes = JoinSet::new();
    if let Some(url) = &plan.websocket {
        for conn in 0..plan.connections {
            lanes.spawn_local(ws_lane(state.clone(), url.clone(), index + conn as usize));
        }
    } else if plan.http2 {
        for conn in 0..plan.connections {
            let group = Rc::new(H2Group::default());
            for _ in 0..plan.h2_streams {
                lanes.spawn_local(h2_lane(state.clone(), group.clone(), index + conn as usize));
            }
        }
    } else {
        for conn in 0..plan.connections {
            lanes.spawn_local(h1_lane(state.clone(), index + conn as usize));
        }
    }
    let ticker = {
        let state = state.clone();
        tokio::task::spawn_local(async move { roll_each_second(&state.recorder, start).await })
    };
    let pacer_task = state.pacer.is_some().then(|| {
        let state = state.clone();
        tokio::task::spawn_local(async move {
            if let Some(pacer) = &state.pacer {
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
    let lanes_done = async {
        while lanes.join_next().await.is_some() {}
        // An open-model run lasts as long as its schedule, however early
        // this worker's share of it was done.
        if let Some(pacer) = &state.pacer {
            pacer.until_end().await;
        }
    };
    tokio::select! {
        _ = lanes_done => {}
        _ = stop.wait_for(|stopped| *stopped) => {}
        _ = deadline_reached => {}
    }
    let end = Instant::now();
    lanes.abort_all();
    ticker.abort();
    if let Some(task) = pacer_task {
        task.abort();
    }

    let mut recorder = state.recorder.borrow_mut();
    let stats = recorder.stats(KEY, end);
    stats.aborted += state.in_flight.get();
    if let Some(pacer) = &state.pacer {
        stats.dropped += pacer.dropped(end);
    }
    recorder.finish(Default::default());
    end
}

/// After a request: in the closed model, waits a little after consecutive
/// connect failures, so a dead target is counted at a sane pace rather than
/// in a busy loop. (In the open model the schedule sets the pace.)
async fn back_off_after(outcome: RequestOutcome, slot: Slot, failures: &mut u32) {
    if !outcome.is_connect_failure() {
        *failures = 0;
        return;
    }
    *failures += 1;
    if matches!(slot, Slot::Now) {
        tokio::time::sleep(connect_backoff(*failures)).await;
    }
}

/// The wait after `failures` consecutive connect failures: 2, 4, … up to 100 ms.
fn connect_backoff(failures: u32) -> Duration {
    Duration::from_millis((1u64 << failures.min(7)).min(100))
}

async fn h1_lane(state: Rc<WorkerState>, lane: usize) {
    let mut conn: Option<H1Connection> = None;
    let mut connects = lane;
    let mut connect_failures = 0u32;
    while let Some(slot) = state.next().await {
        let sent = Instant::now();
        state.in_flight.set(state.in_flight.get() + 1);
        let outcome =
            tokio::time::timeout(state.timeout, h1_exchange(&state, &mut conn, &mut connects))
                .await;
        state.in_flight.set(state.in_flight.get() - 1);
        let outcome = outcome.unwrap_or_else(|_| {
            // The connection is mid-exchange: it cannot be reused.
            conn = None;
            RequestOutcome::Failed {
                kind: ErrorKind::Timeout,
                bytes_received: 0,
                sent_request: true,
            }
        });
        state.record(slot, sent, outcome);
        back_off_after(outcome, slot, &mut connect_failures).await;
    }
}

async fn h1_exchange(
    state: &WorkerState,
    conn: &mut Option<H1Connection>,
    connects: &mut usize,
) -> RequestOutcome {
    // One retry, for a keep-alive connection the server closed while idle.
    for _ in 0..2 {
        let c = match conn {
            Some(c) => c,
            None => match state.connector.connect(*connects).await {
                Ok(stream) => {
                    *connects += 1;
                    conn.insert(H1Connection::new(stream))
                }
                Err(kind) => return RequestOutcome::connect_failed(kind),
            },
        };
        match c
            .exchange(&state.h1_request, state.request.is_head(), &mut Discard)
            .await
        {
            Ok(response) => {
                if !c.is_reusable() {
                    *conn = None;
                }
                if response.status == 407 && state.forwarded {
                    return RequestOutcome::Failed {
                        kind: ErrorKind::ProxyAuth,
                        bytes_received: response.bytes_received,
                        sent_request: true,
                    };
                }
                return RequestOutcome::Response {
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
                return RequestOutcome::Failed {
                    kind,
                    bytes_received,
                    sent_request: true,
                };
            }
        }
    }
    RequestOutcome::Failed {
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
    async fn sender(&self, state: &WorkerState, lane: usize) -> Result<H2Sender, ErrorKind> {
        if let Some(s) = self.live_sender() {
            return Ok(s);
        }
        let _guard = self.connecting.lock().await;
        if let Some(s) = self.live_sender() {
            return Ok(s);
        }
        let attempt = lane + self.connects.get();
        self.connects.set(self.connects.get() + 1);
        let stream = state.connector.connect(attempt).await?;
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

async fn h2_lane(state: Rc<WorkerState>, group: Rc<H2Group>, lane: usize) {
    let mut connect_failures = 0u32;
    while let Some(slot) = state.next().await {
        let sent = Instant::now();
        state.in_flight.set(state.in_flight.get() + 1);
        let outcome = tokio::time::timeout(state.timeout, async {
            let mut sender = match group.sender(&state, lane).await {
                Ok(s) => s,
                Err(kind) => return RequestOutcome::connect_failed(kind),
            };
            match h2::exchange(&mut sender, state.request.to_h2(), |_| {}).await {
                Ok(r) => RequestOutcome::Response {
                    status: r.status,
                    bytes_received: r.bytes_received,
                },
                Err(kind) => RequestOutcome::Failed {
                    kind,
                    bytes_received: 0,
                    sent_request: true,
                },
            }
        })
        .await
        .unwrap_or(RequestOutcome::Failed {
            kind: ErrorKind::Timeout,
            bytes_received: 0,
            sent_request: true,
        });
        state.in_flight.set(state.in_flight.get() - 1);
        state.record(slot, sent, outcome);
        back_off_after(outcome, slot, &mut connect_failures).await;
    }
}

/// Sends `payload` on a connected socket (counting it as sent only once it
/// went out) and waits for the reply.
async fn round_trip(
    state: &WorkerState,
    ws: &mut crate::ws::WsStream,
    payload: &tokio_tungstenite::tungstenite::Message,
) -> Result<tokio_tungstenite::tungstenite::Message, ErrorKind> {
    crate::ws::send(ws, payload.clone()).await?;
    state
        .recorder
        .borrow_mut()
        .count(super::WS_MESSAGES_SENT, 1, Instant::now());
    crate::ws::next_data(ws).await
}

impl WorkerState {
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
async fn ws_lane(state: Rc<WorkerState>, url: crate::ws::WsUrl, lane: usize) {
    use tokio_tungstenite::tungstenite::Message;
    // Text when the message is UTF-8 (what echo servers and browsers mostly
    // exchange), binary otherwise.
    let payload = match std::str::from_utf8(&state.request.body) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(state.request.body.clone()),
    };
    let headers = state.request.headers.clone();
    let mut socket = None;
    let mut attempts = lane;
    let mut connect_failures = 0u32;
    loop {
        if socket.is_none() {
            let Ok(permit) = state.handshakes.acquire().await else {
                break;
            };
            let started = Instant::now();
            attempts += 1;
            // Boxed: the handshake's state is large and needed once; inline,
            // it would stay in every lane's future for the whole run.
            let connected = tokio::time::timeout(
                state.timeout,
                Box::pin(crate::ws::connect(
                    &state.connector,
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
                    state
                        .recorder
                        .borrow_mut()
                        .stats(super::WS_CONNECT, end)
                        .record_response(end - started, None, 101, handshake.bytes_received, 0);
                    socket = Some(ws);
                    state.set_sockets(1);
                    connect_failures = 0;
                }
                Err(kind) => {
                    state
                        .recorder
                        .borrow_mut()
                        .stats(super::WS_CONNECT, end)
                        .record_error(kind, 0, 0);
                    connect_failures += 1;
                    // A failed connect uses up a message of the plan, so a
                    // dead server cannot keep a bounded run going for ever.
                    let Some(slot) = state.next().await else {
                        break;
                    };
                    state.record(slot, end, RequestOutcome::connect_failed(kind));
                    tokio::time::sleep(connect_backoff(connect_failures)).await;
                    continue;
                }
            }
        }
        let Some(slot) = state.next().await else {
            break;
        };
        let scheduled = slot.scheduled();
        let Some(ws) = socket.as_mut() else { continue };
        let sent = Instant::now();
        state.in_flight.set(state.in_flight.get() + 1);
        let outcome = tokio::time::timeout(state.timeout, round_trip(&state, ws, &payload))
            .await
            .unwrap_or(Err(ErrorKind::Timeout));
        state.in_flight.set(state.in_flight.get() - 1);
        let end = Instant::now();
        let mut recorder = state.recorder.borrow_mut();
        let stats = recorder.stats(KEY, end);
        let bytes_sent = state.request.body.len() as u64;
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
                state.set_sockets(-1);
                continue;
            }
        }
        if scheduled.is_some_and(|at| pacer::is_late(at, sent)) {
            stats.late += 1;
        }
    }
    // The plan is over: a socket still open here was open when the run
    // ended, and counts in `open_at_end` (it closes when the worker stops).
    drop(socket);
}
