//! The HTTP side of the one port: the health probe and the two WebSocket
//! endpoints, each behind a token of the right role.

mod policy;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::sync::{mpsc, oneshot};

use crate::hub::{HubHandle, HubMsg};
use crate::state::{authorise, AppState};
use crate::store::Store;
use crate::token::{Identity, Role};
use crate::wire::{
    self, FromAgent, FromClient, ToAgent, ToClient, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};

/// The health probe and the two WebSocket endpoints.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/agent", get(agent_socket))
        .route("/v1/client", get(client_socket))
        .merge(policy::routes())
}

async fn agent_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refusal) = authorise(&state, &headers, Role::may_run_agent).await {
        return refusal;
    }
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| agent_connection(socket, state.hub, conn))
}

async fn client_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| client_connection(socket, state, who))
}

async fn send<T: serde::Serialize>(socket: &mut WebSocket, message: &T) -> bool {
    match wire::encode(message) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// The next protocol message on the socket (pings and pongs of WebSocket
/// itself are answered by the library); None when it closed or spoke
/// nonsense.
async fn receive<T: serde::de::DeserializeOwned>(socket: &mut WebSocket) -> Option<T> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(text)) => return wire::decode(text.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn unix_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Clock samples taken at connect; the one with the shortest round trip
/// bounds the offset's error best (NTP's choice).
const CLOCK_SAMPLES: u64 = 8;

/// Measures the agent's clock offset (agent minus server, ns).
async fn measure_offset(socket: &mut WebSocket) -> Option<i64> {
    let mut best: Option<(i64, i64)> = None;
    for id in 0..CLOCK_SAMPLES {
        let sent = unix_ns();
        if !send(socket, &ToAgent::Ping { id }).await {
            return None;
        }
        let reply = tokio::time::timeout(Duration::from_secs(10), receive::<FromAgent>(socket))
            .await
            .ok()??;
        let received = unix_ns();
        let FromAgent::Pong {
            id: got,
            agent_unix_ns,
        } = reply
        else {
            return None;
        };
        if got != id {
            return None;
        }
        let rtt = received - sent;
        let offset = agent_unix_ns - (sent + rtt / 2);
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, offset));
        }
    }
    best.map(|(_, offset)| offset)
}

async fn agent_connection(mut socket: WebSocket, hub: HubHandle, conn: u64) {
    let hello = match tokio::time::timeout(
        Duration::from_secs(10),
        receive::<FromAgent>(&mut socket),
    )
    .await
    {
        Ok(Some(FromAgent::Hello(hello))) => hello,
        _ => return,
    };
    if hello.protocol != PROTOCOL_VERSION {
        let reason = format!(
            "it speaks protocol {} (pummel {}), this server protocol {PROTOCOL_VERSION} (pummel {}): \
             run the same pummel version on both",
            hello.protocol,
            hello.version,
            env!("CARGO_PKG_VERSION"),
        );
        hub.send(HubMsg::AgentRefused {
            agent: hello.name.clone(),
            reason: reason.clone(),
        });
        send(&mut socket, &ToAgent::Refused { reason }).await;
        return;
    }
    let Some(offset_ns) = measure_offset(&mut socket).await else {
        return;
    };
    let name = hello.name.clone();
    let (tx, mut outbound) = mpsc::unbounded_channel();
    let (reply, accepted) = oneshot::channel();
    let heard = Arc::new(AtomicI64::new(crate::hub::unix_ms_now()));
    if !hub.send(HubMsg::AgentUp {
        hello,
        offset_ns,
        conn,
        heard: heard.clone(),
        tx,
        reply,
    }) {
        return;
    }
    match accepted.await {
        Ok(Ok(())) => {}
        Ok(Err(reason)) => {
            send(&mut socket, &ToAgent::Refused { reason }).await;
            return;
        }
        Err(_) => return,
    }
    loop {
        tokio::select! {
            out = outbound.recv() => match out {
                Some(message) => if !send(&mut socket, &message).await { break },
                // The hub dropped the link (the agent was declared lost).
                None => break,
            },
            incoming = receive::<FromAgent>(&mut socket) => match incoming {
                Some(msg) => {
                    // Liveness as this task sees it, whatever the hub's backlog.
                    heard.store(crate::hub::unix_ms_now(), Ordering::Relaxed);
                    if !hub.send(HubMsg::FromAgent { agent: name.clone(), conn, msg }) { break }
                }
                None => break,
            },
        }
    }
    hub.send(HubMsg::AgentDown { agent: name, conn });
}

/// Why `who` may not make this request: a non-admin follows, stops and
/// reads only their own runs (as on the web pages).
async fn refusal(store: &Store, who: &Identity, req: &FromClient) -> Option<String> {
    if who.role == Role::Admin {
        return None;
    }
    let (FromClient::Attach { run } | FromClient::Stop { run } | FromClient::Result { run }) = req
    else {
        return None;
    };
    match store.run(run).await {
        Ok(Some(row)) if row.owner != who.name => Some(format!(
            "run {run} belongs to another user (only its owner or an admin may see or stop it)"
        )),
        _ => None,
    }
}

async fn client_connection(mut socket: WebSocket, state: AppState, who: Identity) {
    match receive::<FromClient>(&mut socket).await {
        Some(FromClient::Hello { protocol, .. }) if protocol == PROTOCOL_VERSION => {
            let welcome = ToClient::Welcome {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            };
            if !send(&mut socket, &welcome).await {
                return;
            }
        }
        Some(FromClient::Hello { protocol, version }) => {
            let message = format!(
                "this server speaks protocol {PROTOCOL_VERSION} (pummel {}); this client speaks {protocol} \
                 (pummel {version}): use the same pummel version on both",
                env!("CARGO_PKG_VERSION")
            );
            send(&mut socket, &ToClient::Error { message }).await;
            return;
        }
        _ => return,
    }
    let Some(mut req) = receive::<FromClient>(&mut socket).await else {
        return;
    };
    if let Some(message) = refusal(&state.store, &who, &req).await {
        send(&mut socket, &ToClient::Error { message }).await;
        return;
    }
    let only_own_runs = who.role != Role::Admin;
    let me = who.name.clone();
    if let Some(answer) = policy::answer(&state, &who, &req).await {
        send(&mut socket, &answer).await;
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    if let FromClient::Submit(submit) = &mut req {
        if let Err(message) = policy::gate(&state, &who, submit).await {
            send(&mut socket, &ToClient::Error { message }).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
    let hub = state.hub;
    // A detached submission ends with the run's id.
    let ends_on_submitted = matches!(&req, FromClient::Submit(s) if !s.follow);
    let (tx, mut events) = mpsc::unbounded_channel();
    if !hub.send(HubMsg::Client {
        admin: who.role == Role::Admin,
        owner: who.name,
        req,
        tx,
    }) {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(mut event) => {
                    if let (true, ToClient::Runs { runs }) = (only_own_runs, &mut event) {
                        runs.retain(|r| r.owner == me);
                    }
                    let last = matches!(
                        event,
                        ToClient::Ended { .. } | ToClient::Error { .. } | ToClient::Agents { .. }
                            | ToClient::Runs { .. } | ToClient::Done { .. } | ToClient::Result { .. }
                            | ToClient::Jobs { .. } | ToClient::Job { .. }
                            | ToClient::Schedules { .. } | ToClient::Schedule { .. }
                    ) || (ends_on_submitted
                        && matches!(event, ToClient::Submitted { .. } | ToClient::Queued { .. }));
                    if !send(&mut socket, &event).await || last {
                        break;
                    }
                }
                None => break,
            },
            // The client went away (detached): the run goes on.
            incoming = receive::<FromClient>(&mut socket) => if incoming.is_none() { break },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
