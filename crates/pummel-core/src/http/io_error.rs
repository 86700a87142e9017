//! Which named failure an I/O error is: the one place where the engine's
//! transports turn `std::io::Error`s into `ErrorKind`s.

use std::io;

use crate::ErrorKind;

/// Classifies an I/O error that happened on an established connection.
pub(crate) fn kind_of(err: &io::Error) -> ErrorKind {
    match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ErrorKind::Reset,
        io::ErrorKind::UnexpectedEof => ErrorKind::Closed,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::InvalidData => {
            // rustls reports its failures as InvalidData wrapping a rustls::Error.
            if err
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                // After the handshake too (a TLS 1.3 server refuses a client
                // certificate with an alert on the first read): named as a
                // handshake's failure is.
                crate::http::failure_reason::note(
                    ErrorKind::Tls,
                    crate::http::failure_reason::tls(err),
                )
            } else {
                ErrorKind::MalformedResponse
            }
        }
        _ => ErrorKind::Io,
    }
}

/// Classifies an I/O error that happened while establishing a connection.
pub(crate) fn connect_kind_of(err: &io::Error) -> ErrorKind {
    // EMFILE (24) and ENFILE (23): no socket could be made here; calling it
    // "connect failed" would blame the target.
    if matches!(err.raw_os_error(), Some(23 | 24)) {
        return ErrorKind::FdLimit;
    }
    match err.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
        // The server accepted and reset the connection before the connect
        // completed here (a listener that drops what it accepts): a reset
        // by the peer, not a failure to reach it.
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => ErrorKind::Reset,
        _ => ErrorKind::ConnectError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(connect_kind_of(&refused), ErrorKind::ConnectRefused);
        for (errno, name) in [(24, "EMFILE"), (23, "ENFILE")] {
            let out_of_fds = io::Error::from_raw_os_error(errno);
            assert_eq!(connect_kind_of(&out_of_fds), ErrorKind::FdLimit, "{name}");
        }
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(kind_of(&reset), ErrorKind::Reset);
        assert_eq!(connect_kind_of(&reset), ErrorKind::Reset);
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(kind_of(&eof), ErrorKind::Closed);
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(kind_of(&tls), ErrorKind::Tls);
    }
}
