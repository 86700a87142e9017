//! Per-step figures with the run's total, then per scenario.

use askama::Template;
use pummel_result::result::RunResult;

use super::step_name;
use crate::figures::Figures;
use crate::html::page::{render, Cell, Col, Table};
use crate::{format, ReportOptions};

const STEP_COLS: [Col<'static>; 13] = [
    Col::Text("scenario"),
    Col::Text("step"),
    Col::Num("requests"),
    Col::Num("errors"),
    Col::Num("req/s"),
    Col::Num("min"),
    Col::Num("mean"),
    Col::Num("p50"),
    Col::Num("p90"),
    Col::Num("p95"),
    Col::Num("p99"),
    Col::Num("max"),
    Col::Num("Apdex"),
];

const SCENARIO_COLS: [Col<'static>; 10] = [
    Col::Text("scenario"),
    Col::Num("completed"),
    Col::Num("failed"),
    Col::Num("cut"),
    Col::Num("dropped"),
    Col::Num("late"),
    Col::Num("p50"),
    Col::Num("p95"),
    Col::Num("p99"),
    Col::Num("max"),
];

#[derive(Template)]
#[template(path = "report/steps.html")]
struct Steps<'a> {
    steps: Table<'a>,
    apdex_t: String,
    scenarios: Option<Table<'a>>,
}

pub(super) fn section(r: &RunResult, run: &Figures, options: &ReportOptions) -> String {
    let mut rows: Vec<Vec<Cell>> = r
        .steps
        .iter()
        .map(|s| figures_row(&Figures::of_step(s, options.apdex_t_ms), s.retries))
        .collect();
    let mut total = figures_row(run, r.retries);
    total[1] = Cell::Strong("all requests".to_owned());
    rows.push(total);
    render(&Steps {
        steps: Table::new("steps", &STEP_COLS, rows),
        apdex_t: format::ms(options.apdex_t_ms),
        scenarios: (!r.scenarios.is_empty())
            .then(|| Table::new("scenarios", &SCENARIO_COLS, scenario_rows(r))),
    })
}

fn figures_row(f: &Figures, retries: Option<u64>) -> Vec<Cell> {
    let (scenario, name) = step_name(&f.scope);
    let l = &f.latency;
    let title = format!(
        "{} with no response, {} with a status ≥ 400",
        format::count(f.errors),
        format::count(f.error_statuses)
    );
    let errors_class = if f.failed() > 0 { "bad" } else { "" };
    let mut row = vec![
        Cell::Text(scenario),
        Cell::Text(name),
        Cell::Text(format::with_retries(f.requests, retries)),
        Cell::Titled(errors_class, title, format::percent(f.error_rate())),
        Cell::Text(format::rate(f.rps)),
    ];
    row.extend(
        [l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.max].map(|v| Cell::Text(format::ms(v))),
    );
    row.push(Cell::Text(format::score(f.apdex_score())));
    row
}

fn scenario_rows(r: &RunResult) -> Vec<Vec<Cell>> {
    r.scenarios
        .iter()
        .map(|s| {
            let l = &s.iteration_ms;
            let counts = s.counts();
            [
                s.name.clone(),
                format::count(counts.completed),
                format::count(counts.failed),
                format::count(counts.cut),
                format::count(counts.dropped),
                format::count(s.late),
                format::ms(l.p50),
                format::ms(l.p95),
                format::ms(l.p99),
                format::ms(l.max),
            ]
            .map(Cell::Text)
            .into()
        })
        .collect()
}
