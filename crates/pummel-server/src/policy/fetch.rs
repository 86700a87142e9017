//! The one way the server itself reaches out: ownership challenges, git
//! URLs, webhooks all come through here, under the network policy of the
//! user they act for.
//!
//! The host is resolved once, every address it resolves to is checked (one
//! bad address refuses the host: a name that answers both a public and a
//! private address is how DNS rebinding hides), and the connection goes to
//! an address that was checked — never a second lookup that could answer
//! differently. Each redirect is a new URL and goes through the same check.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, HOST, LOCATION, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::network::{NetworkPolicy, Refused};

/// A request the server makes on a user's behalf.
#[derive(Clone, Debug)]
pub(crate) struct Outbound {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

impl Outbound {
    pub(crate) fn get(url: &str) -> Outbound {
        Outbound {
            method: Method::GET,
            url: url.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

/// Bounds on one fetch, redirects included.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FetchLimits {
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
    pub(crate) max_redirects: usize,
}

impl Default for FetchLimits {
    fn default() -> FetchLimits {
        FetchLimits {
            timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
            max_redirects: 5,
        }
    }
}

/// The answer: status, body and the URL that gave it (after redirects).
#[derive(Clone, Debug)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) url: String,
}

/// Why a fetch did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{url:?} is not a URL the server can fetch: {why}")]
    BadUrl { url: String, why: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{host} is refused: {refused}")]
    Refused { host: String, refused: Refused },
    #[error("cannot connect to {host} ({addr}): {source}")]
    Connect {
        host: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS with {host} failed: {0}", .source)]
    Tls {
        host: String,
        source: std::io::Error,
    },
    #[error("HTTP with {host} failed: {source}")]
    Http { host: String, source: hyper::Error },
    #[error("the answer of {url} is larger than {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: usize },
    #[error("{url} did not answer within {after:?}")]
    Timeout { url: String, after: Duration },
}

/// A URL split as a fetch needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Destination {
    pub(crate) https: bool,
    /// Without IPv6 brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Host:` header value (brackets and a non-default port kept).
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
}

/// Splits an `http://` or `https://` URL; anything else is refused.
pub(crate) fn destination(url: &str) -> Result<Destination, FetchError> {
    let bad = |why: &str| FetchError::BadUrl {
        url: url.to_owned(),
        why: why.to_owned(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("only http:// and https:// URLs are fetched")),
    };
    let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("credentials in the URL are not accepted"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Destination {
        https,
        host,
        port,
        authority: authority.as_str().to_owned(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
    })
}

/// Every address `host` resolves to, each checked; a literal address is
/// checked as it is. Refused if any one is outside the policy.
pub(crate) async fn resolve_checked(
    policy: &NetworkPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, FetchError> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| FetchError::Resolve {
                host: host.to_owned(),
                source,
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(FetchError::Resolve {
            host: host.to_owned(),
            source: std::io::Error::other("no address"),
        });
    }
    for addr in &addrs {
        policy
            .check(addr.ip())
            .map_err(|refused| FetchError::Refused {
                host: host.to_owned(),
                refused,
            })?;
    }
    Ok(addrs)
}

/// A TCP connection to `host`, to one of its checked addresses.
pub(crate) async fn connect_checked(
    policy: &NetworkPolicy,
    host: &str,
    port: u16,
) -> Result<(TcpStream, SocketAddr), FetchError> {
    let addrs = resolve_checked(policy, host, port).await?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok((stream, addr)),
            Err(source) => last = Some((addr, source)),
        }
    }
    let (addr, source) = last.unwrap_or_else(|| {
        (
            SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port),
            std::io::Error::other("no address"),
        )
    });
    Err(FetchError::Connect {
        host: host.to_owned(),
        addr,
        source,
    })
}

/// Makes `request` under `policy`, following redirects (each one checked)
/// up to the limit; the whole exchange is bounded by `limits.timeout`.
pub(crate) async fn fetch(
    policy: &NetworkPolicy,
    request: Outbound,
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    let url = request.url.clone();
    tokio::time::timeout(limits.timeout, follow(policy, request, limits))
        .await
        .map_err(|_| FetchError::Timeout {
            url,
            after: limits.timeout,
        })?
}

async fn follow(
    policy: &NetworkPolicy,
    mut request: Outbound,
    limits: FetchLimits,
) -> Result<Fetched, FetchError> {
    for _ in 0..=limits.max_redirects {
        let dest = destination(&request.url)?;
        let (status, location, body) = exchange(policy, &dest, &request, limits.max_body).await?;
        // With no redirect allowed, a redirect is the answer itself (a
        // webhook's receiver has no business sending the server elsewhere).
        let redirect = matches!(status, 301 | 302 | 303 | 307 | 308) && limits.max_redirects > 0;
        let Some(location) = location.filter(|_| redirect) else {
            return Ok(Fetched {
                status,
                body,
                url: request.url,
            });
        };
        let next = join(&dest, &location).ok_or_else(|| FetchError::BadUrl {
            url: location.clone(),
            why: format!("the redirect from {} is not a URL", request.url),
        })?;
        // 301/302/303 turn a POST into a GET without a body, as browsers do;
        // 307/308 resend the same request.
        if !matches!(status, 307 | 308) && request.method != Method::GET {
            request.method = Method::GET;
            request.body = Bytes::new();
        }
        request.url = next;
    }
    Err(FetchError::TooManyRedirects {
        url: request.url,
        max: limits.max_redirects,
    })
}

/// `location` made absolute against `base`.
fn join(base: &Destination, location: &str) -> Option<String> {
    let scheme = if base.https { "https" } else { "http" };
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    if let Some(rest) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{}{location}", base.authority));
    }
    if location.is_empty() || location.contains("://") {
        return None;
    }
    let path = base.path_and_query.split('?').next().unwrap_or("/");
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    Some(format!("{scheme}://{}{dir}/{location}", base.authority))
}

type Answer = (u16, Option<String>, Bytes);

async fn exchange(
    policy: &NetworkPolicy,
    dest: &Destination,
    request: &Outbound,
    max_body: usize,
) -> Result<Answer, FetchError> {
    let (tcp, _) = connect_checked(policy, &dest.host, dest.port).await?;
    if dest.https {
        let tls = tls_connect(dest, tcp).await?;
        send(dest, request, TokioIo::new(tls), max_body).await
    } else {
        send(dest, request, TokioIo::new(tcp), max_body).await
    }
}

async fn tls_connect(
    dest: &Destination,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, FetchError> {
    let tls_error = |source| FetchError::Tls {
        host: dest.host.clone(),
        source,
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error(std::io::Error::other(e)))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(dest.host.clone())
        .map_err(|e| tls_error(std::io::Error::other(e)))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(tls_error)
}

async fn send<S>(
    dest: &Destination,
    outbound: &Outbound,
    io: TokioIo<S>,
    max_body: usize,
) -> Result<Answer, FetchError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let http_error = |source| FetchError::Http {
        host: dest.host.clone(),
        source,
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(http_error)?;
    tokio::spawn(async move {
        // The connection's errors surface through the request below.
        let _ = conn.await;
    });
    let mut builder = Request::builder()
        .method(outbound.method.clone())
        .uri(dest.path_and_query.as_str())
        .header(HOST, dest.authority.as_str())
        .header(
            USER_AGENT,
            concat!("pummel-server/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in &outbound.headers {
        builder = builder.header(name, value);
    }
    let request = builder
        .body(Full::new(outbound.body.clone()))
        .map_err(|e| FetchError::BadUrl {
            url: outbound.url.clone(),
            why: e.to_string(),
        })?;
    let response = sender.send_request(request).await.map_err(http_error)?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Limited::new(response.into_body(), max_body)
        .collect()
        .await
        .map_err(|_| FetchError::TooLarge {
            url: outbound.url.clone(),
            max: max_body,
        })?
        .to_bytes();
    Ok((status, location, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[test]
    fn urls_split_and_odd_ones_are_refused() {
        let d = destination("http://127.0.0.2:8080/.well-known/x?y=1").unwrap();
        assert_eq!(
            (d.https, d.host.as_str(), d.port),
            (false, "127.0.0.2", 8080)
        );
        assert_eq!(d.path_and_query, "/.well-known/x?y=1");
        let d = destination("https://[::1]/").unwrap();
        assert_eq!(
            (d.host.as_str(), d.port, d.authority.as_str()),
            ("::1", 443, "[::1]")
        );
        for bad in [
            "ftp://x/",
            "file:///etc/passwd",
            "http://user:pw@host/",
            "/relative",
            "gopher://h",
        ] {
            assert!(
                matches!(destination(bad), Err(FetchError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn redirects_join_like_a_browser() {
        let base = destination("http://h:1/a/b?q").unwrap();
        assert_eq!(join(&base, "/x").unwrap(), "http://h:1/x");
        assert_eq!(join(&base, "c").unwrap(), "http://h:1/a/c");
        assert_eq!(join(&base, "//other/p").unwrap(), "http://other/p");
        assert_eq!(join(&base, "https://e/p").unwrap(), "https://e/p");
        assert_eq!(join(&base, ""), None);
    }

    #[tokio::test]
    async fn a_refused_host_is_never_dialled() {
        let policy = NetworkPolicy::restricted(Vec::new());
        for url in [
            "http://127.0.0.1:9/",
            "http://[::1]:9/",
            "http://[::ffff:127.0.0.1]:9/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:9/",
        ] {
            let err = fetch(&policy, Outbound::get(url), FetchLimits::default())
                .await
                .unwrap_err();
            assert!(matches!(err, FetchError::Refused { .. }), "{url}: {err}");
        }
    }

    /// A one-shot HTTP server on `addr` that answers every connection with
    /// `answer`, counting connections.
    async fn serve(
        addr: &str,
        answer: &'static str,
    ) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let local = listener.local_addr().unwrap();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let answer = answer.replace("{port}", &local.port().to_string());
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        (local, hits)
    }

    #[tokio::test]
    async fn an_allowed_host_is_fetched_and_a_redirect_out_of_policy_refused() {
        let (ok, _) = serve(
            "127.0.0.2:0",
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
        )
        .await;
        let (inside, hits) = serve(
            "127.0.0.1:0",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let policy = NetworkPolicy::restricted(vec!["127.0.0.2".parse().unwrap()]);
        let got = fetch(
            &policy,
            Outbound::get(&format!("http://{ok}/x")),
            FetchLimits::default(),
        )
        .await
        .unwrap();
        assert_eq!((got.status, &got.body[..]), (200, &b"hello"[..]));

        let to_inside: &'static str = Box::leak(
            format!(
                "HTTP/1.1 302 Found\r\nlocation: http://{inside}/secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (redirecting, _) = serve("127.0.0.2:0", to_inside).await;
        let err = fetch(
            &policy,
            Outbound::get(&format!("http://{redirecting}/")),
            FetchLimits::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, FetchError::Refused { refused, .. } if refused.addr == inside.ip()),
            "{err}"
        );
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);

        let err = fetch(
            &policy,
            Outbound::get(&format!("http://{redirecting}/")),
            FetchLimits {
                max_redirects: 0,
                ..FetchLimits::default()
            },
        )
        .await;
        // No redirect followed: the 302 itself is the answer.
        assert_eq!(err.unwrap().status, 302);
    }

    #[tokio::test]
    async fn large_answers_are_cut() {
        let (addr, _) = serve(
            "127.0.0.2:0",
            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
        )
        .await;
        let policy = NetworkPolicy::restricted(vec!["127.0.0.0/8".parse().unwrap()]);
        let err = fetch(
            &policy,
            Outbound::get(&format!("http://{addr}/")),
            FetchLimits {
                max_body: 10,
                ..FetchLimits::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    }
}
