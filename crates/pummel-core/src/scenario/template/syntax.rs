//! A compiled template's syntax tree: its pieces, the expressions inside
//! `{{ }}` (and in conditions), the names they read, the functions they
//! call and the operators that join them.

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
    /// The status of the virtual user's last response in this iteration
    /// (0 when that request got no response).
    Status,
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
    /// `urldecode(x)`: `x` with each `%XX` decoded (a cookie a framework set URL-encoded and
    /// expects back decoded in a header, as Laravel's `XSRF-TOKEN`); `+` stays `+`.
    UrlDecode,
    /// `base64(x)`: `x` in standard base64.
    Base64,
    /// `random()`: a number drawn uniformly from `[0, 1)`, for conditions
    /// such as `random() < 0.3`.
    Random,
}

impl Func {
    pub(crate) const ALL: [(&'static str, Func); 11] = [
        ("random_int", Func::RandomInt),
        ("random_choice", Func::RandomChoice),
        ("random_string", Func::RandomString),
        ("uuid", Func::Uuid),
        ("timestamp", Func::Timestamp),
        ("timestamp_ms", Func::TimestampMs),
        ("number", Func::Number),
        ("urlencode", Func::UrlEncode),
        ("urldecode", Func::UrlDecode),
        ("base64", Func::Base64),
        ("random", Func::Random),
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
            Func::UrlDecode => (1, 1, "urldecode(value)"),
            Func::Base64 => (1, 1, "base64(value)"),
            Func::Random => (0, 0, "random()"),
        }
    }
}

/// A number with a fraction (`0.3`). Compared by its bits so that the
/// syntax tree can be `Eq`; a literal is never NaN.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Float) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Float {}

/// A prefix operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    /// `not x`, `!x`.
    Not,
    /// `-x`.
    Neg,
}

/// An infix operator, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    /// The operator as the documentation writes it.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength: a larger number binds tighter.
    pub(super) fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 5,
        }
    }

    pub(super) fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    pub(super) fn is_arithmetic(self) -> bool {
        self.precedence() >= 4
    }
}

/// What an expression is known to yield before it runs: enough to reject
/// `'abc' < 3` or `x > 1 + (a == b)` at load time. Names hold text, which
/// may or may not read as a number: only the run can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StaticType {
    Number,
    Bool,
    /// A string literal that does not read as a number.
    Text,
    /// Text known only at run time (a capture, a feeder field, a choice).
    Unknown,
}

/// An expression inside `{{ }}`, or a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    Str(String),
    Int(i64),
    Float(Float),
    Bool(bool),
    Name(Name),
    Call(Func, Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Whether the expression always yields a number: inside a JSON body, a
    /// value that is only such an expression is written as a JSON number.
    pub(crate) fn is_number(&self) -> bool {
        match self {
            Expr::Name(n) => matches!(
                n.binding,
                Binding::Vu | Binding::Iteration | Binding::Status
            ),
            other => other.static_type() == StaticType::Number,
        }
    }

    /// Whether the expression always yields `true` or `false` (a JSON
    /// boolean inside a `json` body).
    pub(crate) fn is_bool(&self) -> bool {
        self.static_type() == StaticType::Bool
    }

    /// What the expression is known to yield before it runs.
    pub(crate) fn static_type(&self) -> StaticType {
        match self {
            Expr::Int(_) | Expr::Float(_) => StaticType::Number,
            Expr::Bool(_) => StaticType::Bool,
            Expr::Str(s) if s.trim().parse::<f64>().is_ok() => StaticType::Unknown,
            Expr::Str(_) => StaticType::Text,
            Expr::Name(_) => StaticType::Unknown,
            Expr::Call(f, _) => match f {
                Func::RandomInt
                | Func::Timestamp
                | Func::TimestampMs
                | Func::Number
                | Func::Random => StaticType::Number,
                Func::RandomChoice
                | Func::RandomString
                | Func::Uuid
                | Func::UrlEncode
                | Func::UrlDecode
                | Func::Base64 => StaticType::Unknown,
            },
            Expr::Unary(UnaryOp::Not, _) => StaticType::Bool,
            Expr::Unary(UnaryOp::Neg, _) => StaticType::Number,
            Expr::Binary(op, ..) if op.is_arithmetic() => StaticType::Number,
            Expr::Binary(..) => StaticType::Bool,
        }
    }

    #[cfg(test)]
    pub(super) fn visit_names<'a>(&'a self, f: &mut dyn FnMut(&'a Name)) {
        match self {
            Expr::Name(n) => f(n),
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit_names(f)),
            Expr::Unary(_, e) => e.visit_names(f),
            Expr::Binary(_, l, r) => {
                l.visit_names(f);
                r.visit_names(f);
            }
            Expr::Str(_) | Expr::Int(_) | Expr::Float(_) | Expr::Bool(_) => {}
        }
    }

    pub(super) fn visit_names_mut(&mut self, f: &mut dyn FnMut(&mut Name)) {
        match self {
            Expr::Name(n) => f(n),
            Expr::Call(_, args) => args.iter_mut().for_each(|a| a.visit_names_mut(f)),
            Expr::Unary(_, e) => e.visit_names_mut(f),
            Expr::Binary(_, l, r) => {
                l.visit_names_mut(f);
                r.visit_names_mut(f);
            }
            Expr::Str(_) | Expr::Int(_) | Expr::Float(_) | Expr::Bool(_) => {}
        }
    }
}

/// A piece of a template: text copied as is, or an expression to evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Literal(String),
    Expr(Expr),
}
