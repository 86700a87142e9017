//! Captures: values taken from a response into a VU's variables.
//!
//! A capture that finds nothing leaves the variable as it was and is counted
//! as a failure (like a failed check) unless it is marked `optional`; a
//! later template using the variable then fails to render if it never had a
//! value.

use regex::Regex;
use serde_json_path::JsonPath;

use super::diagnostic::Span;
use super::response::{json_text, ResponseView};
use super::template::VarId;

/// One capture of a request step.
#[derive(Clone, Debug)]
pub(crate) struct Capture {
    /// The variable it sets.
    pub name: String,
    pub var: VarId,
    pub span: Span,
    pub source: CaptureSource,
    /// When true, finding nothing is not a failure.
    pub optional: bool,
}

/// Where a capture takes its value from.
#[derive(Clone, Debug)]
pub(crate) enum CaptureSource {
    /// The first node the path selects; strings as they are, other values
    /// as JSON text.
    JsonPath { path: JsonPath, source: String },
    /// The first match of the regex in the body: group `group` (1 by
    /// default when the regex has a group, else the whole match).
    Regex { regex: Regex, group: usize },
    /// The first response header of that name (lower-cased).
    Header(String),
    /// The value of the cookie of that name set by this response (the last
    /// `Set-Cookie` for it wins).
    Cookie(String),
    /// The first element a CSS selector selects: an attribute's value or
    /// its text.
    Css(super::css::CssQuery),
}

impl CaptureSource {
    /// Whether the value comes from the body (which may have been cut at
    /// `max_body`).
    pub(crate) fn reads_body(&self) -> bool {
        matches!(
            self,
            CaptureSource::JsonPath { .. } | CaptureSource::Regex { .. } | CaptureSource::Css(_)
        )
    }

    /// Appends the captured text to `out` (cleared by the caller, so a VU can
    /// reuse its variable's buffer). Returns false when nothing was found.
    pub(crate) fn extract_into(&self, response: &ResponseView<'_>, out: &mut String) -> bool {
        match self {
            CaptureSource::JsonPath { path, .. } => {
                let Some(node) = response.json().and_then(|j| path.query(j).first()) else {
                    return false;
                };
                out.push_str(&json_text(node));
                true
            }
            CaptureSource::Regex { regex, group } => {
                let text = response.text();
                let Some(m) = regex.captures(&text).and_then(|c| c.get(*group)) else {
                    return false;
                };
                out.push_str(m.as_str());
                true
            }
            CaptureSource::Css(query) => match query.first(&response.text()) {
                Some(v) => {
                    out.push_str(&v);
                    true
                }
                None => false,
            },
            CaptureSource::Header(name) => match response.header(name) {
                Some(v) => {
                    out.push_str(v);
                    true
                }
                None => false,
            },
            CaptureSource::Cookie(name) => {
                let found = response
                    .headers_named("set-cookie")
                    .filter_map(|h| {
                        let pair = h.split(';').next()?;
                        let (n, v) = pair.split_once('=')?;
                        (n.trim() == name).then(|| v.trim())
                    })
                    .last();
                match found {
                    Some(v) => {
                        out.push_str(v.trim_matches('"'));
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// The captured text, or `None`.
    #[cfg(test)]
    pub(crate) fn extract(&self, response: &ResponseView<'_>) -> Option<String> {
        let mut out = String::new();
        self.extract_into(response, &mut out).then_some(out)
    }

    #[cfg(test)]
    /// The captured value as JSON: the node itself for a JSONPath capture,
    /// a JSON string for the others.
    pub(crate) fn extract_json(&self, response: &ResponseView<'_>) -> Option<serde_json::Value> {
        match self {
            CaptureSource::JsonPath { path, .. } => {
                response.json().and_then(|j| path.query(j).first().cloned())
            }
            other => other.extract(response).map(serde_json::Value::String),
        }
    }

    /// A short description, e.g. `jsonpath $.id`.
    pub(crate) fn describe(&self) -> String {
        match self {
            CaptureSource::JsonPath { source, .. } => format!("jsonpath {source}"),
            CaptureSource::Regex { regex, .. } => format!("regex /{}/", regex.as_str()),
            CaptureSource::Header(h) => format!("header {h}"),
            CaptureSource::Cookie(c) => format!("cookie {c}"),
            CaptureSource::Css(q) => format!("css {}", q.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn response<'a>(headers: &'a [(String, String)], body: &'a str) -> ResponseView<'a> {
        ResponseView::new(200, headers, body.as_bytes(), Duration::ZERO)
    }

    #[test]
    fn captures_from_each_source() {
        let headers = vec![
            ("ETag".to_owned(), "\"v1\"".to_owned()),
            (
                "Set-Cookie".to_owned(),
                "session=abc; Path=/; HttpOnly".to_owned(),
            ),
            ("Set-Cookie".to_owned(), "theme=dark".to_owned()),
            ("Set-Cookie".to_owned(), "session=\"def\"".to_owned()),
        ];
        let body = r#"{"items": [{"id": 17, "name": "chess"}], "meta": {"n": 1}}"#;
        let r = response(&headers, body);
        let jp = |p: &str| CaptureSource::JsonPath {
            path: JsonPath::parse(p).unwrap(),
            source: p.into(),
        };
        assert_eq!(jp("$.items[0].id").extract(&r).as_deref(), Some("17"));
        assert_eq!(jp("$.items[0].name").extract(&r).as_deref(), Some("chess"));
        assert_eq!(jp("$.meta").extract(&r).as_deref(), Some(r#"{"n":1}"#));
        assert_eq!(
            jp("$.meta").extract_json(&r),
            Some(serde_json::json!({"n": 1}))
        );
        assert_eq!(jp("$.nope").extract(&r), None);
        let re = |p: &str, group| CaptureSource::Regex {
            regex: Regex::new(p).unwrap(),
            group,
        };
        assert_eq!(
            re(r#""name": "(\w+)""#, 1).extract(&r).as_deref(),
            Some("chess")
        );
        assert_eq!(re(r#"\d+"#, 0).extract(&r).as_deref(), Some("17"));
        assert_eq!(re("zzz", 0).extract(&r), None);
        assert_eq!(
            CaptureSource::Header("etag".into()).extract(&r).as_deref(),
            Some("\"v1\"")
        );
        assert_eq!(CaptureSource::Header("x".into()).extract(&r), None);
        assert_eq!(
            CaptureSource::Cookie("session".into())
                .extract(&r)
                .as_deref(),
            Some("def")
        );
        assert_eq!(
            CaptureSource::Cookie("theme".into()).extract_json(&r),
            Some(serde_json::json!("dark"))
        );
        assert_eq!(CaptureSource::Cookie("none".into()).extract(&r), None);
        let html = response(&[], "<html>");
        assert_eq!(jp("$.a").extract(&html), None);
        assert_eq!(jp("$.a").describe(), "jsonpath $.a");
    }
}
