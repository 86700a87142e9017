//! Template text under construction: literal pieces (what was recorded) and the names that
//! replace some of them (captures, variables, environment variables, function calls).
//!
//! Conversion works on pieces rather than on template strings so that a recorded value that
//! happens to contain `{{` can never turn into an expression, and a substitution never reaches
//! inside a name already put in place.

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text sent as it is.
    Lit(String),
    /// An expression: a variable, `env.NAME`, or a call such as `uuid()`.
    Expr(String),
}

/// A template: pieces in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) Vec<Piece>);

impl Text {
    pub(crate) fn lit(s: impl Into<String>) -> Text {
        let s = s.into();
        if s.is_empty() {
            return Text(Vec::new());
        }
        Text(vec![Piece::Lit(s)])
    }

    pub(crate) fn expr(e: impl Into<String>) -> Text {
        Text(vec![Piece::Expr(e.into())])
    }

    /// The text as recorded, `None` once any part of it is an expression.
    pub(crate) fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Expr(_) => return None,
            }
        }
        Some(out)
    }

    pub(crate) fn push(&mut self, piece: Piece) {
        if let (Piece::Lit(new), Some(Piece::Lit(last))) = (&piece, self.0.last_mut()) {
            last.push_str(new);
            return;
        }
        if matches!(&piece, Piece::Lit(s) if s.is_empty()) {
            return;
        }
        self.0.push(piece);
    }

    pub(crate) fn append(&mut self, other: Text) {
        for piece in other.0 {
            self.push(piece);
        }
    }

    /// The literal pieces, in order (what is sent as it is).
    pub(crate) fn literals(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|piece| match piece {
            Piece::Lit(s) => Some(s.as_str()),
            Piece::Expr(_) => None,
        })
    }

    /// Replaces every occurrence of `value` in the literal pieces by `expr`; returns how many.
    pub(crate) fn replace(&mut self, value: &str, expr: &str) -> usize {
        if value.is_empty() {
            return 0;
        }
        let mut count = 0;
        let mut out = Text::default();
        for piece in std::mem::take(&mut self.0) {
            match piece {
                Piece::Lit(s) => {
                    // Only whole values: `123` is not replaced inside `41235`.
                    let mut start = 0;
                    let mut from = 0;
                    while let Some(found) = s[from..].find(value) {
                        let at = from + found;
                        let end = at + value.len();
                        let before_ok = !s[..at].chars().next_back().is_some_and(is_word);
                        let after_ok = !s[end..].chars().next().is_some_and(is_word);
                        if before_ok && after_ok {
                            out.push(Piece::Lit(s[start..at].to_owned()));
                            out.push(Piece::Expr(expr.to_owned()));
                            start = end;
                            count += 1;
                        }
                        from = end;
                    }
                    out.push(Piece::Lit(s[start..].to_owned()));
                }
                expr_piece @ Piece::Expr(_) => out.push(expr_piece),
            }
        }
        *self = out;
        count
    }

    /// pummel template syntax: literal `{{` is written `{{ '{{' }}` so that it stays text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Lit(s) => out.push_str(&s.replace("{{", "{{ '{{' }}")),
                Piece::Expr(e) => {
                    out.push_str("{{ ");
                    out.push_str(e);
                    out.push_str(" }}");
                }
            }
        }
        out
    }
}

/// Whether `name` is one the expression language has already, which a variable must not take:
/// `{{ true }}` would send `true`, `{{ and }}` would not parse, `{{ status }}` is the last
/// response's status.
pub(crate) fn is_reserved_name(name: &str) -> bool {
    matches!(
        name,
        "env" | "vu" | "iteration" | "status" | "and" | "or" | "not" | "true" | "false"
    )
}

/// Characters that continue a value: a match must not have one on either side.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_splits_literals_and_leaves_expressions_alone() {
        let mut t = Text::lit("/items/123/x/123");
        assert_eq!(t.replace("123", "id"), 2);
        assert_eq!(t.render(), "/items/{{ id }}/x/{{ id }}");
        assert_eq!(t.replace("id", "other"), 0);
        let mut t = Text::lit("/a/41235/123");
        assert_eq!(t.replace("123", "id"), 1);
        assert_eq!(t.render(), "/a/41235/{{ id }}");
    }

    #[test]
    fn literal_braces_stay_text() {
        assert_eq!(Text::lit("a{{b").render(), "a{{ '{{' }}b");
    }
}
