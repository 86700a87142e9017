//! The custom metrics table: a counter's total, a gauge's value, a
//! trend's percentiles.

use pummel_result::result::RunResult;

use crate::format;
use crate::html::page::{Cell, Col, Table};

const COLS: [Col<'static>; 10] = [
    Col::Text("metric"),
    Col::Text("kind"),
    Col::Num("value"),
    Col::Num("count"),
    Col::Num("min"),
    Col::Num("p50"),
    Col::Num("p95"),
    Col::Num("p99"),
    Col::Num("max"),
    Col::Num("invalid"),
];

pub(super) fn table(r: &RunResult) -> Table<'static> {
    let rows = r
        .metrics
        .iter()
        .map(|m| {
            let trend = |f: fn(&pummel_result::LatencySummary) -> f64| {
                m.trend
                    .as_ref()
                    .map_or_else(String::new, |t| format::sig3(f(t)))
            };
            [
                m.name.clone(),
                m.kind.clone(),
                if m.trend.is_some() {
                    format::sig3(m.value)
                } else {
                    format::thousandths(m.value)
                },
                m.count.map(format::count).unwrap_or_default(),
                trend(|t| t.min),
                trend(|t| t.p50),
                trend(|t| t.p95),
                trend(|t| t.p99),
                trend(|t| t.max),
                format::count(m.invalid),
            ]
            .map(Cell::Text)
            .into()
        })
        .collect();
    Table::new("metrics", &COLS, rows)
}
