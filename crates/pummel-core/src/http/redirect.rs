//! Following redirects: which statuses redirect, and where a `Location`
//! header points, resolved against the URL that sent it as a browser does.

use super::target::TargetUrl;

/// Whether `status` redirects (and a `Location` is to be followed).
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Resolves a `Location` header against the URL that sent it.
pub(crate) fn resolve_location(base: &TargetUrl, location: &str) -> Option<TargetUrl> {
    let location = location.trim();
    if location.contains("://") {
        return TargetUrl::parse(location).ok();
    }
    if let Some(rest) = location.strip_prefix("//") {
        return TargetUrl::parse(&format!("{}://{rest}", base.scheme.as_str())).ok();
    }
    let path_and_query = if location.starts_with('/') {
        location.to_owned()
    } else if location.starts_with('?') {
        let path = base.path_and_query.split('?').next().unwrap_or("/");
        format!("{path}{location}")
    } else {
        let path = base.path_and_query.split('?').next().unwrap_or("/");
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}")
    };
    Some(TargetUrl {
        path_and_query: normalize_dots(&path_and_query),
        ..base.clone()
    })
}

/// Removes `.` and `..` segments from a path (RFC 3986 §5.2.4).
fn normalize_dots(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut result = String::from("/");
    result.push_str(&out.join("/"));
    if let Some(q) = query {
        result.push('?');
        result.push_str(q);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Scheme;

    fn url(s: &str) -> TargetUrl {
        TargetUrl::parse(s).unwrap()
    }

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = url("http://h:8080/a/b/c?x=1");
        assert_eq!(resolve_location(&base, "/z").unwrap().path_and_query, "/z");
        assert_eq!(
            resolve_location(&base, "d").unwrap().path_and_query,
            "/a/b/d"
        );
        assert_eq!(
            resolve_location(&base, "../d?q").unwrap().path_and_query,
            "/a/d?q"
        );
        assert_eq!(
            resolve_location(&base, "?y=2").unwrap().path_and_query,
            "/a/b/c?y=2"
        );
        assert_eq!(
            resolve_location(&base, "./").unwrap().path_and_query,
            "/a/b/"
        );
        let abs = resolve_location(&base, "https://other/p").unwrap();
        assert_eq!(
            (abs.scheme, abs.host.as_str(), abs.path_and_query.as_str()),
            (Scheme::Https, "other", "/p")
        );
        let proto_rel = resolve_location(&base, "//else:9/q").unwrap();
        assert_eq!((proto_rel.host.as_str(), proto_rel.port), ("else", 9));
        assert_eq!(
            resolve_location(&base, "/../../x").unwrap().path_and_query,
            "/x"
        );
    }
}
