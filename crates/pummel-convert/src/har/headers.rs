//! Which recorded request headers a scenario keeps: the ones the application reads
//! (`Authorization`, a non-default `Accept`, `Content-Type` where the body kind does not imply it,
//! custom headers such as `X-CSRF-Token`), not the browser's own (`User-Agent`, `Sec-*`,
//! `Accept-Encoding`, caching and connection headers), and never `Cookie`: each virtual user's
//! jar sends its own cookies.

/// Headers a browser sends by itself, which say nothing about the application.
const BROWSER_NOISE: [&str; 22] = [
    "accept-encoding",
    "accept-language",
    "cache-control",
    "connection",
    "content-length",
    "cookie",
    "dnt",
    "host",
    "if-modified-since",
    "if-none-match",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "keep-alive",
    "origin",
    "pragma",
    "priority",
    "purpose",
    "referer",
    "te",
    "upgrade-insecure-requests",
    "user-agent",
];

/// Whether to keep a request header, given its lower-case name and value.
pub(crate) fn keep(name: &str, value: &str) -> bool {
    if name.starts_with(':') || name.starts_with("sec-") || name.starts_with("proxy-") {
        return false;
    }
    if BROWSER_NOISE.contains(&name) || name == "upgrade" || name == "via" {
        return false;
    }
    if name == "accept" {
        return !is_default_accept(value);
    }
    true
}

/// `Accept` values browsers send on their own for navigations, sub-resources and `fetch`.
fn is_default_accept(value: &str) -> bool {
    let v = value.trim();
    v == "*/*"
        || v.starts_with("text/html,")
        || v.starts_with("image/")
        || v.starts_with("text/css")
        || v.starts_with("application/signed-exchange")
}

#[cfg(test)]
mod tests {
    use super::keep;

    #[test]
    fn noise_goes_application_headers_stay() {
        assert!(!keep("user-agent", "Mozilla/5.0"));
        assert!(!keep("sec-ch-ua", "x"));
        assert!(!keep("cookie", "a=b"));
        assert!(!keep(":authority", "x"));
        assert!(!keep("accept", "text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!keep("accept", "*/*"));
        assert!(keep("accept", "application/json"));
        assert!(keep("authorization", "Bearer x"));
        assert!(keep("x-csrf-token", "t"));
        assert!(keep("content-type", "application/json"));
    }
}
