//! Which series of an endpoint to keep: a metric name and optional label
//! matchers, written as PromQL writes an instant selector —
//! `node_cpu_seconds_total{mode="idle",cpu!="0"}`.

use std::collections::BTreeMap;

/// One label matcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub value: String,
    /// `!=` rather than `=`.
    pub negated: bool,
}

/// A parsed selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// As written, for the result and the report.
    pub text: String,
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

/// A selector that does not parse: what is wrong and at which byte of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    pub message: String,
    /// Byte offset into the selector text.
    pub offset: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// A cursor over the selector's characters, with their byte offsets.
struct Cursor {
    chars: Vec<(usize, char)>,
    at: usize,
    /// The text's length: where an error at the end points.
    end: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|c| c.1)
    }

    fn peek2(&self) -> Option<char> {
        self.chars.get(self.at + 1).map(|c| c.1)
    }

    /// The byte offset of the current character (the end when past it).
    fn offset(&self) -> usize {
        self.chars.get(self.at).map_or(self.end, |c| c.0)
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|c| keep(*c)) {
            out.push(c);
            self.at += 1;
        }
        out
    }

    fn err(&self, message: impl Into<String>) -> SelectorError {
        SelectorError {
            message: message.into(),
            offset: self.offset(),
        }
    }

    /// `= "value"` or `!= "value"` after a label name.
    fn matcher(&mut self, label: String) -> Result<Matcher, SelectorError> {
        self.skip_space();
        let negated = match (self.peek(), self.peek2()) {
            (Some('=' | '!'), Some('~')) => {
                return Err(
                    self.err("regular-expression matchers (=~, !~) are not supported: use = or !=")
                )
            }
            (Some('!'), Some('=')) => {
                self.at += 2;
                true
            }
            (Some('='), _) => {
                self.at += 1;
                false
            }
            _ => return Err(self.err(format!("expected = or != after label {label}"))),
        };
        self.skip_space();
        if self.peek() != Some('"') {
            return Err(self.err(format!("expected a quoted value for label {label}")));
        }
        self.at += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.at += 1;
                    break;
                }
                Some('\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some('n') => value.push('\n'),
                        Some(c) => value.push(c),
                        None => return Err(self.err("unterminated value")),
                    }
                    self.at += 1;
                }
                Some(c) => {
                    value.push(c);
                    self.at += 1;
                }
                None => return Err(self.err(format!("unterminated value of label {label}"))),
            }
        }
        Ok(Matcher {
            label,
            value,
            negated,
        })
    }

    /// The matchers after `{`, up to and including `}`.
    fn matchers(&mut self) -> Result<Vec<Matcher>, SelectorError> {
        let mut matchers = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some('}') => {
                    self.at += 1;
                    return Ok(matchers);
                }
                Some(c) if is_name_start(c) && c != ':' => {}
                Some(c) => {
                    return Err(self.err(format!("expected a label name or }}, found {c:?}")))
                }
                None => return Err(self.err("unclosed {: expected }")),
            }
            let label = self.take_while(|c| is_name_char(c) && c != ':');
            matchers.push(self.matcher(label)?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                Some('}') => {}
                Some(c) => {
                    return Err(self.err(format!("expected , or }} after a matcher, found {c:?}")))
                }
                None => return Err(self.err("unclosed {: expected }")),
            }
        }
    }
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let s = text.trim_end();
        let mut cursor = Cursor {
            chars: s.char_indices().collect(),
            at: 0,
            end: s.len(),
        };
        cursor.skip_space();
        if !cursor.peek().is_some_and(is_name_start) {
            return Err(
                cursor.err("expected a metric name (letters, digits, _ and :), e.g. node_load1")
            );
        }
        let metric = cursor.take_while(is_name_char);
        let mut matchers = Vec::new();
        match cursor.peek() {
            None => {}
            Some('{') => {
                cursor.at += 1;
                matchers = cursor.matchers()?;
                if let Some(c) = cursor.peek() {
                    return Err(cursor.err(format!("unexpected {c:?} after the selector")));
                }
            }
            Some(c) => {
                return Err(cursor.err(format!(
                    "unexpected {c:?} after the metric name: label matchers go in {{…}}"
                )))
            }
        }
        Ok(Selector {
            text: s.trim_start().to_owned(),
            metric,
            matchers,
        })
    }

    /// Whether a scraped series is one of this selector's.
    pub fn matches(&self, metric: &str, labels: &BTreeMap<String, String>) -> bool {
        metric == self.metric
            && self.matchers.iter().all(|m| {
                let value = labels.get(&m.label).map_or("", String::as_str);
                (value == m.value) != m.negated
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_and_match() {
        let s = Selector::parse(r#"node_cpu_seconds_total{mode="idle", cpu!="0"}"#).unwrap();
        assert_eq!(s.metric, "node_cpu_seconds_total");
        assert_eq!(s.matchers.len(), 2);
        let labels = |mode: &str, cpu: &str| {
            BTreeMap::from([
                ("mode".to_owned(), mode.to_owned()),
                ("cpu".to_owned(), cpu.to_owned()),
            ])
        };
        assert!(s.matches("node_cpu_seconds_total", &labels("idle", "1")));
        assert!(!s.matches("node_cpu_seconds_total", &labels("idle", "0")));
        assert!(!s.matches("node_cpu_seconds_total", &labels("user", "1")));
        assert!(!s.matches("node_load1", &labels("idle", "1")));
        let bare = Selector::parse("node_load1").unwrap();
        assert!(bare.matchers.is_empty());
        assert!(Selector::parse("node_load1{}").unwrap().matchers.is_empty());
    }

    #[test]
    fn bad_selectors_say_where() {
        for (text, offset, needle) in [
            ("1abc", 0, "metric name"),
            ("up{mode=~\"x\"}", 7, "regular-expression"),
            ("up{mode=idle}", 8, "quoted value"),
            ("up{mode=\"idle\"", 14, "unclosed"),
            ("up x", 2, "after the metric name"),
        ] {
            let e = Selector::parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text}: {e:?}");
            assert!(e.message.contains(needle), "{text}: {e}");
        }
    }
}
