//! Requests through an HTTP proxy (`proxy:` in a scenario, `--proxy` on the
//! command line).
//!
//! Two ways through, as curl does them:
//! - a plain `http://` request is *forwarded*: the connection goes to the
//!   proxy and the request line names the whole URL (absolute form,
//!   `GET http://host:port/path HTTP/1.1`), so the proxy sees, logs and
//!   filters each request as it would a browser's;
//! - anything the proxy cannot read (`https://`, a WebSocket, HTTP/2 with
//!   prior knowledge) goes through a *tunnel*: `CONNECT host:port`, then the
//!   TLS handshake (with the origin's name, never the proxy's) or the
//!   upgrade inside it.
//!
//! Either way the proxy's credentials travel as `Proxy-Authorization:
//! Basic`. A proxy that wants credentials answers 407: counted as
//! [`ErrorKind::ProxyAuth`]; one that will not open the tunnel (403, 502 …)
//! as [`ErrorKind::ProxyRefused`]. Neither ends the run.

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::failure_reason;
use super::target::TargetUrl;
use crate::ErrorKind;

/// A proxy's index in the plan's list of proxies.
pub(crate) type ProxyId = usize;

/// Which proxy a request goes through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum ProxySetting {
    /// The run's default (the command line's `--proxy`, else
    /// `defaults.proxy`, else none).
    #[default]
    Inherit,
    /// Straight to the target, whatever the default (`proxy: false`).
    Direct,
    /// Through this one of the plan's proxies.
    Via(ProxyId),
}

/// An HTTP proxy: where it listens and the credentials it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// Host name or IP literal, without brackets.
    pub host: String,
    pub port: u16,
    /// The `Proxy-Authorization` value (`Basic …`), when the URL names a
    /// user.
    authorization: Option<String>,
}

/// The credentials never show in logs or messages.
impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// `http://host:port`, with `user:***@` when there are credentials.
impl std::fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = if self.authorization.is_some() {
            "***@"
        } else {
            ""
        };
        write!(f, "http://{auth}{}", self.host_port())
    }
}

/// Why a URL cannot be a proxy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProxyUrlError {
    #[error("invalid proxy URL {url:?}: {reason}")]
    Invalid { url: String, reason: String },
    #[error(
        "unsupported proxy scheme {scheme:?} in {url:?}: pummel speaks to HTTP proxies \
         (http://[user:password@]host:port), which tunnel https with CONNECT"
    )]
    Scheme { url: String, scheme: String },
}

impl ProxyUrl {
    /// Parses `http://[user[:password]@]host:port`. The port must be given
    /// (proxies listen on no standard one); `%XX` escapes in the user and
    /// password are decoded, as curl does.
    pub fn parse(url: &str) -> Result<ProxyUrl, ProxyUrlError> {
        let shown = redacted(url);
        let invalid = |reason: &str| ProxyUrlError::Invalid {
            url: shown.clone(),
            reason: reason.to_owned(),
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid("expected http://host:port"));
        };
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(ProxyUrlError::Scheme {
                url: shown.clone(),
                scheme: scheme.to_owned(),
            });
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid("a proxy URL has no path: write http://host:port"));
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let parsed: http::uri::Authority = host_port
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        let host = parsed
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        // Read strictly: `http::Uri` takes a port it cannot fit in a `u16`
        // (`:99999`) for no port at all.
        let host_end = host_port.rfind(']').map_or(0, |i| i + 1);
        let port =
            match host_port[host_end..].rfind(':') {
                None => return Err(invalid(
                    "the port is missing: proxies listen on no standard port (http://host:3128)",
                )),
                Some(colon) => {
                    let text = &host_port[host_end + colon + 1..];
                    match text.parse::<u16>() {
                        Ok(n) if n > 0 && text.bytes().all(|b| b.is_ascii_digit()) => n,
                        _ => return Err(invalid("the port is not a number from 1 to 65535")),
                    }
                }
            };
        let authorization = match userinfo {
            None => None,
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                let user = percent_decode(user)
                    .ok_or_else(|| invalid("the user name has a bad %XX escape"))?;
                let password = percent_decode(password)
                    .ok_or_else(|| invalid("the password has a bad %XX escape"))?;
                if user.is_empty() {
                    return Err(invalid("credentials without a user name"));
                }
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(format!("Basic {token}"))
            }
        };
        Ok(ProxyUrl {
            host,
            port,
            authorization,
        })
    }

    /// `host:port`, an IPv6 address in brackets.
    fn host_port(&self) -> String {
        authority(&self.host, self.port)
    }

    /// Resolves the proxy's host; an unknown host is reported before the
    /// run starts.
    pub(crate) async fn resolve(&self) -> std::io::Result<Vec<std::net::SocketAddr>> {
        let addrs: Vec<_> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await?
            .collect();
        if addrs.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} resolved to no address", self.host),
            ));
        }
        Ok(addrs)
    }
}

/// `host:port` as a request line and `Host` header write it.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The URL with any password replaced, for messages.
fn redacted(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..start], &url[start + at + 1..]),
        None => url.to_owned(),
    }
}

/// Decodes `%XX` escapes; `None` for a malformed one or text that is not
/// UTF-8 once decoded.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Rewrites an encoded HTTP/1.1 request (from `encode_h1`) for a forwarding
/// proxy: the request line takes the absolute URL, and the proxy's
/// credentials follow it. Only proxied requests pay for this.
pub(crate) fn to_absolute_form(encoded: &mut Vec<u8>, url: &TargetUrl, proxy: &ProxyUrl) {
    let Some(space) = encoded.iter().position(|&b| b == b' ') else {
        return;
    };
    let prefix = format!("{}://{}", url.scheme.as_str(), url.authority);
    encoded.splice(space + 1..space + 1, prefix.bytes());
    if let Some(auth) = &proxy.authorization {
        if let Some(eol) = encoded.windows(2).position(|w| w == b"\r\n") {
            let header = format!("proxy-authorization: {auth}\r\n");
            encoded.splice(eol + 2..eol + 2, header.bytes());
        }
    }
}

/// The most bytes of a proxy's answer to `CONNECT` that are read: a status
/// line and a few headers; more is not a proxy speaking HTTP.
const MAX_CONNECT_RESPONSE: usize = 16 << 10;

/// Asks the proxy on `tcp` for a tunnel to `host:port` and reads its answer.
/// On success `tcp` carries bytes to and from the target.
pub(crate) async fn open_tunnel(
    tcp: &mut TcpStream,
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
) -> Result<(), ErrorKind> {
    let target = authority(host, port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n");
    if let Some(auth) = &proxy.authorization {
        request.push_str("proxy-authorization: ");
        request.push_str(auth);
        request.push_str("\r\n");
    }
    request.push_str("user-agent: ");
    request.push_str(super::request::USER_AGENT);
    request.push_str("\r\n\r\n");
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| super::io_error::kind_of(&e))?;
    let mut answer = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|e| super::io_error::kind_of(&e))?;
        if n == 0 {
            return Err(failure_reason::note(
                ErrorKind::ProxyRefused,
                "the proxy closed the connection instead of answering CONNECT",
            ));
        }
        answer.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&answer) {
            Ok(httparse::Status::Partial) if answer.len() < MAX_CONNECT_RESPONSE => {}
            Ok(httparse::Status::Complete(head)) => {
                return judge(response.code.unwrap_or(0), answer.len() > head)
            }
            _ => {
                return Err(failure_reason::note(
                    ErrorKind::ProxyRefused,
                    "the proxy's answer to CONNECT is not HTTP",
                ))
            }
        }
    }
}

/// What the proxy's answer to `CONNECT` means. `extra` says bytes followed
/// the answer's head: a tunnel's target never speaks before the client.
fn judge(status: u16, extra: bool) -> Result<(), ErrorKind> {
    let reason = match status {
        200..=299 if !extra => return Ok(()),
        200..=299 => "the proxy sent bytes after opening the tunnel, before the client spoke",
        407 => {
            return Err(failure_reason::note(
                ErrorKind::ProxyAuth,
                "the proxy answered 407 Proxy Authentication Required",
            ))
        }
        // Only the proxy answers CONNECT: a 401 is its refusal of the
        // credentials (tinyproxy answers wrong ones so).
        401 => {
            return Err(failure_reason::note(
                ErrorKind::ProxyAuth,
                "the proxy answered CONNECT with 401",
            ))
        }
        403 => "the proxy forbids a tunnel to this host or port (403)",
        502 => "the proxy could not reach the target (502 Bad Gateway)",
        503 => "the proxy is unavailable (503)",
        504 => "the proxy timed out reaching the target (504)",
        400..=499 => "the proxy refused CONNECT with a 4xx status",
        500..=599 => "the proxy failed CONNECT with a 5xx status",
        _ => "the proxy answered CONNECT with an unexpected status",
    };
    Err(failure_reason::note(ErrorKind::ProxyRefused, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proxies_and_their_credentials() {
        let p = ProxyUrl::parse("http://127.0.0.1:3128").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.authorization),
            ("127.0.0.1", 3128, None)
        );
        let p = ProxyUrl::parse("HTTP://al%40ice:s%3Acret@[::1]:8888/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 8888));
        // base64("al@ice:s:cret")
        assert_eq!(
            p.authorization.as_deref(),
            Some("Basic YWxAaWNlOnM6Y3JldA==")
        );
        assert_eq!(p.to_string(), "http://***@[::1]:8888");
        assert!(!format!("{p:?}").contains("cret"));
    }

    #[test]
    fn refuses_what_is_not_an_http_proxy_without_echoing_passwords() {
        let e = ProxyUrl::parse("socks5://u:hunter2@127.0.0.1:1080").unwrap_err();
        assert!(matches!(&e, ProxyUrlError::Scheme { scheme, .. } if scheme == "socks5"));
        assert!(!e.to_string().contains("hunter2"), "{e}");
        for (url, why) in [
            ("127.0.0.1:3128", "expected http://"),
            ("http://127.0.0.1", "port is missing"),
            ("http://127.0.0.1:0", "1 to 65535"),
            ("http://127.0.0.1:99999", "1 to 65535"),
            ("http://127.0.0.1:3128/path", "no path"),
            ("http://:3128", "no host"),
            ("http://u:p%zz@127.0.0.1:3128", "bad %XX"),
        ] {
            let e = ProxyUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
        assert!(matches!(
            ProxyUrl::parse("https://127.0.0.1:3128"),
            Err(ProxyUrlError::Scheme { .. })
        ));
    }

    #[test]
    fn forwarded_requests_name_the_whole_url_and_carry_credentials() {
        let url = TargetUrl::parse("http://127.0.0.1:8080/a?b=1").unwrap();
        let proxy = ProxyUrl::parse("http://u:p@127.0.0.1:3128").unwrap();
        let mut out = Vec::new();
        super::super::request::encode_h1(
            &mut out,
            &http::Method::GET,
            &url,
            &[],
            &bytes::Bytes::new(),
            None,
            false,
        );
        to_absolute_form(&mut out, &url, &proxy);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "GET http://127.0.0.1:8080/a?b=1 HTTP/1.1\r\nproxy-authorization: Basic dTpw\r\nhost: 127.0.0.1:8080\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn connect_answers_are_judged() {
        assert_eq!(judge(200, false), Ok(()));
        assert_eq!(judge(200, true), Err(ErrorKind::ProxyRefused));
        assert_eq!(judge(407, false), Err(ErrorKind::ProxyAuth));
        assert_eq!(judge(401, false), Err(ErrorKind::ProxyAuth));
        assert_eq!(judge(403, false), Err(ErrorKind::ProxyRefused));
        assert_eq!(judge(502, false), Err(ErrorKind::ProxyRefused));
    }
}
