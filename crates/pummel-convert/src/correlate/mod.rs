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
//!
//! Module map: `sites` (what a request sends, value by value), `index` (where a value may come
//! from and where it must be replaced), `producer` (how a response that holds a value is made
//! to give it again: header, cookie, JSON path or a regex over the body).

mod index;
mod producer;
mod sites;

use std::collections::{HashMap, HashSet};

use self::index::{longest_word, token_index, word_index};
use self::producer::{producer, DECODED};
use self::sites::sites;
use crate::model::{Body, Capture, Json, RequestStep};
use crate::text::Text;

pub(crate) use self::sites::fields_in_text;

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
    if crate::text::is_reserved_name(&name) {
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
mod tests;
