//! Narrowing a threshold to some steps: those inside a `group`, those
//! carrying given `tag` values — on top of its scenario or step scope.

use super::diagnostic::Span;
use super::tags::Tags;

/// Which steps of its scope a threshold looks at: all of them when empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StepFilter {
    /// A group's name: the steps inside it, at any depth.
    pub group: Option<String>,
    /// Every pair must be among the step's (inherited) tags.
    pub tags: Tags,
}

impl StepFilter {
    pub(crate) fn is_empty(&self) -> bool {
        self.group.is_none() && self.tags.is_empty()
    }

    /// Whether a step inside `groups` (outermost first) with `tags` passes.
    pub(crate) fn admits(&self, groups: &[String], tags: &Tags) -> bool {
        self.group
            .as_ref()
            .is_none_or(|g| groups.iter().any(|x| x == g))
            && tags.contains_all(&self.tags)
    }

    /// How a result names the filter: ` group checkout tag kind=write`.
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(g) = &self.group {
            out.push_str(&format!(" group {g}"));
        }
        if !self.tags.is_empty() {
            out.push_str(&format!(" tag {}", self.tags));
        }
        out
    }
}

/// Where a threshold's `group` and `tag` are written.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FilterSpans {
    pub group: Option<Span>,
    pub tag: Option<Span>,
}
