//! A deliberately tiny HTTP/1.1 client over a raw `TcpStream`, so tests see exactly what went over
//! the wire (framing, chunk counts, `HEAD` without body, keep-alive) with no client library
//! smoothing it over.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A parsed response.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Number of chunks when the body was chunked, else 0.
    pub chunks: usize,
}

impl RawResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// One keep-alive connection.
pub(crate) struct RawClient {
    stream: BufReader<TcpStream>,
    host: String,
}

impl RawClient {
    pub(crate) async fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawClient {
            stream: BufReader::new(stream),
            host: addr.to_string(),
        }
    }

    /// Writes raw bytes (for pipelining and malformed requests).
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).await.expect("write");
    }

    /// Writes a request with a `Content-Length` body (when non-empty or not GET/HEAD).
    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes).await;
    }

    /// Sends a request and reads its response.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        self.send(method, path, headers, body).await;
        self.read_response(method == "HEAD").await
    }

    pub(crate) async fn get(&mut self, path: &str) -> RawResponse {
        self.request("GET", path, &[], &[]).await
    }

    /// Reads one response; `head` says it answers a HEAD request (no body whatever the headers).
    pub(crate) async fn read_response(&mut self, head: bool) -> RawResponse {
        let status_line = self.line().await;
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(
            parts.next(),
            Some("HTTP/1.1"),
            "status line {status_line:?}"
        );
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));

        let mut headers = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
            chunks: 0,
        };
        if head || status == 204 || status == 304 {
            return response;
        }
        if response.header("transfer-encoding") == Some("chunked") {
            loop {
                let size_line = self.line().await;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                    .expect("chunk size");
                if size == 0 {
                    // Trailers (none expected) end with an empty line.
                    while !self.line().await.is_empty() {}
                    break;
                }
                let start = response.body.len();
                response.body.resize(start + size, 0);
                self.stream
                    .read_exact(&mut response.body[start..])
                    .await
                    .expect("chunk");
                assert_eq!(self.line().await, "", "chunk terminator");
                response.chunks += 1;
            }
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().expect("content-length");
            response.body.resize(len, 0);
            self.stream
                .read_exact(&mut response.body)
                .await
                .expect("body");
        } else {
            self.stream
                .read_to_end(&mut response.body)
                .await
                .expect("body to EOF");
        }
        response
    }

    /// Everything the server sends until it closes the connection.
    pub(crate) async fn read_until_closed(&mut self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let _ = self.stream.read_to_end(&mut bytes).await;
        bytes
    }

    /// Whether the server has closed the connection (reads EOF).
    pub(crate) async fn is_closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte).await, Ok(0) | Err(_))
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.stream.read_line(&mut line).await.expect("read line");
        assert!(n > 0, "connection closed while reading a response");
        line.trim_end_matches(['\r', '\n']).to_owned()
    }
}
