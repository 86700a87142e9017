//! WebSocket steps: open a socket, send, wait for a message that matches,
//! receive, hold the socket open while listening, ping, close.
//!
//! A virtual user keeps its sockets by name across steps (`socket:`, default
//! `default`), so it can subscribe to a feed, make HTTP requests, then wait
//! for the notification those requests caused.

use std::time::Duration;

use super::capture::Capture;
use super::check::Check;
use super::diagnostic::Span;
use super::request::{Header, JsonBody};
use super::template::Template;
use crate::http::proxy::ProxySetting;
use crate::http::tls::TlsProfileId;

/// The socket a step uses when it names none.
pub(crate) const DEFAULT_SOCKET: &str = "default";

/// How long `ws_expect`, `ws_receive` and `ws_ping` wait when the step sets
/// no `timeout`.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// A WebSocket step.
#[derive(Clone, Debug)]
pub(crate) struct WsStep {
    /// The VU's name for the socket.
    pub socket: String,
    pub action: WsAction,
    /// Where the step's keyword is, for load-time errors about it.
    pub span: Span,
}

/// A message to send.
#[derive(Clone, Debug)]
pub(crate) enum WsMessage {
    Text(Template),
    /// A JSON document written as YAML, sent as a text message.
    Json(JsonBody),
}

/// A `ws_connect` step: where the socket goes and how it gets there.
#[derive(Clone, Debug)]
pub(crate) struct WsConnect {
    /// A `ws://` or `wss://` URL, or a path on the target (`/ws/feed`,
    /// upgraded from the target's http/https).
    pub url: Template,
    pub headers: Vec<Header>,
    /// Subprotocols offered in `Sec-WebSocket-Protocol`.
    pub protocols: Vec<String>,
    pub timeout: Option<Duration>,
    /// The step's own `tls:` profile (`None`: the defaults').
    pub tls: Option<TlsProfileId>,
    /// The step's own `proxy:` (`Inherit`: the run's default).
    pub proxy: ProxySetting,
}

impl WsConnect {
    /// A connect to `url` with nothing else set.
    pub(crate) fn to(url: Template) -> WsConnect {
        WsConnect {
            url,
            headers: Vec::new(),
            protocols: Vec::new(),
            timeout: None,
            tls: None,
            proxy: ProxySetting::Inherit,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum WsAction {
    /// Open the socket.
    Connect(WsConnect),
    Send(WsMessage),
    /// Wait for a message that passes every check (others are skipped),
    /// then capture from it. The latency is from the socket's last send.
    Expect {
        checks: Vec<Check>,
        captures: Vec<Capture>,
        timeout: Duration,
    },
    /// Receive `count` messages, whatever they are.
    Receive {
        count: u32,
        timeout: Duration,
    },
    /// Keep the socket open for `duration`, receiving what arrives.
    Hold(Duration),
    /// Ping and wait for the pong.
    Ping {
        timeout: Duration,
    },
    Close {
        code: u16,
        reason: String,
    },
}

impl WsAction {
    /// The step's kind as written, for names and messages.
    pub(crate) fn keyword(&self) -> &'static str {
        match self {
            WsAction::Connect(_) => "ws_connect",
            WsAction::Send(_) => "ws_send",
            WsAction::Expect { .. } => "ws_expect",
            WsAction::Receive { .. } => "ws_receive",
            WsAction::Hold(_) => "ws_hold",
            WsAction::Ping { .. } => "ws_ping",
            WsAction::Close { .. } => "ws_close",
        }
    }

    /// Whether the step measures a latency (and so has a metric key).
    pub(crate) fn is_measured(&self) -> bool {
        matches!(
            self,
            WsAction::Connect(_)
                | WsAction::Expect { .. }
                | WsAction::Receive { .. }
                | WsAction::Ping { .. }
        )
    }

    /// Every template of the step, for validation.
    pub(crate) fn templates_mut(&mut self, f: &mut dyn FnMut(&mut Template)) {
        match self {
            WsAction::Connect(connect) => {
                f(&mut connect.url);
                connect.headers.iter_mut().for_each(|h| f(&mut h.value));
            }
            WsAction::Send(WsMessage::Text(t)) => f(t),
            WsAction::Send(WsMessage::Json(j)) => j.templates_mut(f),
            WsAction::Expect { checks, .. } => checks.iter_mut().for_each(|c| c.templates_mut(f)),
            WsAction::Receive { .. }
            | WsAction::Hold(_)
            | WsAction::Ping { .. }
            | WsAction::Close { .. } => {}
        }
    }
}

/// The step keys that make a WebSocket step.
pub(crate) const WS_KEYS: [&str; 7] = [
    "ws_connect",
    "ws_send",
    "ws_expect",
    "ws_receive",
    "ws_hold",
    "ws_ping",
    "ws_close",
];
