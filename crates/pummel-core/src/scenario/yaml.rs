//! A YAML document as a tree of located nodes.
//!
//! Why not deserialize straight into the scenario types with serde? Because
//! serde stops at the first error, and `pummel validate` must report every
//! error in a file at once. So serde-saphyr (panic-free, fuzzed, with
//! locations) parses the text into this small tree, each node keeping the
//! line and column it came from, and the decoder walks the tree collecting
//! every problem it meets. Only YAML syntax errors stop the parse: past one,
//! nothing in the file can be trusted.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::diagnostic::Span;

/// A YAML node and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub span: Span,
    /// Byte offset of the node's first character in the source text (for
    /// scalars, of the opening quote when quoted).
    pub offset: Option<usize>,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order (duplicate keys are a YAML error).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// "a string", "a list", ...: for "expected X, found Y" messages.
    pub(super) fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "nothing (null)",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar: strings as they are, numbers and booleans as
    /// written in canonical form. A header value of `1` is the text "1".
    pub(super) fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::Float(x) => Some(x.to_string()),
            Kind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The span of the byte range `start..end` of this string scalar's value,
    /// to point inside it (at a bad template expression, say).
    ///
    /// Exact for plain and quoted single-line scalars without escapes, and
    /// for literal block scalars (`|`); otherwise the whole scalar's span,
    /// which is still the right line.
    pub(super) fn inner_span(&self, source: &str, start: usize, end: usize) -> Span {
        let (Kind::Str(value), Some(offset)) = (&self.kind, self.offset) else {
            return self.span;
        };
        let (Some(prefix), Some(piece)) = (value.get(..start), value.get(start..end.max(start)))
        else {
            return self.span;
        };
        let len = piece.chars().take_while(|&c| c != '\n').count().max(1) as u32;
        let Some(raw) = source.get(offset..) else {
            return self.span;
        };
        // Plain or quoted without escapes: the value is in the source as is.
        let quoted = raw.starts_with('"') || raw.starts_with('\'');
        let skip = usize::from(quoted);
        if !value.contains('\n') && raw.get(skip..skip + value.len()) == Some(value.as_str()) {
            let column = self.span.column + skip as u32 + prefix.chars().count() as u32;
            return Span::new(self.span.line, column, len);
        }
        // Literal block: each value line is a source line at the node's column.
        if !quoted {
            let line_in_value = prefix.matches('\n').count();
            let col_in_line = prefix.rsplit('\n').next().unwrap_or("").chars().count() as u32;
            let value_line = value.split('\n').nth(line_in_value).unwrap_or("");
            let source_line = raw.split('\n').nth(line_in_value).unwrap_or("");
            if source_line.trim_start() == value_line.trim_start()
                || source_line.ends_with(value_line)
            {
                return Span::new(
                    self.span.line + line_in_value as u32,
                    self.span.column + col_in_line,
                    len,
                );
            }
        }
        self.span
    }
}

/// How deeply collections may nest. Deserializing recurses once per level
/// (and a debug build spends tens of KiB of stack a level), so the loader
/// runs on a thread with a stack sized for this; see `super::load_text`.
pub(crate) const MAX_DEPTH: usize = crate::limits::MAX_YAML_DEPTH;

/// Parses one YAML document. A syntax error comes with its place.
pub(crate) fn parse(text: &str) -> Result<Node, (Span, String)> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! { max_depth: MAX_DEPTH, max_nodes: MAX_NODES, max_aliases: MAX_ALIASES },
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|err| {
        let span = err
            .location()
            .map(|l| Span::new(clamp(l.line()), clamp(l.column()), 1))
            .unwrap_or(Span::UNKNOWN);
        let message = match err.without_snippet() {
            serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
            other => format!(
                "invalid YAML: {}",
                UserMessageFormatter.format_message(other)
            ),
        };
        (span, message)
    })
}

/// Most YAML values (mappings, lists, scalars) in a scenario file.
pub(crate) const MAX_NODES: usize = crate::limits::MAX_YAML_NODES;

/// Most aliases (`*name`) in a scenario file.
const MAX_ALIASES: usize = 10_000;

/// A YAML limit, in words and with its number (the parser's own message
/// is its debug form, `Nodes { nodes: 250001 }`).
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let what = match breach {
        B::Nodes { .. } => format!("more than {MAX_NODES} values (mappings, lists and scalars)"),
        B::Depth { .. } => format!("collections nested more than {MAX_DEPTH} deep"),
        B::Aliases { .. } | B::AliasAnchorRatio { .. } => {
            format!("more than {MAX_ALIASES} aliases, or aliases that expand too far")
        }
        other => format!("more YAML than a scenario file may hold ({other:?})"),
    };
    format!("the file is too large or too complex: {what} (see docs/limits.md)")
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Kind>::deserialize(deserializer)?;
        let at = spanned.referenced;
        let span = at.span();
        Ok(Node {
            span: Span::new(clamp(at.line()), clamp(at.column()), clamp(span.len())),
            offset: span.byte_offset().and_then(|o| usize::try_from(o).ok()),
            kind: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        Kind::deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        Kind::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(node) = seq.next_element::<Node>()? {
            items.push(node);
        }
        Ok(Kind::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(node: &Node) -> &[(Node, Node)] {
        match &node.kind {
            Kind::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn keeps_types_and_locations() {
        let text = "a: 1\nb:  \"x{{ y }}\"\nc: [true, 2.5, ~, plain]\n";
        let root = parse(text).unwrap();
        let m = map(&root);
        assert_eq!(m[0].0.as_str(), Some("a"));
        assert_eq!(m[0].1.kind, Kind::Int(1));
        assert_eq!((m[1].1.span.line, m[1].1.span.column), (2, 5));
        let Kind::Seq(items) = &m[2].1.kind else {
            panic!()
        };
        assert_eq!(
            items.iter().map(Node::type_name).collect::<Vec<_>>(),
            ["a boolean", "a number", "nothing (null)", "a string"]
        );
        assert_eq!((items[3].span.line, items[3].span.column), (3, 19));
    }

    #[test]
    fn points_inside_scalars() {
        let text =
            "a: x{{ y }}\nb:  \"p {{ z }}\"\nc: |\n  one\n  two {{ q }}\nd: \"esc\\n{{ v }}\"\n";
        let root = parse(text).unwrap();
        let m = map(&root);
        let at = |i: usize, needle: &str| {
            let v = m[i].1.as_str().unwrap();
            let s = v.find(needle).unwrap();
            let sp = m[i].1.inner_span(text, s, s + needle.len());
            (sp.line, sp.column, sp.len)
        };
        assert_eq!(at(0, "y"), (1, 8, 1));
        assert_eq!(at(1, "z"), (2, 11, 1));
        assert_eq!(at(2, "q"), (5, 10, 1));
        // An escape moves text around: fall back to the whole scalar.
        assert_eq!(at(3, "v").0, 6);
        assert_eq!(at(3, "v").1, 4);
    }

    #[test]
    fn syntax_errors_are_located() {
        for (text, line) in [
            ("a: [1, 2\nb: 3\n", 2),
            ("a: 1\na: 2\n", 2),
            ("a: b: c\n", 1),
            ("x: *nope\n", 1),
            ("---\na: 1\n---\nb: 2\n", 4),
        ] {
            let (span, message) = parse(text).unwrap_err();
            assert_eq!(span.line, line, "{text:?}: {message}");
            assert!(message.starts_with("invalid YAML: "), "{message}");
            assert!(!message.contains("at line"), "{message}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(garbage)
            .unwrap()
            .join()
            .unwrap();
    }

    fn garbage() {
        let samples = ["", "\0", "{{{{", "- - - -", ": : :", "&a [*a]", "!!binary zz", "\"unterminated", "a:\n\t- b", "? [a]\n: b", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"];
        for s in samples {
            let _ = parse(s);
        }
        let mut seed = 7u64;
        let alphabet = b"ab:- \n\t[]{},\"'&*!|>#%@`?{}0123456789.~";
        for _ in 0..2000 {
            let len = (seed % 60) as usize;
            let s: String = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(seed >> 33) as usize % alphabet.len()] as char
                })
                .collect();
            let _ = parse(&s);
        }
    }
}
