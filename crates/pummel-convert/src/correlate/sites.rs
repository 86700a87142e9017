//! What a request sends, value by value, with the name each is sent under: path segments,
//! query values, headers, form, JSON and text-body fields.

use crate::model::{Body, Json, RequestStep};
use crate::text::Text;

/// A value a request sends, and under what name.
pub(super) struct Site {
    pub(super) value: String,
    /// The field, parameter or header name; for a path segment, the segment before it.
    pub(super) field: Option<String>,
    /// `form field csrf`, `path segment`, `header x-csrf-token`.
    pub(super) place: String,
}

/// What request `step` sends, value by value.
pub(super) fn sites(step: &RequestStep) -> Vec<Site> {
    let mut out = Vec::new();
    if let Some(url) = step.url.as_literal() {
        let path = url.split_once("://").map_or(url.as_str(), |(_, rest)| {
            rest.find('/').map_or("", |i| &rest[i..])
        });
        let mut previous: Option<&str> = None;
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            out.push(Site {
                value: segment.to_owned(),
                field: previous.map(str::to_owned),
                place: "a path segment".to_owned(),
            });
            previous = Some(segment);
        }
    }
    for (name, value) in &step.query {
        push_text(&mut out, name, value, "query parameter");
    }
    for (name, value) in &step.headers {
        if let Some(value) = value.as_literal() {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or(&value);
            out.push(Site {
                value: token.to_owned(),
                field: Some(name.clone()),
                place: format!("header {name}"),
            });
        }
    }
    match &step.body {
        Some(Body::Form(fields) | Body::Multipart(fields)) => {
            for (name, value) in fields {
                push_text(&mut out, name, value, "form field");
            }
        }
        Some(Body::Json(json)) => {
            let mut json = json.clone();
            json.visit_leaves(None, &mut |key, leaf| {
                let value = match leaf {
                    Json::String(t) => t.as_literal(),
                    Json::Number(n) => Some(n.clone()),
                    _ => None,
                };
                if let Some(value) = value {
                    out.push(Site {
                        value,
                        field: key.map(str::to_owned),
                        place: format!("JSON field {}", key.unwrap_or("(top level)")),
                    });
                }
            });
        }
        Some(Body::Raw(text)) => {
            if let Some(raw) = text.as_literal() {
                for (name, value) in fields_in_text(&raw) {
                    out.push(Site {
                        value,
                        place: format!("body field {name}"),
                        field: Some(name),
                    });
                }
            }
        }
        _ => {}
    }
    out.retain(|s| !s.value.is_empty());
    out
}

/// The named fields of a body sent as text: the leaves of a JSON document (JSON posted as
/// `text/plain`, as `fetch` does by default), the parts of a multipart form
/// (`name="csrf"`), or the fields of a URL-encoded form. Values as they stand in the text.
pub(crate) fn fields_in_text(raw: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(raw) {
        json_fields(&json, None, &mut found);
        return found;
    }
    // Multipart: `Content-Disposition: form-data; name="csrf"`, the part's headers, a blank
    // line, the value to the line's end (a file's content is not a field).
    for part in raw.split("Content-Disposition:").skip(1) {
        let Some((head, rest)) = part
            .split_once("\r\n\r\n")
            .or_else(|| part.split_once("\n\n"))
        else {
            continue;
        };
        if head.contains("filename=") {
            continue;
        }
        let name = head
            .split_once("name=\"")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(n, _)| n);
        if let (Some(name), Some(value)) = (name, rest.lines().next()) {
            if !value.is_empty() {
                found.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    if found.is_empty() && !raw.contains(['\n', ' ']) {
        for pair in raw.split('&') {
            if let Some((name, value)) = pair.split_once('=').filter(|(_, v)| !v.is_empty()) {
                found.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    found
}

pub(super) fn json_fields(
    json: &serde_json::Value,
    key: Option<&str>,
    found: &mut Vec<(String, String)>,
) {
    let field = |value: String, found: &mut Vec<(String, String)>| {
        if let Some(key) = key {
            found.push((key.to_owned(), value));
        }
    };
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                json_fields(v, Some(k), found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| json_fields(i, key, found)),
        serde_json::Value::String(s) if !s.is_empty() => field(s.clone(), found),
        serde_json::Value::Number(n) => field(n.to_string(), found),
        _ => {}
    }
}

pub(super) fn push_text(out: &mut Vec<Site>, name: &str, value: &Text, what: &str) {
    if let Some(value) = value.as_literal() {
        out.push(Site {
            value,
            field: Some(name.to_owned()),
            place: format!("{what} {name}"),
        });
    }
}
