//! Conditions (`if:`, `loop: { while: }`): one expression of the template
//! grammar that decides true or false, written bare (`status == 200`) or
//! in braces (`"{{ status == 200 }}"`).

use super::context::Context;
use super::eval::{eval, RenderError};
use super::parse::{parse_bare, TemplateError};
use super::syntax::Piece;
use super::{typing, Template};

/// A compiled condition. Its names are bound like a template's (see
/// [`Condition::template_mut`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Condition {
    /// Always exactly one expression.
    template: Template,
}

impl Condition {
    /// Compiles `text`; byte offsets in errors are offsets in `text`.
    pub(crate) fn parse(text: &str) -> Result<Condition, TemplateError> {
        let trimmed = text.trim();
        let braced = trimmed.starts_with("{{") && trimmed.ends_with("}}");
        let template = if braced {
            let t = Template::parse(text)?;
            if t.as_single_expr().is_none() {
                return Err(TemplateError {
                    start: 0,
                    end: text.len(),
                    message: "a condition is one expression: write it without text around the `{{ }}` (or without the braces)".into(),
                });
            }
            t
        } else {
            Template {
                source: text.to_owned(),
                pieces: vec![Piece::Expr(parse_bare(text)?)],
            }
        };
        if let Some(e) = template.as_single_expr() {
            typing::check_condition(e).map_err(|message| TemplateError {
                start: 0,
                end: text.len(),
                message,
            })?;
        }
        Ok(Condition { template })
    }

    /// The expression as a template, for binding its names.
    pub(crate) fn template_mut(&mut self) -> &mut Template {
        &mut self.template
    }

    /// The text the condition was compiled from.
    pub(crate) fn source(&self) -> &str {
        self.template.source()
    }

    /// Evaluates the condition for the virtual user whose state `ctx` is.
    pub(crate) fn is_true(&self, ctx: &dyn Context) -> Result<bool, RenderError> {
        match self.template.as_single_expr() {
            Some(e) => Ok(eval(e, ctx)?.truthy()),
            None => Ok(false),
        }
    }
}
