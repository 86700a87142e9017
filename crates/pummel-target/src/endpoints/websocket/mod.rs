//! `/ws/...`: WebSocket endpoints, for testing pummel's WebSocket client.
//!
//! | path | behaviour |
//! |---|---|
//! | `/ws/echo` | every text and binary message comes back; pings answered; close honoured |
//! | `/ws/broadcast` | every message from any subscriber goes to every subscriber, sender included |
//! | `/ws/feed` | the marketplace's live feed: `{"type":"app","app":{…}}`, `{"type":"review","review":{…}}` |
//! | `/ws/close` | accepts, then closes at once with 1011 "going away for a test" |
//! | `/ws/garbage` | accepts, then writes bytes that are not WebSocket frames and closes the stream |
//! | `/ws/silent` | accepts and never sends anything (reads and discards) |
//!
//! If the client offers subprotocols, the first one is selected. A request that is not a WebSocket
//! handshake gets 426 Upgrade Required (as does HTTP/2, which cannot upgrade); an unknown `/ws/`
//! path 404. Messages are capped at 1 MiB (64 KiB on `/ws/broadcast`). On shutdown every socket
//! is closed with 1001.
//!
//! The handshake runs through hyper: the router answers 101 and a task takes the upgraded
//! connection (`hyper::upgrade`) into tokio-tungstenite. Module map: `handshake` (RFC 6455 checks
//! and the 101), `sessions` (what each endpoint does), `hub` (gauge, broadcast channel, shutdown).

mod handshake;
mod hub;
mod sessions;

use std::sync::Arc;

use http::request::Parts;
use http::Response;
use hyper::upgrade::OnUpgrade;

pub(crate) use hub::WebSocketHub;

use self::sessions::Behaviour;
use crate::body::Body;
use crate::endpoints::marketplace::Feed;

/// The `/ws/` endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Echo,
    Broadcast,
    Feed,
    Close,
    Garbage,
    Silent,
}

impl Endpoint {
    /// The endpoint at `/ws/{name}`.
    pub(crate) fn from_name(name: &str) -> Option<Endpoint> {
        Some(match name {
            "echo" => Endpoint::Echo,
            "broadcast" => Endpoint::Broadcast,
            "feed" => Endpoint::Feed,
            "close" => Endpoint::Close,
            "garbage" => Endpoint::Garbage,
            "silent" => Endpoint::Silent,
            _ => return None,
        })
    }
}

/// Answers a WebSocket handshake: 101 and a session task, or the response saying why not. `feed` is
/// the marketplace's live feed, which `/ws/feed` relays.
pub(crate) fn route(
    hub: &Arc<WebSocketHub>,
    feed: &Feed,
    endpoint: Endpoint,
    parts: &mut Parts,
) -> Response<Body> {
    let accepted = match handshake::check(parts) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal.into_response(),
    };
    // Only HTTP/1.1 connections served with upgrades carry this.
    let Some(upgrade) = parts.extensions.remove::<OnUpgrade>() else {
        return handshake::upgrade_required();
    };
    // Subscribe and count now, before the 101 leaves: once a client's handshake completes, it
    // receives every later message and `open_websockets` includes it.
    let behaviour = match endpoint {
        Endpoint::Echo => Behaviour::Echo,
        Endpoint::Broadcast => Behaviour::Broadcast(hub.subscribe_broadcast()),
        Endpoint::Feed => Behaviour::Feed(feed.subscribe()),
        Endpoint::Close => Behaviour::Close,
        Endpoint::Garbage => Behaviour::Garbage,
        Endpoint::Silent => Behaviour::Silent,
    };
    let socket = hub.open_socket();
    tokio::spawn(sessions::run(behaviour, upgrade, socket));
    handshake::switching_protocols(accepted)
}
