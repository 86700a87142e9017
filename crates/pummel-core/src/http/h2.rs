//! HTTP/2 client connections, through hyper.
//!
//! HTTP/2 multiplexes streams over one connection, with flow control and
//! HPACK: a protocol worth taking from a mature implementation. Over TLS the
//! protocol is agreed by ALPN; over plain TCP pummel speaks h2c with prior
//! knowledge.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::target::TargetUrl;
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

/// A VU's HTTP/2 connections, one per origin (by `K`), shared by its sessions (its
/// main one and its `parallel` lanes): a batch's HTTP/2 requests are streams
/// of one connection, as a browser sends them. A connection being opened is
/// awaited by every request that needs it, never opened twice.
pub(crate) struct H2Pool<K> {
    by_origin: RefCell<Vec<(K, Rc<tokio::sync::OnceCell<H2Sender>>)>>,
}

impl<K> Default for H2Pool<K> {
    fn default() -> Self {
        H2Pool {
            by_origin: RefCell::new(Vec::new()),
        }
    }
}

impl<K: PartialEq + Clone> H2Pool<K> {
    /// The origin's connection cell, made empty the first time.
    pub(crate) fn cell(&self, key: &K) -> Rc<tokio::sync::OnceCell<H2Sender>> {
        let mut by_origin = self.by_origin.borrow_mut();
        if let Some((_, cell)) = by_origin.iter().find(|(k, _)| k == key) {
            return cell.clone();
        }
        let cell = Rc::new(tokio::sync::OnceCell::new());
        by_origin.push((key.clone(), cell.clone()));
        cell
    }

    /// Drops a connection that closed, unless another request replaced it
    /// already.
    pub(crate) fn forget(&self, key: &K, cell: &Rc<tokio::sync::OnceCell<H2Sender>>) {
        self.by_origin
            .borrow_mut()
            .retain(|(k, c)| k != key || !Rc::ptr_eq(c, cell));
    }

    /// Drops every connection (a VU that stops).
    pub(crate) fn clear(&self) {
        self.by_origin.borrow_mut().clear();
    }
}

/// A request for hyper's HTTP/2 client, with the headers `encode_h1` would
/// add (`user-agent`, `accept`, `accept-encoding`, the jar's cookies) and
/// none that HTTP/2 forbids (`:authority` carries the host).
pub(crate) fn h2_request(
    method: &Method,
    url: &TargetUrl,
    headers: &[(HeaderName, HeaderValue)],
    body: &Bytes,
    cookie: Option<&str>,
    accept_compressed: bool,
) -> Result<http::Request<Full<Bytes>>, ErrorKind> {
    let has = |name: &HeaderName| headers.iter().any(|(n, _)| n == name);
    let mut builder = http::Request::builder()
        .method(method.clone())
        .uri(url.absolute())
        .version(http::Version::HTTP_2);
    if !has(&http::header::USER_AGENT) {
        builder = builder.header(http::header::USER_AGENT, super::request::USER_AGENT);
    }
    if !has(&http::header::ACCEPT) {
        builder = builder.header(http::header::ACCEPT, "*/*");
    }
    if accept_compressed && !has(&http::header::ACCEPT_ENCODING) {
        builder = builder.header(http::header::ACCEPT_ENCODING, "gzip, deflate");
    }
    let mut own_cookie = None;
    for (name, value) in headers {
        match name.as_str() {
            "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "host"
            | "proxy-connection" | "content-length" => {}
            "cookie" => own_cookie = Some(value.as_bytes()),
            _ => builder = builder.header(name, value),
        }
    }
    let merged = match (own_cookie, cookie) {
        (Some(own), Some(jar)) => Some([own, b"; ", jar.as_bytes()].concat()),
        (Some(own), None) => Some(own.to_vec()),
        (None, Some(jar)) => Some(jar.as_bytes().to_vec()),
        (None, None) => None,
    };
    if let Some(value) = merged {
        let value = HeaderValue::from_bytes(&value).map_err(|_| ErrorKind::InvalidRequest)?;
        builder = builder.header(http::header::COOKIE, value);
    }
    builder
        .body(Full::new(body.clone()))
        .map_err(|_| ErrorKind::InvalidRequest)
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
