//! Just enough URL handling for HAR entries: split an absolute `http(s)` URL into origin, path and
//! query, and resolve a redirect's `Location` against it.

/// An absolute HTTP(S) URL, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) scheme: String,
    /// Lower-case host, IPv6 in brackets.
    pub(crate) host: String,
    /// The port, or the scheme's default.
    pub(crate) port: u16,
    /// Whether the URL named the port.
    explicit_port: bool,
    /// The path, starting with `/`.
    pub(crate) path: String,
    /// The query after `?`, without it.
    pub(crate) query: Option<String>,
}

impl Address {
    /// `None` for anything but an absolute `http:`/`https:` URL.
    pub(crate) fn parse(url: &str) -> Option<Address> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let rest = rest.split('#').next().unwrap_or("");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let after = &rest[end..];
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => (
                &authority[..i],
                Some(authority[i + 1..].parse::<u16>().ok()?),
            ),
            _ => (authority, None),
        };
        if host.is_empty() {
            return None;
        }
        let (path, query) = match after.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (after, None),
        };
        Some(Address {
            scheme,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(default_port),
            explicit_port: port.is_some_and(|p| p != default_port),
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
            query,
        })
    }

    /// `http://host:port` (the port only when it is not the default).
    pub(crate) fn origin(&self) -> String {
        if self.explicit_port {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        } else {
            format!("{}://{}", self.scheme, self.host)
        }
    }

    /// The URL without its query.
    pub(crate) fn without_query(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }

    /// Decoded query parameters, in order.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.as_deref().map_or_else(Vec::new, |q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
    }

    /// A `Location` resolved against this URL.
    pub(crate) fn join(&self, location: &str) -> Option<Address> {
        let location = location.trim();
        if location.contains("://") {
            return Address::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Address::parse(&format!("{}://{rest}", self.scheme));
        }
        let (path_part, query) = match location.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (location, None),
        };
        let path = if path_part.starts_with('/') {
            path_part.to_owned()
        } else if path_part.is_empty() {
            self.path.clone()
        } else {
            let dir = self.path.rfind('/').map_or("/", |i| &self.path[..=i]);
            format!("{dir}{path_part}")
        };
        Some(Address {
            path,
            query: query.or_else(|| path_part.is_empty().then(|| self.query.clone()).flatten()),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Address;

    #[test]
    fn split_and_join() {
        let a = Address::parse("HTTP://Example.com:8080/a/b?x=1&y=%20#frag").unwrap();
        assert_eq!(a.origin(), "http://example.com:8080");
        assert_eq!(a.path, "/a/b");
        assert_eq!(
            a.query_pairs(),
            vec![
                ("x".to_owned(), "1".to_owned()),
                ("y".to_owned(), " ".to_owned())
            ]
        );
        assert_eq!(Address::parse("https://h/").unwrap().origin(), "https://h");
        assert_eq!(
            Address::parse("https://h:443").unwrap().origin(),
            "https://h"
        );
        assert_eq!(
            a.join("/c").unwrap().without_query(),
            "http://example.com:8080/c"
        );
        assert_eq!(
            a.join("c").unwrap().without_query(),
            "http://example.com:8080/a/c"
        );
        assert_eq!(a.join("https://o/z").unwrap().origin(), "https://o");
        assert!(Address::parse("data:text/plain,hi").is_none());
        assert_eq!(Address::parse("http://[::1]:9/x").unwrap().host, "[::1]");
    }
}
