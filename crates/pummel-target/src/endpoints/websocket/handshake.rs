//! The server side of the RFC 6455 opening handshake, on a request hyper has already parsed: check
//! the upgrade headers, compute `Sec-WebSocket-Accept`, pick a subprotocol, and build the 101 (or
//! the error response that explains what was wrong).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::body::Body;
use crate::response;

/// What the 101 response needs.
#[derive(Debug)]
pub(crate) struct Accepted {
    accept: HeaderValue,
    protocol: Option<HeaderValue>,
}

/// Why a request is not an acceptable opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 426: the request does not ask for WebSocket at all, or for another version than 13.
    UpgradeRequired,
    /// 405: a handshake must be a GET.
    MethodNotAllowed,
    /// 400: a malformed handshake.
    BadRequest(&'static str),
}

impl Refusal {
    pub(crate) fn into_response(self) -> Response<Body> {
        match self {
            Refusal::UpgradeRequired => upgrade_required(),
            Refusal::MethodNotAllowed => {
                let mut response = response::text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "a WebSocket handshake must use GET\n",
                );
                response
                    .headers_mut()
                    .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
                response
            }
            Refusal::BadRequest(message) => response::bad_request(message.to_owned()),
        }
    }
}

/// Checks that `parts` is a WebSocket opening handshake (RFC 6455 §4.2.1).
pub(crate) fn check(parts: &Parts) -> Result<Accepted, Refusal> {
    let headers = &parts.headers;
    if !has_token(headers, &UPGRADE, "websocket") {
        return Err(Refusal::UpgradeRequired);
    }
    if parts.method != Method::GET {
        return Err(Refusal::MethodNotAllowed);
    }
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(Refusal::BadRequest(
            "a WebSocket handshake needs `Connection: Upgrade`",
        ));
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(Refusal::UpgradeRequired);
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .map(|key| key.as_bytes().trim_ascii())
        .filter(|key| STANDARD.decode(key).is_ok_and(|nonce| nonce.len() == 16))
        .ok_or(Refusal::BadRequest(
            "Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 section 4.1)",
        ))?;
    // Base64 and a fixed length: always a valid header value.
    let accept = HeaderValue::try_from(derive_accept_key(key))
        .map_err(|_| Refusal::BadRequest("invalid Sec-WebSocket-Key"))?;
    Ok(Accepted {
        accept,
        protocol: first_protocol(headers),
    })
}

/// The first subprotocol the client offers, if any: with no application protocol of its own, the
/// server agrees to whatever the client prefers, so clients testing negotiation see one selected.
fn first_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|protocol| !protocol.is_empty())
        .and_then(|protocol| HeaderValue::from_str(protocol).ok())
}

/// Whether a comma-separated header holds `token` (ASCII case-insensitive), in any of its lines.
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// 101 Switching Protocols for an accepted handshake.
pub(crate) fn switching_protocols(accepted: Accepted) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accepted.accept);
    if let Some(protocol) = accepted.protocol {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    response
}

/// 426 Upgrade Required: the path only speaks WebSocket (version 13). Also the answer to HTTP/2
/// requests, which cannot be upgraded (RFC 8441 extended CONNECT is not supported).
pub(crate) fn upgrade_required() -> Response<Body> {
    let mut response = response::text(
        StatusCode::UPGRADE_REQUIRED,
        "this endpoint speaks WebSocket: send an HTTP/1.1 GET with `Upgrade: websocket`\n",
    );
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    response
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri("/ws/echo");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const HANDSHAKE: [(&str, &str); 4] = [
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn accepts_the_rfc_example() {
        let response = switching_protocols(check(&parts("GET", &HANDSHAKE)).unwrap());
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        // RFC 6455 §1.3's worked example.
        assert_eq!(
            response.headers()[SEC_WEBSOCKET_ACCEPT],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(response.headers().get(SEC_WEBSOCKET_PROTOCOL).is_none());
    }

    #[test]
    fn selects_the_first_offered_subprotocol() {
        let mut headers = HANDSHAKE.to_vec();
        headers.push(("sec-websocket-protocol", " , chat, superchat"));
        headers.push(("sec-websocket-protocol", "other"));
        let response = switching_protocols(check(&parts("GET", &headers)).unwrap());
        assert_eq!(response.headers()[SEC_WEBSOCKET_PROTOCOL], "chat");
    }

    #[test]
    fn refuses_what_is_not_a_handshake() {
        let status = |method: &str, headers: &[(&str, &str)]| {
            check(&parts(method, headers))
                .unwrap_err()
                .into_response()
                .status()
        };
        assert_eq!(status("GET", &[]), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(status("POST", &HANDSHAKE), StatusCode::METHOD_NOT_ALLOWED);
        let mut headers = HANDSHAKE.to_vec();
        headers[2] = ("sec-websocket-version", "8");
        assert_eq!(status("GET", &headers), StatusCode::UPGRADE_REQUIRED);
        headers[2] = ("sec-websocket-version", "13");
        headers[3] = ("sec-websocket-key", "short");
        assert_eq!(status("GET", &headers), StatusCode::BAD_REQUEST);
        headers.pop();
        assert_eq!(status("GET", &headers), StatusCode::BAD_REQUEST);
        assert_eq!(
            status("GET", &[("upgrade", "websocket")]),
            StatusCode::BAD_REQUEST
        );
    }
}
