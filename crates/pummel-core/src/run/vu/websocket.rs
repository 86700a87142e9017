//! WebSocket steps, run on behalf of a virtual user: its open sockets by
//! name, and one function per step kind.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::abort::Abort;
use super::render::{self, RenderError};
use super::variables::Variables;
use crate::http::failure_reason;
use crate::run::program::{WsOp, WS_MESSAGES_RECEIVED, WS_MESSAGES_SENT};
use crate::run::worker_state::WorkerState;
use crate::scenario::capture::Capture;
use crate::scenario::check::Check;
use crate::scenario::cookie::CookieJar;
use crate::scenario::response::ResponseView as MessageView;
use crate::scenario::websocket::{WsAction, WsConnect, WsMessage};
use crate::ws::{self, WsStream};
use crate::ErrorKind;

/// A VU's open sockets, by name.
#[derive(Default)]
pub(super) struct Sockets(Vec<(String, Socket)>);

/// One of a VU's open sockets.
struct Socket {
    ws: WsStream,
    /// When the VU last sent on it: an expected reply's latency counts from here.
    last_send: Option<Instant>,
}

/// The step being run: what its measurements and failures are filed under.
struct Step<'a> {
    shared: &'a WorkerState,
    op: &'a WsOp,
    started: Instant,
}

impl Step<'_> {
    fn socket_name(&self) -> &str {
        self.op.step.socket.as_str()
    }

    /// Counts the step as failed with `kind`; the iteration aborts.
    fn fail(&self, kind: ErrorKind, what: &str) -> Abort {
        self.shared
            .recorder
            .borrow_mut()
            .stats(self.op.key, Instant::now())
            .record_error(kind, 0, 0);
        // The kind with the cause its transport noted, if any ("WebSocket
        // protocol violation: a masked frame from the server").
        let failure = failure_reason::describe(kind);
        let (keyword, socket) = (self.op.step.action.keyword(), self.socket_name());
        Abort::Iteration(if what.is_empty() {
            format!("{keyword} ({socket}): {failure}")
        } else {
            format!("{keyword} ({socket}): {what}: {failure}")
        })
    }

    /// The failure of a step on a socket that is not open.
    fn not_open(&self) -> Abort {
        self.fail(
            ErrorKind::InvalidRequest,
            "the socket is not open (no ws_connect before)",
        )
    }

    /// The failure of a step whose URL, header or message cannot be built:
    /// counted, so it shows in the error count and the thresholds.
    fn render_failed(&self, e: &RenderError) -> Abort {
        self.fail(ErrorKind::InvalidRequest, &render::message(e))
    }

    /// Counts the step as answered, `latency` after it started.
    fn answered(&self, latency: Duration, at: Instant) {
        self.shared
            .recorder
            .borrow_mut()
            .stats(self.op.key, at)
            .record_message(latency, None, 0, 0);
    }

    /// Counts a received message (and its bytes, on the step); returns when.
    fn received(&self, message: &Message) -> Instant {
        let now = Instant::now();
        let mut recorder = self.shared.recorder.borrow_mut();
        recorder.count(WS_MESSAGES_RECEIVED, 1, now);
        recorder.stats(self.op.key, now).bytes_received += payload(message).len() as u64;
        now
    }
}

/// The payload of a data message as bytes.
fn payload(message: &Message) -> &[u8] {
    match message {
        Message::Text(t) => t.as_bytes(),
        Message::Binary(b) => b,
        _ => &[],
    }
}

impl Sockets {
    /// Runs one WebSocket step.
    pub(super) async fn step(
        &mut self,
        shared: &WorkerState,
        op: &WsOp,
        vars: &mut Variables,
        jar: Option<&mut CookieJar>,
    ) -> Result<(), Abort> {
        let step = Step {
            shared,
            op,
            started: Instant::now(),
        };
        // A reason noted by something else on this thread explains nothing
        // about this step.
        failure_reason::clear();
        match &op.step.action {
            WsAction::Connect(connect) => self.connect(&step, connect, vars, jar).await,
            WsAction::Send(message) => self.send(&step, message, vars).await,
            WsAction::Expect {
                checks,
                captures,
                timeout,
            } => self.expect(&step, checks, captures, *timeout, vars).await,
            WsAction::Receive { count, timeout } => self.receive(&step, *count, *timeout).await,
            WsAction::Hold(duration) => self.hold(&step, *duration).await,
            WsAction::Ping { timeout } => self.ping(&step, *timeout).await,
            WsAction::Close { code, reason } => self.close(&step, *code, reason).await,
        }
    }

    /// Drops every socket (a VU that stops).
    pub(super) fn close_all(&mut self, shared: &WorkerState) {
        for _ in self.0.drain(..) {
            shared.socket_closed();
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|(n, _)| n == name)
    }

    /// The step's socket, or the failure of a step on a socket not open.
    fn open(&mut self, step: &Step<'_>) -> Result<&mut Socket, Abort> {
        match self.index_of(step.socket_name()) {
            Some(i) => Ok(&mut self.0[i].1),
            None => Err(step.not_open()),
        }
    }

    /// Turns a step's transport outcome into the VU's: on an error, the
    /// step fails, and the socket goes unless the error was a timeout (it
    /// is unusable after a transport or protocol error).
    fn settle(&mut self, step: &Step<'_>, outcome: Result<(), ErrorKind>) -> Result<(), Abort> {
        outcome.map_err(|kind| {
            if kind != ErrorKind::Timeout {
                if let Some(i) = self.index_of(step.socket_name()) {
                    self.0.swap_remove(i);
                    step.shared.socket_closed();
                }
            }
            step.fail(kind, "")
        })
    }

    async fn connect(
        &mut self,
        step: &Step<'_>,
        connect: &WsConnect,
        vars: &Variables,
        jar: Option<&mut CookieJar>,
    ) -> Result<(), Abort> {
        let shared = step.shared;
        let plan = &shared.program.plan;
        let (ws_url, headers) = render::ws_connect(plan, &connect.url, &connect.headers, vars, jar)
            .map_err(|e| step.render_failed(&e))?;
        let timeout = connect
            .timeout
            .unwrap_or(crate::scenario::model::DEFAULT_TIMEOUT);
        let connected = tokio::time::timeout(timeout, async {
            let connector = shared
                .connectors
                // A WebSocket goes through a proxy in a tunnel, as browsers
                // send it, and over TLS with the step's (or the defaults')
                // `tls:` settings, as a request would.
                .get(
                    &ws_url.target,
                    plan.tls_for(connect.tls),
                    false,
                    connect.proxy,
                    true,
                )
                .await?;
            ws::connect(
                &connector,
                &ws_url,
                &headers,
                &connect.protocols,
                vars.id as usize,
            )
            .await
        })
        .await
        .unwrap_or(Err(ErrorKind::ConnectTimeout));
        let end = Instant::now();
        let (stream, handshake) = connected.map_err(|kind| step.fail(kind, &ws_url.url))?;
        shared
            .recorder
            .borrow_mut()
            .stats(step.op.key, end)
            .record_response(end - step.started, None, 101, handshake.bytes_received, 0);
        if let Some(i) = self.index_of(step.socket_name()) {
            // Reconnecting a name replaces its socket.
            self.0.swap_remove(i);
            shared.socket_closed();
        }
        self.0.push((
            step.socket_name().to_owned(),
            Socket {
                ws: stream,
                last_send: None,
            },
        ));
        shared.socket_opened();
        Ok(())
    }

    async fn send(
        &mut self,
        step: &Step<'_>,
        message: &WsMessage,
        vars: &Variables,
    ) -> Result<(), Abort> {
        let socket = self.open(step)?;
        let text = render::ws_message(message, vars).map_err(|e| step.render_failed(&e))?;
        let len = text.len() as u64;
        let sent = ws::send(&mut socket.ws, Message::Text(text.into())).await;
        socket.last_send = Some(Instant::now());
        let sent = sent.map(|()| {
            let now = Instant::now();
            let mut recorder = step.shared.recorder.borrow_mut();
            recorder.count(WS_MESSAGES_SENT, 1, now);
            recorder.stats(step.op.key, now).bytes_sent += len;
        });
        self.settle(step, sent)
    }

    /// Waits for a message that passes every check, then captures from it.
    async fn expect(
        &mut self,
        step: &Step<'_>,
        checks: &[Check],
        captures: &[Capture],
        timeout: Duration,
        vars: &mut Variables,
    ) -> Result<(), Abort> {
        let socket = self.open(step)?;
        let from = socket.last_send.unwrap_or(step.started);
        let deadline = step.started + timeout;
        let mut scratch = String::new();
        let matched = loop {
            let message =
                match tokio::time::timeout_at(deadline.into(), ws::next_data(&mut socket.ws)).await
                {
                    Err(_) => {
                        // Nothing matched in time: every check of the step failed.
                        let now = Instant::now();
                        for (_, fail_counter) in &step.op.check_counters {
                            step.shared
                                .recorder
                                .borrow_mut()
                                .count(*fail_counter, 1, now);
                        }
                        break Err(ErrorKind::Timeout);
                    }
                    Ok(Err(kind)) => break Err(kind),
                    Ok(Ok(m)) => m,
                };
            let now = step.received(&message);
            let view = MessageView::new(0, &[], payload(&message), now - from);
            if checks
                .iter()
                .all(|c| c.evaluate(&view, vars, &mut scratch).passed())
            {
                break Ok((message, now));
            }
        };
        let (message, now) = match matched {
            Ok(found) => found,
            Err(kind) => return self.settle(step, Err(kind)),
        };
        {
            let mut recorder = step.shared.recorder.borrow_mut();
            for (pass, _) in &step.op.check_counters {
                recorder.count(*pass, 1, now);
            }
        }
        step.answered(now - from, now);
        let view = MessageView::new(0, &[], payload(&message), now - from);
        match vars.capture(captures, &view, &mut scratch) {
            Some(missing) => Err(Abort::Iteration(missing)),
            None => Ok(()),
        }
    }

    /// Waits for `count` messages, whatever they hold.
    async fn receive(
        &mut self,
        step: &Step<'_>,
        count: u32,
        timeout: Duration,
    ) -> Result<(), Abort> {
        let socket = self.open(step)?;
        let deadline = step.started + timeout;
        let mut received = 0u32;
        let mut outcome = Ok(());
        while received < count {
            match tokio::time::timeout_at(deadline.into(), ws::next_data(&mut socket.ws)).await {
                Err(_) => {
                    outcome = Err(ErrorKind::Timeout);
                    break;
                }
                Ok(Err(kind)) => {
                    outcome = Err(kind);
                    break;
                }
                Ok(Ok(m)) => {
                    received += 1;
                    step.received(&m);
                }
            }
        }
        if outcome.is_ok() {
            let end = Instant::now();
            step.answered(end - step.started, end);
        }
        self.settle(step, outcome)
    }

    /// Keeps the socket open for `duration`, counting what arrives.
    async fn hold(&mut self, step: &Step<'_>, duration: Duration) -> Result<(), Abort> {
        let socket = self.open(step)?;
        let until = step.started + duration;
        let outcome = loop {
            match tokio::time::timeout_at(until.into(), ws::next_data(&mut socket.ws)).await {
                Err(_) => break Ok(()),
                Ok(Err(kind)) => break Err(kind),
                Ok(Ok(m)) => {
                    step.received(&m);
                }
            }
        };
        self.settle(step, outcome)
    }

    /// Sends a ping and waits for its pong.
    async fn ping(&mut self, step: &Step<'_>, timeout: Duration) -> Result<(), Abort> {
        let ws = &mut self.open(step)?.ws;
        let pinged = tokio::time::timeout(timeout, async {
            ws.send(Message::Ping(b"pummel".as_slice().into()))
                .await
                .map_err(|e| ws::classify(&e))?;
            loop {
                match ws.next().await {
                    None => return Err(ErrorKind::WsClosed),
                    Some(Err(e)) => return Err(ws::classify(&e)),
                    Some(Ok(Message::Pong(_))) => return Ok(()),
                    Some(Ok(Message::Close(_))) => return Err(ErrorKind::WsClosed),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .unwrap_or(Err(ErrorKind::Timeout));
        if pinged.is_ok() {
            let end = Instant::now();
            step.answered(end - step.started, end);
        }
        self.settle(step, pinged)
    }

    /// Closes the socket (it is gone whether or not the close succeeds).
    async fn close(&mut self, step: &Step<'_>, code: u16, reason: &str) -> Result<(), Abort> {
        let Some(index) = self.index_of(step.socket_name()) else {
            return Err(step.not_open());
        };
        let (_, mut socket) = self.0.swap_remove(index);
        step.shared.socket_closed();
        ws::close(&mut socket.ws, code, reason)
            .await
            .map_err(|kind| step.fail(kind, ""))
    }
}
