//! WebSocket steps, run on behalf of a virtual user.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use http::header::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::Message;

use super::program::{WsOp, WS_MESSAGES_RECEIVED, WS_MESSAGES_SENT};
use super::vu::{Abort, Vu};
use super::worker::WorkerShared;
use crate::error_kind::ErrorKind;
use crate::scenario::response::ResponseView as MessageView;
use crate::scenario::websocket::{WsAction, WsMessage};
use crate::ws::{self, WsStream, WsUrl};

/// One of a VU's open sockets.
pub(super) struct Socket {
    pub ws: WsStream,
    /// When the VU last sent on it: an expected reply's latency counts from here.
    pub last_send: Option<Instant>,
}

/// Counts a received message (and its bytes, on the step); returns when.
fn note_received(shared: &WorkerShared, op: &WsOp, message: &Message) -> Instant {
    let now = Instant::now();
    let mut recorder = shared.recorder.borrow_mut();
    recorder.count(WS_MESSAGES_RECEIVED, 1, now);
    recorder.stats(op.key, now).bytes_received += payload(message).len() as u64;
    now
}

/// The payload of a data message as bytes.
fn payload(message: &Message) -> &[u8] {
    match message {
        Message::Text(t) => t.as_bytes(),
        Message::Binary(b) => b,
        _ => &[],
    }
}

impl Vu {
    pub(super) async fn websocket(
        &mut self,
        shared: &WorkerShared,
        op: &WsOp,
    ) -> Result<(), Abort> {
        let started = Instant::now();
        let socket_name = op.step.socket.as_str();
        let fail = |shared: &WorkerShared, kind: ErrorKind, what: String| {
            shared
                .recorder
                .borrow_mut()
                .stats(op.key, Instant::now())
                .record_error(kind, 0, 0);
            Abort::Iteration(format!(
                "{} ({socket_name}): {what}: {}",
                op.step.action.keyword(),
                kind.describe()
            ))
        };
        if let WsAction::Connect {
            url,
            headers,
            protocols,
            timeout,
        } = &op.step.action
        {
            let (ws_url, rendered_headers) = self
                .render_connect(shared, url, headers)
                .map_err(Abort::Iteration)?;
            let timeout = timeout.unwrap_or(crate::scenario::model::DEFAULT_TIMEOUT);
            let connected = tokio::time::timeout(timeout, async {
                let connector = shared.connectors.get(&ws_url.target).await?;
                ws::connect(
                    &connector,
                    &ws_url,
                    &rendered_headers,
                    protocols,
                    self.id as usize,
                )
                .await
            })
            .await
            .unwrap_or(Err(ErrorKind::ConnectTimeout));
            let end = Instant::now();
            let (stream, handshake) =
                connected.map_err(|kind| fail(shared, kind, ws_url.url.clone()))?;
            shared
                .recorder
                .borrow_mut()
                .stats(op.key, end)
                .record_response(end - started, None, 101, handshake.bytes_received, 0);
            if let Some(i) = self.socket_index(socket_name) {
                // Reconnecting a name replaces its socket.
                self.sockets.swap_remove(i);
                shared.socket_closed();
            }
            self.sockets.push((
                socket_name.to_owned(),
                Socket {
                    ws: stream,
                    last_send: None,
                },
            ));
            shared.socket_opened();
            return Ok(());
        }

        let Some(index) = self.socket_index(socket_name) else {
            return Err(fail(
                shared,
                ErrorKind::WsClosed,
                "the socket is not open (no ws_connect before)".into(),
            ));
        };
        let result = match &op.step.action {
            WsAction::Connect { .. } => unreachable!("handled above"),
            WsAction::Send(message) => {
                let text = self.render_message(message).map_err(Abort::Iteration)?;
                let len = text.len() as u64;
                let socket = &mut self.sockets[index].1;
                let sent = ws::send(&mut socket.ws, Message::Text(text.into())).await;
                socket.last_send = Some(Instant::now());
                sent.map(|()| {
                    let now = Instant::now();
                    let mut recorder = shared.recorder.borrow_mut();
                    recorder.count(WS_MESSAGES_SENT, 1, now);
                    recorder.stats(op.key, now).bytes_sent += len;
                })
            }
            WsAction::Expect {
                checks,
                captures,
                timeout,
            } => {
                let from = self.sockets[index].1.last_send.unwrap_or(started);
                let deadline = started + *timeout;
                let mut scratch = String::new();
                loop {
                    let message = match tokio::time::timeout_at(
                        deadline.into(),
                        ws::next_data(&mut self.sockets[index].1.ws),
                    )
                    .await
                    {
                        Err(_) => {
                            // Nothing matched in time: every check of the step failed.
                            let now = Instant::now();
                            for (_, fail_counter) in &op.check_counters {
                                shared.recorder.borrow_mut().count(*fail_counter, 1, now);
                            }
                            break Err(ErrorKind::Timeout);
                        }
                        Ok(Err(kind)) => break Err(kind),
                        Ok(Ok(m)) => m,
                    };
                    let now = note_received(shared, op, &message);
                    let view = MessageView::new(0, &[], payload(&message), now - from);
                    let matched = checks
                        .iter()
                        .all(|c| c.evaluate(&view, self, &mut scratch).passed());
                    if !matched {
                        continue;
                    }
                    let mut recorder = shared.recorder.borrow_mut();
                    for (pass, _) in &op.check_counters {
                        recorder.count(*pass, 1, now);
                    }
                    recorder
                        .stats(op.key, now)
                        .record_message(now - from, None, 0, 0);
                    drop(recorder);
                    let mut missing = None;
                    for capture in captures {
                        scratch.clear();
                        if capture.source.extract_into(&view, &mut scratch) {
                            self.set_var(capture.var.index(), &scratch);
                        } else if !capture.optional && missing.is_none() {
                            missing = Some(format!(
                                "capture `{}` ({}) found nothing",
                                capture.name,
                                capture.source.describe()
                            ));
                        }
                    }
                    if let Some(message) = missing {
                        return Err(Abort::Iteration(message));
                    }
                    break Ok(());
                }
            }
            WsAction::Receive { count, timeout } => {
                let deadline = started + *timeout;
                let mut received = 0u32;
                let mut outcome = Ok(());
                while received < *count {
                    match tokio::time::timeout_at(
                        deadline.into(),
                        ws::next_data(&mut self.sockets[index].1.ws),
                    )
                    .await
                    {
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
                            note_received(shared, op, &m);
                        }
                    }
                }
                if outcome.is_ok() {
                    let end = Instant::now();
                    shared
                        .recorder
                        .borrow_mut()
                        .stats(op.key, end)
                        .record_message(end - started, None, 0, 0);
                }
                outcome
            }
            WsAction::Hold(duration) => {
                let until = started + *duration;
                loop {
                    match tokio::time::timeout_at(
                        until.into(),
                        ws::next_data(&mut self.sockets[index].1.ws),
                    )
                    .await
                    {
                        Err(_) => break Ok(()),
                        Ok(Err(kind)) => break Err(kind),
                        Ok(Ok(m)) => {
                            note_received(shared, op, &m);
                        }
                    }
                }
            }
            WsAction::Ping { timeout } => {
                let ws = &mut self.sockets[index].1.ws;
                let pinged = tokio::time::timeout(*timeout, async {
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
                    shared
                        .recorder
                        .borrow_mut()
                        .stats(op.key, end)
                        .record_message(end - started, None, 0, 0);
                }
                pinged
            }
            WsAction::Close { code, reason } => {
                let (_, mut socket) = self.sockets.swap_remove(index);
                shared.socket_closed();
                ws::close(&mut socket.ws, *code, reason).await
            }
        };
        result.map_err(|kind| {
            if !matches!(op.step.action, WsAction::Close { .. }) && kind != ErrorKind::Timeout {
                // The socket is unusable after a transport or protocol error.
                if let Some(i) = self.socket_index(socket_name) {
                    self.sockets.swap_remove(i);
                    shared.socket_closed();
                }
            }
            fail(shared, kind, String::new())
        })
    }

    fn socket_index(&self, name: &str) -> Option<usize> {
        self.sockets.iter().position(|(n, _)| n == name)
    }

    /// The URL and headers of a `ws_connect`: a `ws://`/`wss://` URL as it is,
    /// or a path on the target, upgraded from its http/https; the VU's
    /// cookies go along, as a browser sends them.
    fn render_connect(
        &mut self,
        shared: &WorkerShared,
        url: &crate::scenario::template::Template,
        headers: &[crate::scenario::request::Header],
    ) -> Result<(WsUrl, Vec<(HeaderName, HeaderValue)>), String> {
        let rendered = url
            .render_to_string(self)
            .map_err(|e| format!("ws_connect url {:?}: {e}", url.source()))?;
        let lower = rendered.get(..6).unwrap_or(&rendered).to_ascii_lowercase();
        let ws_url = if lower.starts_with("ws://") || lower.starts_with("wss://") {
            WsUrl::parse(&rendered).map_err(|e| e.to_string())?
        } else {
            let target = shared
                .program
                .plan
                .resolve_url(&rendered)
                .map_err(|e| e.to_string())?;
            let scheme = if target.scheme.is_tls() { "wss" } else { "ws" };
            let url = format!("{scheme}://{}{}", target.authority, target.path_and_query);
            WsUrl { target, url }
        };
        let mut out = Vec::with_capacity(headers.len() + 1);
        for h in headers {
            let value = h
                .value
                .render_to_string(self)
                .map_err(|e| format!("header {}: {e}", h.name))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("header {}: invalid value {value:?}", h.name))?;
            out.push((h.name.clone(), value));
        }
        if let Some(cookie) = self.cookie_header_for(&ws_url.target) {
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                out.push((http::header::COOKIE, v));
            }
        }
        Ok((ws_url, out))
    }

    fn render_message(&mut self, message: &WsMessage) -> Result<String, String> {
        let mut out = String::new();
        match message {
            WsMessage::Text(t) => t.render(self, &mut out),
            WsMessage::Json(j) => j.render(self, &mut out),
        }
        .map_err(|e| format!("ws_send: {e}"))?;
        Ok(out)
    }
}
