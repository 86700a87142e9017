//! The groups table: each group's steps rolled up.

use pummel_result::result::RunResult;

use crate::format;
use crate::html::page::{Cell, Col, Table};

const COLS: [Col<'static>; 11] = [
    Col::Text("scenario"),
    Col::Text("group"),
    Col::Num("steps"),
    Col::Num("requests"),
    Col::Num("failed"),
    Col::Num("req/s"),
    Col::Num("p50"),
    Col::Num("p95"),
    Col::Num("p99"),
    Col::Num("max"),
    Col::Num("checks"),
];

pub(super) fn table(r: &RunResult) -> Table<'static> {
    let rows = r
        .groups
        .iter()
        .map(|g| {
            let l = &g.latency_ms;
            let checks = g.checks.passed + g.checks.failed;
            let checks = if checks == 0 {
                "–".to_owned()
            } else {
                format::percent(g.checks.passed as f64 / checks as f64)
            };
            [
                g.scenario.clone().unwrap_or_else(|| "(global)".to_owned()),
                g.name.clone(),
                format::count(g.steps),
                format::count(g.requests),
                format::count(g.failed),
                format::rate(g.rps),
                format::ms(l.p50),
                format::ms(l.p95),
                format::ms(l.p99),
                format::ms(l.max),
                checks,
            ]
            .map(Cell::Text)
            .into()
        })
        .collect();
    Table::new("groups", &COLS, rows)
}
