//! What a Postman test script says that a scenario can say too: the status it expects
//! (`pm.response.to.have.status(201)`) and the values it keeps for later requests
//! (`pm.collectionVariables.set("token", pm.response.json().token)`), in the `pm.*` API and in
//! the older `postman.*` one (`postman.setEnvironmentVariable("token", JSON.parse(responseBody)
//! .token)`, `tests["ok"] = responseCode.code === 200`). Scripts are JavaScript; only these
//! common forms are read, and the rest is reported as not converted.

use regex::Regex;

use crate::model::Capture;

/// What was read from one request's test scripts.
#[derive(Debug, Default)]
pub(crate) struct ScriptFacts {
    /// The `status` check, as YAML.
    pub(crate) status: Option<String>,
    /// Postman variable name → capture.
    pub(crate) captures: Vec<(String, Capture)>,
    /// Script lines (not blank, not comments) that said something else.
    pub(crate) unread_lines: usize,
}

pub(crate) struct Reader {
    status: Regex,
    code: Regex,
    legacy_code: Regex,
    set: Regex,
    json_alias: Regex,
    json_body: Regex,
}

/// The response body parsed as JSON, in the forms scripts write it.
const JSON_BODY: &str =
    r"pm\.response\.json\(\)|JSON\.parse\(\s*(?:responseBody|pm\.response\.text\(\))\s*\)";

impl Reader {
    pub(crate) fn new() -> Option<Reader> {
        Some(Reader {
            status: Regex::new(r"pm\.response\.to\.have\.status\(\s*(\d{3})\s*\)").ok()?,
            code: Regex::new(r"pm\.expect\(\s*pm\.response\.code\s*\)\.to\.(?:eql|equal|be\.equal|eq)\(\s*(\d{3})\s*\)").ok()?,
            legacy_code: Regex::new(r"^\s*tests\[.*\]\s*=\s*responseCode\.code\s*===?\s*(\d{3})\s*;?\s*$").ok()?,
            set: Regex::new(
                r#"(?:pm\.(?:environment|collectionVariables|globals|variables)\.set|postman\.set(?:Environment|Global)Variable)\(\s*["']([^"']+)["']\s*,\s*(.+?)\s*\)\s*;?\s*$"#,
            )
            .ok()?,
            json_alias: Regex::new(&format!(r"(?:var|let|const)\s+(\w+)\s*=\s*(?:{JSON_BODY})\s*;?")).ok()?,
            json_body: Regex::new(&format!("^(?:{JSON_BODY})")).ok()?,
        })
    }

    pub(crate) fn read(&self, lines: &[String]) -> ScriptFacts {
        let mut facts = ScriptFacts::default();
        let aliases: Vec<String> = lines
            .iter()
            .filter_map(|l| self.json_alias.captures(l).map(|c| c[1].to_owned()))
            .collect();
        for line in lines {
            let trimmed = line.trim();
            if trimmed.is_empty()
                || trimmed.starts_with("//")
                || matches!(trimmed, "});" | "}" | "})")
            {
                continue;
            }
            if let Some(c) = self
                .status
                .captures(line)
                .or_else(|| self.code.captures(line))
                .or_else(|| self.legacy_code.captures(line))
            {
                facts.status.get_or_insert_with(|| c[1].to_owned());
                continue;
            }
            if line.contains("pm.response.to.be.ok") {
                facts.status.get_or_insert_with(|| "200".to_owned());
                continue;
            }
            if line.contains("pm.response.to.be.success") {
                facts.status.get_or_insert_with(|| "2xx".to_owned());
                continue;
            }
            if self.json_alias.is_match(line) || trimmed.starts_with("pm.test(") {
                continue;
            }
            if let Some(c) = self.set.captures(line) {
                if let Some(capture) = value_capture(&c[2], &aliases, &self.json_body) {
                    facts.captures.push((c[1].to_owned(), capture));
                    continue;
                }
            }
            facts.unread_lines += 1;
        }
        facts
    }
}

/// `pm.response.json().a.b[0]` / `alias.a["b"]` → `$.a.b[0]`; `pm.response.headers.get("X")` →
/// the header.
fn value_capture(expr: &str, aliases: &[String], json_body: &Regex) -> Option<Capture> {
    let expr = expr.trim();
    for prefix in [
        "pm.response.headers.get(\"",
        "pm.response.headers.get('",
        "postman.getResponseHeader(\"",
        "postman.getResponseHeader('",
    ] {
        if let Some(rest) = expr.strip_prefix(prefix) {
            let name = rest.trim_end_matches([')', '"', '\'']);
            return Some(Capture::Header(name.to_owned()));
        }
    }
    let parsed = json_body.find(expr).map(|m| &expr[m.end()..]);
    let rest = parsed.or_else(|| {
        aliases.iter().find_map(|a| {
            expr.strip_prefix(a.as_str())
                .filter(|r| r.is_empty() || r.starts_with(['.', '[']))
        })
    })?;
    let mut path = "$".to_owned();
    let mut chars = rest;
    while !chars.is_empty() {
        if let Some(r) = chars.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            path.push('.');
            path.push_str(key);
            chars = &r[end..];
        } else if let Some(r) = chars.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if inner.chars().all(|c| c.is_ascii_digit()) && !inner.is_empty() {
                path.push_str(&format!("[{inner}]"));
            } else {
                let key = inner.trim_matches(['"', '\'']);
                path.push_str(&format!("['{key}']"));
            }
            chars = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(Capture::JsonPath(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn status_and_captures() {
        let reader = Reader::new().unwrap();
        let facts = reader.read(&lines(
            "pm.test(\"created\", function () {\n  pm.response.to.have.status(201);\n});\nconst body = pm.response.json();\npm.collectionVariables.set(\"appId\", body.id);\npm.environment.set('first', pm.response.json().items[0][\"name\"]);\npm.environment.set('etag', pm.response.headers.get('ETag'));\nconsole.log(body);",
        ));
        assert_eq!(facts.status.as_deref(), Some("201"));
        assert_eq!(
            facts.captures,
            vec![
                ("appId".to_owned(), Capture::JsonPath("$.id".to_owned())),
                (
                    "first".to_owned(),
                    Capture::JsonPath("$.items[0]['name']".to_owned())
                ),
                ("etag".to_owned(), Capture::Header("ETag".to_owned())),
            ]
        );
        assert_eq!(facts.unread_lines, 1);
    }
}
