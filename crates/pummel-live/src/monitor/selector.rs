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

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let err = |offset: usize, message: String| SelectorError { message, offset };
        let s = text.trim_end();
        let start = s.len() - s.trim_start().len();
        let chars: Vec<(usize, char)> = s
            .char_indices()
            .skip_while(|(_, c)| c.is_whitespace())
            .collect();
        let mut i = 0;
        let name_end = chars
            .iter()
            .position(|(_, c)| !is_name_char(*c))
            .unwrap_or(chars.len());
        match chars.first() {
            Some((_, c)) if is_name_start(*c) => {}
            _ => {
                return Err(err(
                    start,
                    "expected a metric name (letters, digits, _ and :), e.g. node_load1".to_owned(),
                ))
            }
        }
        let metric: String = chars[..name_end].iter().map(|(_, c)| c).collect();
        i += name_end;
        let mut matchers = Vec::new();
        if i < chars.len() {
            if chars[i].1 != '{' {
                return Err(err(
                    chars[i].0,
                    format!(
                        "unexpected {:?} after the metric name: label matchers go in {{…}}",
                        chars[i].1
                    ),
                ));
            }
            i += 1;
            loop {
                while i < chars.len() && chars[i].1.is_whitespace() {
                    i += 1;
                }
                match chars.get(i) {
                    Some((_, '}')) => {
                        i += 1;
                        break;
                    }
                    Some((_, c)) if is_name_start(*c) && *c != ':' => {}
                    Some((at, c)) => {
                        return Err(err(
                            *at,
                            format!("expected a label name or }}, found {c:?}"),
                        ))
                    }
                    None => return Err(err(s.len(), "unclosed {: expected }".to_owned())),
                }
                let label_start = i;
                while i < chars.len() && is_name_char(chars[i].1) && chars[i].1 != ':' {
                    i += 1;
                }
                let label: String = chars[label_start..i].iter().map(|(_, c)| c).collect();
                while i < chars.len() && chars[i].1.is_whitespace() {
                    i += 1;
                }
                let negated =
                    match (chars.get(i).map(|c| c.1), chars.get(i + 1).map(|c| c.1)) {
                        (Some('='), Some('~')) | (Some('!'), Some('~')) => return Err(err(
                            chars[i].0,
                            "regular-expression matchers (=~, !~) are not supported: use = or !="
                                .to_owned(),
                        )),
                        (Some('!'), Some('=')) => {
                            i += 2;
                            true
                        }
                        (Some('='), _) => {
                            i += 1;
                            false
                        }
                        _ => {
                            let at = chars.get(i).map_or(s.len(), |c| c.0);
                            return Err(err(at, format!("expected = or != after label {label}")));
                        }
                    };
                while i < chars.len() && chars[i].1.is_whitespace() {
                    i += 1;
                }
                if chars.get(i).map(|c| c.1) != Some('"') {
                    let at = chars.get(i).map_or(s.len(), |c| c.0);
                    return Err(err(
                        at,
                        format!("expected a quoted value for label {label}"),
                    ));
                }
                i += 1;
                let mut value = String::new();
                loop {
                    match chars.get(i).map(|c| c.1) {
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            match chars.get(i + 1).map(|c| c.1) {
                                Some('n') => value.push('\n'),
                                Some(c) => value.push(c),
                                None => return Err(err(s.len(), "unterminated value".to_owned())),
                            }
                            i += 2;
                        }
                        Some(c) => {
                            value.push(c);
                            i += 1;
                        }
                        None => {
                            return Err(err(
                                s.len(),
                                format!("unterminated value of label {label}"),
                            ))
                        }
                    }
                }
                matchers.push(Matcher {
                    label,
                    value,
                    negated,
                });
                while i < chars.len() && chars[i].1.is_whitespace() {
                    i += 1;
                }
                match chars.get(i).map(|c| c.1) {
                    Some(',') => i += 1,
                    Some('}') => {}
                    Some(c) => {
                        return Err(err(
                            chars[i].0,
                            format!("expected , or }} after a matcher, found {c:?}"),
                        ))
                    }
                    None => return Err(err(s.len(), "unclosed {: expected }".to_owned())),
                }
            }
            if let Some((at, c)) = chars.get(i) {
                return Err(err(*at, format!("unexpected {c:?} after the selector")));
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
