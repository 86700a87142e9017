//! Errors in a scenario file, each pointing at a line and column.
//!
//! Loading a scenario never stops at the first problem: the decoder and the
//! validator push every error they find into a `Problems` list, and the
//! caller gets them all at once as [`Diagnostics`], sorted by position and
//! rendered the way compilers do:
//!
//! ```text
//! checkout.yaml:12:5: unknown key `wieght` in a scenario (did you mean `weight`?)
//!    12 |     wieght: 3
//!       |     ^^^^^^
//! ```
//!
//! The first line is `file:line:column: message` so editors and CI logs can
//! jump to it; the source line and a caret under the offending text follow.

use std::fmt;

/// A place in a scenario file: 1-based line and column (counted in
/// characters, as editors do) and the length of the offending text, for the
/// caret underline. Line 0 means "no particular place".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Span {
    /// No particular place: the error is about the whole file.
    pub const UNKNOWN: Span = Span {
        line: 0,
        column: 0,
        len: 0,
    };

    pub fn new(line: u32, column: u32, len: u32) -> Span {
        Span { line, column, len }
    }

    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// One error, located in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as it was named to the loader.
    pub file: String,
    /// 1-based; 0 when the error concerns the whole file (it cannot be read, say).
    pub line: u32,
    /// 1-based, in characters; 0 when `line` is 0.
    pub column: u32,
    /// Characters to underline from `column` (at least one caret is drawn).
    pub len: u32,
    pub message: String,
    /// The text of line `line`, without its line break, when it is known.
    pub source_line: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        let Some(text) = &self.source_line else {
            return Ok(());
        };
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        // A long line (minified JSON, a 1 MB value) is shown as a window
        // around the caret, not echoed whole.
        let col = self.column.max(1) as usize - 1;
        let total = text.chars().count();
        let start = if total > EXCERPT_CHARS {
            col.saturating_sub(BEFORE_CARET)
                .min(total.saturating_sub(EXCERPT_CHARS))
        } else {
            0
        };
        let end = (start + EXCERPT_CHARS).min(total);
        let (before, after) = (
            if start > 0 { "…" } else { "" },
            if end < total { "…" } else { "" },
        );
        let shown: String = text.chars().skip(start).take(end - start).collect();
        write!(f, "\n {number} | {before}{shown}{after}\n {gutter} | ")?;
        if start > 0 {
            f.write_str(" ")?;
        }
        // Copy tabs from the source prefix so the caret lines up whatever the
        // terminal's tab width.
        let col = col - start;
        let mut chars = shown.chars();
        for c in chars.by_ref().take(col) {
            f.write_str(if c == '\t' { "\t" } else { " " })?;
        }
        let rest = chars.count().max(1);
        let carets = (self.len as usize).clamp(1, rest);
        f.write_str(&"^".repeat(carets))
    }
}

/// The most characters of a source line an excerpt shows.
const EXCERPT_CHARS: usize = 120;
/// How many of them come before the caret, when the line is cut.
const BEFORE_CARET: usize = 40;

/// Every error found in a scenario file; the error type of loading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// A single error about a whole file.
    pub fn whole_file(file: &str, message: impl Into<String>) -> Diagnostics {
        Diagnostics {
            items: vec![Diagnostic {
                file: file.to_owned(),
                line: 0,
                column: 0,
                len: 0,
                message: message.into(),
                source_line: None,
            }],
        }
    }

    /// A single error at a place in a file whose text could not be parsed
    /// into lines (it is not UTF-8): `line` is the text of that line so far.
    pub(crate) fn at(file: &str, span: Span, line: String, message: String) -> Diagnostics {
        Diagnostics {
            items: vec![Diagnostic {
                file: file.to_owned(),
                line: span.line,
                column: span.column,
                len: span.len,
                message,
                source_line: Some(line),
            }],
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    /// Adds the errors of another list, keeping the order by position.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
        self.normalise();
    }

    fn normalise(&mut self) {
        self.items.sort_by(|a, b| {
            (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message))
        });
        self.items.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            writeln!(f, "{d}")?;
        }
        match self.items.len() {
            0 => Ok(()),
            1 => write!(f, "1 error"),
            n => write!(f, "{n} errors"),
        }
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The errors collected while loading one file, before they are tied to its
/// name and text.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    items: Vec<(Span, String)>,
}

impl Problems {
    pub(crate) fn push(&mut self, span: Span, message: impl Into<String>) {
        self.items.push((span, message.into()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn messages(&self) -> Vec<String> {
        self.items.iter().map(|(_, m)| m.clone()).collect()
    }

    /// Ties the errors to the file they were found in.
    pub(crate) fn into_diagnostics(self, file: &str, text: &str) -> Diagnostics {
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Diagnostics {
            items: self
                .items
                .into_iter()
                .map(|(span, message)| Diagnostic {
                    file: file.to_owned(),
                    line: span.line,
                    column: span.column,
                    len: span.len,
                    message,
                    source_line: span
                        .line
                        .checked_sub(1)
                        .and_then(|i| lines.get(i as usize))
                        .map(|l| l.trim_end_matches('\r').to_owned()),
                })
                .collect(),
        };
        out.normalise();
        out
    }
}

/// "did you mean ...?" for a misspelt name, when one of `candidates` is close.
pub(crate) fn suggest<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score =
            strsim::jaro_winkler(&given.to_ascii_lowercase(), &candidate.to_ascii_lowercase());
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `message` with " (did you mean `x`?)" appended when a candidate is close.
pub(crate) fn with_suggestion<'a>(
    message: String,
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match suggest(given, candidates) {
        Some(s) => format!("{message} (did you mean `{s}`?)"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_source_and_caret() {
        let mut p = Problems::default();
        p.push(Span::new(2, 3, 6), "unknown key `wieght`");
        let d = p.into_diagnostics("x.yaml", "a: 1\n  wieght: 3\n");
        assert_eq!(
            d.to_string(),
            "x.yaml:2:3: unknown key `wieght`\n 2 |   wieght: 3\n   |   ^^^^^^\n1 error"
        );
    }

    #[test]
    fn sorts_dedups_and_counts() {
        let mut p = Problems::default();
        p.push(Span::new(3, 1, 1), "b");
        p.push(Span::new(1, 1, 1), "a");
        p.push(Span::new(3, 1, 1), "b");
        let d = p.into_diagnostics("f", "x\ny\nz");
        assert_eq!(d.len(), 2);
        assert_eq!(d.iter().map(|d| d.line).collect::<Vec<_>>(), vec![1, 3]);
        assert!(d.to_string().ends_with("2 errors"));
    }

    #[test]
    fn caret_copes_with_tabs_lengths_and_missing_lines() {
        let mut p = Problems::default();
        p.push(Span::new(1, 3, 99), "long");
        p.push(Span::new(7, 1, 1), "past the end");
        let d = p.into_diagnostics("f", "\tab");
        let text = d.to_string();
        assert!(text.contains(" 1 | \tab\n   | \t ^\n"), "{text}");
        assert!(text.contains("f:7:1: past the end\n"));
        assert_eq!(
            Diagnostics::whole_file("f", "gone").to_string(),
            "f: gone\n1 error"
        );
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_caret() {
        let line = format!("key: {}BAD{}", "x".repeat(1 << 20), "y".repeat(1 << 20));
        let mut p = Problems::default();
        let column = (line.find("BAD").unwrap() + 1) as u32;
        p.push(Span::new(1, column, 3), "bad");
        let text = p.into_diagnostics("f", &line).to_string();
        assert!(text.len() < 400, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let (source, caret) = (lines[1], lines[2]);
        assert!(source.contains("…xxx") && source.contains("BADyyy") && source.ends_with('…'));
        // The caret still sits under BAD.
        let at = caret.find('^').unwrap();
        assert_eq!(
            source.chars().nth(caret[..at].chars().count()),
            Some('B'),
            "{source}\n{caret}"
        );
        assert_eq!(caret.matches('^').count(), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("wieght", ["name", "weight", "steps"]),
            Some("weight")
        );
        assert_eq!(suggest("zzz", ["name", "weight"]), None);
        assert_eq!(
            with_suggestion("x".into(), "stpes", ["steps"]),
            "x (did you mean `steps`?)"
        );
    }
}
