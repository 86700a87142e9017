//! A compiled template's syntax tree: its pieces, the expressions inside
//! `{{ }}`, the names they read and the functions they call.

use super::context::VarId;
use crate::scenario::diagnostic::Span;

/// What a name is bound to. Set by the validator; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Binding {
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
pub(crate) struct Name {
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
pub(crate) enum Func {
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
    pub(crate) const ALL: [(&'static str, Func); 9] = [
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

    /// Allowed argument counts, and how to call it (for error messages).
    pub(super) fn arity(self) -> (usize, usize, &'static str) {
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
pub(crate) enum Expr {
    Str(String),
    Int(i64),
    Name(Name),
    Call(Func, Vec<Expr>),
}

impl Expr {
    /// Whether the expression always yields a number: inside a JSON body, a
    /// value that is only such an expression is written as a JSON number.
    pub(crate) fn is_number(&self) -> bool {
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

    #[cfg(test)]
    pub(super) fn visit_names<'a>(&'a self, f: &mut dyn FnMut(&'a Name)) {
        match self {
            Expr::Name(n) => f(n),
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit_names(f)),
            Expr::Str(_) | Expr::Int(_) => {}
        }
    }

    pub(super) fn visit_names_mut(&mut self, f: &mut dyn FnMut(&mut Name)) {
        match self {
            Expr::Name(n) => f(n),
            Expr::Call(_, args) => args.iter_mut().for_each(|a| a.visit_names_mut(f)),
            Expr::Str(_) | Expr::Int(_) => {}
        }
    }
}

/// A piece of a template: text copied as is, or an expression to evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Literal(String),
    Expr(Expr),
}
