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
//! Expressions are small, and the same in templates and in conditions
//! (`if:`, `loop: { while: }`): names (`app_id`, `env.TOKEN`,
//! `users.email`, `vu`, `iteration`, `status`), string literals (`'x'` or
//! `"x"`), numbers (`3`, `0.25`), `true` and `false`, calls to a few
//! functions ([`Func`]), parentheses, and operators: comparisons (`==`
//! `!=` `<` `<=` `>` `>=`), `and`/`or`/`not` (or `&&` `||` `!`) and
//! arithmetic (`+` `-` `*` `/` `%`). In a template, `{{ count + 1 }}`
//! renders the value. There are no assignments, loops or user functions: a
//! scenario file describes traffic, it is not a program. Since names may
//! contain `-`, subtraction needs spaces: `a - 1`.
//!
//! Names are bound after parsing, by the validator, which knows what is
//! defined where: a variable or capture becomes a slot number ([`VarId`]),
//! a feeder field becomes a (feeder, column) pair, an environment variable
//! becomes its value. Rendering then reads slots by index through a
//! [`Context`].
//!
//! Write literal braces as an expression: `{{ '{{' }}`.
//!
//! The parts depend one way: `syntax` is the tree (pieces, expressions,
//! names, functions, operators), `parse` turns text into it (checking
//! literal arguments against `eval`'s limits, and operand types with
//! `typing`), `eval` renders it through a `context` into `value`s, with
//! `operators` for what the operators do to values; `condition` is an expression that decides; this
//! module holds the [`Template`] that ties them together.

mod condition;
mod context;
mod eval;
mod operators;
mod parse;
mod syntax;
mod typing;
mod value;

use std::fmt;

use crate::scenario::diagnostic;

pub(crate) use condition::Condition;
#[cfg(test)]
pub(crate) use context::EmptyContext;
pub(crate) use context::{Context, VarId};
pub(crate) use eval::{escape_json_into, percent_encode_into, RenderError};
pub(crate) use parse::TemplateError;
pub(crate) use syntax::{Binding, Expr, Name};

use eval::{eval_into, is_json_number};
use syntax::Piece;

/// A compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    source: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Compiles `text`. Names are left unbound (see [`Template::bind`]).
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let pieces = parse::parse_pieces(text)?;
        Ok(Template {
            source: text.to_owned(),
            pieces,
        })
    }

    /// A template of fixed text (no expression).
    pub(crate) fn literal(text: &str) -> Template {
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
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The text, when the template has no expression: the engine can then
    /// encode what uses it once, not per request.
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// The text, when every part of the template is fixed once its names
    /// are bound — literals and environment variables, no per-VU value, no
    /// function — with the span of its first environment variable (`None`
    /// for a plain literal: the parser checked those already).
    pub(crate) fn fixed_text(&self) -> Option<(String, Option<diagnostic::Span>)> {
        let mut text = String::new();
        let mut env_at = None;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) | Piece::Expr(Expr::Str(s)) => text.push_str(s),
                Piece::Expr(Expr::Int(i)) => text.push_str(&i.to_string()),
                Piece::Expr(Expr::Name(Name {
                    binding: Binding::Const(v),
                    span,
                    ..
                })) => {
                    text.push_str(v);
                    env_at = env_at.or(Some(*span));
                }
                Piece::Expr(_) => return None,
            }
        }
        Some((text, env_at))
    }

    /// The most bytes the template can render to, given the most each
    /// variable holds (`var_bound`; `u64::MAX` for a value only known at run
    /// time). Saturating: a bound past `u64::MAX` is `u64::MAX`.
    pub(crate) fn max_len(&self, var_bound: &dyn Fn(VarId) -> u64) -> u64 {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(s) => s.len() as u64,
                Piece::Expr(e) => eval::max_len(e, var_bound),
            })
            .fold(0, u64::saturating_add)
    }

    /// The expression, when the template is exactly one `{{ expression }}`.
    pub(crate) fn as_single_expr(&self) -> Option<&Expr> {
        match self.pieces.as_slice() {
            [Piece::Expr(e)] => Some(e),
            _ => None,
        }
    }

    /// Every name the template uses, in order.
    #[cfg(test)]
    pub(crate) fn names(&self) -> Vec<&Name> {
        let mut out = Vec::new();
        for s in &self.pieces {
            if let Piece::Expr(e) = s {
                e.visit_names(&mut |n| out.push(n));
            }
        }
        out
    }

    /// Calls `f` on every name, to bind it.
    pub(crate) fn bind(&mut self, f: &mut dyn FnMut(&mut Name)) {
        for s in &mut self.pieces {
            if let Piece::Expr(e) = s {
                e.visit_names_mut(f);
            }
        }
    }

    /// Appends the rendered text to `out`.
    pub(crate) fn render(&self, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
        for s in &self.pieces {
            match s {
                Piece::Literal(text) => out.push_str(text),
                Piece::Expr(e) => eval_into(e, ctx, out)?,
            }
        }
        Ok(())
    }

    /// Renders into a new string (convenient off the hot path).
    pub(crate) fn render_to_string(&self, ctx: &dyn Context) -> Result<String, RenderError> {
        let mut out = String::new();
        self.render(ctx, &mut out)?;
        Ok(out)
    }

    /// Appends the template as a JSON value: a JSON number when the
    /// template is a single numeric expression (`{{ random_int(1, 5) }}`,
    /// `{{ number(qty) }}`, `{{ qty * 2 }}`), a JSON boolean when it is a
    /// single comparison or condition (`{{ qty > 2 }}`), a JSON string
    /// otherwise.
    pub(crate) fn render_json(
        &self,
        ctx: &dyn Context,
        out: &mut String,
    ) -> Result<(), RenderError> {
        if let Some(e) = self.as_single_expr().filter(|e| e.is_bool()) {
            return eval_into(e, ctx, out);
        }
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

#[cfg(test)]
mod expr_tests;

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
        assert_eq!(render("{{ urldecode(urlencode(q)) }}").unwrap(), "a b&c");
        // `+` is not a space here, and a stray `%` stays.
        assert_eq!(
            render("{{ urldecode('eyJ%3D%3D+x%zz%') }}").unwrap(),
            "eyJ==+x%zz%"
        );
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
        assert!(err("{{ a + }}")
            .message
            .contains("needs a value on its right"));
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
