//! The top of the report: what ran, where and when, and the verdict.

use pummel_result::result::RunResult;

use super::config_str;
use crate::html::page::{render, render_into, Fact, Verdict};
use crate::{format, thresholds};

/// The facts under the title: kind, file or URL, start, duration, version.
pub(super) fn facts(r: &RunResult) -> Vec<Fact> {
    let mut facts = vec![Fact::Text(
        match r.kind.as_str() {
            "bench" => "bench",
            "run" => "scenario run",
            other => other,
        }
        .to_owned(),
    )];
    if let Some(file) = config_str(r, "file") {
        facts.push(Fact::Code(file.to_owned()));
    }
    if let Some(url) = config_str(r, "url") {
        facts.push(Fact::Code(url.to_owned()));
    }
    if !r.started_at.is_empty() {
        facts.push(Fact::Text(format!(
            "started {}",
            r.started_at.replace('T', " ").replace('Z', " UTC")
        )));
    }
    facts.push(Fact::Text(format!("ran {}", format::seconds(r.duration_s))));
    facts.push(Fact::Text(format!("pummel {}", r.pummel_version)));
    facts
}

/// Pass, fail or no thresholds; then whether the run was interrupted.
pub(super) fn verdict(r: &RunResult) -> String {
    let failed: Vec<_> = r.thresholds.iter().filter(|t| !t.passed).collect();
    let total = r.thresholds.len();
    let (class, badge, head, detail) = match r.verdict.as_deref() {
        Some("fail") => (
            "fail",
            "FAIL",
            format!("{} of {total} thresholds failed", failed.len()),
            failed.iter().map(|t| thresholds::describe(t)).collect::<Vec<_>>().join(" · "),
        ),
        Some("pass") => ("pass", "PASS", format!("All {total} thresholds held"), String::new()),
        Some(other) => ("none", other, String::new(), String::new()),
        None => (
            "none",
            "NO THRESHOLDS",
            "Nothing to pass or fail".to_owned(),
            "Add thresholds (p95 < 300ms, error_rate < 1% …) to a scenario to make the run a pass/fail check for CI.".to_owned(),
        ),
    };
    let mut html = render(&Verdict {
        class,
        badge,
        head: &head,
        detail: &detail,
    });
    if r.partial {
        render_into(
            &mut html,
            &Verdict {
                class: "partial",
                badge: "PARTIAL",
                head: "The run was interrupted",
                detail: "The figures cover only the part of the plan that ran.",
            },
        );
    }
    html
}
