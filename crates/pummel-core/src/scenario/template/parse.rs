//! The template parser: text with `{{ expression }}`s into [`Piece`]s, and
//! conditions into an [`Expr`], with errors that point at the offending
//! bytes.
//!
//! Expressions are parsed by precedence climbing, loosest first: `or`
//! (`||`), `and` (`&&`), `not` (`!`), comparisons (`==` `!=` `<` `<=` `>`
//! `>=`, not chained), `+` `-`, `*` `/` `%`, unary `-`, then operands (a
//! name, a string, a number, `true`/`false`, a call, or a parenthesised
//! expression). What the operands' types make certain to fail is an error
//! here (see [`super::typing`]).

use super::eval::{is_json_number, MAX_RANDOM_STRING};
use super::syntax::{BinaryOp, Binding, Expr, Float, Func, Name, Piece, UnaryOp};
use super::typing;
use crate::limits::{MAX_EXPR_OPERATORS, MAX_TEMPLATE_DEPTH};
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
        let expr = ExprParser::new(text, body_start, close).parse_whole()?;
        pieces.push(Piece::Expr(expr));
        pos = close + 2;
    }
    if pos < text.len() {
        pieces.push(Piece::Literal(text[pos..].to_string()));
    }
    Ok(pieces)
}

/// Parses `text` as one expression (a condition), with no `{{ }}` around it.
pub(super) fn parse_bare(text: &str) -> Result<Expr, TemplateError> {
    let mut parser = ExprParser::new(text, 0, text.len());
    parser.skip_ws();
    if parser.pos >= parser.end {
        return parser.err(0, text.len(), "the condition is empty");
    }
    parser.parse_rest()
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
    /// Calls, parentheses and prefix operators open around the current
    /// position: parsing (and later binding and rendering) recurse once for
    /// each, so the depth is bounded here, before any of them can overflow
    /// a stack.
    depth: usize,
    /// Infix operators so far: each makes the tree one level deeper, so
    /// they are bounded too.
    operators: usize,
}

impl<'a> ExprParser<'a> {
    fn new(text: &'a str, pos: usize, end: usize) -> ExprParser<'a> {
        ExprParser {
            text,
            pos,
            end,
            depth: 0,
            operators: 0,
        }
    }

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
        self.parse_rest()
    }

    /// The expression from here to the end, and nothing after it.
    fn parse_rest(&mut self) -> Result<Expr, TemplateError> {
        let expr = self.parse_expr()?;
        self.skip_ws();
        if self.pos < self.end {
            let rest = self.text[self.pos..self.end].trim();
            let hint = if rest.starts_with('=') {
                " (compare with `==`)"
            } else {
                " (join values with an operator: `==`, `<`, `and`, `+`, …)"
            };
            return self.err(
                self.pos,
                self.end,
                format!("unexpected `{rest}` in expression{hint}"),
            );
        }
        Ok(expr)
    }

    /// Enters a call, a parenthesis or a prefix operator at `start`.
    fn enter(&mut self, start: usize, len: usize) -> Result<(), TemplateError> {
        if self.depth >= MAX_TEMPLATE_DEPTH {
            return self.err(
                start,
                start + len,
                format!("expression nested more than {MAX_TEMPLATE_DEPTH} deep"),
            );
        }
        self.depth += 1;
        Ok(())
    }

    /// Whether the word `word` (not a longer name) is at the current position.
    fn at_word(&self, word: &str) -> bool {
        let rest = &self.text[self.pos..self.end];
        rest.starts_with(word)
            && !rest[word.len()..]
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }

    /// The infix operator at the current position, and its length.
    fn peek_operator(&self) -> Option<(BinaryOp, usize)> {
        const SYMBOLS: [(&str, BinaryOp); 13] = [
            ("||", BinaryOp::Or),
            ("&&", BinaryOp::And),
            ("==", BinaryOp::Eq),
            ("!=", BinaryOp::Ne),
            ("<=", BinaryOp::Le),
            (">=", BinaryOp::Ge),
            ("<", BinaryOp::Lt),
            (">", BinaryOp::Gt),
            ("+", BinaryOp::Add),
            ("-", BinaryOp::Sub),
            ("*", BinaryOp::Mul),
            ("/", BinaryOp::Div),
            ("%", BinaryOp::Rem),
        ];
        let rest = &self.text[self.pos..self.end];
        if let Some((sym, op)) = SYMBOLS.iter().find(|(sym, _)| rest.starts_with(sym)) {
            return Some((*op, sym.len()));
        }
        [("and", BinaryOp::And), ("or", BinaryOp::Or)]
            .into_iter()
            .find(|(word, _)| self.at_word(word))
            .map(|(word, op)| (op, word.len()))
    }

    fn parse_expr(&mut self) -> Result<Expr, TemplateError> {
        self.parse_binary(1)
    }

    /// Operands joined by operators of precedence `min` or tighter.
    fn parse_binary(&mut self, min: u8) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let start = self.pos;
        let mut left = self.parse_unary()?;
        let mut compared = false;
        loop {
            self.skip_ws();
            let Some((op, len)) = self.peek_operator() else {
                break;
            };
            if op.precedence() < min {
                break;
            }
            let op_start = self.pos;
            if op.is_comparison() && compared {
                return self.err(
                    op_start,
                    op_start + len,
                    format!(
                        "comparisons do not chain: write `a < b and b < c`, not `a < b < c` (found a second `{}`)",
                        op.symbol()
                    ),
                );
            }
            self.operators += 1;
            if self.operators > MAX_EXPR_OPERATORS {
                return self.err(
                    op_start,
                    op_start + len,
                    format!("more than {MAX_EXPR_OPERATORS} operators in one expression"),
                );
            }
            self.pos += len;
            self.skip_ws();
            if self.pos >= self.end {
                return self.err(
                    op_start,
                    op_start + len,
                    format!("`{}` needs a value on its right", op.symbol()),
                );
            }
            let right = self.parse_binary(op.precedence() + 1)?;
            typing::check_binary(op, &left, &right)
                .or_else(|message| self.err(start, self.pos, message))?;
            compared |= op.is_comparison();
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// A prefix operator and its operand, or an operand.
    fn parse_unary(&mut self) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let start = self.pos;
        let next = self.text.as_bytes().get(self.pos + 1).copied();
        let (op, len) = match self.peek() {
            Some(b'-') if next.is_some_and(|b| b.is_ascii_digit()) => return self.parse_number(),
            Some(b'-') => (UnaryOp::Neg, 1),
            Some(b'!') if next != Some(b'=') => (UnaryOp::Not, 1),
            Some(b'n') if self.at_word("not") => (UnaryOp::Not, 3),
            _ => return self.parse_primary(),
        };
        self.enter(start, len)?;
        self.pos += len;
        self.skip_ws();
        if self.pos >= self.end {
            return self.err(start, start + len, "expression is incomplete");
        }
        // `not a == b` negates the comparison; `-a * b` negates `a`.
        let operand = match op {
            UnaryOp::Not => self.parse_binary(BinaryOp::Eq.precedence())?,
            UnaryOp::Neg => self.parse_unary()?,
        };
        self.depth -= 1;
        typing::check_unary(op, &operand).or_else(|message| self.err(start, self.pos, message))?;
        Ok(Expr::Unary(op, Box::new(operand)))
    }

    /// A number: digits, with a sign and a fraction if written.
    fn parse_number(&mut self) -> Result<Expr, TemplateError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
        };
        digits(self);
        let fraction = self.peek() == Some(b'.')
            && self
                .text
                .as_bytes()
                .get(self.pos + 1)
                .is_some_and(u8::is_ascii_digit);
        if fraction {
            self.pos += 1;
            digits(self);
        }
        let text = &self.text[start..self.pos];
        if fraction {
            return match text.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Expr::Float(Float(n))),
                _ => self.err(start, self.pos, format!("`{text}` is not a number")),
            };
        }
        match text.parse::<i64>() {
            Ok(n) => Ok(Expr::Int(n)),
            Err(_) => self.err(start, self.pos, format!("`{text}` is not an integer")),
        }
    }

    /// An operand: a string, a number, a name, a call or `( expression )`.
    fn parse_primary(&mut self) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.parse_string(q),
            Some(b) if b.is_ascii_digit() => self.parse_number(),
            Some(b'(') => {
                self.enter(start, 1)?;
                self.pos += 1;
                let inner = self.parse_expr()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return self.err(start, self.pos, "`(` is missing its closing `)`");
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
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
                match ident {
                    "true" => return Ok(Expr::Bool(true)),
                    "false" => return Ok(Expr::Bool(false)),
                    "and" | "or" => {
                        return self.err(
                            start,
                            start + ident.len(),
                            format!("`{ident}` needs a value on its left"),
                        )
                    }
                    _ => {}
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
            Some(b')') => self.err(start, start + 1, "`)` without its opening `(`"),
            Some(_) => {
                let c = self.text[self.pos..].chars().next().unwrap_or('?');
                let message = match c {
                    '=' | '<' | '>' | '*' | '/' | '%' | '|' | '&' => {
                        format!("`{c}` needs a value on its left")
                    }
                    c => format!("unexpected `{c}` in expression"),
                };
                self.err(start, start + c.len_utf8(), message)
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
        self.enter(start, ident.len())?;
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
