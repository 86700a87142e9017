//! Writes a [`Document`] as a scenario file: block YAML, every string quoted where YAML could
//! read it as something else, comments where the conversion guessed.

use std::fmt::Write as _;

use crate::model::{Auth, Body, Capture, Document, Json, RequestStep, Step};
use crate::text::Text;

/// The scenario file's text.
pub(crate) fn document(doc: &Document) -> String {
    let mut out = String::new();
    for line in &doc.header {
        comment(&mut out, 0, line);
    }
    if let Some(name) = &doc.name {
        let _ = writeln!(out, "name: {}", scalar(name));
    }
    if let Some(target) = &doc.target {
        let _ = writeln!(out, "target: {}", scalar(target));
    }
    if !doc.variables.is_empty() {
        out.push_str("\nvariables:\n");
        for (name, value) in &doc.variables {
            let _ = writeln!(out, "  {}: {}", key(name), text(value));
        }
    }
    out.push_str("\n# One virtual user, one pass, unless the command line says otherwise:\n");
    out.push_str("#   pummel run FILE --vus 10 --duration 1m\n");
    out.push_str("scenarios:\n");
    // A scenario's name cannot hold `/` (results name steps `scenario/step`).
    let _ = writeln!(out, "  - name: {}", scalar(&doc.scenario.replace('/', "-")));
    out.push_str("    steps:\n");
    steps(&mut out, 6, &doc.steps);
    out
}

fn steps(out: &mut String, indent: usize, steps: &[Step]) {
    for step in steps {
        match step {
            Step::Request(request) => request_step(out, indent, request),
            Step::Group { name, steps: inner } => {
                let pad = " ".repeat(indent);
                let _ = writeln!(out, "{pad}- group: {}", scalar(name));
                let _ = writeln!(out, "{pad}  steps:");
                self::steps(out, indent + 4, inner);
            }
            Step::Parallel {
                name,
                requests,
                think_ms,
            } => {
                let pad = " ".repeat(indent);
                let _ = writeln!(out, "{pad}- name: {}", scalar(name));
                let _ = writeln!(out, "{pad}  parallel:");
                for request in requests {
                    request_step(out, indent + 4, request);
                }
                if let Some(ms) = think_ms {
                    let _ = writeln!(out, "{pad}- think: {}", duration(*ms));
                }
            }
        }
    }
}

fn request_step(out: &mut String, indent: usize, step: &RequestStep) {
    let pad = " ".repeat(indent);
    for line in &step.comments {
        comment(out, indent, line);
    }
    let mut first = true;
    let mut line = |out: &mut String, s: &str| {
        let lead = if first { "- " } else { "  " };
        first = false;
        let _ = writeln!(out, "{pad}{lead}{s}");
    };
    if let Some(name) = &step.name {
        line(out, &format!("name: {}", scalar(name)));
    }
    line(out, "request:");
    let inner = format!("{pad}    ");
    let _ = writeln!(out, "{inner}method: {}", step.method);
    let _ = writeln!(out, "{inner}url: {}", text(&step.url));
    pairs(out, &inner, "query", &step.query);
    pairs(out, &inner, "headers", &step.headers);
    match &step.auth {
        None => {}
        Some(Auth::Bearer(token)) => {
            // Quoted: in a flow mapping a plain `Doe, Jane` would be two entries.
            let _ = writeln!(
                out,
                "{inner}auth: {{ bearer: {} }}",
                quoted(&token.render())
            );
        }
        Some(Auth::Basic { username, password }) => {
            let _ = writeln!(
                out,
                "{inner}auth: {{ basic: {{ username: {}, password: {} }} }}",
                quoted(&username.render()),
                quoted(&password.render())
            );
        }
    }
    if step.stop_at_redirect {
        let _ = writeln!(out, "{inner}follow_redirects: false");
    } else if let Some(max) = step.max_redirects {
        let _ = writeln!(out, "{inner}follow_redirects: {max}");
    }
    match &step.body {
        None => {}
        Some(Body::Json(json)) => {
            let _ = writeln!(out, "{inner}json: {}", json_flow(json));
        }
        Some(Body::Form(fields)) => pairs(out, &inner, "form", fields),
        Some(Body::Raw(body)) => {
            let _ = writeln!(out, "{inner}body: {}", text(body));
        }
        Some(Body::Multipart(fields)) => pairs(out, &inner, "multipart", fields),
    }
    if let Some(status) = &step.status {
        let _ = writeln!(out, "{pad}  check:");
        let _ = writeln!(out, "{pad}    status: {status}");
    }
    if !step.captures.is_empty() {
        let _ = writeln!(out, "{pad}  capture:");
        for (name, capture) in &step.captures {
            let (kind, value) = match capture {
                Capture::JsonPath(p) => ("jsonpath", p),
                Capture::Regex(r) => ("regex", r),
                Capture::Header(h) => ("header", h),
                Capture::Cookie(c) => ("cookie", c),
            };
            let _ = writeln!(
                out,
                "{pad}    {}: {{ {kind}: {} }}",
                key(name),
                scalar(value)
            );
        }
    }
    if let Some(ms) = step.think_ms {
        let _ = writeln!(out, "{pad}  think: {}", duration(ms));
    }
}

fn pairs(out: &mut String, indent: &str, name: &str, pairs: &[(String, Text)]) {
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}{name}:");
    // Repeated names (a query parameter or form field sent twice) become a list.
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in pairs {
        if seen.contains(&k.as_str()) {
            continue;
        }
        seen.push(k);
        let values: Vec<&Text> = pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v)
            .collect();
        if let [one] = values.as_slice() {
            let _ = writeln!(out, "{indent}  {}: {}", key(k), text(one));
        } else {
            // Quoted: in a flow list a plain `a,b` would be two items.
            let list: Vec<String> = values.iter().map(|v| quoted(&v.render())).collect();
            let _ = writeln!(out, "{indent}  {}: [{}]", key(k), list.join(", "));
        }
    }
}

fn comment(out: &mut String, indent: usize, line: &str) {
    let pad = " ".repeat(indent);
    if line.is_empty() {
        let _ = writeln!(out, "{pad}#");
    } else {
        // A comment never spans lines: a recorded value cannot end the comment early.
        let _ = writeln!(out, "{pad}# {}", line.replace(['\n', '\r'], " "));
    }
}

/// `1500` → `1500ms`; whole seconds as seconds.
pub(crate) fn duration(ms: u64) -> String {
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn text(t: &Text) -> String {
    scalar(&t.render())
}

/// A JSON body in YAML's flow style (JSON itself), strings as templates.
fn json_flow(json: &Json) -> String {
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.clone(),
        Json::String(t) => quoted(&t.render()),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(json_flow).collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", quoted(k), json_flow(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

fn key(name: &str) -> String {
    if plain_ok(name) {
        name.to_owned()
    } else {
        quoted(name)
    }
}

/// A string as YAML: plain when nothing in it could be read as other than that string, else
/// double-quoted (JSON's escapes are YAML's).
pub(crate) fn scalar(s: &str) -> String {
    if plain_ok(s) {
        s.to_owned()
    } else {
        quoted(s)
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{}\"", s.escape_default()))
}

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let special_words = [
        "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n",
    ];
    if special_words.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    // Anything YAML might read as a number, a date or a duration-like token stays quoted.
    if first.is_ascii_digit() || matches!(first, '-' | '+' | '.') {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_') {
        return false;
    }
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '/' | '_' | '-' | '.' | ' ' | '(' | ')' | '=' | '+' | ',' | ';' | '@'
            )
    }) && !s.contains(": ")
        && !s.contains(" #")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_that_yaml_would_misread_are_quoted() {
        assert_eq!(scalar("/api/apps"), "/api/apps");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("123"), "\"123\"");
        assert_eq!(scalar("{{ x }}"), "\"{{ x }}\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("http://x"), "\"http://x\"");
        assert_eq!(scalar("line\nbreak"), "\"line\\nbreak\"");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(1500), "1500ms");
        assert_eq!(duration(2000), "2s");
    }
}
