//! The named kinds of request failure.
//!
//! A failing target is never a reason to stop a run: every failure is counted
//! under one of these kinds and the run goes on. The kinds are a closed set so
//! the hot path can count them in a fixed array (no map, no allocation), and so
//! the JSON result has stable keys that reports and comparisons can rely on.

/// Why a request did not produce a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The target actively refused the TCP connection (nothing listening).
    ConnectRefused,
    /// The TCP connection was not established within the timeout.
    ConnectTimeout,
    /// Any other failure while connecting (unreachable network, no route, …).
    ConnectError,
    /// The connection was reset by the peer (RST) while a request was in flight.
    Reset,
    /// The peer closed the connection before the response was complete.
    Closed,
    /// The response did not complete within the request timeout.
    Timeout,
    /// The TLS handshake or a TLS record failed (bad certificate, protocol error).
    Tls,
    /// The response was not valid HTTP (bad status line, bad headers, bad chunking).
    MalformedResponse,
    /// An HTTP/2 protocol-level failure (GOAWAY, stream reset, flow-control error).
    Http2,
    /// The server did not accept the WebSocket upgrade (an HTTP status other
    /// than 101, or a bad handshake response).
    WsHandshake,
    /// The peer broke the WebSocket protocol (garbage frames, bad UTF-8,
    /// a message over the size limit).
    WsProtocol,
    /// The peer closed the WebSocket while a message or reply was expected.
    WsClosed,
    /// Any other I/O failure.
    Io,
    /// The step could not be built or sent as written: its rendered URL,
    /// header or message is not one a request can carry (a space in a path,
    /// a CR/LF in a header value), or it acts on a socket never opened. No
    /// byte went to the target; it is still a failed request, so a run whose
    /// every iteration fails this way does not report success.
    InvalidRequest,
    /// This machine ran out of file descriptors (EMFILE, ENFILE) opening a
    /// connection: pummel's limit, not the target's failure.
    FdLimit,
    /// The address the request would connect to is outside the networks
    /// this run may reach (a shared server's policy, enforced by its agents
    /// at connect time, redirects and `hosts:` included). Nothing was sent.
    AddressRefused,
    /// The proxy asked for credentials (407 Proxy Authentication Required):
    /// none were given, or the proxy refused them.
    ProxyAuth,
    /// The proxy would not open a tunnel to the target (`CONNECT` answered
    /// with a status other than 2xx and 407, such as 403 or 502), or did not
    /// answer it as HTTP.
    ProxyRefused,
}

impl ErrorKind {
    /// Every kind, in the order used for fixed-size counters.
    pub const ALL: [ErrorKind; 18] = [
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectTimeout,
        ErrorKind::ConnectError,
        ErrorKind::Reset,
        ErrorKind::Closed,
        ErrorKind::Timeout,
        ErrorKind::Tls,
        ErrorKind::MalformedResponse,
        ErrorKind::Http2,
        ErrorKind::WsHandshake,
        ErrorKind::WsProtocol,
        ErrorKind::WsClosed,
        ErrorKind::Io,
        ErrorKind::InvalidRequest,
        ErrorKind::FdLimit,
        ErrorKind::AddressRefused,
        ErrorKind::ProxyAuth,
        ErrorKind::ProxyRefused,
    ];

    /// Number of kinds; the size of a counter array.
    pub const COUNT: usize = Self::ALL.len();

    /// The stable key used in JSON results and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::ConnectError => "connect_error",
            ErrorKind::Reset => "reset",
            ErrorKind::Closed => "closed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::MalformedResponse => "malformed_response",
            ErrorKind::Http2 => "http2",
            ErrorKind::WsHandshake => "ws_handshake",
            ErrorKind::WsProtocol => "ws_protocol",
            ErrorKind::WsClosed => "ws_closed",
            ErrorKind::Io => "io",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::FdLimit => "fd_limit",
            ErrorKind::AddressRefused => "address_refused",
            ErrorKind::ProxyAuth => "proxy_auth",
            ErrorKind::ProxyRefused => "proxy_refused",
        }
    }

    /// Parses a key produced by [`ErrorKind::as_str`].
    pub fn from_key(key: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == key)
    }

    /// A short human description, for summaries.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connection refused",
            ErrorKind::ConnectTimeout => "connect timed out",
            ErrorKind::ConnectError => "connect failed",
            ErrorKind::Reset => "connection reset by peer",
            ErrorKind::Closed => "connection closed before the response completed",
            ErrorKind::Timeout => "request timed out",
            ErrorKind::Tls => "TLS failure",
            ErrorKind::MalformedResponse => "malformed response",
            ErrorKind::Http2 => "HTTP/2 protocol error",
            ErrorKind::WsHandshake => "WebSocket upgrade refused",
            ErrorKind::WsProtocol => "WebSocket protocol violation",
            ErrorKind::WsClosed => "WebSocket closed by the peer",
            ErrorKind::Io => "I/O error",
            ErrorKind::InvalidRequest => "request could not be built or sent",
            ErrorKind::FdLimit => "out of file descriptors on this machine (raise `ulimit -n`)",
            ErrorKind::AddressRefused => {
                "address outside the networks this run may reach, by the server's policy"
            }
            ErrorKind::ProxyAuth => "the proxy wants other credentials",
            ErrorKind::ProxyRefused => "the proxy would not open a tunnel to the target",
        }
    }

    /// The index of this kind in a counter array.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_indexes_are_dense() {
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(ErrorKind::from_key(kind.as_str()), Some(kind));
        }
        assert_eq!(ErrorKind::from_key("nope"), None);
    }
}
