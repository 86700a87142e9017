//! The groups table: each group's steps rolled up, and for a `parallel` batch's group a row of
//! the batches' own latency (their slowest request's).

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
        .flat_map(|g| {
            let l = &g.latency_ms;
            let checks = g.checks.passed + g.checks.failed;
            let checks = if checks == 0 {
                "–".to_owned()
            } else {
                format::percent(g.checks.passed as f64 / checks as f64)
            };
            let scenario = g.scenario.clone().unwrap_or_else(|| "(global)".to_owned());
            let batch = g.batch.as_ref().map(|b| {
                let l = &b.latency_ms;
                [
                    scenario.clone(),
                    format!("{} (batches, slowest request)", g.name),
                    "–".to_owned(),
                    format::count(b.batches),
                    "–".to_owned(),
                    "–".to_owned(),
                    format::ms(l.p50),
                    format::ms(l.p95),
                    format::ms(l.p99),
                    format::ms(l.max),
                    "–".to_owned(),
                ]
                .map(Cell::Text)
                .into()
            });
            let group = [
                scenario,
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
            .into();
            std::iter::once(group).chain(batch)
        })
        .collect();
    Table::new("groups", &COLS, rows)
}
