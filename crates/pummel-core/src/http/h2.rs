//! HTTP/2 client connections, through hyper.
//!
//! HTTP/2 multiplexes streams over one connection, with flow control and
//! HPACK: a protocol worth taking from a mature implementation. Over TLS the
//! protocol is agreed by ALPN; over plain TCP pummel speaks h2c with prior
//! knowledge.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::transport::Stream;
use crate::ErrorKind;

/// A handle to send requests on one HTTP/2 connection; clones share it.
pub(crate) type H2Sender = SendRequest<Full<Bytes>>;

/// Performs the HTTP/2 handshake and spawns the connection's driver on the
/// current (local) runtime.
pub(crate) async fn handshake(stream: Stream) -> Result<H2Sender, ErrorKind> {
    if matches!(stream, Stream::Tls(_)) && !stream.negotiated_h2() {
        // The server did not agree to HTTP/2 in ALPN.
        return Err(ErrorKind::Http2);
    }
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| classify(&e))?;
    tokio::task::spawn_local(async move {
        // A connection error surfaces in every pending and later request on
        // it; nothing more to do here.
        let _ = connection.await;
    });
    Ok(sender)
}

/// The outcome of one HTTP/2 exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct H2Response {
    pub status: u16,
    /// Body bytes received (HPACK-compressed headers are not observable).
    pub bytes_received: u64,
}

/// Sends one request and reads the whole response body.
pub(crate) async fn exchange(
    sender: &mut H2Sender,
    request: http::Request<Full<Bytes>>,
    mut on_body: impl FnMut(&[u8]),
) -> Result<H2Response, ErrorKind> {
    sender.ready().await.map_err(|e| classify(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| classify(&e))?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify(&e))?;
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
            on_body(data);
        }
    }
    Ok(H2Response {
        status,
        bytes_received: received,
    })
}

/// Sends one request, hands the response's status and headers to `on_head`
/// and its body to `on_body` as it arrives; the body bytes received.
pub(crate) async fn exchange_with_head(
    sender: &mut H2Sender,
    request: http::Request<Full<Bytes>>,
    on_head: impl FnOnce(u16, &http::HeaderMap),
    mut on_body: impl FnMut(&[u8]),
) -> Result<u64, ErrorKind> {
    sender.ready().await.map_err(|e| classify(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| classify(&e))?;
    on_head(response.status().as_u16(), response.headers());
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify(&e))?;
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
            on_body(data);
        }
    }
    Ok(received)
}

/// Names a hyper error by its cause.
fn classify(err: &hyper::Error) -> ErrorKind {
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return crate::http::io_error::kind_of(io);
        }
        source = cause.source();
    }
    if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        ErrorKind::Closed
    } else if err.is_parse() {
        crate::http::failure_reason::note(
            ErrorKind::MalformedResponse,
            "the response is not valid HTTP",
        )
    } else {
        ErrorKind::Http2
    }
}
