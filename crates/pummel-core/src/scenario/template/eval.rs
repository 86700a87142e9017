//! The evaluator: renders expressions through a [`Context`], writing into
//! the caller's buffer, borrowing values where it can.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use super::context::Context;
use super::operators;
use super::syntax::{Binding, Expr, Func, Name};
pub(crate) use super::value::RenderError;
use super::value::Value;

/// The longest `random_string` allowed.
pub(super) const MAX_RANDOM_STRING: i64 = 65_536;

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
        Binding::Status => ctx
            .status()
            .map(|s| Value::Int(i64::from(s)))
            .ok_or_else(|| RenderError {
                message: "`status` has no value: no request has been sent yet in this iteration"
                    .into(),
            }),
        Binding::Unresolved => Err(RenderError {
            message: format!("`{}` is not defined", name.path),
        }),
    }
}

pub(super) fn eval<'e, 'c: 'e>(
    e: &'e Expr,
    ctx: &'c dyn Context,
) -> Result<Value<'e>, RenderError> {
    match e {
        Expr::Str(s) => Ok(Value::Str(s)),
        Expr::Int(n) => Ok(Value::Int(*n)),
        Expr::Float(x) => Ok(Value::Float(x.0)),
        Expr::Bool(b) => Ok(Value::Bool(*b)),
        Expr::Unary(op, operand) => operators::unary(*op, &eval(operand, ctx)?),
        Expr::Binary(op, left, right) => {
            operators::binary(*op, &eval(left, ctx)?, || eval(right, ctx))
        }
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

/// The most bytes `e` can render to (see [`super::Template::max_len`]).
pub(super) fn max_len(e: &Expr, var_bound: &dyn Fn(super::VarId) -> u64) -> u64 {
    /// An `i64` or a timestamp, written out.
    const NUMBER: u64 = 20;
    /// Any finite `f64`, written out in full (`1e300` is 301 digits).
    const ANY_NUMBER: u64 = 330;
    let arg = |i: usize| e_args(e).get(i).map_or(0, |a| max_len(a, var_bound));
    match e {
        Expr::Str(s) => s.len() as u64,
        Expr::Int(_) => NUMBER,
        Expr::Float(_) | Expr::Unary(..) | Expr::Binary(..) => ANY_NUMBER,
        Expr::Bool(_) => 5,
        Expr::Name(n) => match &n.binding {
            Binding::Const(v) => v.len() as u64,
            Binding::Var(id) => var_bound(*id),
            Binding::Vu | Binding::Iteration | Binding::Status => NUMBER,
            Binding::Field { .. } | Binding::Unresolved => u64::MAX,
        },
        Expr::Call(func, args) => match func {
            Func::RandomInt | Func::Timestamp | Func::TimestampMs => NUMBER,
            Func::Random => ANY_NUMBER,
            Func::Uuid => 36,
            Func::RandomChoice => (0..args.len()).map(arg).max().unwrap_or(0),
            Func::RandomString => match args.first() {
                Some(Expr::Int(n)) => (*n).clamp(0, MAX_RANDOM_STRING) as u64,
                _ => MAX_RANDOM_STRING as u64,
            },
            // Decoding never lengthens.
            Func::Number | Func::UrlDecode => arg(0),
            // Each byte becomes at most %XX.
            Func::UrlEncode => arg(0).saturating_mul(3),
            // Four characters for each three bytes, padded.
            Func::Base64 => (arg(0) / 3).saturating_add(1).saturating_mul(4),
        },
    }
}

fn e_args(e: &Expr) -> &[Expr] {
    match e {
        Expr::Call(_, args) => args,
        _ => &[],
    }
}

pub(super) fn eval_into(e: &Expr, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
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
        Func::Random => Value::Float(fastrand::f64()).write(out),
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
        Func::UrlDecode => {
            let mut tmp = String::new();
            eval(&args[0], ctx)?.write(&mut tmp);
            // A `%` without two hex digits stays; what does not decode to UTF-8 becomes U+FFFD.
            out.push_str(&percent_encoding::percent_decode_str(&tmp).decode_utf8_lossy());
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
pub(crate) fn percent_encode_into(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Appends `text` with JSON string escapes (no surrounding quotes).
pub(crate) fn escape_json_into(text: &str, out: &mut String) {
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

/// Whether `s` is a JSON number (and nothing else).
pub(super) fn is_json_number(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && serde_json::from_str::<serde_json::Number>(s).is_ok()
}
