//! The view of a response that checks and captures read.
//!
//! It borrows everything from the engine (which owns and reuses the
//! buffers), and parses the body as JSON at most once however many JSONPath
//! checks and captures a step has, and only if one of them asks.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;

use serde_json::Value;

/// A complete response, as checks and captures see it.
#[derive(Debug)]
pub(crate) struct ResponseView<'a> {
    pub status: u16,
    /// Header names and values in the order received. Names are compared
    /// case-insensitively; values that were not UTF-8 may be given lossily.
    pub headers: &'a [(String, String)],
    /// The decoded body (chunked framing removed).
    pub body: &'a [u8],
    /// Response complete − request start.
    pub elapsed: Duration,
    /// Whether `body` is only the start of the body, cut at `max_body`.
    pub body_truncated: bool,
    json: OnceCell<Option<Value>>,
}

impl<'a> ResponseView<'a> {
    pub(crate) fn new(
        status: u16,
        headers: &'a [(String, String)],
        body: &'a [u8],
        elapsed: Duration,
    ) -> ResponseView<'a> {
        ResponseView {
            status,
            headers,
            body,
            elapsed,
            body_truncated: false,
            json: OnceCell::new(),
        }
    }

    /// The same view, marked as holding only the start of a longer body.
    pub(crate) fn truncated(mut self, truncated: bool) -> ResponseView<'a> {
        self.body_truncated = truncated;
        self
    }

    /// The first header named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&'a str> {
        self.headers_named(name).next()
    }

    /// Every header named `name` (case-insensitive), in order.
    pub(crate) fn headers_named<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
    where
        'a: 'n,
    {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; `None` when it is not JSON. Parsed once.
    pub(crate) fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub(crate) fn text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.body)
    }
}

/// A JSON value as text: strings without quotes, anything else as JSON.
pub(crate) fn json_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_json_is_lazy() {
        let headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("set-cookie".to_owned(), "a=1".to_owned()),
            ("Set-Cookie".to_owned(), "b=2".to_owned()),
        ];
        let r = ResponseView::new(200, &headers, br#"{"id": 7}"#, Duration::from_millis(5));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.headers_named("SET-COOKIE").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
        assert_eq!(r.header("x"), None);
        assert_eq!(r.json().unwrap()["id"], 7);
        let r = ResponseView::new(200, &[], b"not json \xff", Duration::ZERO);
        assert!(r.json().is_none());
        assert_eq!(r.text(), "not json \u{FFFD}");
        assert_eq!(json_text(&serde_json::json!("s")), "s");
        assert_eq!(json_text(&serde_json::json!([1, "a"])), "[1,\"a\"]");
    }
}
