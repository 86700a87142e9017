//! Correlation: a value a request sends that an earlier response produced (a CSRF token in a
//! form, an id in a link, a cart id in a JSON body) is captured from that response and sent as a
//! template, so that a replay sends its own session's values instead of the recording's.
//!
//! How candidates are ranked, and why:
//! - **values, longest first**: a long token is the most specific match, and replacing it first
//!   keeps a short value that happens to sit inside it from being replaced there;
//! - **values that look generated** (digits, or long opaque tokens): words such as `shop` or
//!   `games` appear in pages and requests alike without one producing the other; short values
//!   (`1`, `true`, `42`) are only taken when a JSON response has them under the very key the
//!   request sends them as;
//! - **the first producer before the first use**: the earliest response that holds the value,
//!   before any request sent it (a value the user typed — a username echoed back on a page — is
//!   not a correlation); the capture then lives from there on;
//! - **within a response**: a header with exactly that value, then a cookie (the jar sends
//!   cookies by itself; a cookie value sent elsewhere, a double-submit CSRF token, is captured),
//!   then a JSON value (under the request's own key if there is one), then text around it in the
//!   body (HTML: an input's value, a meta tag's content, a link).

use std::collections::{HashMap, HashSet};

use regex::Regex;

use crate::model::{Body, Capture, Json, RequestStep};
use crate::text::{is_word, Text};

/// The most values looked for in earlier responses (the longest first).
const MAX_CANDIDATES: usize = 20_000;
/// Longer values are not correlated (a body sent whole is not an id).
const MAX_VALUE_BYTES: usize = 4096;
/// How many responses before its use a short value is looked for in.
const MAX_SHORT_VALUE_SCAN: usize = 20;
/// Responses remembered per token: the first few hold it, the rest add nothing.
const PRODUCERS_PER_TOKEN: usize = 4;

/// A response as recorded, for finding producers.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) headers: Vec<(String, String)>,
    /// Cookies set by the response: name, value.
    pub(crate) cookies: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) json: Option<serde_json::Value>,
}

/// A request step and the response it got when recorded.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) step: RequestStep,
    pub(crate) response: Recorded,
    /// How the step is named in messages (`POST /shop/login`).
    pub(crate) label: String,
}

/// One correlation made: for the report and the file's comments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correlation {
    /// The variable it became.
    pub variable: String,
    /// Index (from 0) of the step that captures it.
    pub producer: usize,
    /// How it is captured (`jsonpath $.cart_id`).
    pub how: String,
    /// Where it is first sent (`form field csrf of POST /shop/login`).
    pub first_use: String,
    /// How many steps send it.
    pub uses: usize,
}

/// A value a request sends, and under what name.
struct Site {
    value: String,
    /// The field, parameter or header name; for a path segment, the segment before it.
    field: Option<String>,
    /// `form field csrf`, `path segment`, `header x-csrf-token`.
    place: String,
}

/// Finds and applies every correlation; returns them in the order made.
pub(crate) fn correlate(
    exchanges: &mut [Exchange],
    taken_names: &mut Vec<String>,
) -> Vec<Correlation> {
    let mut candidates = candidates(exchanges);
    candidates.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
    candidates.truncate(MAX_CANDIDATES);
    let index = token_index(exchanges);
    let words = word_index(exchanges);
    let mut names = Names::new(taken_names);

    let mut made = Vec::new();
    for (value, first_use, field, place) in candidates {
        let generated = looks_generated(&value);
        // Where to look: for a generated value, the responses that hold it as a token; for a
        // short one, the JSON responses just before its use (it only counts under its own key).
        let producers: Vec<usize> = if generated {
            index.get(value.as_str()).map_or_else(Vec::new, |js| {
                js.iter().copied().filter(|&j| j < first_use).collect()
            })
        } else {
            // Nearest first: a short value such as `7` is in many responses, and the one just
            // before it was sent is the likeliest to have made it.
            (first_use.saturating_sub(MAX_SHORT_VALUE_SCAN)..first_use)
                .rev()
                .filter(|&j| exchanges[j].response.json.is_some())
                .collect()
        };
        let found = producers.into_iter().find_map(|j| {
            producer(&exchanges[j].response, &value, field.as_deref(), generated).map(|c| (j, c))
        });
        let Some((producer_index, (capture, note))) = found else {
            // A value that looks made by the server, which no recorded response holds: a
            // response whose body the recorder lost (a page that navigated away at once) is the
            // likely producer. Say so where it is sent rather than replay it silently.
            let lost: Vec<String> = (0..first_use)
                .filter(|&j| exchanges[j].response.body.is_empty())
                .map(|j| (j + 1).to_string())
                .collect();
            // A secret (a typed password) is hidden later, not produced by the server.
            let secret = field.as_deref().is_some_and(crate::secrets::is_secret_name);
            if generated && !lost.is_empty() && !secret {
                exchanges[first_use].step.comments.push(format!(
                    "not correlated: {place} looks made by the server, but no recorded response holds it \
                     (the recording kept no body for step {}); capture it by hand",
                    lost.join(", ")
                ));
            }
            continue;
        };
        let variable =
            existing_capture(&exchanges[producer_index].step, &capture).unwrap_or_else(|| {
                let name = names.unique(&variable_name(field.as_deref(), &capture));
                taken_names.push(name.clone());
                exchanges[producer_index]
                    .step
                    .captures
                    .push((name.clone(), capture.clone()));
                name
            });
        let mut uses = 0;
        let holders: Box<dyn Iterator<Item = usize>> = match longest_word(&value) {
            Some(word) => Box::new(
                words
                    .get(word)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .copied()
                    .filter(|&k| k >= first_use),
            ),
            None => Box::new(first_use..exchanges.len()),
        };
        // A short value is replaced only where it is sent under the same name: the `2` of
        // `product_id` is not the `2` of `quantity`.
        let only = if generated { None } else { field.as_deref() };
        let sent = if note.as_deref() == Some(DECODED) {
            format!("urldecode({variable})")
        } else {
            variable.clone()
        };
        for k in holders {
            if substitute(&mut exchanges[k].step, &value, &sent, only) {
                uses += 1;
            }
        }
        if uses == 0 {
            continue;
        }
        let how = describe(&capture);
        let mut comment =
            format!("capture {variable} ({how}): guessed from the value sent as {place}");
        if let Some(note) = note {
            comment.push_str("; ");
            comment.push_str(&note);
        }
        exchanges[producer_index].step.comments.push(comment);
        made.push(Correlation {
            variable,
            producer: producer_index,
            how,
            first_use: place,
            uses,
        });
    }
    made
}

/// Every value worth correlating with its first use: the step that sends it first, the name
/// it is sent under, and where, for messages.
fn candidates(exchanges: &[Exchange]) -> Vec<(String, usize, Option<String>, String)> {
    let mut candidates = Vec::new();
    let mut seen = HashSet::new();
    for (i, exchange) in exchanges.iter().enumerate() {
        for site in sites(&exchange.step) {
            let generated = looks_generated(&site.value);
            if !generated && site.field.is_none() {
                continue;
            }
            // A short value is only ever correlated under its own name, so `2` sent as an id
            // and `2` sent as a quantity are two candidates; a token is one wherever it goes.
            let key = (site.value.clone(), (!generated).then(|| site.field.clone()));
            if site.value.len() > MAX_VALUE_BYTES || !seen.insert(key) {
                continue;
            }
            let place = format!("{} of step {} ({})", site.place, i + 1, exchange.label);
            candidates.push((site.value, i, site.field, place));
        }
    }
    candidates
}

/// Every generated-looking token of the recorded responses — in bodies split three ways (at
/// non-word characters, at `/` and punctuation, at quotes and spaces), JSON string and number
/// values, header and cookie values — with the first responses that hold it. One pass over the
/// recording, so finding a value's producer is a lookup, not a scan of every earlier body.
fn token_index(exchanges: &[Exchange]) -> HashMap<String, Vec<usize>> {
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
fn word_index(exchanges: &[Exchange]) -> HashMap<String, Vec<usize>> {
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
fn longest_word(value: &str) -> Option<&str> {
    value
        .split(|c: char| !is_word(c))
        .filter(|w| !w.is_empty())
        .fold(None, |best: Option<&str>, w| match best {
            Some(b) if b.len() >= w.len() => Some(b),
            _ => Some(w),
        })
}

/// Every literal text of the request `step` sends, as [`substitute`] sees them.
fn literals(step: &RequestStep, visit: &mut dyn FnMut(&str)) {
    let mut text = |t: &Text| {
        for piece in &t.0 {
            if let crate::text::Piece::Lit(s) = piece {
                visit(s);
            }
        }
    };
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

fn json_literals(json: &Json, visit: &mut dyn FnMut(&str)) {
    match json {
        Json::String(t) => t.0.iter().for_each(|piece| {
            if let crate::text::Piece::Lit(s) = piece {
                visit(s);
            }
        }),
        Json::Number(num) => visit(num),
        Json::Array(items) => items.iter().for_each(|i| json_literals(i, visit)),
        Json::Object(fields) => fields.iter().for_each(|(_, v)| json_literals(v, visit)),
        Json::Null | Json::Bool(_) => {}
    }
}

fn json_leaves(json: &serde_json::Value, add: &mut dyn FnMut(&str)) {
    match json {
        serde_json::Value::String(s) => add(s),
        serde_json::Value::Number(n) => add(&n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| json_leaves(i, add)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_leaves(v, add)),
        _ => {}
    }
}

fn describe(capture: &Capture) -> String {
    match capture {
        Capture::JsonPath(p) => format!("jsonpath {p}"),
        Capture::Regex(r) => format!("regex {r}"),
        Capture::Header(h) => format!("header {h}"),
        Capture::Cookie(c) => format!("cookie {c}"),
    }
}

fn existing_capture(step: &RequestStep, capture: &Capture) -> Option<String> {
    step.captures
        .iter()
        .find(|(_, c)| c == capture)
        .map(|(n, _)| n.clone())
}

/// Values that are worth correlating without a matching key: they contain a digit (ids, dates,
/// tokens) and are at least four characters long, or they are long opaque tokens.
pub(crate) fn looks_generated(value: &str) -> bool {
    let len = value.chars().count();
    if value.contains(char::is_whitespace) {
        return false;
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    (len >= 4 && digits > 0) || (len >= 16 && !value.contains('/'))
}

/// What request `step` sends, value by value.
fn sites(step: &RequestStep) -> Vec<Site> {
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

fn json_fields(json: &serde_json::Value, key: Option<&str>, found: &mut Vec<(String, String)>) {
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

fn push_text(out: &mut Vec<Site>, name: &str, value: &Text, what: &str) {
    if let Some(value) = value.as_literal() {
        out.push(Site {
            value,
            field: Some(name.to_owned()),
            place: format!("{what} {name}"),
        });
    }
}

/// The note of a capture whose value is sent URL-decoded: its uses are `urldecode(name)`.
const DECODED: &str = "the cookie is set URL-encoded and sent decoded, so its uses decode it";

/// `value` with its `%XX` decoded, when that changes it and leaves UTF-8.
fn url_decoded(value: &str) -> Option<String> {
    if !value.contains('%') {
        return None;
    }
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
        .filter(|d| d != value)
}

/// Where `response` produced `value`, if it did, with a note when the capture is a guess.
fn producer(
    response: &Recorded,
    value: &str,
    field: Option<&str>,
    generated: bool,
) -> Option<(Capture, Option<String>)> {
    if generated {
        const NOT_PRODUCERS: [&str; 6] = [
            "set-cookie",
            "date",
            "content-length",
            "content-type",
            "etag",
            "last-modified",
        ];
        if let Some((name, _)) = response
            .headers
            .iter()
            .find(|(n, v)| v == value && !NOT_PRODUCERS.contains(&n.to_ascii_lowercase().as_str()))
        {
            return Some((Capture::Header(name.clone()), None));
        }
        if let Some((name, _)) = response.cookies.iter().find(|(_, v)| v == value) {
            return Some((Capture::Cookie(name.clone()), None));
        }
        if let Some((name, _)) = response
            .cookies
            .iter()
            .find(|(_, v)| url_decoded(v).as_deref() == Some(value))
        {
            return Some((Capture::Cookie(name.clone()), Some(DECODED.to_owned())));
        }
    }
    if let Some(json) = &response.json {
        if let Some(path) = json_path(json, value, field, generated) {
            return Some((Capture::JsonPath(path), None));
        }
    }
    if generated {
        return text_capture(&response.body, value).map(|(re, note)| (Capture::Regex(re), note));
    }
    None
}

/// A JSONPath to a leaf equal to `value`: under the key `field` if one is, else (for a value that
/// looks generated) the first in document order.
fn json_path(
    json: &serde_json::Value,
    value: &str,
    field: Option<&str>,
    generated: bool,
) -> Option<String> {
    let mut found: Vec<(String, Option<String>)> = Vec::new();
    walk(json, &mut Vec::new(), None, value, &mut found);
    if let Some(field) = field {
        if let Some((path, _)) = found.iter().find(|(_, k)| k.as_deref() == Some(field)) {
            return Some(path.clone());
        }
        // Sent as the segment after `/apps/`: the response's `id` (or `app_id`) made it.
        if is_collection(field) {
            let one = field.trim_end_matches('s');
            let names_it = |key: &str| {
                let folded: String = key
                    .chars()
                    .filter(|c| *c != '_')
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                folded == "id" || folded == format!("{one}id")
            };
            if let Some((path, _)) = found
                .iter()
                .find(|(_, k)| k.as_deref().is_some_and(names_it))
            {
                return Some(path.clone());
            }
        }
    }
    if generated {
        return found.into_iter().next().map(|(p, _)| p);
    }
    None
}

/// A step of a JSON path, rendered only for a match.
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn render_path(segments: &[Segment<'_>]) -> String {
    let mut path = "$".to_owned();
    for segment in segments {
        match segment {
            Segment::Index(i) => path.push_str(&format!("[{i}]")),
            Segment::Key(k)
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                path.push('.');
                path.push_str(k);
            }
            Segment::Key(k) => {
                path.push_str(&format!(
                    "['{}']",
                    k.replace('\\', "\\\\").replace('\'', "\\'")
                ));
            }
        }
    }
    path
}

fn walk<'a>(
    json: &'a serde_json::Value,
    path: &mut Vec<Segment<'a>>,
    key: Option<&'a str>,
    value: &str,
    found: &mut Vec<(String, Option<String>)>,
) {
    if found.len() >= 16 {
        return;
    }
    match json {
        serde_json::Value::String(s) if s == value => {
            found.push((render_path(path), key.map(str::to_owned)))
        }
        serde_json::Value::Number(n)
            if n.as_i64()
                .map_or_else(|| n.to_string() == value, |i| value.parse::<i64>() == Ok(i)) =>
        {
            found.push((render_path(path), key.map(str::to_owned)));
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                walk(item, path, key, value, found);
                path.pop();
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                path.push(Segment::Key(k));
                walk(v, path, Some(k), value, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// A regex that finds `value` in a text body by what precedes it: in HTML, the tag up to the
/// value (`<input type="hidden" name="csrf" value="`, `<a href="/shop/items/`); elsewhere the
/// characters before it on its line.
pub(crate) fn text_capture(body: &str, value: &str) -> Option<(String, Option<String>)> {
    let at = body.match_indices(value).map(|(i, _)| i).find(|&i| {
        let end = i + value.len();
        !body[..i].chars().next_back().is_some_and(is_word)
            && !body[end..].chars().next().is_some_and(is_word)
    })?;
    let line_start = body[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &body[line_start..at];
    let context = match before.rfind('<') {
        Some(tag) if before.len() - tag <= 120 => &before[tag..],
        _ => {
            let mut start = before.len().saturating_sub(24);
            while !before.is_char_boundary(start) {
                start += 1;
            }
            &before[start..]
        }
    };
    if context.trim().len() < 2 {
        return None;
    }
    let next = body[at + value.len()..].chars().next();
    let group = match next {
        Some('"') => "([^\"]+)".to_owned(),
        Some('\'') => "([^']+)".to_owned(),
        _ if value.chars().all(|c| c.is_ascii_digit()) => "([0-9]+)".to_owned(),
        _ if value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || TOKEN_PUNCTUATION.contains(c)) =>
        {
            // The character that ended the value in the recording ends it in the replay too:
            // `c-5512` in `/carts/c-5512/items/8812` is not followed by `/items/8812`.
            let punctuation: String = TOKEN_PUNCTUATION
                .chars()
                .filter(|&c| Some(c) != next)
                .map(|c| {
                    if c == '-' {
                        "\\-".to_owned()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            format!("([A-Za-z0-9_{punctuation}]+)")
        }
        _ => "([^\\s\"'<>&]+)".to_owned(),
    };
    let pattern = format!("{}{group}", generalize(context));
    let first = Regex::new(&pattern)
        .ok()?
        .captures(body)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())?;
    let note = (first != value).then(|| {
        "the first match on the page, which is not the one the recording used (any of them \
         belongs to this session)"
            .to_owned()
    });
    Some((pattern, note))
}

/// Characters that tokens (ids, base64 and URL-safe tokens) are made of, besides letters,
/// digits and `_`.
const TOKEN_PUNCTUATION: &str = ".~+/=-";

/// The text before a value, as a regex that finds the same place in another session's page:
/// literal, except that values that look generated (another id, as in
/// `<a href="/carts/c-5512/items/`) match any token, since the replay's page has its own.
fn generalize(context: &str) -> String {
    let mut pattern = String::new();
    let mut rest = context;
    while !rest.is_empty() {
        let token_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || "-.~+=".contains(c)))
            .unwrap_or(rest.len());
        if token_len > 0 {
            let token = &rest[..token_len];
            if looks_generated(token) {
                pattern.push_str("[A-Za-z0-9_.~+=-]+");
            } else {
                pattern.push_str(&regex::escape(token));
            }
            rest = &rest[token_len..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            pattern.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    pattern
}

/// Sends `{{ variable }}` wherever `step` sent `value` — with `only`, only where it was sent
/// under that name (a field, parameter, header or JSON key, or the path segment before it);
/// whether anything changed.
fn substitute(step: &mut RequestStep, value: &str, variable: &str, only: Option<&str>) -> bool {
    let named = |name: &str| only.is_none_or(|f| f == name);
    let mut n = match only {
        None => step.url.replace(value, variable),
        Some(field) => replace_path_segment(&mut step.url, field, value, variable),
    };
    for (name, v) in &mut step.query {
        if named(name) {
            n += v.replace(value, variable);
        }
    }
    for (name, v) in &mut step.headers {
        if named(name) {
            n += v.replace(value, variable);
        }
    }
    match &mut step.body {
        Some(Body::Form(fields) | Body::Multipart(fields)) => {
            for (name, v) in fields {
                if named(name) {
                    n += v.replace(value, variable);
                }
            }
        }
        Some(Body::Raw(t)) if only.is_none() => n += t.replace(value, variable),
        Some(Body::Json(json)) => {
            json.visit_leaves(None, &mut |key, leaf| {
                if !named(key.unwrap_or_default()) {
                    return;
                }
                match leaf {
                    Json::String(t) => n += t.replace(value, variable),
                    Json::Number(num) if num == value => {
                        *leaf = Json::String(Text::expr(format!("number({variable})")));
                        n += 1;
                    }
                    _ => {}
                }
            });
        }
        _ => {}
    }
    n > 0
}

/// Replaces the path segment `value` that follows the segment `after` (`/apps/7`) in the URL's
/// literal text; how many were replaced.
fn replace_path_segment(url: &mut Text, after: &str, value: &str, variable: &str) -> usize {
    let needle = format!("/{after}/{value}");
    let mut count = 0;
    let mut out = Text::default();
    for piece in std::mem::take(&mut url.0) {
        let crate::text::Piece::Lit(s) = piece else {
            out.push(piece);
            continue;
        };
        let mut start = 0;
        let mut from = 0;
        while let Some(found) = s[from..].find(&needle) {
            let at = from + found;
            let end = at + needle.len();
            // The whole segment: the path goes on with `/`, a query or nothing.
            if s[end..].chars().next().is_none_or(|c| "/?#".contains(c)) {
                let value_at = end - value.len();
                out.push(crate::text::Piece::Lit(s[start..value_at].to_owned()));
                out.push(crate::text::Piece::Expr(variable.to_owned()));
                start = end;
                count += 1;
            }
            from = end;
        }
        out.push(crate::text::Piece::Lit(s[start..].to_owned()));
    }
    *url = out;
    count
}

/// A variable name from the name the value was sent under, else from how it is captured.
fn variable_name(field: Option<&str>, capture: &Capture) -> String {
    let raw = match field {
        Some(f) => {
            let f = f.trim_start_matches("x-").trim_start_matches("X-");
            f.to_owned()
        }
        None => match capture {
            Capture::JsonPath(p) => p.rsplit(['.', '[']).next().unwrap_or("value").to_owned(),
            Capture::Cookie(c) | Capture::Header(c) => c.clone(),
            Capture::Regex(_) => "value".to_owned(),
        },
    };
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_matches('_').to_owned();
    // A path segment is named by the one before it: `/items/123` → `item_id`.
    if field.is_some()
        && !name.ends_with("id")
        && !name.contains("token")
        && !name.contains("csrf")
        && is_collection(&name)
    {
        name = format!("{}_id", name.trim_end_matches('s'));
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "v_");
    }
    // Names the expression language has already: `{{ true }}` would send `true`, and
    // `{{ and }}` would not parse.
    if matches!(
        name.as_str(),
        "env" | "vu" | "iteration" | "status" | "and" | "or" | "not" | "true" | "false"
    ) {
        name.push_str("_value");
    }
    name
}

/// A plural word such as `items` or `orders`: the segment before an id in a REST path.
fn is_collection(name: &str) -> bool {
    name.len() > 2 && name.ends_with('s') && name.chars().all(|c| c.is_ascii_lowercase())
}

/// The variable names in use, and for each base name the next suffix to try, so that naming
/// the thousandth `item_id` costs one lookup rather than a thousand (a long recording's ids
/// took minutes to name).
struct Names {
    taken: HashSet<String>,
    next: HashMap<String, usize>,
}

impl Names {
    fn new(taken: &[String]) -> Names {
        Names {
            taken: taken.iter().cloned().collect(),
            next: HashMap::new(),
        }
    }

    /// `base` if it is free, else `base_2`, `base_3`, … the first free one; now taken.
    fn unique(&mut self, base: &str) -> String {
        if self.taken.insert(base.to_owned()) {
            return base.to_owned();
        }
        let n = self.next.entry(base.to_owned()).or_insert(2);
        loop {
            let name = format!("{base}_{n}");
            *n += 1;
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> RequestStep {
        RequestStep {
            method: "GET".to_owned(),
            url: Text::lit(url),
            ..RequestStep::default()
        }
    }

    fn exchange(step: RequestStep, body: &str) -> Exchange {
        Exchange {
            label: format!("{} {}", step.method, step.url.render()),
            step,
            response: Recorded {
                json: serde_json::from_str(body).ok(),
                body: body.to_owned(),
                ..Recorded::default()
            },
        }
    }

    #[test]
    fn html_input_value_and_link_become_captures() {
        let page = "<form>\n<input type=\"hidden\" name=\"csrf\" value=\"Zk3q9xWc0aLp7TbR\">\n</form>\n<a href=\"/items/48213\">one</a>\n";
        let mut post = get("/login");
        post.method = "POST".to_owned();
        post.body = Some(Body::Form(vec![
            ("csrf".to_owned(), Text::lit("Zk3q9xWc0aLp7TbR")),
            ("username".to_owned(), Text::lit("demo")),
        ]));
        let mut exchanges = vec![
            exchange(get("/login"), page),
            exchange(post, ""),
            exchange(get("/items/48213"), ""),
        ];
        let made = correlate(&mut exchanges, &mut Vec::new());
        assert_eq!(made.len(), 2, "{made:?}");
        let captures = &exchanges[0].step.captures;
        assert_eq!(
            captures[0],
            (
                "csrf".to_owned(),
                Capture::Regex("<input type=\"hidden\" name=\"csrf\" value=\"([^\"]+)".to_owned())
            )
        );
        assert_eq!(captures[1].0, "item_id");
        let Some(Body::Form(fields)) = &exchanges[1].step.body else {
            panic!()
        };
        assert_eq!(fields[0].1.render(), "{{ csrf }}");
        assert_eq!(
            fields[1].1.render(),
            "demo",
            "a typed value is not correlated"
        );
        assert_eq!(exchanges[2].step.url.render(), "/items/{{ item_id }}");
    }

    #[test]
    fn json_value_under_the_same_key_wins_and_numbers_stay_numbers() {
        let mut post = get("/orders");
        post.body = Some(Body::Json(Json::from_value(
            &serde_json::json!({"cart_id": 7, "item": 123456}),
        )));
        let mut exchanges = vec![
            exchange(
                get("/cart"),
                r#"{"id": 7, "cart_id": 7, "items": [{"id": 123456}]}"#,
            ),
            exchange(post, ""),
        ];
        let made = correlate(&mut exchanges, &mut Vec::new());
        let hows: Vec<&str> = made.iter().map(|c| c.how.as_str()).collect();
        assert_eq!(hows, ["jsonpath $.items[0].id", "jsonpath $.cart_id"]);
        let Some(Body::Json(Json::Object(fields))) = &exchanges[1].step.body else {
            panic!()
        };
        let Json::String(t) = &fields[0].1 else {
            panic!()
        };
        assert_eq!(t.render(), "{{ number(cart_id) }}");
    }

    #[test]
    fn trivial_values_are_not_correlated_without_a_matching_key() {
        let mut exchanges = vec![
            exchange(get("/a"), r#"{"n": 1, "word": "shop"}"#),
            exchange(get("/shop/1"), ""),
        ];
        assert!(correlate(&mut exchanges, &mut Vec::new()).is_empty());
        assert_eq!(exchanges[1].step.url.render(), "/shop/1");
    }

    #[test]
    fn a_value_sent_before_any_response_had_it_is_not_a_correlation() {
        let mut exchanges = vec![
            exchange(get("/search/x2024"), "you searched x2024"),
            exchange(get("/search/x2024/more"), ""),
        ];
        assert!(correlate(&mut exchanges, &mut Vec::new()).is_empty());
    }

    #[test]
    fn a_value_whose_producer_lost_its_body_is_pointed_out() {
        let mut exchanges = vec![
            exchange(get("/orders"), ""),
            exchange(get("/orders/ord-8f3a2c"), ""),
        ];
        assert!(correlate(&mut exchanges, &mut Vec::new()).is_empty());
        let comments = &exchanges[1].step.comments;
        assert!(
            comments
                .iter()
                .any(|c| c.contains("not correlated") && c.contains("step 1")),
            "{comments:?}"
        );
    }

    #[test]
    fn header_producers_and_cookie_double_submit() {
        let mut step = get("/api/thing");
        step.headers = vec![
            ("x-csrf-token".to_owned(), Text::lit("tok-98765")),
            ("x-request".to_owned(), Text::lit("req-55555")),
        ];
        let mut first = exchange(get("/"), "");
        first.response.cookies = vec![("csrftoken".to_owned(), "tok-98765".to_owned())];
        first.response.headers = vec![("X-Request".to_owned(), "req-55555".to_owned())];
        let mut exchanges = vec![first, exchange(step, "")];
        correlate(&mut exchanges, &mut Vec::new());
        let captures = &exchanges[0].step.captures;
        assert!(
            captures.contains(&(
                "csrf_token".to_owned(),
                Capture::Cookie("csrftoken".to_owned())
            )),
            "{captures:?}"
        );
        assert!(
            captures.contains(&(
                "request".to_owned(),
                Capture::Header("X-Request".to_owned())
            )),
            "{captures:?}"
        );
    }

    #[test]
    fn first_match_note_when_the_recording_used_another() {
        let page = "<a href=\"/items/1111\">a</a>\n<a href=\"/items/2222\">b</a>\n";
        let (re, note) = text_capture(page, "2222").unwrap();
        assert_eq!(re, "<a href=\"/items/([^\"]+)");
        assert!(note.is_some());
    }

    #[test]
    fn a_text_capture_stops_where_the_value_stopped_and_skips_other_sessions_ids() {
        let page = r#"<a href="/carts/c-5512/items/8812">lamp</a>"#;
        let (cart, _) = text_capture(page, "c-5512").unwrap();
        let (item, _) = text_capture(page, "8812").unwrap();
        // Another session's page: other cart, other item.
        let other = r#"<a href="/carts/c-9001/items/4242">lamp</a>"#;
        let first =
            |pattern: &str| Regex::new(pattern).unwrap().captures(other).unwrap()[1].to_owned();
        assert_eq!(first(&cart), "c-9001", "{cart}");
        assert_eq!(first(&item), "4242", "{item}");
    }

    #[test]
    fn variables_never_take_a_name_the_expression_language_has() {
        for word in [
            "and",
            "or",
            "not",
            "true",
            "false",
            "env",
            "vu",
            "iteration",
        ] {
            let name = variable_name(Some(word), &Capture::JsonPath(format!("$.{word}")));
            assert_eq!(name, format!("{word}_value"));
        }
        let status = variable_name(None, &Capture::JsonPath("$.status".into()));
        assert_eq!(status, "status_value");
        assert_eq!(
            variable_name(Some("cart"), &Capture::JsonPath("$.cart".into())),
            "cart"
        );
    }

    #[test]
    fn a_short_id_is_taken_from_the_id_that_made_it_and_only_where_it_is_sent_as_that_id() {
        let mut order = get("/api/orders");
        order.method = "POST".to_owned();
        order.body = Some(Body::Json(Json::from_value(
            &serde_json::json!({"product_id": 2, "quantity": 2}),
        )));
        let mut exchanges = vec![
            exchange(get("/api/products"), r#"{"items": [{"product_id": 2}]}"#),
            exchange(order, r#"{"id": 7, "total": 2}"#),
            exchange(get("/api/orders/7"), ""),
        ];
        let made = correlate(&mut exchanges, &mut Vec::new());
        let Some(Body::Json(json)) = &exchanges[1].step.body else {
            panic!("the body")
        };
        let Json::Object(fields) = json else {
            panic!("{json:?}")
        };
        let rendered: Vec<String> = fields
            .iter()
            .map(|(k, v)| match v {
                Json::String(t) => format!("{k}={}", t.render()),
                Json::Number(n) => format!("{k}={n}"),
                other => format!("{k}={other:?}"),
            })
            .collect();
        // The quantity that happens to equal the product id stays a number.
        assert_eq!(
            rendered,
            ["product_id={{ number(product_id) }}", "quantity=2"],
            "{made:?}"
        );
        // `/orders/7` after a response with `"id": 7`.
        assert_eq!(exchanges[2].step.url.render(), "/api/orders/{{ order_id }}");
        assert!(
            exchanges[1]
                .step
                .captures
                .iter()
                .any(|(n, c)| n == "order_id" && *c == Capture::JsonPath("$.id".into())),
            "{:?}",
            exchanges[1].step.captures
        );
    }

    #[test]
    fn a_cookie_set_url_encoded_and_sent_decoded_is_decoded_where_it_is_sent() {
        let token = "eyJpdiI6Ik1rZz09IiwidmFsdWUiOiJ4In0=";
        let mut step = get("/login");
        step.headers = vec![("x-xsrf-token".to_owned(), Text::lit(token))];
        let mut first = exchange(get("/"), "");
        first.response.cookies = vec![("XSRF-TOKEN".to_owned(), token.replace('=', "%3D"))];
        let mut exchanges = vec![first, exchange(step, "")];
        correlate(&mut exchanges, &mut Vec::new());
        assert_eq!(
            exchanges[0].step.captures,
            [(
                "xsrf_token".to_owned(),
                Capture::Cookie("XSRF-TOKEN".to_owned())
            )]
        );
        assert_eq!(
            exchanges[1].step.headers[0].1.render(),
            "{{ urldecode(xsrf_token) }}"
        );
    }
}
