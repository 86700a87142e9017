//! Narrowing a threshold to some steps: those inside a `group`, those
//! carrying given `tag` values — on top of its scenario or step scope.

use super::diagnostic::{suggest, Problems, Span};
use super::model::{Plan, Step, StepKind};
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

/// A `group` that names no group, or a `tag` no measured step carries,
/// would make the threshold judge nothing (and fail): said at load time.
pub(crate) fn check_filters(plan: &Plan, spans: &[FilterSpans], problems: &mut Problems) {
    let mut groups: Vec<&str> = Vec::new();
    let mut tagged: Vec<&Tags> = Vec::new();
    let mut flows: Vec<&[Step]> = vec![&plan.setup, &plan.teardown];
    for s in &plan.scenarios {
        flows.extend([&s.setup[..], &s.steps[..], &s.teardown[..]]);
    }
    for steps in flows {
        collect(steps, &mut groups, &mut tagged);
    }
    for (t, spans) in plan.thresholds.iter().zip(spans) {
        if let (Some(g), Some(span)) = (&t.filter.group, spans.group) {
            if !groups.contains(&g.as_str()) {
                let base = format!("no group is named `{g}`");
                let message = match suggest(g, groups.iter().copied()) {
                    Some(x) => format!("{base} (did you mean `{x}`?)"),
                    None if groups.is_empty() => format!("{base} (the file has no groups)"),
                    None => format!("{base} (groups: {})", groups.join(", ")),
                };
                problems.push(span, message);
            }
        }
        if let Some(span) = spans.tag {
            if !t.filter.tags.is_empty() && !tagged.iter().any(|s| s.contains_all(&t.filter.tags)) {
                problems.push(
                    span,
                    format!("no request or WebSocket step is tagged {}", t.filter.tags),
                );
            }
        }
    }
}

fn collect<'p>(steps: &'p [Step], groups: &mut Vec<&'p str>, tagged: &mut Vec<&'p Tags>) {
    for step in steps {
        match &step.kind {
            StepKind::Group(g) => {
                if !groups.contains(&step.name.as_str()) {
                    groups.push(&step.name);
                }
                collect(&g.steps, groups, tagged);
            }
            StepKind::Loop(l) => collect(&l.steps, groups, tagged),
            StepKind::If(i) => {
                collect(&i.then, groups, tagged);
                collect(&i.otherwise, groups, tagged);
            }
            StepKind::Request(_) | StepKind::WebSocket(_) => tagged.push(&step.tags),
            StepKind::Think(_) => {}
        }
    }
}
