//! A lean HTTP/1.1 client connection.
//!
//! Why not hyper's client here: a load generator's HTTP/1.1 hot path is one
//! pre-built request written as is, and one response parsed in place and
//! thrown away. Doing exactly that — `httparse` over a reused buffer, no
//! header map, no body allocation, no per-request task — is what lets pummel
//! match wrk's requests per CPU-second. HTTP/2 goes through hyper (see `h2`).
//!
//! The connection understands everything a real server may answer with:
//! `Content-Length`, chunked bodies (with trailers), bodies delimited by the
//! connection closing, bodiless responses (HEAD, 1xx, 204, 304), interim
//! `100 Continue` responses, `Connection: close`, and HTTP/1.0 peers.

use crate::http::failure_reason::note;
use std::cell::RefCell;
use std::pin::Pin;
use std::task::{ready, Poll};

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use super::chunked::ChunkedDecoder;
use super::transport::Stream;
use crate::ErrorKind;

/// Read buffer size; a buffer grows (up to [`MAX_HEAD`]) only for huge headers.
const BUFFER_SIZE: usize = 16 * 1024;
/// Buffers kept for reuse per thread.
const POOLED_BUFFERS: usize = 256;
/// Largest response head accepted.
const MAX_HEAD: usize = 1024 * 1024;
/// Headers parsed per response; more is a malformed (or hostile) response.
const MAX_HEADERS: usize = 128;

/// Receives a response as it is parsed. The bench discards everything;
/// scenario steps keep what their checks and captures need.
pub(crate) trait ResponseSink {
    /// The final (non-1xx) response head.
    fn head(&mut self, _status: u16, _headers: &[httparse::Header<'_>]) {}
    /// A piece of the (decoded) body.
    fn body(&mut self, _chunk: &[u8]) {}
}

/// A sink that keeps nothing.
#[derive(Debug, Default)]
pub(crate) struct Discard;

impl ResponseSink for Discard {}

/// What is left of a complete response once its head and body went to the
/// [`ResponseSink`]: its status and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponseSummary {
    pub status: u16,
    /// Bytes read from the connection for this response: head and body as
    /// they travelled (chunk framing included).
    pub bytes_received: u64,
}

/// Why an exchange failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum H1Error {
    /// A reused keep-alive connection turned out to be closed before any
    /// byte of the response arrived: the server closed it while idle. The
    /// request never reached the server; send it again on a new connection.
    Stale,
    /// The request failed; counted under `kind`.
    Failed {
        kind: ErrorKind,
        bytes_received: u64,
    },
}

/// An exchange that failed after `received` bytes of the response.
fn failed(kind: ErrorKind, received: u64) -> H1Error {
    H1Error::Failed {
        kind,
        bytes_received: received,
    }
}

/// How the body of a response is delimited.
#[derive(Debug)]
enum Framing {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

thread_local! {
    /// Read buffers not in use by any connection of this thread.
    static BUFFER_POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// One HTTP/1.1 connection, used for one request at a time.
///
/// A connection holds a read buffer only while bytes are arriving: it takes
/// one from a per-thread pool when the socket becomes readable and gives it
/// back once a response is complete. Ten thousand connections waiting for
/// their responses (or idle between a virtual user's think times) then cost
/// a few hundred bytes each, not a buffer each.
pub(crate) struct H1Connection {
    stream: Stream,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[pos..filled]`.
    pos: usize,
    filled: usize,
    reusable: bool,
    exchanges: u64,
}

impl H1Connection {
    pub(crate) fn new(stream: Stream) -> H1Connection {
        H1Connection {
            stream,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            reusable: true,
            exchanges: 0,
        }
    }

    /// False once the server asked to close, or the body ran to the close.
    pub(crate) fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// Sends `request` (complete, pre-encoded bytes) and reads the response.
    /// `head_request` tells that the request was a HEAD, whose response has
    /// no body whatever its headers say.
    pub(crate) async fn exchange<S: ResponseSink>(
        &mut self,
        request: &[u8],
        head_request: bool,
        sink: &mut S,
    ) -> Result<ResponseSummary, H1Error> {
        let reused = self.exchanges > 0;
        self.exchanges += 1;

        if let Err(e) = self.write_request(request).await {
            self.reusable = false;
            let kind = crate::http::io_error::kind_of(&e);
            return Err(
                if reused && matches!(kind, ErrorKind::Reset | ErrorKind::Closed) {
                    H1Error::Stale
                } else {
                    failed(kind, 0)
                },
            );
        }
        let mut received = 0u64;
        let read = async {
            let (status, framing) = self
                .read_head(head_request, reused, sink, &mut received)
                .await?;
            self.read_body(framing, sink, &mut received).await?;
            Ok::<_, H1Error>(status)
        }
        .await;
        match read {
            Ok(status) => {
                if self.pos != self.filled {
                    // Bytes after the complete response answer nothing that
                    // was asked (one request at a time, no pipelining):
                    // reused, the connection would hand them to the next
                    // request as its response, with a latency it never had.
                    self.reusable = false;
                }
                self.release_buffer();
                Ok(ResponseSummary {
                    status,
                    bytes_received: received,
                })
            }
            Err(error) => {
                self.reusable = false;
                Err(error)
            }
        }
    }

    /// Reads up to the final response head; interim 1xx responses (100
    /// Continue, 103 Early Hints) are skipped until the final one arrives.
    /// Returns its status and how its body is delimited. `received` counts
    /// the bytes read, also when it fails.
    async fn read_head<S: ResponseSink>(
        &mut self,
        head_request: bool,
        reused: bool,
        sink: &mut S,
        received: &mut u64,
    ) -> Result<(u16, Framing), H1Error> {
        loop {
            match self.parse_head(head_request, sink) {
                Ok(Some(parsed)) => {
                    if (100..200).contains(&parsed.0) && parsed.0 != 101 {
                        continue;
                    }
                    return Ok(parsed);
                }
                Ok(None) => {}
                Err(kind) => return Err(failed(kind, *received)),
            }
            match self.fill().await {
                Ok(0) => {
                    return Err(if reused && *received == 0 {
                        H1Error::Stale
                    } else {
                        failed(ErrorKind::Closed, *received)
                    });
                }
                Ok(n) => *received += n as u64,
                Err(e) => {
                    let kind = crate::http::io_error::kind_of(&e);
                    return Err(if reused && *received == 0 && kind == ErrorKind::Reset {
                        H1Error::Stale
                    } else {
                        failed(kind, *received)
                    });
                }
            }
        }
    }

    /// Reads the body as `framing` delimits it, into `sink`. A body that runs
    /// to the close leaves the connection not reusable.
    async fn read_body<S: ResponseSink>(
        &mut self,
        mut framing: Framing,
        sink: &mut S,
        received: &mut u64,
    ) -> Result<(), H1Error> {
        loop {
            let data = &self.buf[self.pos..self.filled];
            let consumed = match &mut framing {
                Framing::None => return Ok(()),
                Framing::Length(remaining) => {
                    let take = (*remaining).min(data.len() as u64) as usize;
                    sink.body(&data[..take]);
                    *remaining -= take as u64;
                    take
                }
                Framing::Chunked(decoder) => {
                    decoder.decode(data, |b| sink.body(b)).map_err(|_| {
                        note(MALFORMED, "bad chunked framing");
                        failed(MALFORMED, *received)
                    })?
                }
                Framing::UntilClose => {
                    sink.body(data);
                    data.len()
                }
            };
            self.pos += consumed;
            let done = match &framing {
                Framing::None => true,
                Framing::Length(remaining) => *remaining == 0,
                Framing::Chunked(decoder) => decoder.is_done(),
                Framing::UntilClose => false,
            };
            if done {
                return Ok(());
            }
            match self.fill().await {
                Ok(0) if matches!(framing, Framing::UntilClose) => {
                    self.reusable = false;
                    return Ok(());
                }
                Ok(0) => return Err(failed(ErrorKind::Closed, *received)),
                Ok(n) => *received += n as u64,
                Err(e) => return Err(failed(crate::http::io_error::kind_of(&e), *received)),
            }
        }
    }

    async fn write_request(&mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request).await?;
        if let Stream::Tls(_) = self.stream {
            self.stream.flush().await?;
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; returns how many (0 at end of stream).
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        } else if !self.buf.is_empty() && self.filled == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.filled, 0);
                self.filled -= self.pos;
                self.pos = 0;
            } else if self.buf.len() < MAX_HEAD {
                self.buf.resize(self.buf.len() * 2, 0);
            } else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "response head too large",
                ));
            }
        }
        let n = std::future::poll_fn(|cx| {
            // Wait for readability before taking a buffer, so a connection
            // waiting for its response holds none.
            if let Stream::Plain(tcp) = &self.stream {
                ready!(tcp.poll_read_ready(cx))?;
            }
            if self.buf.is_empty() {
                self.buf = BUFFER_POOL
                    .with(|pool| pool.borrow_mut().pop())
                    .unwrap_or_else(|| vec![0; BUFFER_SIZE]);
            }
            let mut read_buf = ReadBuf::new(&mut self.buf[self.filled..]);
            ready!(Pin::new(&mut self.stream).poll_read(cx, &mut read_buf))?;
            Poll::Ready(Ok::<_, std::io::Error>(read_buf.filled().len()))
        })
        .await?;
        self.filled += n;
        Ok(n)
    }

    /// Returns the (empty) read buffer to the thread's pool.
    fn release_buffer(&mut self) {
        self.pos = 0;
        self.filled = 0;
        let buf = std::mem::take(&mut self.buf);
        if buf.len() == BUFFER_SIZE {
            BUFFER_POOL.with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.len() < POOLED_BUFFERS {
                    pool.push(buf);
                }
            });
        }
    }

    /// Parses a response head from the buffer. `Ok(None)` means more bytes
    /// are needed. On success the head is consumed from the buffer.
    fn parse_head<S: ResponseSink>(
        &mut self,
        head_request: bool,
        sink: &mut S,
    ) -> Result<Option<(u16, Framing)>, ErrorKind> {
        if self.pos == self.filled {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&self.buf[self.pos..self.filled]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if self.filled - self.pos >= MAX_HEAD {
                    return Err(note(MALFORMED, "the response head is larger than 1 MiB"));
                }
                return Ok(None);
            }
            Err(e) => return Err(note(MALFORMED, head_error(e))),
        };
        let status = response
            .code
            .ok_or_else(|| note(MALFORMED, "the status line has no status code"))?;
        let http10 = response.version == Some(0);

        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut transfer_encoded = false;
        let mut close = http10;
        for h in response.headers.iter() {
            let name = h.name;
            if name.eq_ignore_ascii_case("content-length") {
                let len = parse_content_length(h.value)
                    .ok_or_else(|| note(MALFORMED, "Content-Length is not a number"))?;
                if content_length.is_some_and(|prev| prev != len) {
                    return Err(note(MALFORMED, "two different Content-Length headers"));
                }
                content_length = Some(len);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                transfer_encoded = true;
                // Only the last coding decides the framing.
                chunked = h
                    .value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                        close = false;
                    }
                }
            }
        }
        // 101 Switching Protocols is final: what follows is another
        // protocol, so it is the response (recorded as 101) and the
        // connection is not HTTP any more (never reused).
        let switching = status == 101;
        let interim = (100..200).contains(&status) && !switching;
        if !interim {
            sink.head(status, response.headers);
        }
        self.pos += head_len;

        let framing = if head_request || interim || switching || status == 204 || status == 304 {
            Framing::None
        } else if transfer_encoded {
            if chunked {
                Framing::Chunked(ChunkedDecoder::default())
            } else {
                Framing::UntilClose
            }
        } else if let Some(len) = content_length {
            Framing::Length(len)
        } else {
            Framing::UntilClose
        };
        if matches!(framing, Framing::UntilClose) || switching {
            close = true;
        }
        if close && !interim {
            self.reusable = false;
        }
        Ok(Some((status, framing)))
    }
}

impl Drop for H1Connection {
    fn drop(&mut self) {
        self.release_buffer();
    }
}

fn parse_content_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

const MALFORMED: ErrorKind = ErrorKind::MalformedResponse;

/// What is wrong with a response head httparse refused.
fn head_error(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::Version => "the status line does not start with HTTP/1.x",
        httparse::Error::Status => "the status code is not three digits",
        httparse::Error::HeaderName => "a header name has a character headers cannot have",
        httparse::Error::HeaderValue => "a header value has a character headers cannot have",
        httparse::Error::NewLine => "a line does not end with CRLF",
        httparse::Error::TooManyHeaders => "more headers than pummel reads",
        httparse::Error::Token => "the status line is not HTTP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    /// A sink that keeps the status, headers and body, to check parsing.
    #[derive(Default)]
    struct Keep {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl ResponseSink for Keep {
        fn head(&mut self, status: u16, headers: &[httparse::Header<'_>]) {
            self.status = status;
            self.headers = headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
        }
        fn body(&mut self, chunk: &[u8]) {
            self.body.extend_from_slice(chunk);
        }
    }

    /// Serves each canned response (possibly in several writes) to one
    /// request at a time on one connection, then closes.
    async fn canned_server(responses: Vec<Vec<&'static [u8]>>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            for pieces in responses {
                let mut req = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut req).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&req[..n]);
                }
                for piece in pieces {
                    sock.write_all(piece).await.unwrap();
                    sock.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
        });
        addr
    }

    async fn connect(addr: std::net::SocketAddr) -> H1Connection {
        H1Connection::new(Stream::Plain(TcpStream::connect(addr).await.unwrap()))
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[tokio::test]
    async fn switching_protocols_is_the_response_and_ends_http_on_the_connection() {
        let addr = canned_server(vec![vec![
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        ]])
        .await;
        let mut conn = connect(addr).await;
        let mut sink = Keep::default();
        let r = conn.exchange(GET, false, &mut sink).await.unwrap();
        assert_eq!((r.status, sink.status), (101, 101));
        assert!(
            !conn.is_reusable(),
            "the connection speaks another protocol now"
        );
    }

    #[tokio::test]
    async fn keep_alive_with_length_and_chunked_bodies() {
        let addr = canned_server(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"],
            vec![
                b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
                b"\r\n2\r\nde\r\n0\r\n\r\n",
            ],
            vec![
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            ],
        ])
        .await;
        let mut conn = connect(addr).await;
        let mut sink = Keep::default();
        let r = conn.exchange(GET, false, &mut sink).await.unwrap();
        assert_eq!((r.status, sink.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(r.bytes_received, 43);
        assert!(conn.is_reusable());
        let mut sink = Keep::default();
        let r = conn.exchange(GET, false, &mut sink).await.unwrap();
        assert_eq!((r.status, sink.body.as_slice()), (201, &b"abcde"[..]));
        let mut sink = Keep::default();
        let r = conn.exchange(GET, false, &mut sink).await.unwrap();
        assert_eq!(r.status, 404);
        assert!(sink
            .headers
            .iter()
            .any(|(k, v)| k == "content-length" && v == "0"));
        assert!(conn.is_reusable());
        // The server closed after three: the fourth finds a stale connection.
        assert_eq!(
            conn.exchange(GET, false, &mut Discard).await,
            Err(H1Error::Stale)
        );
    }

    #[tokio::test]
    async fn body_until_close_and_connection_close() {
        let addr = canned_server(vec![vec![
            b"HTTP/1.0 200 OK\r\n\r\nall of it",
            b" and more",
        ]])
        .await;
        let mut conn = connect(addr).await;
        let mut sink = Keep::default();
        // The canned server closes only when we send again or drop; use a
        // fresh exchange whose body ends at close.
        let exchange = conn.exchange(GET, false, &mut sink);
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), exchange).await;
        // The server task ends after writing, which closes the socket.
        let r = r.unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(sink.body, b"all of it and more");
        assert!(!conn.is_reusable());

        let addr = canned_server(vec![vec![
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        ]])
        .await;
        let mut conn = connect(addr).await;
        assert_eq!(
            conn.exchange(GET, false, &mut Discard)
                .await
                .unwrap()
                .status,
            200
        );
        assert!(!conn.is_reusable());
    }

    #[tokio::test]
    async fn head_and_no_content_have_no_body() {
        let addr = canned_server(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"],
            vec![b"HTTP/1.1 204 No Content\r\n\r\n"],
            vec![b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"],
        ])
        .await;
        let mut conn = connect(addr).await;
        assert_eq!(
            conn.exchange(GET, true, &mut Discard).await.unwrap().status,
            200
        );
        assert_eq!(
            conn.exchange(GET, false, &mut Discard)
                .await
                .unwrap()
                .status,
            204
        );
        assert_eq!(
            conn.exchange(GET, false, &mut Discard)
                .await
                .unwrap()
                .status,
            304
        );
        assert!(conn.is_reusable());
    }

    #[tokio::test]
    async fn malformed_and_truncated_responses_are_named() {
        for (wire, expected) in [
            (&b"garbage\r\n\r\n"[..], ErrorKind::MalformedResponse),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                ErrorKind::MalformedResponse,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ErrorKind::MalformedResponse,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
                ErrorKind::MalformedResponse,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                ErrorKind::Closed,
            ),
            (b"HTTP/1.1 200 O", ErrorKind::Closed),
        ] {
            let addr = canned_server(vec![vec![wire]]).await;
            let mut conn = connect(addr).await;
            match conn.exchange(GET, false, &mut Discard).await {
                Err(H1Error::Failed { kind, .. }) => {
                    assert_eq!(kind, expected, "{:?}", String::from_utf8_lossy(wire))
                }
                other => panic!("{other:?} for {:?}", String::from_utf8_lossy(wire)),
            }
            assert!(!conn.is_reusable());
        }
    }

    #[tokio::test]
    async fn a_first_request_on_a_dead_connection_is_not_stale() {
        let addr = canned_server(vec![]).await;
        let mut conn = connect(addr).await;
        match conn.exchange(GET, false, &mut Discard).await {
            Err(H1Error::Failed { kind, .. }) => {
                assert!(matches!(kind, ErrorKind::Closed | ErrorKind::Reset))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn content_length_parsing() {
        assert_eq!(parse_content_length(b" 42 "), Some(42));
        assert_eq!(parse_content_length(b"-1"), None);
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"99999999999999999999"), None);
    }
}
