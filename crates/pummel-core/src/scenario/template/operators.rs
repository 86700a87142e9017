//! What the operators do at run time. Values are text (captures, feeder
//! fields), numbers or true/false:
//!
//! - arithmetic and ordering read text as a number (`"42"` is 42) and fail
//!   on text that is not one; integers stay integers unless a division
//!   leaves a remainder or a side has a fraction;
//! - `==` and `!=` compare as numbers when either side is a number (so a
//!   captured `"200"` equals `200`, and `"2.50"` equals `2.5`), otherwise
//!   as text (`zip == '01234'` compares the text);
//! - `and`, `or` and `not` take true/false; text is true unless it is
//!   empty, `false` or `0`. `and` and `or` do not evaluate their right side
//!   when the left decides.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::syntax::{BinaryOp, UnaryOp};
use super::value::{RenderError, Value};

/// A number, as read from a value.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(n) => n as f64,
            Num::Float(x) => x,
        }
    }

    fn into_value(self) -> Value<'static> {
        match self {
            Num::Int(n) => Value::Int(n),
            Num::Float(x) => Value::Float(x),
        }
    }
}

impl Value<'_> {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Owned(s) => Cow::Borrowed(s),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            other => {
                let mut s = String::new();
                other.write(&mut s);
                Cow::Owned(s)
            }
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }

    /// The value as a number, if it is one or is text that reads as one.
    fn as_num(&self) -> Option<Num> {
        match self {
            Value::Int(n) => Some(Num::Int(*n)),
            Value::Float(x) => Some(Num::Float(*x)),
            Value::Bool(_) => None,
            Value::Str(_) | Value::Owned(_) => {
                let text = self.text();
                let text = text.trim();
                if let Ok(n) = text.parse::<i64>() {
                    return Some(Num::Int(n));
                }
                // Only plain decimal notation: "inf", "NaN" and "1e999"
                // are words or overflows, not numbers a server sent.
                text.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Num::Float)
            }
        }
    }

    fn number(&self, op: &str) -> Result<Num, RenderError> {
        self.as_num().ok_or_else(|| RenderError {
            message: format!("`{op}` needs numbers, but got {:?}", self.text()),
        })
    }

    pub(super) fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(x) => *x != 0.0,
            Value::Str(_) | Value::Owned(_) => !matches!(self.text().trim(), "" | "false" | "0"),
        }
    }
}

/// `op operand`.
pub(super) fn unary(op: UnaryOp, v: &Value<'_>) -> Result<Value<'static>, RenderError> {
    Ok(match op {
        UnaryOp::Not => Value::Bool(!v.truthy()),
        UnaryOp::Neg => match v.number("-")? {
            Num::Int(n) => n
                .checked_neg()
                .map_or(Value::Float(-(n as f64)), Value::Int),
            Num::Float(x) => Value::Float(-x),
        },
    })
}

/// `l op right`, where `right` evaluates the right side: `and` and `or`
/// only call it when the left side does not decide.
pub(super) fn binary<'v>(
    op: BinaryOp,
    l: &Value<'_>,
    right: impl FnOnce() -> Result<Value<'v>, RenderError>,
) -> Result<Value<'static>, RenderError> {
    match op {
        BinaryOp::And if !l.truthy() => return Ok(Value::Bool(false)),
        BinaryOp::Or if l.truthy() => return Ok(Value::Bool(true)),
        BinaryOp::And | BinaryOp::Or => return Ok(Value::Bool(right()?.truthy())),
        _ => {}
    }
    let r = right()?;
    let sym = op.symbol();
    Ok(match op {
        BinaryOp::Eq => Value::Bool(equal(l, &r)),
        BinaryOp::Ne => Value::Bool(!equal(l, &r)),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ord = compare(l.number(sym)?, r.number(sym)?);
            Value::Bool(match op {
                BinaryOp::Lt => ord == Ordering::Less,
                BinaryOp::Le => ord != Ordering::Greater,
                BinaryOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        _ => arithmetic(op, l.number(sym)?, r.number(sym)?)?.into_value(),
    })
}

fn equal(l: &Value<'_>, r: &Value<'_>) -> bool {
    if l.is_number() || r.is_number() {
        if let (Some(a), Some(b)) = (l.as_num(), r.as_num()) {
            return compare(a, b) == Ordering::Equal;
        }
        return false;
    }
    l.text() == r.text()
}

fn compare(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        // Finite values only: `partial_cmp` always answers.
        _ => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
    }
}

fn arithmetic(op: BinaryOp, a: Num, b: Num) -> Result<Num, RenderError> {
    let sym = op.symbol();
    let fail = |why: &str| RenderError {
        message: format!("`{sym}`: {why}"),
    };
    if let (Num::Int(x), Num::Int(y)) = (a, b) {
        let exact = match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::Div | BinaryOp::Rem if y == 0 => return Err(fail("division by zero")),
            BinaryOp::Div if x.checked_rem(y) == Some(0) => x.checked_div(y),
            BinaryOp::Div => None,
            _ => x.checked_rem(y),
        };
        if let Some(n) = exact {
            return Ok(Num::Int(n));
        }
    }
    let (x, y) = (a.as_f64(), b.as_f64());
    let result = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div | BinaryOp::Rem if y == 0.0 => return Err(fail("division by zero")),
        BinaryOp::Div => x / y,
        _ => x % y,
    };
    if result.is_finite() {
        Ok(Num::Float(result))
    } else {
        Err(fail("the result is too large"))
    }
}
