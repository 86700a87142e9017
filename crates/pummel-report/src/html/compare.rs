//! The comparison page: two runs side by side — gates, every key figure of
//! the run and of each step with its change marked better or worse beyond the
//! noise band, and the two runs' charts overlaid (the base dashed in grey,
//! the new one in colour).

use pummel_result::result::RunResult;
use pummel_result::{LatencyHistogram, TimelinePoint};

use super::chart::{color, Chart, Series, Unit, XAxis, YAxis};
use askama::Template;

use super::page::{note, render, Cell, Col, Fact, Grid, Page, Table, Verdict};
use super::HtmlUnavailable;
use crate::compare::{Comparison, Mark};
use crate::figures::Scope;
use crate::{distribution, format};

const BASE_LIGHT: &str = "#94a3b8";

/// The comparison page of `new` against `base`; the labels name the files.
pub fn comparison(
    c: &Comparison,
    base: &RunResult,
    new: &RunResult,
    base_label: &str,
    new_label: &str,
) -> Result<String, HtmlUnavailable> {
    build(c, base, new, base_label, new_label).finish()
}

pub(crate) fn build(
    c: &Comparison,
    base: &RunResult,
    new: &RunResult,
    base_label: &str,
    new_label: &str,
) -> Page {
    let mut page = Page::new(&format!("{base_label} → {new_label}"));
    let (bt, nt) = (crate::title(base), crate::title(new));
    let facts = if bt == nt {
        vec![Fact::Text(bt)]
    } else {
        vec![
            Fact::Text(format!("base {bt}")),
            Fact::Text(format!("new {nt}")),
        ]
    };
    page.header("comparison", &facts);
    page.raw(&banner(c));
    page.section(
        "runs",
        "Runs",
        &runs_table(base, new, base_label, new_label),
    );
    if !c.gates.is_empty() {
        page.section("gates", "Gates", &gates_table(c));
    }
    page.section("figures", "Key figures", &figures_table(c));
    let charts = charts(&mut page, base, new);
    page.section("charts", "Overlaid", &charts);
    page
}

fn banner(c: &Comparison) -> String {
    let worse = c.count(Mark::Worse);
    let (class, badge, head) = if c.gates.is_empty() {
        if worse > 0 {
            (
                "fail",
                format!("{worse} WORSE"),
                "Some figures got worse beyond the noise band".to_owned(),
            )
        } else {
            (
                "pass",
                "NO REGRESSION".to_owned(),
                "Nothing got worse beyond the noise band".to_owned(),
            )
        }
    } else {
        let tripped = c.tripped().count();
        if tripped > 0 {
            (
                "fail",
                "GATE TRIPPED".to_owned(),
                format!("{tripped} of {} gates tripped", c.gates.len()),
            )
        } else {
            (
                "pass",
                "GATES HELD".to_owned(),
                format!("All {} gates held", c.gates.len()),
            )
        }
    };
    render(&Verdict {
        class,
        badge: &badge,
        head: &head,
        detail: &c.summary(),
    })
}

const RUN_COLS: [Col<'static>; 10] = [
    Col::Text(""),
    Col::Text("file"),
    Col::Text("run"),
    Col::Text("started"),
    Col::Num("duration"),
    Col::Num("requests"),
    Col::Num("req/s"),
    Col::Num("errors"),
    Col::Num("p95"),
    Col::Text("verdict"),
];

fn runs_table(base: &RunResult, new: &RunResult, base_label: &str, new_label: &str) -> String {
    let row = |tag: &str, label: &str, r: &RunResult| {
        let f = crate::figures::Figures::of_run(r, crate::apdex::DEFAULT_T_MS);
        vec![
            Cell::Pill(if tag == "base" { "" } else { "info" }, tag.to_owned()),
            Cell::Code(label.to_owned()),
            Cell::Text(crate::title(r)),
            Cell::Text(r.started_at.clone()),
            Cell::Text(format::seconds(r.duration_s)),
            Cell::Text(format::count(r.requests)),
            Cell::Text(format::rate(r.rps)),
            Cell::Text(format::percent(f.error_rate())),
            Cell::Text(format::ms(r.latency_ms.p95)),
            Cell::Text(r.verdict.as_deref().unwrap_or("–").to_owned()),
        ]
    };
    let rows = vec![row("base", base_label, base), row("new", new_label, new)];
    render(&Table::new("runs", &RUN_COLS, rows))
}

const GATE_COLS: [Col<'static>; 4] = [
    Col::Text(""),
    Col::Text("gate"),
    Col::Text("scope"),
    Col::Text("measured"),
];

fn gates_table(c: &Comparison) -> String {
    let rows: Vec<Vec<Cell>> = c
        .gates
        .iter()
        .map(|g| {
            vec![
                if g.tripped {
                    Cell::Pill("fail", "✗ tripped".to_owned())
                } else {
                    Cell::Pill("pass", "✓ held".to_owned())
                },
                Cell::Code(g.gate.text.clone()),
                Cell::Text(g.scope.label()),
                Cell::Text(g.detail.clone()),
            ]
        })
        .collect();
    render(&Table::new("gates", &GATE_COLS, rows))
}

const FIGURE_COLS: [Col<'static>; 5] = [
    Col::Text(""),
    Col::Num("base"),
    Col::Num("new"),
    Col::Num("change"),
    Col::Text(""),
];

#[derive(Template)]
#[template(path = "compare/figures.html")]
struct FiguresSection<'a> {
    table: Table<'a>,
    noise: String,
}

fn figures_table(c: &Comparison) -> String {
    let mut rows = Vec::new();
    for s in &c.scopes {
        let title = match &s.scope {
            Scope::Run => "whole run".to_owned(),
            step @ Scope::Step { .. } => format!("step {}", step.label()),
        };
        let requests = match (&s.base, &s.new) {
            (Some(b), Some(n)) => format!(
                "{} → {} requests",
                format::count(b.requests),
                format::count(n.requests)
            ),
            (Some(_), None) => "only in base".to_owned(),
            _ => "only in new".to_owned(),
        };
        rows.push(vec![
            Cell::Group(title),
            Cell::empty(),
            Cell::empty(),
            Cell::empty(),
            Cell::Text(requests),
        ]);
        for ch in &s.changes {
            let (class, mark) = match ch.mark {
                Mark::Worse => ("worse", "✗ worse"),
                Mark::Better => ("better", "✓ better"),
                Mark::Same => ("", "≈"),
            };
            rows.push(vec![
                Cell::Span("indent", ch.metric.title().to_owned()),
                Cell::Text(ch.metric.show(ch.base)),
                Cell::Text(ch.metric.show(ch.new)),
                Cell::Span(class, ch.show_change()),
                Cell::Span(class, mark.to_owned()),
            ]);
        }
    }
    render(&FiguresSection {
        table: Table::new("compare", &FIGURE_COLS, rows),
        noise: format::sig3(c.noise_pct),
    })
}

fn charts(page: &mut Page, base: &RunResult, new: &RunResult) -> String {
    let mut figures = Vec::new();
    timeline_charts(&mut figures, page, base, new);
    histogram_charts(&mut figures, page, base, new);
    render(&Grid { figures })
}

/// Throughput and latency of both runs, second by second.
fn timeline_charts(figures: &mut Vec<String>, page: &mut Page, base: &RunResult, new: &RunResult) {
    let (base_points, new_points) = (
        super::report::charted(&base.timeline),
        super::report::charted(&new.timeline),
    );
    let len = base_points.len().max(new_points.len());
    if len > 0 {
        let t: Vec<f64> = (0..len).map(|i| i as f64).collect();
        // Timelines are aligned on seconds since each run's start.
        let col = |points: &[TimelinePoint], f: fn(&TimelinePoint) -> f64, latency: bool| {
            let mut v: Vec<Option<f64>> = vec![None; len];
            for p in points {
                if let Some(slot) = v.get_mut(p.t as usize) {
                    *slot = (!latency || p.requests > p.errors).then(|| f(p));
                }
            }
            v
        };
        let throughput = Chart::over_time(
            "chart-throughput",
            t.clone(),
            YAxis::new("requests/s", Unit::PerS),
        )
        .series(Series::new("base", color::SLATE, col(base_points, |p| p.rps, false)).dashed())
        .series(Series::new("new", color::BLUE, col(new_points, |p| p.rps, false)).filled());
        figures.push(page.chart(
            throughput,
            "Throughput",
            "requests per second, seconds since each run's start",
        ));
        let latency = Chart::over_time("chart-latency", t, YAxis::new("latency", Unit::Ms))
            .series(
                Series::new("base p50", BASE_LIGHT, col(base_points, |p| p.p50_ms, true)).dashed(),
            )
            .series(
                Series::new(
                    "base p99",
                    color::SLATE,
                    col(base_points, |p| p.p99_ms, true),
                )
                .dashed(),
            )
            .series(Series::new(
                "new p50",
                color::GREEN,
                col(new_points, |p| p.p50_ms, true),
            ))
            .series(Series::new(
                "new p99",
                color::RED,
                col(new_points, |p| p.p99_ms, true),
            ));
        figures.push(page.chart(latency, "Latency", "p50 and p99 of each second"));
    }
}

/// Percentiles and distribution of both runs, when both have a histogram.
fn histogram_charts(figures: &mut Vec<String>, page: &mut Page, base: &RunResult, new: &RunResult) {
    let decode = |r: &RunResult| {
        LatencyHistogram::from_base64(&r.histogram)
            .ok()
            .filter(|h| !h.is_empty())
    };
    match (decode(base), decode(new)) {
        (Some(hb), Some(hn)) => {
            let nines = distribution::nines_axis(hb.len().min(hn.len()));
            let spectrum = Chart::line(
                "chart-spectrum",
                XAxis::new("percentile", Unit::Nines, nines.clone()),
                YAxis::new("latency", Unit::Ms),
            )
            .series(
                Series::new("base", color::SLATE, distribution::latency_at(&hb, &nines)).dashed(),
            )
            .series(
                Series::new("new", color::BLUE, distribution::latency_at(&hn, &nines)).filled(),
            );
            figures.push(page.chart(
                spectrum,
                "Percentiles",
                "latency at each percentile, the tail stretched out",
            ));

            let (lo_b, hi_b) = distribution::range_ms(&hb).unwrap_or((0.001, 1.0));
            let (lo_n, hi_n) = distribution::range_ms(&hn).unwrap_or((0.001, 1.0));
            let (lo, hi) = (lo_b.min(lo_n), hi_b.max(hi_n));
            let bb = distribution::log_bins_between(&hb, lo, hi, 48);
            let bn = distribution::log_bins_between(&hn, lo, hi, 48);
            let share = |bins: &[distribution::Bin], total: u64| {
                bins.iter()
                    .map(|b| b.count as f64 / total.max(1) as f64 * 100.0)
                    .collect::<Vec<_>>()
            };
            let dist = Chart::line(
                "chart-distribution",
                XAxis::new("latency", Unit::Ms, bb.iter().map(|b| b.mid_ms()).collect()).log(10),
                YAxis::new("share of responses", Unit::Percent),
            )
            .series(Series::of("base", color::SLATE, share(&bb, hb.len())).dashed())
            .series(Series::of("new", color::BLUE, share(&bn, hn.len())).filled());
            figures.push(page.chart(
                dist,
                "Distribution",
                "share of responses by latency (logarithmic bins)",
            ));
        }
        _ => figures.push(note(
            "No latency distribution: a result has no responses or no readable histogram.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, CompareOptions, Gate};
    use crate::testdata;

    #[test]
    fn shows_gates_marks_and_overlaid_charts() {
        let base = testdata::scenario_run();
        let mut new = base.clone();
        new.latency_ms.p95 *= 3.0;
        new.steps.pop();
        let options = CompareOptions {
            gates: vec![Gate::parse("p95>+10%").unwrap()],
            ..Default::default()
        };
        let c = compare(&base, &new, &options).unwrap();
        let html = build(&c, &base, &new, "a.json", "b <new>.json").finish_with("", "");
        assert!(
            html.contains(r#"<div class="verdict fail"><span class="badge">GATE TRIPPED</span>"#)
        );
        assert!(html.contains("b &lt;new&gt;.json"));
        assert!(html.contains(r#"<span class="worse">✗ worse</span>"#));
        assert!(html.contains("only in base"));
        for id in [
            "chart-throughput",
            "chart-latency",
            "chart-spectrum",
            "chart-distribution",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "{id}");
        }
        let same = compare(&base, &base, &CompareOptions::default()).unwrap();
        let html = build(&same, &base, &base, "a", "a").finish_with("", "");
        assert!(html.contains("NO REGRESSION"));
        let bare = testdata::minimal();
        let c = compare(&bare, &bare, &CompareOptions::default()).unwrap();
        let html = build(&c, &bare, &bare, "x", "y").finish_with("", "");
        assert!(html.contains("No latency distribution"));
    }
}
