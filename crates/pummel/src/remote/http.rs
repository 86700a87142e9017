//! Plain HTTP/1.1 requests to the server's JSON API (`/v1/repos`, …), over
//! the same TCP and TLS as the WebSocket link: one request a connection,
//! `Connection: close`, the answer read to its end.

use std::path::Path;

use pummel_core::http::{Scheme, TargetUrl};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::connect::{client_config, ConnectError, Io};

/// The largest answer read.
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// Sends `method path` with a JSON `body`; returns the status and body.
pub(crate) async fn request(
    url: &str,
    ca: Option<&Path>,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, Vec<u8>), ConnectError> {
    let target = TargetUrl::parse(url).map_err(|e| ConnectError::Url {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let unreachable = |reason: String| ConnectError::Unreachable {
        url: url.to_owned(),
        reason,
    };
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let mut io: Box<dyn Io> = match target.scheme {
            Scheme::Https => {
                let name = ServerName::try_from(target.host.clone())
                    .map_err(|e| unreachable(e.to_string()))?;
                let stream = tokio_rustls::TlsConnector::from(client_config(ca)?)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| unreachable(format!("TLS: {e}")))?;
                Box::new(stream)
            }
            Scheme::Http => Box::new(tcp),
        };
        let body = body.map(serde_json::Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            target.authority,
            body.len()
        );
        io.write_all(head.as_bytes())
            .await
            .map_err(|e| ConnectError::Lost(e.to_string()))?;
        io.write_all(body.as_bytes())
            .await
            .map_err(|e| ConnectError::Lost(e.to_string()))?;
        let mut answer = Vec::new();
        (&mut io)
            .take(MAX_ANSWER_BYTES as u64)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| ConnectError::Lost(e.to_string()))?;
        parse(&answer)
    };
    // Pulling a repository clones it: give the server time.
    tokio::time::timeout(std::time::Duration::from_secs(300), exchange)
        .await
        .map_err(|_| unreachable("no answer within 300 s".to_owned()))?
}

/// Status and body of an HTTP/1.1 answer (chunked or not).
fn parse(answer: &[u8]) -> Result<(u16, Vec<u8>), ConnectError> {
    let malformed = || ConnectError::Protocol("malformed HTTP answer".to_owned());
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(malformed)?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(malformed)?;
    let body = &answer[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(malformed)?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| malformed())?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if rest.len() < size + 2 {
            return Err(malformed());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
