//! The thresholds table: each condition, its scope, what was observed.

use pummel_result::result::RunResult;

use crate::html::page::{Cell, Col, Table};
use crate::thresholds;

const COLS: [Col<'static>; 5] = [
    Col::Text(""),
    Col::Text("condition"),
    Col::Text("scope"),
    Col::Num("observed"),
    Col::Text(""),
];

pub(super) fn table(r: &RunResult) -> Table<'static> {
    let rows = r
        .thresholds
        .iter()
        .map(|t| {
            vec![
                pass_badge(t.passed),
                Cell::Code(t.condition.clone()),
                Cell::Text(t.scope.clone()),
                Cell::Text(thresholds::observed(t)),
                Cell::Text(if t.aborted_run {
                    "stopped the run".to_owned()
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    Table::new("thresholds", &COLS, rows)
}

fn pass_badge(passed: bool) -> Cell {
    if passed {
        Cell::Pill("pass", "✓ pass".to_owned())
    } else {
        Cell::Pill("fail", "✗ fail".to_owned())
    }
}
