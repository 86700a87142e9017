//! Escaping text for HTML and XML, the one place user-controlled strings
//! (scenario and step names, URLs, failure messages) pass before they reach
//! markup: a step named `<script>` must show as text, never run.

/// Escapes `& < > " '` and drops characters XML 1.0 forbids (control
/// characters other than tab, newline and carriage return), so the output
/// is valid in element text and in quoted attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The escaper of the HTML templates (`askama.toml`): the rules of
/// [`escape`], so a value in a template reads as it did before templates.
#[derive(Clone, Copy)]
pub(crate) struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, string: &str) -> std::fmt::Result {
        dest.write_str(&escape(string))
    }
}

/// JSON for a `<script type="application/json">` element: `<` is written as
/// `\u003c`, so no value can close the element or open a comment.
pub fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_invalid_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\tc\n"), "ab\tc\n");
        assert_eq!(escape("µs ✓"), "µs ✓");
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        let s = script_json(&serde_json::json!({"name": "</script><!--"}));
        assert!(!s.contains("</"), "{s}");
        assert!(!s.contains("<!--"));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["name"], "</script><!--");
    }
}
