//! Capacity of a cycles run: throughput and latency against concurrency,
//! the saturation point, and a row per cycle.

use askama::Template;
use pummel_result::result::RunResult;

use crate::html::chart::{color, Chart, Marker, Series, Unit, XAxis, YAxis};
use crate::html::page::{render, Cell, Col, Page, Table};
use crate::{capacity, format};

#[derive(Template)]
#[template(path = "report/capacity.html")]
struct CapacitySection<'a> {
    lead: Option<String>,
    figure: String,
    table: Table<'a>,
}

const COLS: [Col<'static>; 10] = [
    Col::Num("cycle"),
    Col::Num("users"),
    Col::Num("measured"),
    Col::Num("requests"),
    Col::Num("req/s"),
    Col::Num("errors"),
    Col::Num("p50"),
    Col::Num("p95"),
    Col::Num("p99"),
    Col::Num("max"),
];

/// The section's HTML; the chart is registered with the page.
pub(super) fn section(page: &mut Page, r: &RunResult) -> String {
    let analysis = capacity::analyse(&r.cycles);
    let mut chart = chart(r);
    if let Some(s) = analysis.as_ref().and_then(|a| a.saturation.as_ref()) {
        chart.marker = Some(Marker {
            x: f64::from(s.level),
            label: format!("saturation ≈ {} VUs", s.level),
        });
    }
    let figure = page.chart(
        chart,
        "Throughput and latency against concurrency",
        "each point is one cycle, measured while its level was held",
    );
    render(&CapacitySection {
        lead: analysis.as_ref().map(capacity::Capacity::describe),
        figure,
        table: Table::new("cycles", &COLS, rows(r)),
    })
}

fn chart(r: &RunResult) -> Chart {
    let levels: Vec<f64> = r.cycles.iter().map(|c| f64::from(c.level)).collect();
    let (lo, hi) = levels
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let mut x = XAxis::new("concurrent users", Unit::Count, levels);
    if lo > 0.0 && hi / lo >= 4.0 {
        x = x.log(2);
    }
    let latency = |label, c, f: fn(&pummel_result::result::CycleResult) -> f64| {
        Series::of(label, c, r.cycles.iter().map(f))
            .axis(1)
            .with_points()
    };
    Chart::line("chart-capacity", x, YAxis::new("requests/s", Unit::PerS))
        .with_axis(YAxis::new("latency", Unit::Ms))
        .series(
            Series::of("requests/s", color::BLUE, r.cycles.iter().map(|c| c.rps))
                .with_points()
                .filled(),
        )
        .series(latency("p50", color::GREEN, |c| c.latency_ms.p50))
        .series(latency("p95", color::AMBER, |c| c.latency_ms.p95))
        .series(latency("p99", color::RED, |c| c.latency_ms.p99))
}

fn rows(r: &RunResult) -> Vec<Vec<Cell>> {
    r.cycles
        .iter()
        .map(|c| {
            [
                (c.index + 1).to_string(),
                format::count(u64::from(c.level)),
                format::seconds(c.duration_s),
                format::count(c.requests),
                format::rate(c.rps),
                format::percent(c.error_rate),
                format::ms(c.latency_ms.p50),
                format::ms(c.latency_ms.p95),
                format::ms(c.latency_ms.p99),
                format::ms(c.latency_ms.max),
            ]
            .map(Cell::Text)
            .into()
        })
        .collect()
}
