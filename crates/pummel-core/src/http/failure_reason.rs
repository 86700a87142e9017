//! Why a request failed, in words, for the few failure examples a run keeps.
//!
//! Failures are counted by [`ErrorKind`]: a `Copy` value the hot path counts
//! in a fixed array. The cause behind a kind (which certificate check failed,
//! which part of a response was not HTTP) matters only to the failure
//! examples; carrying it through every transport's `Result` would widen the
//! error type of every request for text read a few times a run. So the place
//! that knows the cause notes it here, and the virtual user that records the
//! failure takes it back. Both happen on the same thread (each worker is a
//! current-thread runtime) and in the same poll: an error propagates up the
//! await chain synchronously, so no other task runs in between. A reason is
//! only ever given back with the kind it explains, and taking it clears it.
//! Reasons are static text: noting one allocates nothing.

use std::cell::Cell;

use crate::ErrorKind;

thread_local! {
    static LAST: Cell<Option<(ErrorKind, &'static str)>> = const { Cell::new(None) };
}

/// Notes why a failure of `kind` happened; returns `kind`, for `map_err`.
pub(crate) fn note(kind: ErrorKind, reason: &'static str) -> ErrorKind {
    LAST.with(|last| last.set(Some((kind, reason))));
    kind
}

/// The reason noted for a failure of `kind`, if the place that failed gave
/// one; clears it either way.
pub(crate) fn take(kind: ErrorKind) -> Option<&'static str> {
    LAST.with(Cell::take)
        .filter(|(k, _)| *k == kind)
        .map(|(_, reason)| reason)
}

/// Forgets any reason noted before (a new request starts).
pub(crate) fn clear() {
    LAST.with(|last| last.set(None));
}

/// `kind: reason` when a reason was noted, else `kind`'s description.
pub(crate) fn describe(kind: ErrorKind) -> String {
    match take(kind) {
        Some(reason) => format!("{}: {reason}", kind.describe()),
        None => kind.describe().to_owned(),
    }
}

/// What a failed TLS handshake means to the user.
pub(crate) fn tls(err: &std::io::Error) -> &'static str {
    use rustls::CertificateError as C;
    let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                "the server closed the connection during the TLS handshake"
            }
            _ => "the TLS handshake failed",
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired",
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet"
            }
            C::UnknownIssuer => {
                "the server's certificate is not trusted: self-signed or an unknown issuer \
                 (--insecure accepts it)"
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is not valid for this host name"
            }
            C::Revoked => "the server's certificate is revoked",
            _ => "the server's certificate was rejected",
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS (a plain HTTP port?)"
        }
        rustls::Error::AlertReceived(_) => "the server refused the handshake (TLS alert)",
        rustls::Error::NoApplicationProtocol => {
            "the server offers no protocol pummel asked for (ALPN)"
        }
        _ => "the TLS handshake failed",
    }
}

/// What an upgrade answered with another status than 101 means to the
/// user (a server that wants a client certificate it was not given often
/// answers 400 or 403 here rather than in the TLS handshake).
pub(crate) fn ws_refused(status: u16) -> &'static str {
    match status {
        200..=299 => {
            "the server answered the upgrade with a success status, not 101 Switching Protocols"
        }
        300..=399 => {
            "the server answered the upgrade with a redirect (a handshake does not follow one)"
        }
        400..=499 => match status {
            400 => "the server answered the upgrade with 400 Bad Request",
            401 => "the server answered the upgrade with 401 Unauthorized",
            403 => "the server answered the upgrade with 403 Forbidden",
            404 => "the server answered the upgrade with 404 Not Found",
            426 => "the server answered the upgrade with 426 Upgrade Required",
            _ => "the server refused the upgrade with a client error (4xx)",
        },
        500..=599 => "the server failed the upgrade with a server error (5xx)",
        _ => "the server answered the upgrade with an unexpected status",
    }
}

/// What a WebSocket protocol error means to the user.
pub(crate) fn websocket(err: &tokio_tungstenite::tungstenite::Error) -> &'static str {
    use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError as P};
    use tokio_tungstenite::tungstenite::Error as E;
    match err {
        E::Capacity(CapacityError::MessageTooLong { .. }) => "a message over the size limit",
        E::Capacity(_) => "a frame or header over the size limit",
        E::Utf8(_) => "a text message that is not UTF-8",
        E::Protocol(p) => match p {
            P::NonZeroReservedBits => "a frame with reserved bits set",
            P::MaskedFrameFromServer => "a masked frame from the server",
            P::FragmentedControlFrame => "a fragmented control frame",
            P::ControlFrameTooBig => "a control frame over 125 bytes",
            P::UnknownControlFrameType(_) | P::UnknownDataFrameType(_) | P::InvalidOpcode(_) => {
                "a frame with an unknown opcode"
            }
            P::UnexpectedContinueFrame => "a continuation frame with nothing to continue",
            P::ExpectedFragment(_) => "a new message inside a fragmented one",
            P::InvalidCloseSequence => "an invalid close frame",
            P::ReceivedAfterClosing => "data after the close",
            _ => "a frame that breaks the protocol",
        },
        _ => "a frame that breaks the protocol",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_given_back_once_and_only_for_its_kind() {
        note(ErrorKind::Tls, "expired");
        assert_eq!(take(ErrorKind::Reset), None, "another kind's failure");
        assert_eq!(take(ErrorKind::Tls), None, "taking clears");
        note(ErrorKind::Tls, "expired");
        assert_eq!(describe(ErrorKind::Tls), "TLS failure: expired");
        assert_eq!(describe(ErrorKind::Tls), "TLS failure");
    }

    #[test]
    fn tls_causes_are_named() {
        let wrap = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let cert = |c| wrap(rustls::Error::InvalidCertificate(c));
        assert!(tls(&cert(rustls::CertificateError::Expired)).contains("expired"));
        assert!(tls(&cert(rustls::CertificateError::UnknownIssuer)).contains("self-signed"));
        assert!(tls(&cert(rustls::CertificateError::NotValidForName)).contains("host name"));
        let not_tls = wrap(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(tls(&not_tls).contains("did not answer in TLS"));
    }

    #[test]
    fn refused_upgrades_say_the_status() {
        assert!(ws_refused(400).contains("400 Bad Request"));
        assert!(ws_refused(418).contains("client error (4xx)"));
        assert!(ws_refused(302).contains("redirect"));
        assert!(ws_refused(503).contains("server error (5xx)"));
        assert!(ws_refused(200).contains("not 101"));
    }
}
