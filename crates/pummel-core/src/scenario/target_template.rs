//! A `target` written as a template of environment variables
//! (`target: "{{ env.BASE_URL }}"`, `https://{{ env.HOST }}/shop`), so one
//! file serves staging and production. It is resolved once, when the file
//! loads: a run never renders its target again, and a value that is no URL
//! is an error at the variable, like any other.

use std::collections::HashMap;

use super::diagnostic::{Problems, Span};
use super::template::{Binding, Template};
use crate::http::TargetUrl;

/// The target's URL, or `None` after recording why there is none.
pub(crate) fn resolve(
    template: Template,
    span: Span,
    env: &HashMap<String, String>,
    problems: &mut Problems,
) -> Option<TargetUrl> {
    let (text, at) = env_only_text(template, span, "`target`", env, problems)?;
    TargetUrl::parse(&text)
        .map_err(|e| {
            problems.push(
                at.unwrap_or(span),
                format!("`target`, with the environment's values ({text:?}): {e}"),
            );
        })
        .ok()
}

/// The text of a value `what` that may use only environment variables,
/// resolved now, and where its text starts (when it has any); `None` after
/// recording why it cannot be resolved.
pub(crate) fn env_only_text(
    mut template: Template,
    span: Span,
    what: &str,
    env: &HashMap<String, String>,
    problems: &mut Problems,
) -> Option<(String, Option<Span>)> {
    let mut found = Vec::new();
    template.bind(&mut |name| match name.path.strip_prefix("env.") {
        Some(key) => match env.get(key) {
            Some(value) => name.binding = Binding::Const(value.clone()),
            None => found.push((
                name.span,
                format!(
                    "{what}: environment variable `{key}` is not set \
                     (export it, or pass --env {key}=VALUE)"
                ),
            )),
        },
        None => found.push((
            name.span,
            format!(
                "{what} may only use environment variables (`{{{{ env.NAME }}}}`), \
                 found `{}`: it is resolved once, before any VU exists",
                name.path
            ),
        )),
    });
    if !found.is_empty() {
        for (span, message) in found {
            problems.push(span, message);
        }
        return None;
    }
    let Some((text, at)) = template.fixed_text() else {
        problems.push(
            span,
            format!("{what} may only use environment variables and text: no functions"),
        );
        return None;
    };
    Some((text, at))
}
