//! Two indexes over the recording, made once, so that correlating a long recording is
//! near-linear: the tokens of the responses (where a value may come from) and the words of the
//! requests (where it must be replaced).

use std::collections::HashMap;

use super::producer::url_decoded;
use super::{looks_generated, Exchange, MAX_VALUE_BYTES, PRODUCERS_PER_TOKEN};
use crate::model::{Body, Json, RequestStep};
use crate::text::{is_word, Text};

/// Every generated-looking token of the recorded responses — in bodies split three ways (at
/// non-word characters, at `/` and punctuation, at quotes and spaces), JSON string and number
/// values, header and cookie values — with the first responses that hold it. One pass over the
/// recording, so finding a value's producer is a lookup, not a scan of every earlier body.
pub(super) fn token_index(exchanges: &[Exchange]) -> HashMap<String, Vec<usize>> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, exchange) in exchanges.iter().enumerate() {
        let r = &exchange.response;
        let mut add = |token: &str| {
            if token.len() > MAX_VALUE_BYTES || !looks_generated(token) {
                return;
            }
            let at = index.entry(token.to_owned()).or_default();
            if at.last() != Some(&j) && at.len() < PRODUCERS_PER_TOKEN {
                at.push(j);
            }
        };
        // A cookie set URL-encoded may be sent back decoded (Laravel's `XSRF-TOKEN`).
        for (_, v) in &r.cookies {
            if let Some(decoded) = url_decoded(v) {
                add(&decoded);
            }
        }
        let texts = std::iter::once(r.body.as_str())
            .chain(r.headers.iter().map(|(_, v)| v.as_str()))
            .chain(r.cookies.iter().map(|(_, v)| v.as_str()));
        for text in texts {
            add(text);
            for token in text.split(|c: char| !is_word(c)) {
                add(token);
            }
            for token in text.split(|c: char| !(is_word(c) || "-.~+=".contains(c))) {
                add(token);
            }
            for token in text.split(|c: char| c.is_whitespace() || "\"'<>(),;{}[]`".contains(c)) {
                add(token);
            }
        }
        if let Some(json) = &r.json {
            json_leaves(json, &mut add);
        }
    }
    index
}

/// For each word (a maximal run of [`is_word`] characters) in the literal text of the steps'
/// requests, the steps that hold it, in order.
///
/// A value is only ever replaced where it stands between non-word characters
/// ([`Text::replace`]), so its longest word is a whole word of any literal that holds it: the
/// steps listed under that word are the only ones substitution needs to visit. Without this,
/// every candidate visited every later step, and a long recording took minutes. Replacing
/// values only splits literals at non-word characters, so the index stays a superset as the
/// steps change.
pub(super) fn word_index(exchanges: &[Exchange]) -> HashMap<String, Vec<usize>> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (k, exchange) in exchanges.iter().enumerate() {
        literals(&exchange.step, &mut |text| {
            for word in text.split(|c: char| !is_word(c)).filter(|w| !w.is_empty()) {
                let at = index.entry(word.to_owned()).or_default();
                if at.last() != Some(&k) {
                    at.push(k);
                }
            }
        });
    }
    index
}

/// The longest run of word characters in `value` (the first of equal ones), if it has any.
pub(super) fn longest_word(value: &str) -> Option<&str> {
    value
        .split(|c: char| !is_word(c))
        .filter(|w| !w.is_empty())
        .fold(None, |best: Option<&str>, w| match best {
            Some(b) if b.len() >= w.len() => Some(b),
            _ => Some(w),
        })
}

/// Every literal text of the request `step` sends, as [`substitute`] sees them.
pub(super) fn literals(step: &RequestStep, visit: &mut dyn FnMut(&str)) {
    let mut text = |t: &Text| t.literals().for_each(&mut *visit);
    text(&step.url);
    step.query.iter().for_each(|(_, v)| text(v));
    step.headers.iter().for_each(|(_, v)| text(v));
    match &step.body {
        Some(Body::Form(fields) | Body::Multipart(fields)) => {
            fields.iter().for_each(|(_, v)| text(v))
        }
        Some(Body::Raw(t)) => text(t),
        Some(Body::Json(json)) => json_literals(json, visit),
        _ => {}
    }
}

pub(super) fn json_literals(json: &Json, visit: &mut dyn FnMut(&str)) {
    match json {
        Json::String(t) => t.literals().for_each(visit),
        Json::Number(num) => visit(num),
        Json::Array(items) => items.iter().for_each(|i| json_literals(i, visit)),
        Json::Object(fields) => fields.iter().for_each(|(_, v)| json_literals(v, visit)),
        Json::Null | Json::Bool(_) => {}
    }
}

pub(super) fn json_leaves(json: &serde_json::Value, add: &mut dyn FnMut(&str)) {
    match json {
        serde_json::Value::String(s) => add(s),
        serde_json::Value::Number(n) => add(&n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| json_leaves(i, add)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_leaves(v, add)),
        _ => {}
    }
}
