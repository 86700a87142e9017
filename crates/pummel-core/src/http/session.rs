//! A browser-like HTTP client for one virtual user.
//!
//! The bench sends one pre-encoded request over and over; a scenario's
//! virtual user sends many different requests, keeps a connection per origin
//! alive between them, follows redirects, sends and stores cookies, and
//! decodes gzip bodies so checks and captures see what a browser would. The
//! wire work is still the lean HTTP/1.1 connection of `h1`; a request with
//! `http2` goes through hyper's HTTP/2 client instead (`h2`), over one
//! connection per origin that the VU's sessions share, its requests
//! multiplexed as streams (ALPN `h2` over TLS, h2c with prior knowledge over
//! plain TCP).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;

use super::decode::decode_body;
use super::h1::{H1Connection, H1Error, ResponseSink};
use super::h2::{self, h2_request, H2Pool};
use super::proxy::{ProxyId, ProxySetting, ProxyUrl};
use super::redirect::{is_redirect, resolve_location};
use super::request::encode_h1;
use super::target::{Scheme, TargetUrl};
use super::tls::SharedClientConfig;
use super::transport::Connector;
use crate::http::tls::{Alpn, TlsProfileId};
use crate::ErrorKind;

/// How many redirects a request follows before the last one is returned as is.
pub(crate) const DEFAULT_MAX_REDIRECTS: u32 = 10;

/// The most redirects a scenario may ask a request to follow
/// (`follow_redirects: N`): beyond this a chain is a loop, not a journey.
pub(crate) const MAX_REDIRECTS_LIMIT: u32 = 100;

/// Stores and supplies cookies for a session (a virtual user's jar).
pub(crate) trait CookieStore {
    /// The `Cookie` header value to send to `url`, if any. (Mutable: a jar
    /// forgets expired cookies as it looks.)
    fn cookie_header(&mut self, url: &TargetUrl) -> Option<String>;
    /// Takes the `Set-Cookie` values of a response from `url`.
    fn store(&mut self, url: &TargetUrl, set_cookie: &[&str]);
}

/// A session without cookies.
#[derive(Debug, Default)]
pub(crate) struct NoCookies;

impl CookieStore for NoCookies {
    fn cookie_header(&mut self, _url: &TargetUrl) -> Option<String> {
        None
    }
    fn store(&mut self, _url: &TargetUrl, _set_cookie: &[&str]) {}
}

/// A request a session sends.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub method: Method,
    pub url: TargetUrl,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// Response body bytes to keep (after decoding); the rest is read off
    /// the wire, counted in `bytes_received`, and dropped.
    pub max_body: u64,
    /// The scenario's `tls:` profile for this request (`None`: the run's
    /// settings).
    pub tls: Option<TlsProfileId>,
    /// The proxy it goes through (`proxy:`).
    pub proxy: ProxySetting,
    /// Send it over HTTP/2.
    pub http2: bool,
}

/// The final response to a session's request (after any redirects), its body
/// decoded: what a check or capture sees.
#[derive(Clone, Debug, Default)]
pub(crate) struct FinalResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from gzip or deflate when it was sent encoded, up
    /// to the request's `max_body`.
    pub body: Vec<u8>,
    /// Whether the body went on past `max_body` (and `body` holds only its
    /// start): a check or capture that finds nothing may have needed the
    /// part that was cut.
    pub body_truncated: bool,
    /// The URL that produced this response (after redirects).
    pub url: Option<TargetUrl>,
    pub redirects: u32,
    /// Bytes read off the wire for this response and any redirects before it.
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

impl FinalResponse {
    /// The first header of that name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Decodes a gzip or deflate body in place, up to `max_body` bytes.
    fn decode(&mut self, max_body: u64) -> Result<(), ErrorKind> {
        let Some(encoding) = self
            .header("content-encoding")
            .map(|e| e.trim().to_ascii_lowercase())
        else {
            return Ok(());
        };
        decode_body(
            &encoding,
            &mut self.body,
            &mut self.body_truncated,
            max_body,
        )
    }

    fn reset(&mut self) {
        self.status = 0;
        self.headers.clear();
        self.body.clear();
        self.body_truncated = false;
        self.url = None;
        self.redirects = 0;
        self.bytes_received = 0;
        self.bytes_sent = 0;
    }
}

/// Keeps what a response sink is given, the body up to a limit: a body
/// that never ends (an endless chunked stream) is read and counted but
/// cannot grow memory without bound.
struct Collect<'a> {
    response: &'a mut FinalResponse,
    max_body: u64,
}

impl Collect<'_> {
    /// An HTTP/2 response's head, as `head` takes an HTTP/1.1 one.
    fn h2_head(&mut self, status: u16, headers: &http::HeaderMap) {
        let response = &mut *self.response;
        response.status = status;
        response.body.clear();
        response.body_truncated = false;
        response.headers.clear();
        for (name, value) in headers {
            response.headers.push((
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    }
}

impl ResponseSink for Collect<'_> {
    fn head(&mut self, status: u16, headers: &[httparse::Header<'_>]) {
        let response = &mut *self.response;
        response.status = status;
        // A redirect's own body (an HTML "302 Found" page) is not part of
        // the final response.
        response.body.clear();
        response.body_truncated = false;
        response.headers.clear();
        for h in headers {
            response.headers.push((
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            ));
        }
    }
    fn body(&mut self, chunk: &[u8]) {
        let body = &mut self.response.body;
        let room = usize::try_from(self.max_body)
            .unwrap_or(usize::MAX)
            .saturating_sub(body.len());
        if chunk.len() > room {
            self.response.body_truncated = true;
        }
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// Options that apply to every request of a session.
#[derive(Clone, Debug)]
pub(crate) struct SessionOptions {
    /// The run's TLS configuration: every session of the run shares it.
    pub tls: SharedClientConfig,
    pub connect_timeout: Duration,
    /// Ask for and decode gzip/deflate bodies, as a browser does.
    pub decompress: bool,
    /// Host names sent to a fixed address instead of being resolved
    /// (`hosts:`, curl's `--resolve`); the URL's name still goes in the
    /// `Host` header and the TLS server name.
    pub hosts: HashMap<String, std::net::IpAddr>,
    /// The addresses this run may reach (a shared server's policy); `None`:
    /// any.
    pub connect_filter: Option<crate::http::ConnectFilter>,
    /// The proxies requests may go through (the plan's, then the command
    /// line's); a [`ProxySetting::Via`] indexes this.
    pub proxies: Vec<std::sync::Arc<ProxyUrl>>,
    /// The proxy of a request that names none (`--proxy`, else
    /// `defaults.proxy`).
    pub default_proxy: Option<ProxyId>,
}

impl SessionOptions {
    /// The proxy `setting` sends a request through, if any.
    pub(crate) fn route(&self, setting: ProxySetting) -> Option<ProxyId> {
        match setting {
            ProxySetting::Inherit => self.default_proxy,
            ProxySetting::Direct => None,
            ProxySetting::Via(id) => Some(id),
        }
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            tls: SharedClientConfig::new(false),
            connect_timeout: Duration::from_secs(10),
            decompress: true,
            hosts: HashMap::new(),
            connect_filter: None,
            proxies: Vec::new(),
            default_proxy: None,
        }
    }
}

/// What a kept-alive connection can be reused for: its origin, the `tls:`
/// profile it was opened with (a connection that presented one client
/// certificate is not another's), whether it speaks HTTP/2, and the proxy it
/// goes through.
type ConnectionKey = (
    Scheme,
    String,
    u16,
    Option<TlsProfileId>,
    bool,
    Option<ProxyId>,
);

/// Connectors per origin, shared by the sessions of one worker thread so a
/// host is resolved once per thread rather than once per virtual user.
pub(crate) struct Connectors {
    options: SessionOptions,
    /// Keyed also by whether a plain connection is a proxy tunnel (a
    /// WebSocket's) rather than forwarded requests.
    by_origin: std::cell::RefCell<HashMap<(ConnectionKey, bool), Connector>>,
    /// Pre-resolved addresses (the plan's target, resolved before the run).
    known: HashMap<(String, u16), Vec<SocketAddr>>,
}

impl Connectors {
    pub(crate) fn new(
        options: SessionOptions,
        known: HashMap<(String, u16), Vec<SocketAddr>>,
    ) -> Rc<Connectors> {
        Rc::new(Connectors {
            options,
            by_origin: Default::default(),
            known,
        })
    }

    /// The connector for `url`'s origin (with the `tls:` profile `tls`,
    /// through the proxy `proxy` says, in a tunnel even for plain http when
    /// `tunnel`), resolving the host the first time.
    pub(crate) async fn get(
        &self,
        url: &TargetUrl,
        tls: Option<TlsProfileId>,
        http2: bool,
        proxy: ProxySetting,
        tunnel: bool,
    ) -> Result<Connector, ErrorKind> {
        let route = self.options.route(proxy);
        let key = (
            (url.scheme, url.host.clone(), url.port, tls, http2, route),
            tunnel,
        );
        if let Some(c) = self.by_origin.borrow().get(&key) {
            return Ok(c.clone());
        }
        let via = match route {
            None => None,
            Some(id) => {
                let proxy = self
                    .options
                    .proxies
                    .get(id)
                    .ok_or(ErrorKind::ConnectError)?;
                let addrs = match self.known.get(&(proxy.host.clone(), proxy.port)) {
                    Some(addrs) => addrs.clone(),
                    None => proxy.resolve().await.map_err(|_| ErrorKind::ConnectError)?,
                };
                Some((proxy.clone(), addrs))
            }
        };
        let fixed = self.options.hosts.get(&url.host.to_ascii_lowercase());
        let addrs = match self.known.get(&(url.host.clone(), url.port)) {
            // The proxy resolves the target's name.
            _ if via.is_some() => Vec::new(),
            _ if fixed.is_some() => fixed
                .map(|ip| vec![SocketAddr::new(*ip, url.port)])
                .unwrap_or_default(),
            Some(addrs) => addrs.clone(),
            // A host the plan did not name (an absolute URL, a redirect):
            // resolved now; failure to resolve is a failed connect.
            None => url.resolve().await.map_err(|_| ErrorKind::ConnectError)?,
        };
        // Checked here, where every address of an origin first appears (the
        // plan's target, `hosts:`, an absolute URL, a redirect); a refused
        // origin is not cached, so each attempt is counted again.
        // Through a proxy the agent cannot see where the connection goes:
        // a run with a filter may not use one.
        if let Some(filter) = &self.options.connect_filter {
            if via.is_some() || !filter.allows_all(&addrs) {
                return Err(ErrorKind::AddressRefused);
            }
        }
        let tls = match url.scheme.is_tls() {
            // Fails only for settings the loader checked already.
            true => Some(
                self.options
                    .tls
                    .for_profile(tls, if http2 { Alpn::Http2 } else { Alpn::Http1 })
                    .map_err(|_| ErrorKind::Tls)?,
            ),
            false => None,
        };
        let mut connector = Connector::new(url, addrs, tls, self.options.connect_timeout)
            .map_err(|_| ErrorKind::Tls)?;
        if let Some((proxy, addrs)) = via {
            connector = connector.through(proxy, addrs, url, tunnel);
        }
        self.by_origin.borrow_mut().insert(key, connector.clone());
        Ok(connector)
    }
}

/// One virtual user's HTTP client: a keep-alive connection per origin.
pub(crate) struct Session {
    connectors: Rc<Connectors>,
    connections: Vec<(ConnectionKey, H1Connection)>,
    /// HTTP/2 connections, shared with the session's siblings.
    h2: Rc<H2Pool<ConnectionKey>>,
    encoded: Vec<u8>,
    connects: usize,
}

impl Session {
    pub(crate) fn new(connectors: Rc<Connectors>) -> Session {
        Session {
            connectors,
            connections: Vec::new(),
            h2: Rc::default(),
            encoded: Vec::new(),
            connects: 0,
        }
    }

    /// Another session of the same VU: HTTP/1.1 connections of its own,
    /// HTTP/2 connections shared with this one.
    pub(crate) fn sibling(&self) -> Session {
        Session {
            h2: self.h2.clone(),
            ..Session::new(self.connectors.clone())
        }
    }

    /// Drops every open connection (a virtual user that stops).
    pub(crate) fn close(&mut self) {
        self.connections.clear();
        self.h2.clear();
    }

    /// Sends `request`, following up to `max_redirects` redirects, storing and
    /// sending cookies through `cookies`. The response is written into
    /// `response` (its buffers are reused).
    pub(crate) async fn send(
        &mut self,
        request: &Request,
        max_redirects: u32,
        cookies: &mut dyn CookieStore,
        response: &mut FinalResponse,
    ) -> Result<(), ErrorKind> {
        response.reset();
        let mut method = request.method.clone();
        let mut url = request.url.clone();
        let mut body = request.body.clone();
        let mut received = 0;
        let mut sent = 0;
        let mut redirects = 0;
        loop {
            let result = self
                .exchange(
                    &method,
                    &url,
                    &body,
                    request,
                    cookies,
                    &mut Collect {
                        response: &mut *response,
                        max_body: request.max_body,
                    },
                )
                .await;
            received += response.bytes_received;
            sent += response.bytes_sent;
            response.bytes_received = received;
            response.bytes_sent = sent;
            result?;
            let set_cookies: Vec<&str> = response
                .headers
                .iter()
                .filter(|(n, _)| n == "set-cookie")
                .map(|(_, v)| v.as_str())
                .collect();
            if !set_cookies.is_empty() {
                cookies.store(&url, &set_cookies);
            }
            let status = response.status;
            let location = match response.header("location") {
                Some(loc) if is_redirect(status) && redirects < max_redirects => loc.to_owned(),
                _ => break,
            };
            let Some(next) = resolve_location(&url, &location) else {
                break;
            };
            redirects += 1;
            // 307 and 308 repeat the request as it was; the others turn it into
            // a GET without a body (what browsers do for 301/302 after POST).
            if !matches!(status, 307 | 308) {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = Bytes::new();
            }
            url = next;
        }
        response.redirects = redirects;
        response.url = Some(url);
        if self.connectors.options.decompress {
            response.decode(request.max_body)?;
        }
        Ok(())
    }

    async fn exchange(
        &mut self,
        method: &Method,
        url: &TargetUrl,
        body: &Bytes,
        // Its headers and TLS profile: a redirect changes only the method,
        // URL and body.
        request: &Request,
        cookies: &mut dyn CookieStore,
        sink: &mut Collect<'_>,
    ) -> Result<(), ErrorKind> {
        let cookie = cookies.cookie_header(url);
        if request.http2 {
            return self
                .exchange_h2(method, url, body, request, cookie.as_deref(), sink)
                .await;
        }
        encode_h1(
            &mut self.encoded,
            method,
            url,
            &request.headers,
            body,
            cookie.as_deref(),
            self.connectors.options.decompress,
        );
        let tls = request.tls;
        let route = self.connectors.options.route(request.proxy);
        // A plain http request through a proxy is forwarded to it whole.
        let forward = match route {
            Some(id) if !url.scheme.is_tls() => self.connectors.options.proxies.get(id),
            _ => None,
        };
        if let Some(proxy) = forward {
            super::proxy::to_absolute_form(&mut self.encoded, url, proxy);
        }
        let forwarded = forward.is_some();
        let key = (url.scheme, url.host.clone(), url.port, tls, false, route);
        sink.response.bytes_sent = self.encoded.len() as u64;
        // One retry, for a keep-alive connection the server closed while idle.
        for _ in 0..2 {
            // The connection is taken out of the pool for the exchange and put
            // back only when it completes and may be reused: if the caller
            // drops this future (a timeout), the half-used connection goes
            // with it instead of being reused mid-response.
            let mut conn = match self.connections.iter().position(|(k, _)| *k == key) {
                Some(i) => self.connections.swap_remove(i).1,
                None => {
                    let connector = self
                        .connectors
                        .get(url, tls, false, request.proxy, false)
                        .await?;
                    let stream = connector.connect(self.connects).await?;
                    self.connects += 1;
                    H1Connection::new(stream)
                }
            };
            let result = conn
                .exchange(&self.encoded, *method == Method::HEAD, &mut *sink)
                .await;
            match result {
                Ok(r) => {
                    if conn.is_reusable() {
                        self.connections.push((key, conn));
                    }
                    sink.response.bytes_received = r.bytes_received;
                    // Through a forwarding proxy, a 407 is the proxy's
                    // refusal, not the target's answer.
                    if forwarded && r.status == 407 {
                        return Err(crate::http::failure_reason::note(
                            ErrorKind::ProxyAuth,
                            "the proxy answered 407 Proxy Authentication Required",
                        ));
                    }
                    return Ok(());
                }
                // The server closed the idle connection: try a new one.
                Err(H1Error::Stale) => {}
                Err(H1Error::Failed {
                    kind,
                    bytes_received,
                }) => {
                    sink.response.bytes_received = bytes_received;
                    return Err(kind);
                }
            }
        }
        Err(ErrorKind::Closed)
    }
}

impl Session {
    /// One exchange over the origin's HTTP/2 connection (opened, or awaited
    /// while another request opens it, the first time); a connection found
    /// closed is replaced once.
    async fn exchange_h2(
        &mut self,
        method: &Method,
        url: &TargetUrl,
        body: &Bytes,
        request: &Request,
        cookie: Option<&str>,
        sink: &mut Collect<'_>,
    ) -> Result<(), ErrorKind> {
        let route = self.connectors.options.route(request.proxy);
        let key = (
            url.scheme,
            url.host.clone(),
            url.port,
            request.tls,
            true,
            route,
        );
        sink.response.bytes_sent = body.len() as u64;
        for _ in 0..2 {
            let cell = self.h2.cell(&key);
            let attempt = self.connects;
            let connectors = &self.connectors;
            let opened = cell
                .get_or_try_init(|| async {
                    // Through a proxy, HTTP/2 always takes a tunnel (h2c
                    // with prior knowledge too: a proxy forwards HTTP/1.1).
                    let connector = connectors
                        .get(url, request.tls, true, request.proxy, true)
                        .await?;
                    h2::handshake(connector.connect(attempt).await?).await
                })
                .await;
            let mut sender = match opened {
                Ok(sender) => sender.clone(),
                Err(kind) => {
                    // Not kept: the next request tries to connect again.
                    self.h2.forget(&key, &cell);
                    return Err(kind);
                }
            };
            if sender.is_closed() {
                self.h2.forget(&key, &cell);
                continue;
            }
            self.connects += 1;
            let h2_request = h2_request(
                method,
                url,
                &request.headers,
                body,
                cookie,
                self.connectors.options.decompress,
            )?;
            let outcome = {
                // Both callbacks write to the sink, one after the other.
                let shared_sink = RefCell::new(&mut *sink);
                h2::exchange_with_head(
                    &mut sender,
                    h2_request,
                    |status, headers| shared_sink.borrow_mut().h2_head(status, headers),
                    |chunk| shared_sink.borrow_mut().body(chunk),
                )
                .await
            };
            return match outcome {
                Ok(bytes) => {
                    sink.response.bytes_received = bytes;
                    Ok(())
                }
                Err(kind) => {
                    if sender.is_closed() {
                        self.h2.forget(&key, &cell);
                    }
                    Err(kind)
                }
            };
        }
        Err(ErrorKind::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> TargetUrl {
        TargetUrl::parse(s).unwrap()
    }

    #[test]
    fn encodes_cookies_and_accept_encoding() {
        let mut out = Vec::new();
        let headers = vec![(
            HeaderName::from_static("cookie"),
            HeaderValue::from_static("a=1"),
        )];
        encode_h1(
            &mut out,
            &Method::POST,
            &url("http://h/p"),
            &headers,
            &Bytes::from_static(b"xy"),
            Some("s=2"),
            true,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("POST /p HTTP/1.1\r\nhost: h\r\n"),
            "{text}"
        );
        assert!(text.contains("accept-encoding: gzip, deflate\r\n"));
        assert!(text.contains("cookie: a=1; s=2\r\n"));
        assert_eq!(text.matches("cookie:").count(), 1);
        assert!(text.ends_with("content-length: 2\r\n\r\nxy"));
    }

    #[test]
    fn bodies_are_kept_up_to_max_body() {
        use std::io::Write;
        let mut r = FinalResponse::default();
        let mut sink = Collect {
            response: &mut r,
            max_body: 5,
        };
        sink.head(200, &[]);
        sink.body(b"abc");
        sink.body(b"defgh");
        assert_eq!((r.body.as_slice(), r.body_truncated), (&b"abcde"[..], true));

        // A small gzip body that expands past the limit: decoded up to it.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b'0'; 10 << 20]).unwrap();
        let mut bomb = FinalResponse {
            headers: vec![("content-encoding".into(), "gzip".into())],
            body: gz.finish().unwrap(),
            ..FinalResponse::default()
        };
        bomb.decode(1 << 20).unwrap();
        assert_eq!((bomb.body.len(), bomb.body_truncated), (1 << 20, true));
    }
}
