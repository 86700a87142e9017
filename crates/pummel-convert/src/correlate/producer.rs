//! Where a response produced a value, and the capture that takes it again from another
//! session's response: a header, a cookie, a JSON path, or a regex over the body.

use regex::Regex;

use super::{is_collection, looks_generated, Recorded};
use crate::model::Capture;
use crate::text::is_word;

/// The note of a capture whose value is sent URL-decoded: its uses are `urldecode(name)`.
pub(super) const DECODED: &str =
    "the cookie is set URL-encoded and sent decoded, so its uses decode it";

/// `value` with its `%XX` decoded, when that changes it and leaves UTF-8.
pub(super) fn url_decoded(value: &str) -> Option<String> {
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
pub(super) fn producer(
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
pub(super) fn json_path(
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
pub(super) enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

pub(super) fn render_path(segments: &[Segment<'_>]) -> String {
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

pub(super) fn walk<'a>(
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
            // Unless the value holds that character itself (`ab12-cd34` before `-thumb`): then
            // the class keeps it, and the capture may run on, as the note below then says.
            let punctuation: String = TOKEN_PUNCTUATION
                .chars()
                .filter(|&c| Some(c) != next || value.contains(c))
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
pub(super) const TOKEN_PUNCTUATION: &str = ".~+/=-";

/// The text before a value, as a regex that finds the same place in another session's page:
/// literal, except that values that look generated (another id, as in
/// `<a href="/carts/c-5512/items/`) match any token, since the replay's page has its own.
pub(super) fn generalize(context: &str) -> String {
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
