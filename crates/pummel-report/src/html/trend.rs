//! The trend page: key figures over several runs, as a table and as charts
//! (throughput, latency percentiles, error rate, and each step's p95).

use super::chart::{color, Chart, Series, Unit, XAxis, YAxis};
use super::page::{table, Col, Fact, Page};
use super::HtmlUnavailable;
use crate::figures::{Figures, Metric};
use crate::format;
use crate::markup::escape;
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

fn runs_table(t: &Trend) -> String {
    let mut rows: Vec<Vec<String>> = t
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = &r.run;
            let verdict = match r.verdict.as_deref() {
                Some("pass") => r#"<span class="pill pass">pass</span>"#.to_owned(),
                Some("fail") => r#"<span class="pill fail">fail</span>"#.to_owned(),
                Some(other) => escape(other),
                None => "–".to_owned(),
            };
            vec![
                (i + 1).to_string(),
                format!(
                    "<code>{}</code>{}",
                    escape(&r.label),
                    if r.partial { " (partial)" } else { "" }
                ),
                escape(&r.started_at),
                format::count(f.requests),
                format::rate(f.rps),
                format::percent(f.error_rate()),
                escape(&format::ms(f.latency.p50)),
                escape(&format::ms(f.latency.p95)),
                escape(&format::ms(f.latency.p99)),
                escape(&format::ms(f.latency.max)),
                format::score(f.apdex_score()),
                verdict,
            ]
        })
        .collect();
    if t.runs.len() > 1 {
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
            format!("<em>{}</em>", escape(&text))
        };
        rows.push(vec![
            String::new(),
            "<em>first → last</em>".to_owned(),
            String::new(),
            String::new(),
            change(Metric::Rps),
            change(Metric::ErrorRate),
            change(Metric::P50),
            change(Metric::P95),
            change(Metric::P99),
            change(Metric::Max),
            String::new(),
            String::new(),
        ]);
    }
    table(
        "trend",
        &[
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
        ],
        &rows,
    )
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
    let mut html = String::from(r#"<div class="grid">"#);
    let rps = Chart::line("chart-trend-rps", x(), YAxis::new("requests/s", Unit::PerS)).series(
        Series::of("requests/s", color::BLUE, of(|f| f.rps))
            .with_points()
            .filled(),
    );
    html.push_str(&page.chart(rps, "Throughput", "requests per second of each run"));
    let latency = Chart::line("chart-trend-latency", x(), YAxis::new("latency", Unit::Ms))
        .series(Series::of("p50", color::GREEN, of(|f| f.latency.p50)).with_points())
        .series(Series::of("p95", color::AMBER, of(|f| f.latency.p95)).with_points())
        .series(Series::of("p99", color::RED, of(|f| f.latency.p99)).with_points());
    html.push_str(&page.chart(latency, "Latency", "percentiles of each run"));
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
    html.push_str(&page.chart(errors, "Error rate", "no response or a status ≥ 400"));
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
        html.push_str(&page.chart(steps, "p95 by step", "each step's p95 in each run"));
    }
    html.push_str("</div>");
    html
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
