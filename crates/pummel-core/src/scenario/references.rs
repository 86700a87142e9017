//! Load-time checks of what tags, groups and custom metrics refer to: a
//! threshold's `group`, `tag` or custom metric must exist in the file, and
//! one metric name has one kind. They need the whole plan, so they run
//! after decoding, with the other cross-references of `validate`.

use super::custom_metric::{CustomStat, MetricKind};
use super::diagnostic::{suggest, Problems};
use super::model::{Plan, Step, StepKind};
use super::tags::Tags;
use super::threshold::{Metric, Scope};
use super::threshold_filter::FilterSpans;

/// One name is one metric: fed as two kinds, its figures would mean nothing.
pub(crate) fn check_kinds(plan: &Plan, problems: &mut Problems) {
    let mut seen: Vec<(&str, MetricKind)> = Vec::new();
    for (_, step) in plan.all_steps() {
        let StepKind::Metric(m) = &step.kind else {
            continue;
        };
        match seen.iter().find(|(n, _)| *n == m.name) {
            Some((_, kind)) if *kind != m.kind => problems.push(
                m.span,
                format!(
                    "metric `{}` is a {} elsewhere in the file: one name, one kind",
                    m.name,
                    kind.as_str()
                ),
            ),
            Some(_) => {}
            None => seen.push((&m.name, m.kind)),
        }
    }
}

/// A threshold on a custom metric must name one the file feeds, with a
/// figure its kind has, over the whole run.
pub(crate) fn check_thresholds(plan: &Plan, problems: &mut Problems) {
    let mut kinds: Vec<(&str, MetricKind)> = Vec::new();
    for (_, step) in plan.all_steps() {
        if let StepKind::Metric(m) = &step.kind {
            kinds.push((&m.name, m.kind));
        }
    }
    for t in &plan.thresholds {
        let (Some(name), Metric::Custom(stat)) = (&t.custom, t.condition.metric) else {
            continue;
        };
        let Some((_, kind)) = kinds.iter().find(|(n, _)| n == name) else {
            let known: Vec<&str> = kinds.iter().map(|(n, _)| *n).collect();
            let base = format!("no `metric:` step feeds a metric named `{name}`");
            let message = match suggest(name, known.iter().copied()) {
                Some(x) => format!("{base} (did you mean `{x}`?)"),
                None => base,
            };
            problems.push(t.span, message);
            continue;
        };
        if !stat.fits(*kind) {
            problems.push(
                t.span,
                format!(
                    "`{name}` is a {}: it has {}, not `{stat}`",
                    kind.as_str(),
                    CustomStat::names_for(*kind)
                ),
            );
        }
        if t.scope != Scope::Run || !t.filter.is_empty() {
            problems.push(
                t.span,
                format!("`{name}` is a custom metric, kept for the whole run: a threshold on it takes no `scenario`, `step`, `group` or `tag`"),
            );
        }
    }
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
            StepKind::Parallel(p) => {
                if !groups.contains(&step.name.as_str()) {
                    groups.push(&step.name);
                }
                collect(&p.steps, groups, tagged);
            }
            StepKind::Loop(l) => collect(&l.steps, groups, tagged),
            StepKind::If(i) => {
                collect(&i.then, groups, tagged);
                collect(&i.otherwise, groups, tagged);
            }
            StepKind::Request(_) | StepKind::WebSocket(_) => tagged.push(&step.tags),
            StepKind::Think(_) | StepKind::Metric(_) => {}
        }
    }
}
