//! `{{ ... }}` templates: compiled once when the scenario loads, rendered on
//! the hot path without parsing, lookups by name or allocation beyond the
//! output buffer.
//!
//! A template is a list of pieces, literal text or an expression:
//!
//! ```text
//! /api/apps/{{ app_id }}?page={{ random_int(1, 10) }}&by={{ users.email }}
//! ```
//!
//! Expressions are deliberately small: a name (`app_id`, `env.TOKEN`,
//! `users.email`, `vu`, `iteration`), a string literal (`'x'` or `"x"`), an
//! integer, or a call to one of a few functions ([`Func`]). There are no
//! operators: a scenario file describes traffic, it is not a program, and
//! anything cleverer belongs in a script step (a later feature).
//!
//! Names are bound after parsing, by the validator, which knows what is
//! defined where: a variable or capture becomes a slot number ([`VarId`]),
//! a feeder field becomes a (feeder, column) pair, an environment variable
//! becomes its value. Rendering then reads slots by index through a
//! [`Context`].
//!
//! Write literal braces as an expression: `{{ '{{' }}`.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use super::diagnostic::Span;

/// The slot of a variable or capture in a virtual user's state. Slots are
/// numbered per plan (see `Plan::vars`), so a VU's state is a vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

impl VarId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a template reads while rendering: the running virtual user's state.
pub trait Context {
    /// The value of a variable or capture, `None` when not (yet) set.
    fn var(&self, id: VarId) -> Option<&str>;
    /// A field of the current row of a data feeder.
    fn field(&self, feeder: usize, column: usize) -> Option<&str>;
    /// The virtual user's number (1-based; 0 in the global setup).
    fn vu(&self) -> u64;
    /// The VU's iteration number (0-based).
    fn iteration(&self) -> u64;
}

/// A context with nothing in it, for templates that need nothing (and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct EmptyContext;

impl Context for EmptyContext {
    fn var(&self, _: VarId) -> Option<&str> {
        None
    }
    fn field(&self, _: usize, _: usize) -> Option<&str> {
        None
    }
    fn vu(&self) -> u64 {
        0
    }
    fn iteration(&self) -> u64 {
        0
    }
}

/// A template could not be parsed. `start..end` is a byte range of the
/// template's text, for pointing at the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// A template could not be rendered: a name had no value at run time (a
/// capture that found nothing), or a function got an unusable argument.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    pub message: String,
}

/// What a name is bound to. Set by the validator; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// Not bound yet; rendering fails.
    Unresolved,
    /// A variable or a capture.
    Var(VarId),
    /// A column of a data feeder's current row.
    Field { feeder: usize, column: usize },
    /// A value fixed at load time (an environment variable).
    Const(String),
    /// The virtual user's number.
    Vu,
    /// The iteration number.
    Iteration,
}

/// A dotted name in an expression, as written, and what it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The name as written: `app_id`, `env.TOKEN`, `users.email`.
    pub path: String,
    /// Byte range of the name in the template text.
    pub start: usize,
    pub end: usize,
    /// Where the name is in the scenario file (set by the loader).
    pub span: Span,
    pub binding: Binding,
}

/// The built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `random_int(min, max)`: an integer in `min..=max`.
    RandomInt,
    /// `random_choice(a, b, ...)`: one of the arguments.
    RandomChoice,
    /// `random_string(n)`: `n` random ASCII letters and digits.
    RandomString,
    /// `uuid()`: a random (version 4) UUID.
    Uuid,
    /// `timestamp()`: seconds since the Unix epoch.
    Timestamp,
    /// `timestamp_ms()`: milliseconds since the Unix epoch.
    TimestampMs,
    /// `number(x)`: `x`, which must be a number; inside a `json` body it is
    /// written as a JSON number rather than a string.
    Number,
    /// `urlencode(x)`: `x` percent-encoded for a URL query or path segment.
    UrlEncode,
    /// `base64(x)`: `x` in standard base64.
    Base64,
}

impl Func {
    pub const ALL: [(&'static str, Func); 9] = [
        ("random_int", Func::RandomInt),
        ("random_choice", Func::RandomChoice),
        ("random_string", Func::RandomString),
        ("uuid", Func::Uuid),
        ("timestamp", Func::Timestamp),
        ("timestamp_ms", Func::TimestampMs),
        ("number", Func::Number),
        ("urlencode", Func::UrlEncode),
        ("base64", Func::Base64),
    ];

    pub fn name(self) -> &'static str {
        Func::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// Allowed argument counts, and how to call it (for error messages).
    fn arity(self) -> (usize, usize, &'static str) {
        match self {
            Func::RandomInt => (2, 2, "random_int(min, max)"),
            Func::RandomChoice => (1, usize::MAX, "random_choice('a', 'b', ...)"),
            Func::RandomString => (1, 1, "random_string(length)"),
            Func::Uuid => (0, 0, "uuid()"),
            Func::Timestamp => (0, 0, "timestamp()"),
            Func::TimestampMs => (0, 0, "timestamp_ms()"),
            Func::Number => (1, 1, "number(value)"),
            Func::UrlEncode => (1, 1, "urlencode(value)"),
            Func::Base64 => (1, 1, "base64(value)"),
        }
    }
}

/// An expression inside `{{ }}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Name(Name),
    Call(Func, Vec<Expr>),
}

impl Expr {
    /// Whether the expression always yields a number: inside a JSON body, a
    /// value that is only such an expression is written as a JSON number.
    pub fn is_number(&self) -> bool {
        match self {
            Expr::Int(_) => true,
            Expr::Str(_) => false,
            Expr::Name(n) => matches!(n.binding, Binding::Vu | Binding::Iteration),
            Expr::Call(f, _) => matches!(
                f,
                Func::RandomInt | Func::Timestamp | Func::TimestampMs | Func::Number
            ),
        }
    }

    fn visit_names<'a>(&'a self, f: &mut dyn FnMut(&'a Name)) {
        match self {
            Expr::Name(n) => f(n),
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit_names(f)),
            Expr::Str(_) | Expr::Int(_) => {}
        }
    }

    fn visit_names_mut(&mut self, f: &mut dyn FnMut(&mut Name)) {
        match self {
            Expr::Name(n) => f(n),
            Expr::Call(_, args) => args.iter_mut().for_each(|a| a.visit_names_mut(f)),
            Expr::Str(_) | Expr::Int(_) => {}
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A piece of a template: text copied as is, or an expression to evaluate.
enum Piece {
    Literal(String),
    Expr(Expr),
}

/// A compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Compiles `text`. Names are left unbound (see [`Template::bind`]).
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
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
                message: "`{{` is never closed with `}}` (for literal braces write {{ '{{' }})"
                    .into(),
            })?;
            let expr = ExprParser {
                text,
                pos: body_start,
                end: close,
            }
            .parse_whole()?;
            pieces.push(Piece::Expr(expr));
            pos = close + 2;
        }
        if pos < text.len() {
            pieces.push(Piece::Literal(text[pos..].to_string()));
        }
        Ok(Template {
            source: text.to_owned(),
            pieces,
        })
    }

    /// A template of fixed text (no expression).
    pub fn literal(text: &str) -> Template {
        let pieces = if text.is_empty() {
            vec![]
        } else {
            vec![Piece::Literal(text.to_owned())]
        };
        Template {
            source: text.to_owned(),
            pieces,
        }
    }

    /// The text the template was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text, when the template has no expression: the engine can then
    /// encode what uses it once, not per request.
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// The expression, when the template is exactly one `{{ expression }}`.
    pub fn as_single_expr(&self) -> Option<&Expr> {
        match self.pieces.as_slice() {
            [Piece::Expr(e)] => Some(e),
            _ => None,
        }
    }

    /// Every name the template uses, in order.
    pub fn names(&self) -> Vec<&Name> {
        let mut out = Vec::new();
        for s in &self.pieces {
            if let Piece::Expr(e) = s {
                e.visit_names(&mut |n| out.push(n));
            }
        }
        out
    }

    /// Calls `f` on every name, to bind it.
    pub fn bind(&mut self, f: &mut dyn FnMut(&mut Name)) {
        for s in &mut self.pieces {
            if let Piece::Expr(e) = s {
                e.visit_names_mut(f);
            }
        }
    }

    /// Appends the rendered text to `out`.
    pub fn render(&self, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
        for s in &self.pieces {
            match s {
                Piece::Literal(text) => out.push_str(text),
                Piece::Expr(e) => eval_into(e, ctx, out)?,
            }
        }
        Ok(())
    }

    /// Renders into a new string (convenient off the hot path).
    pub fn render_to_string(&self, ctx: &dyn Context) -> Result<String, RenderError> {
        let mut out = String::new();
        self.render(ctx, &mut out)?;
        Ok(out)
    }

    /// Appends the template as a JSON value: a JSON number when the
    /// template is a single numeric expression (`{{ random_int(1, 5) }}`,
    /// `{{ number(qty) }}`), a JSON string otherwise.
    pub fn render_json(&self, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
        if let Some(e) = self.as_single_expr().filter(|e| e.is_number()) {
            let start = out.len();
            eval_into(e, ctx, out)?;
            if !is_json_number(&out[start..]) {
                let got = out[start..].to_string();
                out.truncate(start);
                return Err(RenderError {
                    message: format!("{got:?} is not a number"),
                });
            }
            return Ok(());
        }
        out.push('"');
        let start = out.len();
        self.render(ctx, out)?;
        let raw = out.split_off(start);
        escape_json_into(&raw, out);
        out.push('"');
        Ok(())
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
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
            let message = super::diagnostic::with_suggestion(
                format!("unknown function `{ident}`"),
                ident,
                Func::ALL.iter().map(|(n, _)| *n),
            );
            return self.err(start, start + ident.len(), message);
        };
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

const MAX_RANDOM_STRING: i64 = 65_536;

/// An evaluated argument: borrowed when it can be.
enum Value<'a> {
    Str(&'a str),
    Owned(String),
    Int(i64),
}

impl Value<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Owned(s) => out.push_str(s),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }

    fn as_int(&self, what: &str) -> Result<i64, RenderError> {
        let text = match self {
            Value::Int(n) => return Ok(*n),
            Value::Str(s) => *s,
            Value::Owned(s) => s.as_str(),
        };
        text.trim().parse().map_err(|_| RenderError {
            message: format!("{what}: {text:?} is not an integer"),
        })
    }
}

fn lookup<'c>(name: &Name, ctx: &'c dyn Context) -> Result<Value<'c>, RenderError> {
    let missing = || RenderError {
        message: format!("`{}` has no value", name.path),
    };
    match &name.binding {
        Binding::Var(id) => ctx.var(*id).map(Value::Str).ok_or_else(missing),
        Binding::Field { feeder, column } => ctx
            .field(*feeder, *column)
            .map(Value::Str)
            .ok_or_else(missing),
        Binding::Const(s) => Ok(Value::Owned(s.clone())),
        Binding::Vu => Ok(Value::Int(ctx.vu() as i64)),
        Binding::Iteration => Ok(Value::Int(ctx.iteration() as i64)),
        Binding::Unresolved => Err(RenderError {
            message: format!("`{}` is not defined", name.path),
        }),
    }
}

fn eval<'e, 'c: 'e>(e: &'e Expr, ctx: &'c dyn Context) -> Result<Value<'e>, RenderError> {
    match e {
        Expr::Str(s) => Ok(Value::Str(s)),
        Expr::Int(n) => Ok(Value::Int(*n)),
        Expr::Name(Name {
            binding: Binding::Const(s),
            ..
        }) => Ok(Value::Str(s)),
        Expr::Name(n) => lookup(n, ctx),
        Expr::Call(..) => {
            let mut s = String::new();
            eval_into(e, ctx, &mut s)?;
            Ok(Value::Owned(s))
        }
    }
}

fn eval_into(e: &Expr, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
    let Expr::Call(func, args) = e else {
        eval(e, ctx)?.write(out);
        return Ok(());
    };
    match func {
        Func::RandomInt => {
            let min = eval(&args[0], ctx)?.as_int("random_int")?;
            let max = eval(&args[1], ctx)?.as_int("random_int")?;
            if min > max {
                return Err(RenderError {
                    message: format!(
                        "random_int({min}, {max}): the minimum is larger than the maximum"
                    ),
                });
            }
            let _ = write!(out, "{}", fastrand::i64(min..=max));
        }
        Func::RandomChoice => eval(&args[fastrand::usize(..args.len())], ctx)?.write(out),
        Func::RandomString => {
            let n = eval(&args[0], ctx)?.as_int("random_string")?;
            if !(0..=MAX_RANDOM_STRING).contains(&n) {
                return Err(RenderError {
                    message: format!("random_string({n}): length out of range"),
                });
            }
            out.extend((0..n).map(|_| fastrand::alphanumeric()));
        }
        Func::Uuid => write_uuid_v4(out),
        Func::Timestamp | Func::TimestampMs => {
            let since = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let n = if *func == Func::Timestamp {
                since.as_secs() as u128
            } else {
                since.as_millis()
            };
            let _ = write!(out, "{n}");
        }
        Func::Number => {
            let start = out.len();
            eval(&args[0], ctx)?.write(out);
            if !is_json_number(&out[start..]) {
                let got = out[start..].to_string();
                out.truncate(start);
                return Err(RenderError {
                    message: format!("number({got:?}): not a number"),
                });
            }
        }
        Func::UrlEncode => {
            let v = eval(&args[0], ctx)?;
            let mut tmp = String::new();
            v.write(&mut tmp);
            percent_encode_into(&tmp, out);
        }
        Func::Base64 => {
            use base64::Engine as _;
            let mut tmp = String::new();
            eval(&args[0], ctx)?.write(&mut tmp);
            base64::engine::general_purpose::STANDARD.encode_string(tmp.as_bytes(), out);
        }
    }
    Ok(())
}

/// A random (version 4, variant 1) UUID in its hyphenated form.
fn write_uuid_v4(out: &mut String) {
    let mut bytes = fastrand::u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode_into(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Appends `text` with JSON string escapes (no surrounding quotes).
pub fn escape_json_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn is_json_number(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && serde_json::from_str::<serde_json::Number>(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx {
        vars: Vec<Option<String>>,
        row: Vec<String>,
    }

    impl Context for Ctx {
        fn var(&self, id: VarId) -> Option<&str> {
            self.vars.get(id.index())?.as_deref()
        }
        fn field(&self, feeder: usize, column: usize) -> Option<&str> {
            (feeder == 0)
                .then(|| self.row.get(column).map(String::as_str))
                .flatten()
        }
        fn vu(&self) -> u64 {
            7
        }
        fn iteration(&self) -> u64 {
            3
        }
    }

    fn ctx() -> Ctx {
        Ctx {
            vars: vec![Some("42".into()), None, Some("a b&c".into())],
            row: vec!["ann@example.com".into(), "s3cret".into()],
        }
    }

    /// Binds names the way the validator would for these tests.
    fn compile(text: &str) -> Template {
        let mut t = Template::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        t.bind(&mut |n| {
            n.binding = match n.path.as_str() {
                "app_id" => Binding::Var(VarId(0)),
                "missing" => Binding::Var(VarId(1)),
                "q" => Binding::Var(VarId(2)),
                "users.email" => Binding::Field {
                    feeder: 0,
                    column: 0,
                },
                "env.TOKEN" => Binding::Const("tok".into()),
                "vu" => Binding::Vu,
                "iteration" => Binding::Iteration,
                _ => Binding::Unresolved,
            }
        });
        t
    }

    fn render(text: &str) -> Result<String, RenderError> {
        compile(text).render_to_string(&ctx())
    }

    #[test]
    fn renders_literals_names_and_constants() {
        assert_eq!(
            render("/api/apps/{{ app_id }}/reviews").unwrap(),
            "/api/apps/42/reviews"
        );
        assert_eq!(
            render("{{users.email}}:{{ env.TOKEN }}").unwrap(),
            "ann@example.com:tok"
        );
        assert_eq!(
            render("vu={{ vu }} it={{ iteration }}").unwrap(),
            "vu=7 it=3"
        );
        assert_eq!(
            render("{{ '{{' }} literal {{ \"}}\" }}").unwrap(),
            "{{ literal }}"
        );
        assert_eq!(render("").unwrap(), "");
        assert_eq!(render("plain } { text }").unwrap(), "plain } { text }");
        assert_eq!(Template::parse("abc").unwrap().as_literal(), Some("abc"));
        assert_eq!(Template::parse("a{{ vu }}").unwrap().as_literal(), None);
    }

    #[test]
    fn functions() {
        for _ in 0..50 {
            let n: i64 = render("{{ random_int(1, 3) }}").unwrap().parse().unwrap();
            assert!((1..=3).contains(&n));
            assert!(["chess", "go"].contains(
                &render("{{ random_choice('chess', \"go\") }}")
                    .unwrap()
                    .as_str()
            ));
        }
        let s = render("{{ random_string(12) }}").unwrap();
        assert!(s.len() == 12 && s.chars().all(|c| c.is_ascii_alphanumeric()));
        let u = render("{{ uuid() }}").unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        let ts: u64 = render("{{ timestamp() }}").unwrap().parse().unwrap();
        let ms: u64 = render("{{ timestamp_ms() }}").unwrap().parse().unwrap();
        assert!(ts > 1_600_000_000 && ms / 1000 >= ts);
        assert_eq!(render("{{ urlencode(q) }}").unwrap(), "a%20b%26c");
        assert_eq!(render("{{ base64('user:pass') }}").unwrap(), "dXNlcjpwYXNz");
        assert_eq!(render("{{ number(app_id) }}").unwrap(), "42");
        assert_eq!(render("{{ random_int(app_id, app_id) }}").unwrap(), "42");
        assert_eq!(
            render("{{ urlencode(random_choice('a b')) }}").unwrap(),
            "a%20b"
        );
    }

    #[test]
    fn runtime_failures_are_errors_not_panics() {
        assert_eq!(
            render("{{ missing }}").unwrap_err().message,
            "`missing` has no value"
        );
        assert_eq!(
            render("{{ nowhere }}").unwrap_err().message,
            "`nowhere` is not defined"
        );
        assert!(render("{{ number(q) }}")
            .unwrap_err()
            .message
            .contains("not a number"));
        assert!(render("{{ random_int(1, q) }}")
            .unwrap_err()
            .message
            .contains("not an integer"));
        assert!(render("{{ random_string(users.email) }}").is_err());
    }

    #[test]
    fn json_values_keep_their_type() {
        let json = |text: &str| {
            let mut out = String::new();
            compile(text).render_json(&ctx(), &mut out).map(|_| out)
        };
        assert_eq!(json("{{ number(app_id) }}").unwrap(), "42");
        assert_eq!(json("{{ vu }}").unwrap(), "7");
        assert_eq!(json("{{ app_id }}").unwrap(), "\"42\"");
        assert_eq!(
            json("say \"{{ q }}\"\n").unwrap(),
            "\"say \\\"a b&c\\\"\\n\""
        );
        let n: i64 = json("{{ random_int(5, 9) }}").unwrap().parse().unwrap();
        assert!((5..=9).contains(&n));
        assert!(json("{{ number(q) }}").is_err());
    }

    #[test]
    fn parse_errors_point_at_the_problem() {
        let err = |text: &str| Template::parse(text).unwrap_err();
        let e = err("/a/{{ app_id");
        assert_eq!((e.start, e.message.contains("never closed")), (3, true));
        let e = err("{{ }}");
        assert!(e.message.contains("empty"));
        let e = err("x {{ rand_int(1, 2) }}");
        assert_eq!((e.start, e.end), (5, 13));
        assert!(
            e.message.contains("did you mean `random_int`?"),
            "{}",
            e.message
        );
        assert!(err("{{ uuid(1) }}").message.contains("no arguments"));
        assert!(err("{{ random_int(1) }}")
            .message
            .contains("random_int(min, max)"));
        assert!(err("{{ random_int(5, 1) }}").message.contains("larger"));
        assert!(err("{{ random_choice() }}").message.contains("at least 1"));
        assert!(err("{{ random_string(-1) }}").message.contains("length"));
        assert!(err("{{ a b }}").message.contains("unexpected `b`"));
        assert!(err("{{ a + b }}").message.contains("unexpected"));
        assert!(err("{{ 'open }}").message.contains("never closed"));
        assert!(err("{{ f( }}").message.contains("unknown function"));
        assert!(err("{{ uuid( }}").message.contains("closing"));
        assert!(err("{{ users. }}").message.contains("not a valid name"));
        assert!(err("{{ 99999999999999999999 }}")
            .message
            .contains("not an integer"));
        assert!(err("{{ number('x') }}").message.contains("not a number"));
    }

    #[test]
    fn names_are_listed_with_positions() {
        let t = Template::parse("{{ a }}-{{ random_choice(b.c, 'x') }}").unwrap();
        let names: Vec<(&str, usize, usize)> = t
            .names()
            .iter()
            .map(|n| (n.path.as_str(), n.start, n.end))
            .collect();
        assert_eq!(names, vec![("a", 3, 4), ("b.c", 25, 28)]);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 11u64;
        let alphabet = "{}()'\",.ab_1- \\é";
        let chars: Vec<char> = alphabet.chars().collect();
        for _ in 0..5000 {
            let len = (seed % 24) as usize;
            let s: String = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    chars[(seed >> 33) as usize % chars.len()]
                })
                .collect();
            if let Ok(t) = Template::parse(&s) {
                let _ = t.render_to_string(&EmptyContext);
            } else if let Err(e) = Template::parse(&s) {
                assert!(
                    e.start <= s.len() && e.end <= s.len() && s.get(e.start..e.end).is_some(),
                    "{s:?} {e:?}"
                );
            }
        }
    }
}
