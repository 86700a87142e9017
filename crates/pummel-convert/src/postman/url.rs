//! URLs as Postman writes them: the variable a URL starts with (`{{baseUrl}}/api/apps`), the
//! `http://` Postman puts before a URL that has no scheme (`localhost:3000/api`), and query text,
//! which Postman keeps as it is sent (`q=a%20b`).

use super::syntax::{self, Part};

/// The `{{name}}` a URL starts with, and the rest of the URL after it.
pub(crate) fn leading_variable(url: &str) -> Option<(&str, &str)> {
    let inner = url.strip_prefix("{{")?;
    let close = inner.find("}}")?;
    let name = inner[..close].trim();
    if name.is_empty() || name.contains(['{', '}']) {
        return None;
    }
    Some((name, &inner[close + 2..]))
}

/// Whether what follows a leading variable is a path under it (`/api`, `?q=1`, nothing) rather
/// than more of its host (`{{host}}:8080/api`): only then is the variable a base URL.
pub(crate) fn is_under_base(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with(['/', '?', '#'])
}

/// A variable's value as a base URL (no trailing `/`): an `http(s)://` URL as it is, a host with
/// its port or path as Postman sends it (with `http://`); `None` for anything else (a path, a
/// value made of other variables).
pub(crate) fn base_url(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('/');
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(value.to_owned());
    }
    lacks_scheme(value).then(|| format!("http://{value}"))
}

/// Whether a URL starting with this value is one Postman prefixes with `http://`: a host, with a
/// port or a path or not (`localhost:3000`, `api.example.com/v1`, `[::1]:8080`).
pub(crate) fn lacks_scheme(value: &str) -> bool {
    let value = value.trim();
    value.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '[')
        && !value.contains("://")
        && !value.contains("{{")
        && !value.contains(char::is_whitespace)
}

/// `%XX` escapes decoded; `None` when a `%` escapes nothing (the decoder would keep it, and
/// `query:` would then send `%25`) or the bytes are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let stray = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if stray {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?;
    Some(decoded.into_owned())
}

/// Whether query text (a name or a value, `{{var}}` references aside) decodes to exactly what
/// it sends once `query:` encodes it again: no `+`, no `%` that escapes nothing.
pub(crate) fn query_text_decodes(text: &str) -> bool {
    syntax::parts(text).iter().all(|part| match part {
        Part::Lit(lit) => !lit.contains('+') && percent_decode(lit).is_some(),
        Part::Var(_) => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_variables_and_bases() {
        assert_eq!(
            leading_variable("{{ baseUrl }}/api"),
            Some(("baseUrl", "/api"))
        );
        assert_eq!(leading_variable("http://{{host}}/"), None);
        assert!(is_under_base("/x") && is_under_base("") && !is_under_base(":8080/x"));
        assert_eq!(
            base_url("https://api.example.com/v1/").as_deref(),
            Some("https://api.example.com/v1")
        );
        assert_eq!(
            base_url("localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(base_url("/api"), None);
        assert_eq!(base_url("{{host}}/api"), None);
        assert_eq!(base_url("ftp://files"), None);
        assert_eq!(base_url(""), None);
    }

    #[test]
    fn query_text() {
        assert_eq!(percent_decode("a%20b%3A").as_deref(), Some("a b:"));
        assert_eq!(percent_decode("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(percent_decode("100%"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert!(query_text_decodes("{{q}}%20x"));
        assert!(!query_text_decodes("a+b"));
        assert!(!query_text_decodes("50%off"));
    }
}
