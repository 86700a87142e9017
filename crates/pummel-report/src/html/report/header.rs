//! The top of the report: what ran, where and when, and the verdict.

use askama::Template;
use pummel_result::result::RunResult;

use super::config_str;
use crate::html::page::Fact;
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

/// Pass, fail or no thresholds; and whether the run was interrupted.
#[derive(Template)]
#[template(path = "report/verdict.html")]
pub(super) struct Verdict<'a> {
    class: &'a str,
    badge: &'a str,
    head: String,
    detail: String,
    partial: bool,
}

impl<'a> Verdict<'a> {
    pub(super) fn of(r: &'a RunResult) -> Verdict<'a> {
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
        Verdict {
            class,
            badge,
            head,
            detail,
            partial: r.partial,
        }
    }
}
