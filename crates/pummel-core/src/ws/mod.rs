//! WebSocket clients (tokio-tungstenite over pummel's own connections).
//!
//! pummel opens the TCP (and TLS) connection itself, with the same
//! connector as HTTP, and hands the stream to tungstenite for the upgrade
//! and the framing. Buffers are kept small (see [`config`]): ten thousand
//! idle sockets must fit in a small machine's memory.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::header::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::http::target::{TargetUrl, UrlError};
use crate::http::transport::{Connector, Stream};
use crate::ErrorKind;

pub(crate) use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A WebSocket over one of pummel's connections.
pub(crate) type WsStream = WebSocketStream<Stream>;

/// Largest message accepted; a larger one is a protocol error, not a reason
/// to grow without bound.
const MAX_MESSAGE: usize = 16 << 20;

/// Initial read buffer per socket. Load-test messages are small and sockets
/// many: ten thousand idle sockets with tungstenite's default (128 KiB)
/// would need over a gigabyte. A larger message grows the buffer as needed.
const READ_BUFFER: usize = 1024;

/// Per-socket buffer settings: small reads and writes, as load-test messages
/// are small and sockets are many.
pub(crate) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_MESSAGE * 2)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// A `ws://` or `wss://` URL: the connection target (as http/https) and the
/// URL for the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// Where to connect: `http` for `ws`, `https` for `wss`.
    pub target: TargetUrl,
    /// The URL as given (`ws://…`), for the handshake request.
    pub url: String,
}

impl WsUrl {
    pub fn parse(url: &str) -> Result<WsUrl, UrlError> {
        let lower = url.get(..6).unwrap_or(url).to_ascii_lowercase();
        let as_http = if lower.starts_with("ws://") {
            format!("http://{}", &url[5..])
        } else if lower.starts_with("wss://") {
            format!("https://{}", &url[6..])
        } else {
            let scheme = url.split("://").next().unwrap_or("").to_owned();
            return Err(UrlError::Scheme {
                url: url.to_owned(),
                scheme,
            });
        };
        // Errors name the URL as the user gave it, not its http form.
        let target = TargetUrl::parse(&as_http).map_err(|e| match e {
            UrlError::Invalid { reason, .. } => UrlError::Invalid {
                url: url.to_owned(),
                reason,
            },
            UrlError::NoHost { .. } => UrlError::NoHost {
                url: url.to_owned(),
            },
            UrlError::Scheme { scheme, .. } => UrlError::Scheme {
                url: url.to_owned(),
                scheme,
            },
            // `http` and `https` are two characters longer than `ws` and `wss`.
            UrlError::Port { port, column, .. } => UrlError::Port {
                url: url.to_owned(),
                port,
                column: column.saturating_sub(2),
            },
        })?;
        Ok(WsUrl {
            target,
            url: url.to_owned(),
        })
    }
}

/// Names a tungstenite error.
pub(crate) fn classify(err: &tungstenite::Error) -> ErrorKind {
    match err {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            ErrorKind::WsClosed
        }
        tungstenite::Error::Io(e) => match crate::http::io_error::kind_of(e) {
            ErrorKind::Closed => ErrorKind::WsClosed,
            other => other,
        },
        tungstenite::Error::Tls(_) => ErrorKind::Tls,
        tungstenite::Error::Http(response) => crate::http::failure_reason::note(
            ErrorKind::WsHandshake,
            crate::http::failure_reason::ws_refused(response.status().as_u16()),
        ),
        tungstenite::Error::HttpFormat(_) | tungstenite::Error::Url(_) => ErrorKind::WsHandshake,
        tungstenite::Error::Protocol(p) => match p {
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake => ErrorKind::WsClosed,
            tungstenite::error::ProtocolError::HandshakeIncomplete
            | tungstenite::error::ProtocolError::WrongHttpMethod
            | tungstenite::error::ProtocolError::WrongHttpVersion
            | tungstenite::error::ProtocolError::MissingConnectionUpgradeHeader
            | tungstenite::error::ProtocolError::MissingUpgradeWebSocketHeader
            | tungstenite::error::ProtocolError::SecWebSocketAcceptKeyMismatch
            | tungstenite::error::ProtocolError::InvalidHeader(_)
            | tungstenite::error::ProtocolError::CustomResponseSuccessful => ErrorKind::WsHandshake,
            _ => protocol_error(err),
        },
        _ => protocol_error(err),
    }
}

/// A protocol violation, its reason noted for the failure examples.
fn protocol_error(err: &tungstenite::Error) -> ErrorKind {
    crate::http::failure_reason::note(
        ErrorKind::WsProtocol,
        crate::http::failure_reason::websocket(err),
    )
}

/// What a successful handshake agreed on.
#[derive(Clone, Debug, Default)]
pub(crate) struct Handshake {
    /// Bytes of the handshake response (approximate: status line and headers).
    pub bytes_received: u64,
}

/// Connects and upgrades. `headers` are added to the handshake request;
/// `protocols` are offered in `Sec-WebSocket-Protocol`.
pub(crate) async fn connect(
    connector: &Connector,
    url: &WsUrl,
    headers: &[(HeaderName, HeaderValue)],
    protocols: &[String],
    attempt: usize,
) -> Result<(WsStream, Handshake), ErrorKind> {
    let stream = connector.connect(attempt).await?;
    let mut request = url
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| classify(&e))?;
    for (name, value) in headers {
        request.headers_mut().insert(name.clone(), value.clone());
    }
    if !protocols.is_empty() {
        let offered =
            HeaderValue::from_str(&protocols.join(", ")).map_err(|_| ErrorKind::WsHandshake)?;
        request
            .headers_mut()
            .insert(http::header::SEC_WEBSOCKET_PROTOCOL, offered);
    }
    if !request.headers().contains_key(http::header::USER_AGENT) {
        request.headers_mut().insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(crate::http::request::USER_AGENT),
        );
    }
    let (ws, response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config()))
            .await
            .map_err(|e| classify(&e))?;
    let bytes_received = response
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>() as u64
        + 40;
    Ok((ws, Handshake { bytes_received }))
}

/// Waits for the next data message (text or binary), answering nothing
/// itself: tungstenite queues pongs for pings and flushes them on the next
/// write or read. A close from the peer is `WsClosed`.
pub(crate) async fn next_data(ws: &mut WsStream) -> Result<Message, ErrorKind> {
    loop {
        match ws.next().await {
            None => return Err(ErrorKind::WsClosed),
            Some(Err(e)) => return Err(classify(&e)),
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => return Ok(message),
            Some(Ok(Message::Close(_))) => return Err(ErrorKind::WsClosed),
            Some(Ok(_)) => {}
        }
    }
}

/// Sends one message.
pub(crate) async fn send(ws: &mut WsStream, message: Message) -> Result<(), ErrorKind> {
    ws.send(message).await.map_err(|e| classify(&e))
}

/// Closes with a code and reason, waiting (bounded) for the peer's close.
pub(crate) async fn close(ws: &mut WsStream, code: u16, reason: &str) -> Result<(), ErrorKind> {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    };
    ws.close(Some(frame)).await.map_err(|e| classify(&e))?;
    // Drain until the peer's close arrives, so the close handshake completes.
    let drained = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    drained.map_err(|_| ErrorKind::Timeout)
}

/// The size of a message's payload.
pub(crate) fn payload_len(message: &Message) -> u64 {
    message.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls_map_to_http_targets() {
        let u = WsUrl::parse("ws://127.0.0.1:8080/ws/echo?x=1").unwrap();
        assert_eq!(u.target.absolute(), "http://127.0.0.1:8080/ws/echo?x=1");
        let u = WsUrl::parse("WSS://example.test/feed").unwrap();
        assert!(u.target.scheme.is_tls());
        assert_eq!(u.target.port, 443);
        assert!(WsUrl::parse("http://x/").is_err());
        assert!(WsUrl::parse("ws://").is_err());
    }
}
