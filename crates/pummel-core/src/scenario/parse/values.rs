//! Single values: strings, templates, durations, numbers, booleans, lists,
//! regexes, JSONPaths and JSON, each with the error its key gets when wrong.

use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::decoder::Decoder;
use crate::limits::MAX_BODY;
use crate::scenario::duration::{parse_duration, Think};
use crate::scenario::template::Template;
use crate::scenario::yaml::{Kind, Node};

/// A size such as `4096`, `512KiB`, `4MiB`, `1GiB`, `10MB`; `None` when it
/// is not one or does not fit in 64 bits.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// Longest JSONPath accepted: the parser recurses on nesting, and no real
/// path comes near this.
const MAX_JSONPATH: usize = 1024;

impl Decoder<'_> {
    /// A name (of the file, a scenario, a step, a group): a string without
    /// control characters, which reports print as they are — an escape
    /// sequence in a name would rewrite the terminal showing the summary.
    pub(super) fn name(&mut self, node: &Node, what: &str) -> Option<String> {
        let name = self.string(node, what)?;
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            self.err(
                node.span,
                format!("{what} has a control character ({c:?}); a name is printed as it is"),
            );
            return None;
        }
        Some(name)
    }

    pub(super) fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            Kind::Str(_) | Kind::Null => {
                self.err(node.span, format!("{what} is empty"));
                None
            }
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// Any scalar as text (`1` is "1").
    pub(super) fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.scalar_text() {
            Some(s) => Some(s),
            None if matches!(node.kind, Kind::Null) => {
                self.err(
                    node.span,
                    format!("{what} has no value (write \"\" for an empty string)"),
                );
                None
            }
            None => {
                self.err(
                    node.span,
                    format!("{what} must be a single value, found {}", node.type_name()),
                );
                None
            }
        }
    }

    pub(super) fn template(&mut self, node: &Node, what: &str) -> Option<Template> {
        let text = self.scalar(node, what)?;
        match Template::parse(&text) {
            Ok(mut t) => {
                let source = self.source;
                t.bind(&mut |n| n.span = node.inner_span(source, n.start, n.end));
                Some(t)
            }
            Err(e) => {
                let span = node.inner_span(self.source, e.start, e.end);
                self.err(span, format!("{what}: {}", e.message));
                None
            }
        }
    }

    /// A template, or an empty stand-in after an error (the error is recorded).
    pub(super) fn template_or_empty(&mut self, node: &Node, what: &str) -> Template {
        self.template(node, what)
            .unwrap_or_else(|| Template::literal(""))
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = match &node.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(_) | Kind::Float(_) => node.scalar_text().unwrap_or_default(),
            _ => {
                self.err(
                    node.span,
                    format!(
                        "{what} must be a duration such as 500ms or 2s, found {}",
                        node.type_name()
                    ),
                );
                return None;
            }
        };
        parse_duration(&text)
            .map_err(|e| self.err(node.span, format!("{what}: {e}")))
            .ok()
    }

    pub(super) fn positive_duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let d = self.duration(node, what)?;
        if d.is_zero() {
            self.err(node.span, format!("{what} must be more than 0"));
            return None;
        }
        Some(d)
    }

    pub(super) fn think(&mut self, node: &Node, what: &str) -> Option<Think> {
        let Some(text) = node.as_str() else {
            self.err(
                node.span,
                format!(
                    "{what} must be a duration (1s) or a range (1s..3s), found {}",
                    node.type_name()
                ),
            );
            return None;
        };
        Think::parse(text)
            .map_err(|e| self.err(node.span, format!("{what}: {e}")))
            .ok()
    }

    pub(super) fn int(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        match node.kind {
            Kind::Int(n) if (min..=max).contains(&n) => Some(n),
            Kind::Int(n) if n < min => {
                self.err(
                    node.span,
                    format!("{what} must be at least {min}, found {n}"),
                );
                None
            }
            Kind::Int(n) => {
                self.err(
                    node.span,
                    format!("{what} must be at most {max}, found {n}"),
                );
                None
            }
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a whole number, found {}", node.type_name()),
                );
                None
            }
        }
    }

    pub(super) fn number(&mut self, node: &Node, what: &str, min: f64) -> Option<f64> {
        let v = match node.kind {
            Kind::Int(n) => n as f64,
            Kind::Float(x) if x.is_finite() => x,
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a number, found {}", node.type_name()),
                );
                return None;
            }
        };
        if v < min {
            self.err(
                node.span,
                format!("{what} must be at least {min}, found {v}"),
            );
            return None;
        }
        Some(v)
    }

    /// A number above zero (a rate): the least such float is no bound to
    /// state, so the message says "more than 0".
    pub(super) fn positive_number(&mut self, node: &Node, what: &str) -> Option<f64> {
        let v = self.number(node, what, f64::NEG_INFINITY)?;
        if v <= 0.0 {
            self.err(node.span, format!("{what} must be more than 0, found {v}"));
            return None;
        }
        Some(v)
    }

    /// `max_body`: a size in bytes, as a whole number (`4096`) or with a
    /// unit (`512KiB`, `4MiB`, `1GiB`; `KB`, `MB`, `GB` are powers of ten),
    /// from 1 byte up to [`MAX_BODY`].
    pub(super) fn max_body(&mut self, node: &Node) -> Option<u64> {
        let size = match &node.kind {
            Kind::Int(n) => u64::try_from(*n).ok(),
            Kind::Str(s) => parse_size(s),
            _ => None,
        };
        match size {
            Some(n) if (1..=MAX_BODY).contains(&n) => Some(n),
            Some(n) => {
                self.err(
                    node.span,
                    format!(
                        "`max_body` must be from 1 byte to {} MiB, found {n} bytes",
                        MAX_BODY >> 20
                    ),
                );
                None
            }
            None => {
                self.err(
                    node.span,
                    "`max_body` must be a size: bytes (4096) or with a unit (512KiB, 4MiB)",
                );
                None
            }
        }
    }

    pub(super) fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be true or false, found {}", node.type_name()),
                );
                None
            }
        }
    }

    pub(super) fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a list, found {}", node.type_name()),
                );
                None
            }
        }
    }

    pub(super) fn regex(&mut self, node: &Node, what: &str) -> Option<Regex> {
        let text = self.scalar(node, what)?;
        match regex::RegexBuilder::new(&text).size_limit(1 << 22).build() {
            Ok(r) => Some(r),
            Err(e) => {
                let detail = match &e {
                    regex::Error::Syntax(s) => s
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or(s)
                        .to_owned(),
                    other => other.to_string(),
                };
                self.err(node.span, format!("{what}: invalid regex: {detail}"));
                None
            }
        }
    }

    pub(super) fn jsonpath(&mut self, node: &Node, what: &str) -> Option<(JsonPath, String)> {
        let text = self.scalar(node, what)?;
        if text.len() > MAX_JSONPATH {
            self.err(
                node.span,
                format!("{what}: JSONPath longer than {MAX_JSONPATH} characters"),
            );
            return None;
        }
        if !text.starts_with('$') {
            self.err(
                node.span,
                format!("{what}: a JSONPath starts with `$`, e.g. $.items[0].id"),
            );
            return None;
        }
        match JsonPath::parse(&text) {
            Ok(p) => Some((p, text)),
            Err(e) => {
                // The parser's position is where a failed alternative began,
                // not always the bad character: underline the whole path.
                self.err(
                    node.span,
                    format!(
                        "{what}: invalid JSONPath {text:?}: {} at character {}",
                        e.message(),
                        e.position()
                    ),
                );
                None
            }
        }
    }

    pub(super) fn json_value(&mut self, node: &Node) -> Option<Value> {
        Some(match &node.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(n) => Value::from(*n),
            Kind::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => Value::Number(n),
                None => {
                    self.err(node.span, "JSON has no infinite or NaN numbers");
                    return None;
                }
            },
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.json_value(i))
                    .collect::<Option<_>>()?,
            ),
            Kind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = self.scalar(k, "a JSON key")?;
                    map.insert(key, self.json_value(v)?);
                }
                Value::Object(map)
            }
        })
    }
}
