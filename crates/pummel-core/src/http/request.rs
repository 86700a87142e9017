//! A request to send, in the forms the HTTP/1.1 and HTTP/2 clients need.

pub use bytes::Bytes;
pub(crate) use http::header::{HeaderName, HeaderValue};
pub use http::Method;
use http_body_util::Full;

use super::target::TargetUrl;

/// The `User-Agent` pummel sends unless told otherwise.
pub(crate) const USER_AGENT: &str = concat!("pummel/", env!("CARGO_PKG_VERSION"));

/// A fully specified request.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub method: Method,
    pub url: TargetUrl,
    /// Headers in the order given; a `Host` here replaces the URL's.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// A header given as `Name: value` that is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid header {given:?}: {reason}")]
pub struct HeaderError {
    pub given: String,
    pub reason: &'static str,
}

/// Parses `Name: value` (as `-H` takes it).
pub fn parse_header(given: &str) -> Result<(HeaderName, HeaderValue), HeaderError> {
    let err = |reason| HeaderError {
        given: given.to_owned(),
        reason,
    };
    let (name, value) = given
        .split_once(':')
        .ok_or_else(|| err("expected 'Name: value'"))?;
    let name =
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| err("invalid header name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| err("invalid header value"))?;
    Ok((name, value))
}

impl RequestSpec {
    fn has_header(&self, name: &HeaderName) -> bool {
        self.headers.iter().any(|(n, _)| n == name)
    }

    /// The complete HTTP/1.1 request, encoded once and sent as is.
    pub(crate) fn encode_h1(&self) -> Bytes {
        let mut out = Vec::with_capacity(256 + self.body.len());
        encode_h1(
            &mut out,
            &self.method,
            &self.url,
            &self.headers,
            &self.body,
            None,
            false,
        );
        Bytes::from(out)
    }

    /// The request for hyper's HTTP/2 client (absolute URI: hyper derives
    /// the `:scheme` and `:authority` pseudo-headers from it).
    pub(crate) fn to_h2(&self) -> http::Request<Full<Bytes>> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(self.url.absolute())
            .version(http::Version::HTTP_2);
        if !self.has_header(&http::header::USER_AGENT) {
            builder = builder.header(http::header::USER_AGENT, USER_AGENT);
        }
        for (name, value) in &self.headers {
            // Connection-specific headers are forbidden in HTTP/2; Host is
            // carried by :authority.
            if matches!(
                name.as_str(),
                "connection"
                    | "keep-alive"
                    | "transfer-encoding"
                    | "upgrade"
                    | "host"
                    | "proxy-connection"
            ) {
                continue;
            }
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(self.body.clone()))
            .expect("method, URI and headers were validated when parsed")
    }

    /// A HEAD request's response has no body, whatever its headers say.
    pub(crate) fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// Encodes an HTTP/1.1 request into `out` (cleared first): the request
/// line, `Host`, `User-Agent` and `Accept` unless `headers` set them, the
/// headers (never a `Content-Length` or `Transfer-Encoding` of their own:
/// the body's length is what is sent), `cookie` merged with a `Cookie`
/// header, `Accept-Encoding: gzip, deflate` when `accept_compressed`, and
/// the body.
pub(crate) fn encode_h1(
    out: &mut Vec<u8>,
    method: &Method,
    url: &TargetUrl,
    headers: &[(HeaderName, HeaderValue)],
    body: &Bytes,
    cookie: Option<&str>,
    accept_compressed: bool,
) {
    let has = |name: &HeaderName| headers.iter().any(|(n, _)| n == name);
    let push = |out: &mut Vec<u8>, name: &str, value: &[u8]| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    out.clear();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(url.path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !has(&http::header::HOST) {
        push(out, "host", url.authority.as_bytes());
    }
    if !has(&http::header::USER_AGENT) {
        push(out, "user-agent", USER_AGENT.as_bytes());
    }
    if !has(&http::header::ACCEPT) {
        push(out, "accept", b"*/*");
    }
    if accept_compressed && !has(&http::header::ACCEPT_ENCODING) {
        push(out, "accept-encoding", b"gzip, deflate");
    }
    for (name, value) in headers {
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        if name == http::header::COOKIE && cookie.is_some() {
            continue;
        }
        push(out, name.as_str(), value.as_bytes());
    }
    if let Some(jar) = cookie {
        match headers.iter().find(|(n, _)| n == http::header::COOKIE) {
            Some((_, own)) => {
                let mut merged = own.as_bytes().to_vec();
                merged.extend_from_slice(b"; ");
                merged.extend_from_slice(jar.as_bytes());
                push(out, "cookie", &merged);
            }
            None => push(out, "cookie", jar.as_bytes()),
        }
    }
    if !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        push(out, "content-length", body.len().to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: Method, headers: &[&str], body: &str) -> RequestSpec {
        RequestSpec {
            method,
            url: TargetUrl::parse("http://127.0.0.1:8080/p?q=1").unwrap(),
            headers: headers.iter().map(|h| parse_header(h).unwrap()).collect(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn encodes_a_get_with_defaults() {
        let wire = spec(Method::GET, &[], "").encode_h1();
        assert_eq!(
            std::str::from_utf8(&wire).unwrap(),
            format!("GET /p?q=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nuser-agent: {USER_AGENT}\r\naccept: */*\r\n\r\n")
        );
    }

    #[test]
    fn user_headers_replace_defaults_and_bodies_get_a_length() {
        let wire = spec(
            Method::POST,
            &["Host: example", "X-A: 1", "Content-Length: 99"],
            "abc",
        )
        .encode_h1();
        let text = std::str::from_utf8(&wire).unwrap();
        assert!(text.starts_with("POST /p?q=1 HTTP/1.1\r\nuser-agent"));
        assert!(text.contains("host: example\r\n"));
        assert!(text.contains("x-a: 1\r\n"));
        assert!(text.ends_with("content-length: 3\r\n\r\nabc"));
        assert!(!text.contains("99"));
        let wire = spec(Method::PUT, &[], "").encode_h1();
        assert!(std::str::from_utf8(&wire)
            .unwrap()
            .contains("content-length: 0\r\n"));
    }

    #[test]
    fn header_parsing_errors() {
        assert!(parse_header("NoColon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("X: bad\nvalue").is_err());
        let (n, v) = parse_header("X-Token:  abc ").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-token", "abc"));
    }

    #[test]
    fn h2_request_drops_connection_headers() {
        let req = spec(Method::GET, &["Connection: close", "X-B: 2"], "").to_h2();
        assert_eq!(req.uri().to_string(), "http://127.0.0.1:8080/p?q=1");
        assert!(req.headers().get("connection").is_none());
        assert_eq!(req.headers().get("x-b").unwrap(), "2");
    }
}
