//! Signed JSON webhooks: `POST` the summary with
//! `X-Pummel-Signature-256: sha256=<hex HMAC-SHA256 of the body>` (GitHub's
//! scheme, so receivers already know how to check it), retried with
//! backoff while the receiver is down or answers 5xx, 408 or 429.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;

use super::Summary;
use crate::repos::outbound;

const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn deliver(
    url: &str,
    summary: &Summary,
    secret: &[u8],
    trusted: bool,
) -> Result<(), String> {
    let body = serde_json::to_vec(summary).map_err(|e| e.to_string())?;
    let signature = format!("sha256={}", crate::repos::webhook::sign(secret, &body));
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match tokio::time::timeout(ATTEMPT_TIMEOUT, post(url, &body, &signature, trusted)).await {
            Ok(Ok(status)) if (200..300).contains(&status) => return Ok(()),
            Ok(Ok(status)) if status < 500 && status != 408 && status != 429 => {
                return Err(format!("the receiver answered {status}"))
            }
            Ok(Ok(status)) => last = format!("the receiver answered {status}"),
            Ok(Err(Refusal::Final(e))) => return Err(e),
            Ok(Err(Refusal::Transient(e))) => last = e,
            Err(_) => last = format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

enum Refusal {
    /// Trying again will not help (a bad URL, a refused network).
    Final(String),
    Transient(String),
}

async fn post(url: &str, body: &[u8], signature: &str, trusted: bool) -> Result<u16, Refusal> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| Refusal::Final(format!("bad URL: {e}")))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(Refusal::Final("not an http:// or https:// URL".to_owned())),
    };
    let host = uri
        .host()
        .ok_or_else(|| Refusal::Final("the URL has no host".to_owned()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    outbound::check(&host, port, trusted)
        .await
        .map_err(Refusal::Final)?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| Refusal::Transient(format!("cannot connect: {e}")))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    let request = Request::post(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .header("user-agent", concat!("pummel/", env!("CARGO_PKG_VERSION")))
        .header("x-pummel-event", "run.finished")
        .header("x-pummel-signature-256", signature)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|e| Refusal::Final(e.to_string()))?;
    if tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Refusal::Final(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| Refusal::Final(format!("bad host name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| Refusal::Transient(format!("TLS: {e}")))?;
        send(TokioIo::new(stream), request).await
    } else {
        send(TokioIo::new(tcp), request).await
    }
}

async fn send<T>(io: T, request: Request<Full<Bytes>>) -> Result<u16, Refusal>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Refusal::Transient(e.to_string()))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Refusal::Transient(e.to_string()))?;
    let status = response.status().as_u16();
    // Read the (bounded-time) answer so the connection ends cleanly.
    let _ = response.into_body().collect().await;
    Ok(status)
}
