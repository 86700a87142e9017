//! Checks: the share that passed, per step and in all.

use askama::Template;
use pummel_result::result::RunResult;

use super::step_name;
use crate::figures::Scope;
use crate::format;
use crate::html::page::{render, Bar, Cell, Col, Table};

const COLS: [Col<'static>; 6] = [
    Col::Text("scenario"),
    Col::Text("step"),
    Col::Text("check"),
    Col::Num("passed"),
    Col::Num("failed"),
    Col::Num("passed"),
];

#[derive(Template)]
#[template(path = "report/checks.html")]
struct Checks<'a> {
    lead: Option<String>,
    table: Table<'a>,
}

fn share(passed: u64, failed: u64) -> f64 {
    let total = passed + failed;
    if total > 0 {
        passed as f64 / total as f64
    } else {
        0.0
    }
}

pub(super) fn section(r: &RunResult) -> String {
    let lead = r.checks.map(|c| {
        format!(
            "{} of {} checks passed ({}).",
            format::count(c.passed),
            format::count(c.passed + c.failed),
            format::percent(share(c.passed, c.failed))
        )
    });
    let mut rows = Vec::new();
    for s in &r.steps {
        for c in &s.checks {
            let share = share(c.passed, c.failed);
            let (scenario, name) = step_name(&Scope::Step {
                scenario: s.scenario.clone(),
                name: s.name.clone(),
                global: s.global.clone(),
            });
            let evaluated = c.passed + c.failed > 0;
            let class = if c.failed > 0 { "bad" } else { "good" };
            rows.push(vec![
                Cell::Text(scenario),
                Cell::Text(name),
                Cell::Code(c.label.clone()),
                Cell::Text(format::count(c.passed)),
                if c.failed > 0 {
                    Cell::Span("bad", format::count(c.failed))
                } else {
                    Cell::Text("0".to_owned())
                },
                if evaluated {
                    Cell::Share(Bar::new(share, class), format::percent(share))
                } else {
                    // Its step never got a response: 0 of 0 is no pass.
                    Cell::Em("not evaluated".to_owned())
                },
            ]);
        }
    }
    render(&Checks {
        lead,
        table: Table::new("checks", &COLS, rows),
    })
}
