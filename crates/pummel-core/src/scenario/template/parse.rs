//! The template parser: text with `{{ expression }}`s into [`Piece`]s,
//! with errors that point at the offending bytes.

use super::eval::{is_json_number, MAX_RANDOM_STRING};
use super::syntax::{Binding, Expr, Func, Name, Piece};
use crate::limits::MAX_TEMPLATE_DEPTH;
use crate::scenario::diagnostic::Span;

/// A template could not be parsed. `start..end` is a byte range of the
/// template's text, for pointing at the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct TemplateError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// Splits `text` into literal text and parsed expressions.
pub(super) fn parse_pieces(text: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut pos = 0;
    while let Some(found) = text[pos..].find("{{") {
        let open = pos + found;
        if open > pos {
            pieces.push(Piece::Literal(text[pos..open].to_string()));
        }
        let body_start = open + 2;
        let close = find_close(text, body_start).ok_or_else(|| TemplateError {
            start: open,
            end: text.len(),
            message: "`{{` is never closed with `}}` (for literal braces write {{ '{{' }})".into(),
        })?;
        let expr = ExprParser {
            text,
            pos: body_start,
            end: close,
            depth: 0,
        }
        .parse_whole()?;
        pieces.push(Piece::Expr(expr));
        pos = close + 2;
    }
    if pos < text.len() {
        pieces.push(Piece::Literal(text[pos..].to_string()));
    }
    Ok(pieces)
}

/// Finds the `}}` that closes an expression starting at `from`, skipping
/// over quoted strings (so `{{ '}}' }}` works).
fn find_close(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'}' && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

struct ExprParser<'a> {
    text: &'a str,
    pos: usize,
    end: usize,
    /// Function calls open around the current position: parsing (and
    /// later binding and rendering) recurse once a call, so the depth is
    /// bounded here, before any of them can overflow a stack.
    depth: usize,
}

impl ExprParser<'_> {
    fn err<T>(
        &self,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Result<T, TemplateError> {
        let len = self.text.len();
        let mut start = start.min(len);
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = end.max(start + 1).min(len);
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        Err(TemplateError {
            start,
            end,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.text.as_bytes()[self.pos])
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn parse_whole(mut self) -> Result<Expr, TemplateError> {
        let open = self.pos - 2;
        self.skip_ws();
        if self.pos >= self.end {
            return self.err(
                open,
                self.end + 2,
                "empty `{{ }}`: put a name or a function call inside",
            );
        }
        let expr = self.parse_expr()?;
        self.skip_ws();
        if self.pos < self.end {
            return self.err(
                self.pos,
                self.end,
                format!("unexpected `{}` in expression (expressions are a name, a string, a number or a function call)", &self.text[self.pos..self.end].trim()),
            );
        }
        Ok(expr)
    }

    fn parse_expr(&mut self) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.parse_string(q),
            Some(b) if b.is_ascii_digit() || b == b'-' => {
                self.pos += 1;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits = &self.text[start..self.pos];
                match digits.parse::<i64>() {
                    Ok(n) => Ok(Expr::Int(n)),
                    Err(_) => self.err(start, self.pos, format!("`{digits}` is not an integer")),
                }
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                {
                    self.pos += 1;
                }
                let ident = &self.text[start..self.pos];
                self.skip_ws();
                if self.peek() == Some(b'(') {
                    return self.parse_call(ident, start);
                }
                if ident.ends_with('.') || ident.contains("..") {
                    return self.err(start, self.pos, format!("`{ident}` is not a valid name"));
                }
                Ok(Expr::Name(Name {
                    path: ident.to_owned(),
                    start,
                    end: start + ident.len(),
                    span: Span::UNKNOWN,
                    binding: Binding::Unresolved,
                }))
            }
            Some(_) => {
                let c = self.text[self.pos..].chars().next().unwrap_or('?');
                self.err(
                    start,
                    start + c.len_utf8(),
                    format!("unexpected `{c}` in expression"),
                )
            }
            None => self.err(start.saturating_sub(1), start, "expression is incomplete"),
        }
    }

    fn parse_string(&mut self, quote: u8) -> Result<Expr, TemplateError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(b) = self.peek() else {
                return self.err(start, self.end, "string is never closed");
            };
            if b == quote {
                self.pos += 1;
                return Ok(Expr::Str(value));
            }
            let c = self.text[self.pos..].chars().next().unwrap_or('\u{FFFD}');
            self.pos += c.len_utf8();
            if c == '\\' {
                let Some(e) = self.text[self.pos..self.end].chars().next() else {
                    return self.err(start, self.end, "string is never closed");
                };
                self.pos += e.len_utf8();
                value.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
            } else {
                value.push(c);
            }
        }
    }

    fn parse_call(&mut self, ident: &str, start: usize) -> Result<Expr, TemplateError> {
        let Some(func) = Func::ALL.iter().find(|(n, _)| *n == ident).map(|(_, f)| *f) else {
            let message = crate::scenario::diagnostic::with_suggestion(
                format!("unknown function `{ident}`"),
                ident,
                Func::ALL.iter().map(|(n, _)| *n),
            );
            return self.err(start, start + ident.len(), message);
        };
        if self.depth >= MAX_TEMPLATE_DEPTH {
            return self.err(
                start,
                start + ident.len(),
                format!("function calls nested more than {MAX_TEMPLATE_DEPTH} deep"),
            );
        }
        self.depth += 1;
        self.pos += 1; // '('
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if self.peek().is_none() {
                    return self.err(
                        start,
                        self.pos,
                        format!("`{ident}(` is missing its closing `)`"),
                    );
                }
                args.push(self.parse_expr()?);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        return self.err(
                            start,
                            self.pos,
                            format!("`{ident}(` is missing its closing `)`"),
                        )
                    }
                }
            }
        }
        self.depth -= 1;
        let (min, max, usage) = func.arity();
        if args.len() < min || args.len() > max {
            return self.err(
                start,
                self.pos,
                format!(
                    "`{ident}` takes {}: call it as {usage}",
                    plural_args(min, max)
                ),
            );
        }
        check_literal_args(func, &args).or_else(|e| self.err(start, self.pos, e.to_string()))?;
        Ok(Expr::Call(func, args))
    }
}

fn plural_args(min: usize, max: usize) -> String {
    match (min, max) {
        (0, 0) => "no arguments".into(),
        (1, 1) => "one argument".into(),
        (a, b) if a == b => format!("{a} arguments"),
        (a, _) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
    }
}

/// A function call whose literal arguments make it certain to fail; found
/// at load time so that the run never meets it.
#[derive(Debug, thiserror::Error)]
enum LiteralArgError {
    #[error("random_int({0}, {1}): the minimum is larger than the maximum")]
    RandomIntBackwards(i64, i64),
    #[error("random_int takes integers, not strings")]
    RandomIntString,
    #[error("random_string length must be between 0 and {MAX_RANDOM_STRING}")]
    RandomStringLength,
    #[error("random_string takes a length (an integer)")]
    RandomStringString,
    /// The literal given to `number`, which is not a JSON number.
    #[error("number({0:?}): not a number")]
    NotANumber(String),
}

/// Catches at load time what literal arguments make certain to fail.
fn check_literal_args(func: Func, args: &[Expr]) -> Result<(), LiteralArgError> {
    match (func, args) {
        (Func::RandomInt, [Expr::Int(a), Expr::Int(b)]) if a > b => {
            Err(LiteralArgError::RandomIntBackwards(*a, *b))
        }
        (Func::RandomInt, [a, b]) if matches!(a, Expr::Str(_)) || matches!(b, Expr::Str(_)) => {
            Err(LiteralArgError::RandomIntString)
        }
        (Func::RandomString, [Expr::Int(n)]) if !(0..=MAX_RANDOM_STRING).contains(n) => {
            Err(LiteralArgError::RandomStringLength)
        }
        (Func::RandomString, [Expr::Str(_)]) => Err(LiteralArgError::RandomStringString),
        (Func::Number, [Expr::Str(s)]) if !is_json_number(s) => {
            Err(LiteralArgError::NotANumber(s.clone()))
        }
        _ => Ok(()),
    }
}
