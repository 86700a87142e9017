//! Where requests go: a parsed, validated target URL.

use std::net::SocketAddr;

/// The URL scheme of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A target URL, split into the parts a client needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUrl {
    pub scheme: Scheme,
    /// Host name or IP literal, without brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, always starting with `/`.
    pub path_and_query: String,
    /// The `Host` header value: host, with the port when it is not the default.
    pub authority: String,
}

/// Why a URL cannot be a target.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("invalid URL {url:?}: {reason}")]
    Invalid { url: String, reason: String },
    #[error("unsupported scheme {scheme:?} in {url:?} (expected http or https)")]
    Scheme { url: String, scheme: String },
    #[error("URL {url:?} has no host")]
    NoHost { url: String },
    /// The port is not a number from 1 to 65535. Load must go exactly where
    /// the user named, or nowhere: never to a default port instead.
    #[error("invalid port {port:?} in URL {url:?} at column {column}: a port is a number from 1 to 65535")]
    Port {
        url: String,
        port: String,
        /// 1-based column of the port's first character in the URL.
        column: usize,
    },
}

/// The URL as an error message quotes it: a 100 KB URL (refused for its
/// length) is named by its start and its size, not echoed whole.
fn shown(url: &str) -> String {
    const SHOWN: usize = 200;
    match url.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} bytes)", &url[..cut], url.len()),
        None => url.to_owned(),
    }
}

impl TargetUrl {
    pub fn parse(url: &str) -> Result<TargetUrl, UrlError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| UrlError::Invalid {
                url: shown(url),
                reason: e.to_string(),
            })?;
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(s) => {
                return Err(UrlError::Scheme {
                    url: shown(url),
                    scheme: s.to_owned(),
                })
            }
            None => {
                return Err(UrlError::Invalid {
                    url: shown(url),
                    reason: "expected an absolute URL such as http://127.0.0.1:8080/".into(),
                })
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| UrlError::NoHost { url: shown(url) })?;
        if authority.as_str().contains('@') {
            return Err(UrlError::Invalid {
                url: shown(url),
                reason: "credentials in the URL are not supported; use a header".into(),
            });
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(UrlError::NoHost { url: shown(url) });
        }
        let default_port = if scheme.is_tls() { 443 } else { 80 };
        let port = explicit_port(url, authority)?.unwrap_or(default_port);
        // The `Host` header names the port only when it is not the default.
        let authority = if port == default_port {
            authority.host()
        } else {
            authority.as_str()
        }
        .to_owned();
        let path_and_query = uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .filter(|pq| !pq.is_empty())
            .unwrap_or("/");
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query.to_owned()
        } else {
            format!("/{path_and_query}")
        };
        Ok(TargetUrl {
            scheme,
            host,
            port,
            path_and_query,
            authority,
        })
    }

    /// The URL in absolute form (what HTTP/2 sends as :scheme/:authority/:path).
    pub fn absolute(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority,
            self.path_and_query
        )
    }

    /// Resolves the host to socket addresses. An unknown host is an error
    /// the user must fix, so it is reported before any load starts.
    pub(crate) async fn resolve(&self) -> std::io::Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
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

/// The port the authority names, checked strictly: `http::Uri` reads a port
/// it cannot fit in a `u16` (`:99999`, `:19100x`) as no port at all, which
/// would send the load to port 80. An empty port (`host:`) means the default.
fn explicit_port(url: &str, authority: &http::uri::Authority) -> Result<Option<u16>, UrlError> {
    let text = authority.as_str();
    // The port follows the last ':' that is not inside an IPv6 literal.
    let host_end = text.rfind(']').map_or(0, |i| i + 1);
    let Some(colon) = text[host_end..].rfind(':').map(|i| host_end + i) else {
        return Ok(None);
    };
    let port = &text[colon + 1..];
    if port.is_empty() {
        return Ok(None);
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(p)),
        _ => {
            let column = url.find(text).map_or(0, |start| start + colon + 1) + 1;
            Err(UrlError::Port {
                url: shown(url),
                port: port.to_owned(),
                column,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL refused for its length is quoted by its start and size: the
    /// message is not 100 KB long.
    #[test]
    fn a_long_url_is_not_echoed_whole() {
        let url = format!("http://127.0.0.1:1/{}", "a".repeat(100_000));
        let e = TargetUrl::parse(&url).unwrap_err().to_string();
        assert!(e.len() < 400, "{} bytes", e.len());
        assert!(e.contains("… (100019 bytes)"), "{e}");
        let e = TargetUrl::parse("http://127.0.0.1:99999/")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"http://127.0.0.1:99999/\" at column 18"),
            "{e}"
        );
    }

    #[test]
    fn parses_common_forms() {
        let t = TargetUrl::parse("http://127.0.0.1:8080/a/b?c=1").unwrap();
        assert_eq!(t.scheme, Scheme::Http);
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 8080);
        assert_eq!(t.path_and_query, "/a/b?c=1");
        assert_eq!(t.authority, "127.0.0.1:8080");

        let t = TargetUrl::parse("https://localhost").unwrap();
        assert_eq!(
            (t.port, t.path_and_query.as_str(), t.authority.as_str()),
            (443, "/", "localhost")
        );

        let t = TargetUrl::parse("http://[::1]:80/x").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.authority.as_str()),
            ("::1", 80, "[::1]")
        );
    }

    #[test]
    fn rejects_what_cannot_be_a_target() {
        assert!(matches!(
            TargetUrl::parse("ftp://x/"),
            Err(UrlError::Scheme { .. })
        ));
        assert!(matches!(
            TargetUrl::parse("localhost:80"),
            Err(UrlError::Scheme { .. } | UrlError::Invalid { .. })
        ));
        assert!(matches!(
            TargetUrl::parse("/just/a/path"),
            Err(UrlError::Invalid { .. })
        ));
        assert!(TargetUrl::parse("http://").is_err());
        assert!(matches!(
            TargetUrl::parse("http://u:p@host/"),
            Err(UrlError::Invalid { .. })
        ));
        assert!(TargetUrl::parse("not a url").is_err());
    }

    #[test]
    fn a_port_that_is_not_a_port_is_refused_never_defaulted() {
        for (url, port, column) in [
            ("http://127.0.0.1:99999/", "99999", 18),
            ("http://127.0.0.1:65536/", "65536", 18),
            ("http://127.0.0.1:19100x/", "19100x", 18),
            ("https://localhost:0/", "0", 19),
            ("http://[::1]:70000/", "70000", 14),
        ] {
            assert_eq!(
                TargetUrl::parse(url),
                Err(UrlError::Port {
                    url: shown(url),
                    port: port.to_owned(),
                    column
                }),
                "{url}"
            );
        }
        assert!(TargetUrl::parse("http://127.0.0.1:-1/").is_err());
        assert_eq!(
            TargetUrl::parse("http://127.0.0.1:65535/").unwrap().port,
            65535
        );
        assert_eq!(TargetUrl::parse("http://127.0.0.1:/").unwrap().port, 80);
    }
}
