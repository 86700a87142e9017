//! One scrape: `GET` an endpoint's metrics, bounded in time and size.

use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;

/// The largest body read from an endpoint; a node_exporter's is a few
/// hundred KiB.
pub(crate) const MAX_BODY: usize = 8 << 20;

/// A scrape ends after this long, so it never overlaps the next second's.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(800);

/// An endpoint to scrape: an `http://` URL, checked when the plan is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointUrl {
    uri: Uri,
    host: String,
    port: u16,
}

impl EndpointUrl {
    /// Parses `url`; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<EndpointUrl, String> {
        let uri: Uri = url
            .parse()
            .map_err(|_| format!("{url:?} is not a URL: expected http://HOST:PORT/metrics"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "{url:?}: a monitored endpoint is scraped over http:// (https is not supported)"
            ));
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("{url:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(80);
        Ok(EndpointUrl { uri, host, port })
    }

    pub fn as_str(&self) -> String {
        self.uri.to_string()
    }
}

/// What one scrape read.
pub(crate) struct Scraped {
    pub(crate) body: String,
    /// The response's media type (`text/plain`, `text/html`), to say what
    /// came instead of metrics when nothing in it is one.
    pub(crate) content_type: Option<String>,
}

/// The body of one scrape, or why there is none, within `timeout`.
pub(crate) async fn fetch(url: &EndpointUrl, timeout: Duration) -> Result<Scraped, String> {
    tokio::time::timeout(timeout, get(url))
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {} ms", timeout.as_millis())))
}

async fn get(url: &EndpointUrl) -> Result<Scraped, String> {
    let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let authority = url
        .uri
        .authority()
        .map_or_else(|| url.host.clone(), |a| a.to_string());
    let path = url.uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(header::HOST, authority)
        // The classic text format: every exporter serves it.
        .header(header::ACCEPT, "text/plain;version=0.0.4")
        .header(
            header::USER_AGENT,
            concat!("pummel/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_owned());
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e} (at most {} MiB)", MAX_BODY >> 20))?
        .to_bytes();
    let body =
        String::from_utf8(body.to_vec()).map_err(|_| "the body is not UTF-8 text".to_owned())?;
    Ok(Scraped { body, content_type })
}
