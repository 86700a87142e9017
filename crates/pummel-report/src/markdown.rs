//! A Markdown summary fit for a pull-request comment (GitHub, GitLab,
//! Gitea): the verdict first, the key figures, the thresholds, a per-step
//! table, and the details folded away in a `<details>` block.
//!
//! Names from the scenario file are escaped, so a step called `a|b` or
//! `<b>` cannot break the tables or inject markup into the comment.

use std::fmt::Write;

use pummel_result::result::RunResult;

use crate::figures::{Figures, Scope};
use crate::{failures, format, thresholds, ReportOptions};

/// Escapes text for a Markdown table cell.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for inline code in a table cell: no backticks, `|` escaped.
fn code(s: &str) -> String {
    format!(
        "`{}`",
        s.replace('`', "'").replace('|', "\\|").replace('\n', " ")
    )
}

/// The Markdown summary of a result.
pub fn markdown(r: &RunResult, options: &ReportOptions) -> String {
    let mut out = String::new();
    let run = Figures::of_run(r, options.apdex_t_ms);
    heading(&mut out, r);
    key_figures(&mut out, &run, options);
    thresholds_table(&mut out, r);
    steps_table(&mut out, r, options);
    groups_table(&mut out, r);
    metrics_table(&mut out, r);
    let details = details(r, &run);
    if !details.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Status codes, errors and checks</summary>\n"
        );
        out.push_str(&details);
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// The title with the verdict, then a line of facts.
fn heading(out: &mut String, r: &RunResult) {
    let failed = r.thresholds.iter().filter(|t| !t.passed).count();
    let (icon, verdict) = match r.verdict.as_deref() {
        Some("pass") => ("✅", "PASS".to_owned()),
        Some("fail") => ("❌", "FAIL".to_owned()),
        Some(other) => ("ℹ️", other.to_uppercase()),
        None => ("📊", "no thresholds".to_owned()),
    };
    let _ = writeln!(
        out,
        "### {icon} pummel: {} — {verdict}",
        escape(&crate::title(r))
    );
    let _ = writeln!(out);
    let mut facts = Vec::new();
    if !r.thresholds.is_empty() {
        facts.push(if failed == 0 {
            format!("all {} thresholds held", r.thresholds.len())
        } else {
            format!("**{failed} of {} thresholds failed**", r.thresholds.len())
        });
    }
    facts.push(format!("{} in {}", r.kind, format::seconds(r.duration_s)));
    if !r.started_at.is_empty() {
        facts.push(format!("started {}", escape(&r.started_at)));
    }
    facts.push(format!("pummel {}", escape(&r.pummel_version)));
    if r.partial {
        facts.push("⚠️ **interrupted: partial result**".to_owned());
    }
    let _ = writeln!(out, "{}", facts.join(" · "));
    let _ = writeln!(out);
}

/// The run's key figures in one row.
fn key_figures(out: &mut String, run: &Figures, options: &ReportOptions) {
    let _ = writeln!(
        out,
        "| requests | req/s | errors | mean | p50 | p90 | p95 | p99 | max | Apdex ({}) |",
        format::ms(options.apdex_t_ms)
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let l = &run.latency;
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        format::count(run.requests),
        format::rate(run.rps),
        format::percent(run.error_rate()),
        format::ms(l.mean),
        format::ms(l.p50),
        format::ms(l.p90),
        format::ms(l.p95),
        format::ms(l.p99),
        format::ms(l.max),
        format::score(run.apdex_score()),
    );
}

fn thresholds_table(out: &mut String, r: &RunResult) {
    if r.thresholds.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Thresholds\n");
    let _ = writeln!(out, "| | condition | scope | observed |");
    let _ = writeln!(out, "|---|---|---|---:|");
    for t in &r.thresholds {
        let mark = if t.passed { "✅" } else { "❌" };
        let _ = writeln!(
            out,
            "| {mark} | {} | {} | {} |",
            code(&t.condition),
            escape(&t.scope),
            thresholds::observed(t)
        );
    }
}

/// Each group's steps rolled up.
fn groups_table(out: &mut String, r: &RunResult) {
    if r.groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Groups\n");
    let _ = writeln!(
        out,
        "| scenario | group | requests | failed | req/s | p50 | p95 | p99 | max |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for g in &r.groups {
        let l = &g.latency_ms;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(g.scenario.as_deref().unwrap_or("(global)")),
            escape(&g.name),
            format::count(g.requests),
            format::count(g.failed),
            format::rate(g.rps),
            format::ms(l.p50),
            format::ms(l.p95),
            format::ms(l.p99),
            format::ms(l.max),
        );
    }
}

/// Custom metrics: a counter's total, a gauge's value, a trend's figures.
fn metrics_table(out: &mut String, r: &RunResult) {
    if r.metrics.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Custom metrics\n");
    let _ = writeln!(
        out,
        "| metric | kind | value | count | p50 | p95 | p99 | max |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for m in &r.metrics {
        let trend = |f: fn(&pummel_result::LatencySummary) -> f64| {
            m.trend
                .as_ref()
                .map_or_else(String::new, |t| format::sig3(f(t)))
        };
        let value = if m.trend.is_some() {
            format::sig3(m.value)
        } else {
            format::thousandths(m.value)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {value} | {} | {} | {} | {} | {} |",
            escape(&m.name),
            m.kind,
            m.count.map(format::count).unwrap_or_default(),
            trend(|t| t.p50),
            trend(|t| t.p95),
            trend(|t| t.p99),
            trend(|t| t.max),
        );
    }
}

fn steps_table(out: &mut String, r: &RunResult, options: &ReportOptions) {
    if r.steps.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Steps\n");
    let _ = writeln!(
        out,
        "| scenario | step | requests | errors | req/s | p50 | p95 | p99 | max | Apdex |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (step, f) in r
        .steps
        .iter()
        .map(|s| (s, Figures::of_step(s, options.apdex_t_ms)))
    {
        let Scope::Step { name, .. } = &f.scope else {
            continue;
        };
        let l = &f.latency;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&f.scope.flow()),
            escape(name),
            format::with_retries(f.requests, step.retries),
            format::percent(f.error_rate()),
            format::rate(f.rps),
            format::ms(l.p50),
            format::ms(l.p95),
            format::ms(l.p99),
            format::ms(l.max),
            format::score(f.apdex_score()),
        );
    }
}

fn details(r: &RunResult, run: &Figures) -> String {
    let mut out = String::new();
    if !r.status.is_empty() {
        let codes: Vec<String> = r
            .status
            .iter()
            .map(|(code, n)| format!("{} × {}", escape(code), format::count(*n)))
            .collect();
        let _ = writeln!(out, "- **Status codes:** {}", codes.join(" · "));
    }
    if !r.errors.is_empty() {
        let kinds: Vec<String> = r
            .errors
            .iter()
            .map(|(kind, n)| format!("{} × {}", escape(kind), format::count(*n)))
            .collect();
        let _ = writeln!(out, "- **Errors (no response):** {}", kinds.join(" · "));
    }
    if run.error_statuses > 0 {
        let _ = writeln!(
            out,
            "- **Error statuses (≥ 400):** {}",
            format::count(run.error_statuses)
        );
    }
    if let Some(c) = r.checks {
        let total = c.passed + c.failed;
        let share = if total > 0 {
            format::percent(c.passed as f64 / total as f64)
        } else {
            "–".to_owned()
        };
        let _ = writeln!(
            out,
            "- **Checks:** {} passed, {} failed ({share} passed)",
            format::count(c.passed),
            format::count(c.failed)
        );
    }
    let never: Vec<String> = r
        .steps
        .iter()
        .flat_map(|s| s.checks.iter().map(move |c| (s, c)))
        .filter(|(_, c)| c.passed + c.failed == 0)
        .map(|(s, c)| format!("{} on {}", code(&c.label), escape(&s.name)))
        .collect();
    if !never.is_empty() {
        let _ = writeln!(
            out,
            "- **Checks not evaluated** (their step got no response): {}",
            never.join(" · ")
        );
    }
    let examples = failures::examples(r);
    if !examples.is_empty() {
        let _ = writeln!(out, "\nFailure examples:\n");
        for e in examples.iter().take(10) {
            let text = [e.place.as_str(), e.what.as_str(), e.message.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(": ");
            let _ = writeln!(out, "- {} × {}", e.count, code(&text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn a_failed_run_leads_with_its_verdict() {
        let md = markdown(&testdata::scenario_run(), &ReportOptions::default());
        let first = md.lines().next().unwrap();
        assert_eq!(first, "### ❌ pummel: shop &lt;demo&gt; — FAIL");
        assert!(md.contains("**3 of 4 thresholds failed**"), "{md}");
        assert!(
            md.contains("| ❌ | `error_rate < 1%` | run | 5.19% |"),
            "{md}"
        );
        assert!(md.contains("| browse | slow &lt;1&gt; | 350 |"), "{md}");
        assert!(md.contains("| buy | flaky | 52 | 100.00% |"), "{md}");
        assert!(md.contains("- **Errors (no response):** timeout × 2"));
        assert!(md.contains("- 2 × `/status/503: status 200: status 503, expected 200`"));
        // Every table row has as many cells as its header.
        for table in md.split("\n\n").filter(|b| b.starts_with('|')) {
            let cells = |l: &str| l.replace("\\|", "").matches('|').count();
            let mut lines = table.lines();
            let n = cells(lines.next().unwrap());
            assert!(lines.all(|l| cells(l) == n), "{table}");
        }
    }

    #[test]
    fn a_bench_has_figures_and_no_empty_sections() {
        let md = markdown(&testdata::bench(), &ReportOptions::default());
        assert!(
            md.starts_with("### 📊 pummel: GET http://127.0.0.1:8080/ — no thresholds"),
            "{md}"
        );
        assert!(!md.contains("#### Thresholds") && !md.contains("#### Steps"));
        assert!(md.contains("| 5,000 | 1,000 | 0% |"), "{md}");
        let md = markdown(&testdata::minimal(), &ReportOptions::default());
        assert!(md.contains("interrupted"));
    }

    #[test]
    fn escapes_table_breakers() {
        assert_eq!(escape("a|b*c_<d>"), "a\\|b\\*c\\_&lt;d&gt;");
        assert_eq!(code("x | `y`"), "`x \\| 'y'`");
    }
}
