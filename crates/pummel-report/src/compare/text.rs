//! A comparison written out: a terminal table and a Markdown comment.

use std::fmt::Write;

use pummel_result::result::RunResult;

use crate::figures::Scope;
use crate::format;

use super::{Comparison, Mark};

/// The comparison as a terminal table. `base_label` and `new_label` name the
/// results (their file names).
pub fn render_text(
    c: &Comparison,
    base: &RunResult,
    new: &RunResult,
    base_label: &str,
    new_label: &str,
) -> String {
    let mut out = String::new();
    let width = base_label
        .chars()
        .count()
        .max(new_label.chars().count())
        .max(4);
    for (tag, label, r) in [("base", base_label, base), ("new ", new_label, new)] {
        let _ = writeln!(
            out,
            "{tag}  {label:<width$}  {} · {} · {} requests in {}{}",
            crate::title(r),
            if r.started_at.is_empty() {
                "?"
            } else {
                &r.started_at
            },
            format::count(r.requests),
            format::seconds(r.duration_s),
            if r.partial { " · PARTIAL" } else { "" },
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:>12} {:>12} {:>10}",
        "", "base", "new", "change"
    );
    for s in &c.scopes {
        let title = match &s.scope {
            Scope::Run => "run".to_owned(),
            step @ Scope::Step { .. } => format!("step {}", step.label()),
        };
        match (&s.base, &s.new) {
            (Some(b), Some(n)) => {
                let _ = writeln!(
                    out,
                    "{title}   ({} → {} requests)",
                    format::count(b.requests),
                    format::count(n.requests)
                );
                for ch in &s.changes {
                    let mark = match ch.mark {
                        Mark::Worse => "  ✗ worse",
                        Mark::Better => "  ✓ better",
                        Mark::Same => "",
                    };
                    let _ = writeln!(
                        out,
                        "  {:<14} {:>12} {:>12} {:>10}{mark}",
                        ch.metric.title(),
                        ch.metric.show(ch.base),
                        ch.metric.show(ch.new),
                        ch.show_change()
                    );
                }
            }
            (Some(_), None) => {
                let _ = writeln!(out, "{title}   only in base");
            }
            _ => {
                let _ = writeln!(out, "{title}   only in new");
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", c.summary());
    if !c.gates.is_empty() {
        let _ = writeln!(out, "gates:");
        for g in &c.gates {
            let _ = writeln!(
                out,
                "  {:<8} {}   {}: {}",
                if g.tripped { "TRIPPED" } else { "ok" },
                g.gate.text,
                g.scope.label(),
                g.detail
            );
        }
    }
    out
}

/// The comparison as Markdown, for a pull-request comment: the gates, then
/// a table per scope that has changed (unchanged scopes fold into one line).
pub fn render_markdown(
    c: &Comparison,
    base: &RunResult,
    new: &RunResult,
    base_label: &str,
    new_label: &str,
) -> String {
    use crate::markdown::escape;
    let mut out = String::new();
    let tripped = c.tripped().count();
    let (icon, head) = if !c.gates.is_empty() {
        if tripped > 0 {
            (
                "❌",
                format!("{tripped} of {} gates tripped", c.gates.len()),
            )
        } else {
            ("✅", format!("all {} gates held", c.gates.len()))
        }
    } else if c.count(Mark::Worse) > 0 {
        ("⚠️", "some figures got worse".to_owned())
    } else {
        ("✅", "no regression".to_owned())
    };
    let _ = writeln!(out, "### {icon} pummel compare: {head}\n");
    let _ = writeln!(
        out,
        "`{}` ({}) → `{}` ({}) · {}\n",
        base_label.replace('`', "'"),
        escape(&crate::title(base)),
        new_label.replace('`', "'"),
        escape(&crate::title(new)),
        c.summary()
    );
    if !c.gates.is_empty() {
        let _ = writeln!(out, "| | gate | scope | measured |\n|---|---|---|---|");
        for g in &c.gates {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                if g.tripped { "❌" } else { "✅" },
                g.gate.text.replace('`', "'").replace('|', "\\|"),
                escape(&g.scope.label()),
                escape(&g.detail)
            );
        }
        out.push('\n');
    }
    let mut unchanged = Vec::new();
    for s in &c.scopes {
        let title = match &s.scope {
            Scope::Run => "whole run".to_owned(),
            step @ Scope::Step { .. } => format!("step {}", escape(&step.label())),
        };
        if s.changes.is_empty() {
            let _ = writeln!(
                out,
                "- **{title}**: only in {}\n",
                if s.base.is_some() { "base" } else { "new" }
            );
            continue;
        }
        if s.changes.iter().all(|ch| ch.mark == Mark::Same) && s.scope != Scope::Run {
            unchanged.push(title);
            continue;
        }
        let _ = writeln!(
            out,
            "**{title}**\n\n| | base | new | change | |\n|---|---:|---:|---:|---|"
        );
        for ch in &s.changes {
            let mark = match ch.mark {
                Mark::Worse => "🔴 worse",
                Mark::Better => "🟢 better",
                Mark::Same => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {mark} |",
                ch.metric.title(),
                ch.metric.show(ch.base),
                ch.metric.show(ch.new),
                ch.show_change()
            );
        }
        out.push('\n');
    }
    if !unchanged.is_empty() {
        let _ = writeln!(
            out,
            "Unchanged within the noise band: {}.",
            unchanged.join(", ")
        );
    }
    out
}
