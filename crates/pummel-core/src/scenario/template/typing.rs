//! What operand types make certain to fail, found when the expression is
//! parsed: `'abc' < 3`, `(a == b) + 1`, `count and ready`. Names hold text
//! that may read as a number only at run time, so they pass here and are
//! checked when the expression runs.

use super::syntax::{BinaryOp, Expr, StaticType, UnaryOp};

/// An operand as a message names it.
fn describe(e: &Expr) -> String {
    match e {
        Expr::Str(s) => format!("the text {s:?}"),
        Expr::Bool(b) => format!("`{b}`"),
        e if e.static_type() == StaticType::Bool => "a true-or-false value".into(),
        _ => "a number".into(),
    }
}

/// Checks the operands of `left op right`.
pub(super) fn check_binary(op: BinaryOp, left: &Expr, right: &Expr) -> Result<(), String> {
    let sym = op.symbol();
    let (l, r) = (left.static_type(), right.static_type());
    match op {
        BinaryOp::Or | BinaryOp::And => {
            for (side, t) in [(left, l), (right, r)] {
                match t {
                    StaticType::Number => return Err(format!(
                        "`{sym}` joins conditions, but one side is a number: compare it, as in `x > 0`"
                    )),
                    StaticType::Text => return Err(format!(
                        "`{sym}` joins conditions, but one side is {}: compare it, as in `x == 'yes'`",
                        describe(side)
                    )),
                    StaticType::Bool | StaticType::Unknown => {}
                }
            }
            Ok(())
        }
        BinaryOp::Eq | BinaryOp::Ne => {
            let never = matches!(
                (l, r),
                (StaticType::Number, StaticType::Bool | StaticType::Text)
                    | (StaticType::Bool | StaticType::Text, StaticType::Number)
            );
            if never {
                let outcome = if op == BinaryOp::Eq { "false" } else { "true" };
                return Err(format!(
                    "`{sym}` compares {} with {}: they can never be equal, so this is always {outcome}",
                    describe(left),
                    describe(right)
                ));
            }
            Ok(())
        }
        _ => {
            for (side, t) in [(left, l), (right, r)] {
                if matches!(t, StaticType::Bool | StaticType::Text) {
                    return Err(format!(
                        "`{sym}` needs numbers, but one side is {}",
                        describe(side)
                    ));
                }
            }
            let zero = match right {
                Expr::Int(0) => true,
                Expr::Float(f) => f.0 == 0.0,
                _ => false,
            };
            if matches!(op, BinaryOp::Div | BinaryOp::Rem) && zero {
                return Err(format!("`{sym} 0` divides by zero"));
            }
            Ok(())
        }
    }
}

/// Checks the operand of a prefix operator.
pub(super) fn check_unary(op: UnaryOp, operand: &Expr) -> Result<(), String> {
    match (op, operand.static_type()) {
        (UnaryOp::Not, StaticType::Number) => Err(
            "`not` negates a condition, but this is a number: compare it, as in `not (x > 0)`"
                .into(),
        ),
        (UnaryOp::Not, StaticType::Text) => Err(format!(
            "`not` negates a condition, but this is {}",
            describe(operand)
        )),
        (UnaryOp::Neg, StaticType::Bool | StaticType::Text) => Err(format!(
            "`-` needs a number, but this is {}",
            describe(operand)
        )),
        _ => Ok(()),
    }
}

/// Checks that an expression used as a condition can be true or false.
pub(super) fn check_condition(e: &Expr) -> Result<(), String> {
    match e.static_type() {
        StaticType::Number => Err(
            "a condition must be true or false, but this is a number: compare it, as in `x > 0`"
                .into(),
        ),
        StaticType::Text => Err(format!(
            "a condition must be true or false, but this is {}: compare it, as in `x == 'yes'`",
            describe(e)
        )),
        StaticType::Bool | StaticType::Unknown => Ok(()),
    }
}
