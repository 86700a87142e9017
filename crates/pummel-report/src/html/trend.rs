//! The trend page: key figures over several runs, as a table and as charts
//! (throughput, latency percentiles, error rate, and each step's p95).

use super::chart::{color, Chart, Series, Unit, XAxis, YAxis};
use super::page::{render, Cell, Col, Fact, Grid, Page, Table};
use super::HtmlUnavailable;
use crate::figures::{Figures, Metric};
use crate::format;
use crate::trend::Trend;

/// At most this many steps get a line in the per-step chart (the table has
/// them all): past it the lines stop being readable.
const MAX_STEP_SERIES: usize = 8;

/// The trend page; `title` names what the runs have in common.
pub fn trend(t: &Trend, title: &str) -> Result<String, HtmlUnavailable> {
    build(t, title).finish()
}

pub(crate) fn build(t: &Trend, title: &str) -> Page {
    let mut page = Page::new(title);
    let mut facts = vec![Fact::Text(format!("{} runs", t.runs.len()))];
    if let (Some(first), Some(last)) = (t.runs.first(), t.runs.last()) {
        facts.push(Fact::Text(format!(
            "from {} to {}",
            first.started_at, last.started_at
        )));
    }
    page.header("trend", &facts);
    page.section("runs", "Runs", &runs_table(t));
    let html = charts(&mut page, t);
    page.section("charts", "Over the runs", &html);
    page
}

const RUN_COLS: [Col<'static>; 12] = [
    Col::Num("#"),
    Col::Text("run"),
    Col::Text("started"),
    Col::Num("requests"),
    Col::Num("req/s"),
    Col::Num("errors"),
    Col::Num("p50"),
    Col::Num("p95"),
    Col::Num("p99"),
    Col::Num("max"),
    Col::Num("Apdex"),
    Col::Text("verdict"),
];

fn runs_table(t: &Trend) -> String {
    let mut rows: Vec<Vec<Cell>> = t
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = &r.run;
            let verdict = match r.verdict.as_deref() {
                Some("pass") => Cell::Pill("pass", "pass".to_owned()),
                Some("fail") => Cell::Pill("fail", "fail".to_owned()),
                Some(other) => Cell::Text(other.to_owned()),
                None => Cell::Text("–".to_owned()),
            };
            let mut row = vec![
                Cell::Text((i + 1).to_string()),
                Cell::CodeNote(r.label.clone(), if r.partial { " (partial)" } else { "" }),
                Cell::Text(r.started_at.clone()),
            ];
            row.extend(
                [
                    format::count(f.requests),
                    format::rate(f.rps),
                    format::percent(f.error_rate()),
                    format::ms(f.latency.p50),
                    format::ms(f.latency.p95),
                    format::ms(f.latency.p99),
                    format::ms(f.latency.max),
                    format::score(f.apdex_score()),
                ]
                .map(Cell::Text),
            );
            row.push(verdict);
            row
        })
        .collect();
    if t.runs.len() > 1 {
        rows.push(first_to_last(t));
    }
    render(&Table::new("trend", &RUN_COLS, rows))
}

/// The change of each figure from the first run to the last.
fn first_to_last(t: &Trend) -> Vec<Cell> {
    let change = |m: Metric| {
        let text = if m == Metric::ErrorRate {
            let (a, b) = (
                t.runs[0].run.error_rate(),
                t.runs[t.runs.len() - 1].run.error_rate(),
            );
            format!("{:+.2} pp", (b - a) * 100.0)
        } else {
            format::change(t.overall_change(m))
        };
        Cell::Em(text)
    };
    vec![
        Cell::empty(),
        Cell::Em("first → last".to_owned()),
        Cell::empty(),
        Cell::empty(),
        change(Metric::Rps),
        change(Metric::ErrorRate),
        change(Metric::P50),
        change(Metric::P95),
        change(Metric::P99),
        change(Metric::Max),
        Cell::empty(),
        Cell::empty(),
    ]
}

fn charts(page: &mut Page, t: &Trend) -> String {
    let labels: Vec<String> = t
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| format!("#{} {}", i + 1, r.label))
        .collect();
    let x = || XAxis::runs(labels.clone());
    let of = |f: fn(&Figures) -> f64| t.runs.iter().map(move |r| f(&r.run));
    let mut figures = Vec::new();
    let rps = Chart::line("chart-trend-rps", x(), YAxis::new("requests/s", Unit::PerS)).series(
        Series::of("requests/s", color::BLUE, of(|f| f.rps))
            .with_points()
            .filled(),
    );
    figures.push(page.chart(rps, "Throughput", "requests per second of each run"));
    let latency = Chart::line("chart-trend-latency", x(), YAxis::new("latency", Unit::Ms))
        .series(Series::of("p50", color::GREEN, of(|f| f.latency.p50)).with_points())
        .series(Series::of("p95", color::AMBER, of(|f| f.latency.p95)).with_points())
        .series(Series::of("p99", color::RED, of(|f| f.latency.p99)).with_points());
    figures.push(page.chart(latency, "Latency", "percentiles of each run"));
    let errors = Chart::line(
        "chart-trend-errors",
        x(),
        YAxis::new("error rate", Unit::Percent),
    )
    .series(
        Series::of("error rate", color::RED, of(|f| f.error_rate() * 100.0))
            .with_points()
            .filled(),
    );
    figures.push(page.chart(errors, "Error rate", "no response or a status ≥ 400"));
    let scopes = t.step_scopes();
    if !scopes.is_empty() {
        let mut steps = Chart::line("chart-trend-steps", x(), YAxis::new("p95", Unit::Ms));
        for (i, scope) in scopes.iter().take(MAX_STEP_SERIES).enumerate() {
            let values = t
                .runs
                .iter()
                .map(|r| {
                    r.steps
                        .iter()
                        .find(|s| &s.scope == scope)
                        .map(|s| s.latency.p95)
                })
                .collect();
            steps = steps.series(
                Series::new(&scope.label(), color::CYCLE[i % color::CYCLE.len()], values)
                    .with_points(),
            );
        }
        figures.push(page.chart(steps, "p95 by step", "each step's p95 in each run"));
    }
    render(&Grid { figures })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn runs_table_and_charts() {
        let t = crate::trend::trend(
            &[
                ("a.json".into(), testdata::scenario_run()),
                ("b.json".into(), testdata::bench()),
                ("<c>.json".into(), testdata::minimal()),
            ],
            500.0,
        );
        let html = build(&t, "shop").finish_with("", "");
        assert!(html.contains("<code>&lt;c&gt;.json</code> (partial)"));
        assert!(html.contains("<em>first → last</em>"));
        for id in [
            "chart-trend-rps",
            "chart-trend-latency",
            "chart-trend-errors",
            "chart-trend-steps",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "{id}");
        }
        assert!(html.contains(
            r##""labels":["#1 a.json","#2 b.json","#3 <c>.json"]"##
                .replace('<', "\\u003c")
                .as_str()
        ));
    }
}
