//! A value while an expression is evaluated, and the error when one
//! cannot be.

use std::fmt::Write as _;

/// A template could not be rendered: a name had no value at run time (a
/// capture that found nothing), or a function got an unusable argument.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    pub message: String,
}

/// An evaluated expression: borrowed when it can be.
pub(super) enum Value<'a> {
    Str(&'a str),
    Owned(String),
    Int(i64),
    /// Always finite: the operators refuse to make anything else.
    Float(f64),
    Bool(bool),
}

impl Value<'_> {
    pub(super) fn write(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Owned(s) => out.push_str(s),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(x) => {
                let _ = write!(out, "{x}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }

    pub(super) fn as_int(&self, what: &str) -> Result<i64, RenderError> {
        let text = match self {
            Value::Int(n) => return Ok(*n),
            Value::Str(s) => *s,
            Value::Owned(s) => s.as_str(),
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => return Ok(*x as i64),
            Value::Float(x) => {
                return Err(RenderError {
                    message: format!("{what}: {x} is not an integer"),
                })
            }
            Value::Bool(b) => {
                return Err(RenderError {
                    message: format!("{what}: `{b}` is not an integer"),
                })
            }
        };
        text.trim().parse().map_err(|_| RenderError {
            message: format!("{what}: {text:?} is not an integer"),
        })
    }
}
