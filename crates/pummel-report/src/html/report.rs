//! The report of one run: verdict and key figures at the top, then charts
//! over time, capacity (cycles runs), latency distribution, per-step and
//! per-scenario tables, checks, status codes and errors, configuration.
//!
//! Every section is written from the result alone and only when the result
//! has something to put in it, so a bench, a scenario run and a cycles run
//! each get the report that fits them.

use std::collections::BTreeSet;
use std::fmt::Write;

use pummel_result::result::RunResult;
use pummel_result::ErrorKind;
use pummel_result::{LatencyHistogram, TimelinePoint};

use super::chart::{color, Chart, Marker, Series, Unit, XAxis, YAxis};
use super::page::{card, note, share_bar, table, Col, Page};
use super::HtmlUnavailable;
use crate::figures::{Figures, Scope};
use crate::markup::escape;
use crate::{capacity, distribution, failures, format, thresholds, ReportOptions};

/// Bins of the latency distribution chart.
const DISTRIBUTION_BINS: usize = 48;

/// The HTML report of a result.
pub fn report(r: &RunResult, options: &ReportOptions) -> Result<String, HtmlUnavailable> {
    build(r, options).finish()
}

pub(crate) fn build(r: &RunResult, options: &ReportOptions) -> Page {
    let run = Figures::of_run(r, options.apdex_t_ms);
    let mut page = Page::new(&crate::title(r));
    page.header(
        if r.kind == "bench" {
            "benchmark report"
        } else {
            "load test report"
        },
        &facts(r),
    );
    page.raw(&verdict(r));
    page.raw(&cards(r, &run, options));
    if !r.thresholds.is_empty() {
        page.section("thresholds", "Thresholds", &thresholds_table(r));
    }
    let over_time = over_time(&mut page, r);
    page.section("over-time", "Over time", &over_time);
    if !r.cycles.is_empty() {
        let html = capacity_section(&mut page, r);
        page.section("capacity", "Capacity", &html);
    }
    let html = latency_section(&mut page, r);
    page.section("latency", "Latency", &html);
    if !r.steps.is_empty() {
        page.section("steps", "Steps", &steps_section(r, &run, options));
    }
    if r.steps.iter().any(|s| !s.checks.is_empty()) {
        page.section("checks", "Checks", &checks_section(r));
    }
    page.section(
        "errors",
        "Status codes and errors",
        &errors_section(r, &run),
    );
    if let Some(html) = websocket_section(r) {
        page.section("websocket", "WebSocket", &html);
    }
    page.section("configuration", "Configuration", &configuration(r));
    page
}

fn config_str<'a>(r: &'a RunResult, key: &str) -> Option<&'a str> {
    r.config
        .get(key)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

fn facts(r: &RunResult) -> Vec<String> {
    let mut facts = vec![escape(match r.kind.as_str() {
        "bench" => "bench",
        "run" => "scenario run",
        other => other,
    })];
    if let Some(file) = config_str(r, "file") {
        facts.push(format!("<code>{}</code>", escape(file)));
    }
    if let Some(url) = config_str(r, "url") {
        facts.push(format!("<code>{}</code>", escape(url)));
    }
    if !r.started_at.is_empty() {
        facts.push(format!(
            "started {}",
            escape(&r.started_at.replace('T', " ").replace('Z', " UTC"))
        ));
    }
    facts.push(format!("ran {}", escape(&format::seconds(r.duration_s))));
    facts.push(format!("pummel {}", escape(&r.pummel_version)));
    facts
}

fn verdict(r: &RunResult) -> String {
    let mut out = String::new();
    let failed: Vec<_> = r.thresholds.iter().filter(|t| !t.passed).collect();
    let total = r.thresholds.len();
    let (class, badge, head, detail) = match r.verdict.as_deref() {
        Some("fail") => (
            "fail",
            "FAIL",
            format!("{} of {total} thresholds failed", failed.len()),
            failed.iter().map(|t| thresholds::describe(t)).collect::<Vec<_>>().join(" · "),
        ),
        Some("pass") => ("pass", "PASS", format!("All {total} thresholds held"), String::new()),
        Some(other) => ("none", other, String::new(), String::new()),
        None => (
            "none",
            "NO THRESHOLDS",
            "Nothing to pass or fail".to_owned(),
            "Add thresholds (p95 < 300ms, error_rate < 1% …) to a scenario to make the run a pass/fail check for CI.".to_owned(),
        ),
    };
    let _ = write!(
        out,
        r#"<div class="verdict {class}"><span class="badge">{}</span><div><strong>{}</strong><span>{}</span></div></div>"#,
        escape(badge),
        escape(&head),
        escape(&detail)
    );
    if r.partial {
        let _ = write!(
            out,
            r#"<div class="verdict partial"><span class="badge">PARTIAL</span><div><strong>The run was interrupted</strong><span>The figures cover only the part of the plan that ran.</span></div></div>"#
        );
    }
    out
}

fn cards(r: &RunResult, run: &Figures, options: &ReportOptions) -> String {
    let l = &run.latency;
    // With no response there is no latency: a dash, not a misleading 0.
    let lat = |v: f64| {
        if run.responses > 0 {
            format::ms(v)
        } else {
            "–".to_owned()
        }
    };
    let peak = charted(&r.timeline)
        .iter()
        .map(|p| p.rps)
        .fold(0.0, f64::max);
    let failed_sub = if run.failed() == 0 {
        "no failed requests".to_owned()
    } else {
        format!(
            "{} no response · {} status ≥ 400",
            format::count(run.errors),
            format::count(run.error_statuses)
        )
    };
    let apdex = run.apdex;
    let apdex_class = match apdex.map(|a| a.rating()) {
        Some("excellent" | "good") => "good",
        Some("fair") => "warn",
        Some("poor" | "unacceptable") => "bad",
        _ => "",
    };
    let mut out = String::from(r#"<div class="cards">"#);
    out.push_str(&card(
        "requests",
        &format::count(run.requests),
        &format!("in {}", format::seconds(r.duration_s)),
        "",
    ));
    out.push_str(&card(
        "throughput",
        &format!("{}/s", format::rate(run.rps)),
        &if peak > 0.0 {
            format!("peak {}/s", format::rate(peak))
        } else {
            String::new()
        },
        "",
    ));
    out.push_str(&card(
        "error rate",
        &format::percent(run.error_rate()),
        &failed_sub,
        if run.failed() > 0 { "bad" } else { "good" },
    ));
    out.push_str(&card(
        "p50",
        &lat(l.p50),
        &format!("mean {}", lat(l.mean)),
        "",
    ));
    out.push_str(&card(
        "p95",
        &lat(l.p95),
        &format!("p90 {}", lat(l.p90)),
        "",
    ));
    out.push_str(&card(
        "p99",
        &lat(l.p99),
        &format!("max {}", lat(l.max)),
        "",
    ));
    out.push_str(&card(
        "Apdex",
        &format::score(run.apdex_score()),
        &format!(
            "{} · T = {}",
            apdex.map_or("no data", |a| a.rating()),
            format::ms(options.apdex_t_ms)
        ),
        apdex_class,
    ));
    out.push_str("</div>");
    out
}

fn pass_badge(passed: bool) -> String {
    if passed {
        r#"<span class="pill pass">✓ pass</span>"#.to_owned()
    } else {
        r#"<span class="pill fail">✗ fail</span>"#.to_owned()
    }
}

fn thresholds_table(r: &RunResult) -> String {
    let rows: Vec<Vec<String>> = r
        .thresholds
        .iter()
        .map(|t| {
            vec![
                pass_badge(t.passed),
                format!("<code>{}</code>", escape(&t.condition)),
                escape(&t.scope),
                escape(&thresholds::observed(t)),
                if t.aborted_run {
                    "stopped the run".to_owned()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    table(
        "thresholds",
        &[
            Col::Text(""),
            Col::Text("condition"),
            Col::Text("scope"),
            Col::Num("observed"),
            Col::Text(""),
        ],
        &rows,
    )
}

/// The timeline points a chart shows: all but a last sliver of an interval
/// (the run ended just after a second began), whose per-second rates would
/// be noise — a plunge to zero that never happened. Its requests are in
/// every total all the same.
pub(crate) fn charted(timeline: &[TimelinePoint]) -> &[TimelinePoint] {
    match timeline.split_last() {
        Some((last, rest)) if last.duration_s < 0.25 => rest,
        _ => timeline,
    }
}

/// The charts over time; returns the section's HTML.
fn over_time(page: &mut Page, r: &RunResult) -> String {
    let timeline = charted(&r.timeline);
    if timeline.is_empty() {
        return note("No timeline: the run did not last a whole second.");
    }
    let t: Vec<f64> = timeline.iter().map(|p| f64::from(p.t)).collect();
    let mut html = String::from(r#"<div class="grid">"#);

    let mut throughput = Chart::over_time(
        "chart-throughput",
        t.clone(),
        YAxis::new("requests/s", Unit::PerS),
    )
    .series(Series::of("requests/s", color::BLUE, timeline.iter().map(|p| p.rps)).filled());
    let target = r
        .open_model
        .as_ref()
        .map(|o| o.rate)
        .or_else(|| r.config.get("rate").and_then(serde_json::Value::as_f64));
    if let Some(rate) = target.filter(|r| *r > 0.0) {
        throughput = throughput
            .series(Series::of("target rate", color::SLATE, t.iter().map(|_| rate)).dashed());
    }
    html.push_str(&page.chart(throughput, "Throughput", "requests completed per second"));

    // A second without responses has no latency: a gap, not a zero.
    let latency_of = |f: fn(&TimelinePoint) -> f64| -> Vec<Option<f64>> {
        timeline
            .iter()
            .map(|p| (p.requests > p.errors).then(|| f(p)))
            .collect()
    };
    let latency = Chart::over_time("chart-latency", t.clone(), YAxis::new("latency", Unit::Ms))
        .series(Series::new("p50", color::GREEN, latency_of(|p| p.p50_ms)))
        .series(Series::new("p90", color::AMBER, latency_of(|p| p.p90_ms)))
        .series(Series::new("p99", color::RED, latency_of(|p| p.p99_ms)))
        .series(Series::new("max", color::VIOLET, latency_of(|p| p.max_ms)).dashed());
    let caption = if r.open_model.is_some() {
        "percentiles of each second, from each request's scheduled start"
    } else {
        "percentiles of the responses completed in each second"
    };
    html.push_str(&page.chart(latency, "Latency", caption));

    let per_s = |n: u64, d: f64| if d > 0.0 { n as f64 / d } else { n as f64 };
    let mut errors = Chart::over_time(
        "chart-errors",
        t.clone(),
        YAxis::new("per second", Unit::PerS),
    )
    .series(
        Series::of(
            "errors/s",
            color::RED,
            timeline.iter().map(|p| per_s(p.errors, p.duration_s)),
        )
        .filled(),
    );
    if timeline.iter().any(|p| p.late > 0) {
        errors = errors.series(Series::of(
            "late/s",
            color::AMBER,
            timeline.iter().map(|p| per_s(p.late, p.duration_s)),
        ));
    }
    if timeline.iter().any(|p| p.dropped > 0) {
        errors = errors.series(Series::of(
            "dropped/s",
            color::VIOLET,
            timeline.iter().map(|p| per_s(p.dropped, p.duration_s)),
        ));
    }
    let caption = if errors.has_nonzero() {
        "requests with no response (refused, reset, timed out …) per second"
    } else {
        "none: every request got a response"
    };
    html.push_str(&page.chart(errors, "Errors", caption));

    // A gauge that stayed at zero (no sockets in a run without WebSockets) is noise.
    let gauges: BTreeSet<&str> = timeline
        .iter()
        .flat_map(|p| {
            p.gauges
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, _)| k.as_str())
        })
        .collect();
    if !gauges.is_empty() {
        let mut load = Chart::over_time("chart-load", t, YAxis::new("count", Unit::Count));
        let mut others = color::CYCLE.iter().skip(4).cycle();
        for g in &gauges {
            let (label, c) = match *g {
                "vus" => ("active VUs", color::CYAN),
                "sockets" => ("open sockets", color::PINK),
                other => (other, *others.next().unwrap_or(&color::SLATE)),
            };
            let values = timeline
                .iter()
                .map(|p| p.gauges.get(*g).map(|v| *v as f64))
                .collect();
            load = load.series(Series::new(label, c, values));
        }
        let title = if gauges.contains("vus") {
            "Active users"
        } else {
            "Load"
        };
        html.push_str(&page.chart(load, title, "levels at the end of each second"));
    }
    html.push_str("</div>");
    html
}

fn capacity_section(page: &mut Page, r: &RunResult) -> String {
    let mut html = String::new();
    let analysis = capacity::analyse(&r.cycles);
    if let Some(a) = &analysis {
        html.push_str(&format!(r#"<p class="lead">{}</p>"#, escape(&a.describe())));
    }
    let levels: Vec<f64> = r.cycles.iter().map(|c| f64::from(c.level)).collect();
    let (lo, hi) = levels
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let mut x = XAxis::new("concurrent users", Unit::Count, levels);
    if lo > 0.0 && hi / lo >= 4.0 {
        x = x.log(2);
    }
    let mut chart = Chart::line("chart-capacity", x, YAxis::new("requests/s", Unit::PerS))
        .with_axis(YAxis::new("latency", Unit::Ms))
        .series(
            Series::of("requests/s", color::BLUE, r.cycles.iter().map(|c| c.rps))
                .with_points()
                .filled(),
        )
        .series(
            Series::of(
                "p50",
                color::GREEN,
                r.cycles.iter().map(|c| c.latency_ms.p50),
            )
            .axis(1)
            .with_points(),
        )
        .series(
            Series::of(
                "p95",
                color::AMBER,
                r.cycles.iter().map(|c| c.latency_ms.p95),
            )
            .axis(1)
            .with_points(),
        )
        .series(
            Series::of("p99", color::RED, r.cycles.iter().map(|c| c.latency_ms.p99))
                .axis(1)
                .with_points(),
        );
    if let Some(s) = analysis.as_ref().and_then(|a| a.saturation.as_ref()) {
        chart.marker = Some(Marker {
            x: f64::from(s.level),
            label: format!("saturation ≈ {} VUs", s.level),
        });
    }
    html.push_str(r#"<div class="grid one">"#);
    html.push_str(&page.chart(
        chart,
        "Throughput and latency against concurrency",
        "each point is one cycle, measured while its level was held",
    ));
    html.push_str("</div>");
    let rows: Vec<Vec<String>> = r
        .cycles
        .iter()
        .map(|c| {
            vec![
                (c.index + 1).to_string(),
                format::count(u64::from(c.level)),
                escape(&format::seconds(c.duration_s)),
                format::count(c.requests),
                format::rate(c.rps),
                format::percent(c.error_rate),
                escape(&format::ms(c.latency_ms.p50)),
                escape(&format::ms(c.latency_ms.p95)),
                escape(&format::ms(c.latency_ms.p99)),
                escape(&format::ms(c.latency_ms.max)),
            ]
        })
        .collect();
    html.push_str(&table(
        "cycles",
        &[
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
        ],
        &rows,
    ));
    html
}

fn latency_row(label: &str, l: &pummel_result::LatencySummary) -> Vec<String> {
    let mut row = vec![escape(label)];
    row.extend(
        [
            l.min, l.mean, l.stdev, l.p50, l.p90, l.p95, l.p99, l.p999, l.max,
        ]
        .map(|v| escape(&format::ms(v))),
    );
    row
}

fn latency_section(page: &mut Page, r: &RunResult) -> String {
    let mut html = String::new();
    let mut rows = vec![latency_row(
        if r.open_model.is_some() {
            "from the scheduled start"
        } else {
            "all responses"
        },
        &r.latency_ms,
    )];
    if let Some(o) = &r.open_model {
        rows.push(latency_row(
            "from the actual send (uncorrected)",
            &o.uncorrected_latency_ms,
        ));
    }
    html.push_str(&table(
        "latency",
        &[
            Col::Text(""),
            Col::Num("min"),
            Col::Num("mean"),
            Col::Num("stdev"),
            Col::Num("p50"),
            Col::Num("p90"),
            Col::Num("p95"),
            Col::Num("p99"),
            Col::Num("p99.9"),
            Col::Num("max"),
        ],
        &rows,
    ));
    if let Some(o) = &r.open_model {
        html.push_str(&note(&format!(
            "Open model at {} requests/s: latency counts from each request's scheduled start, so time spent \
             waiting behind a slow server is included. {} requests started late, {} never started.",
            format::rate(o.rate),
            format::count(o.late),
            format::count(o.dropped)
        )));
    }

    let histogram = LatencyHistogram::from_base64(&r.histogram)
        .ok()
        .filter(|h| !h.is_empty());
    let Some(h) = histogram else {
        html.push_str(&note(
            "No latency distribution: the result has no responses or no readable histogram.",
        ));
        return html;
    };
    let bins = distribution::log_bins(&h, DISTRIBUTION_BINS);
    let total = h.len().max(1) as f64;
    let dist = Chart::line(
        "chart-distribution",
        XAxis::new(
            "latency",
            Unit::Ms,
            bins.iter().map(|b| b.mid_ms()).collect(),
        )
        .log(10),
        YAxis::new("share of responses", Unit::Percent),
    )
    .bars()
    .series(Series::of(
        "responses",
        color::BLUE,
        bins.iter().map(|b| b.count as f64 / total * 100.0),
    ));

    let spectrum_points = distribution::percentile_spectrum(&h);
    let mut spectrum = Chart::line(
        "chart-spectrum",
        XAxis::new(
            "percentile",
            Unit::Nines,
            spectrum_points.iter().map(|p| p.nines).collect(),
        ),
        YAxis::new("latency", Unit::Ms),
    )
    .series(
        Series::of(
            "latency",
            color::BLUE,
            spectrum_points.iter().map(|p| p.latency_ms),
        )
        .filled(),
    );
    if let Some(u) = r
        .open_model
        .as_ref()
        .and_then(|o| LatencyHistogram::from_base64(&o.uncorrected_histogram).ok())
    {
        let values = spectrum_points
            .iter()
            .map(|p| (!u.is_empty()).then(|| u.quantile_ms(p.percentile / 100.0)))
            .collect();
        spectrum = spectrum.series(Series::new("uncorrected", color::SLATE, values).dashed());
    }
    html.push_str(r#"<div class="grid">"#);
    html.push_str(&page.chart(
        dist,
        "Distribution",
        "share of responses by latency (logarithmic bins)",
    ));
    html.push_str(&page.chart(
        spectrum,
        "Percentiles",
        "latency at each percentile; the tail (99%, 99.9% …) is stretched out",
    ));
    html.push_str("</div>");
    html
}

fn step_name(scope: &Scope) -> (String, String) {
    match scope {
        Scope::Run => (String::new(), "all requests".to_owned()),
        Scope::Step { scenario, name } => (
            scenario.clone().unwrap_or_else(|| "(setup)".to_owned()),
            name.clone(),
        ),
    }
}

fn figures_row(f: &Figures) -> Vec<String> {
    let (scenario, name) = step_name(&f.scope);
    let l = &f.latency;
    let title = format!(
        "{} with no response, {} with a status ≥ 400",
        format::count(f.errors),
        format::count(f.error_statuses)
    );
    let errors_class = if f.failed() > 0 { "bad" } else { "" };
    vec![
        escape(&scenario),
        escape(&name),
        format::count(f.requests),
        format!(
            r#"<span class="{errors_class}" title="{}">{}</span>"#,
            escape(&title),
            format::percent(f.error_rate())
        ),
        format::rate(f.rps),
        escape(&format::ms(l.min)),
        escape(&format::ms(l.mean)),
        escape(&format::ms(l.p50)),
        escape(&format::ms(l.p90)),
        escape(&format::ms(l.p95)),
        escape(&format::ms(l.p99)),
        escape(&format::ms(l.max)),
        format::score(f.apdex_score()),
    ]
}

fn steps_section(r: &RunResult, run: &Figures, options: &ReportOptions) -> String {
    let mut rows: Vec<Vec<String>> = r
        .steps
        .iter()
        .map(|s| figures_row(&Figures::of_step(s, options.apdex_t_ms)))
        .collect();
    let mut total = figures_row(run);
    total[1] = "<strong>all requests</strong>".to_owned();
    rows.push(total);
    let mut html = table(
        "steps",
        &[
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
        ],
        &rows,
    );
    html.push_str(&note(&format!(
        "Errors are requests with no response or with a status of 400 or more. Apdex with T = {}: \
         a response within T satisfies, within 4T is tolerated; slower ones and failed requests frustrate.",
        format::ms(options.apdex_t_ms)
    )));
    if !r.scenarios.is_empty() {
        html.push_str("<h3>Scenarios</h3>");
        let rows: Vec<Vec<String>> = r
            .scenarios
            .iter()
            .map(|s| {
                let l = &s.iteration_ms;
                vec![
                    escape(&s.name),
                    format::count(s.iterations),
                    format::count(s.aborted),
                    escape(&format::ms(l.p50)),
                    escape(&format::ms(l.p95)),
                    escape(&format::ms(l.p99)),
                    escape(&format::ms(l.max)),
                    format::count(s.late),
                    format::count(s.dropped),
                ]
            })
            .collect();
        html.push_str(&table(
            "scenarios",
            &[
                Col::Text("scenario"),
                Col::Num("iterations"),
                Col::Num("aborted"),
                Col::Num("p50"),
                Col::Num("p95"),
                Col::Num("p99"),
                Col::Num("max"),
                Col::Num("late"),
                Col::Num("dropped"),
            ],
            &rows,
        ));
        html.push_str(&note(
            "Iteration times run from an iteration's start (its scheduled start in an open model) to its end, think times included.",
        ));
    }
    html
}

fn checks_section(r: &RunResult) -> String {
    let mut html = String::new();
    if let Some(c) = r.checks {
        let total = c.passed + c.failed;
        html.push_str(&format!(
            r#"<p class="lead">{} of {} checks passed ({}).</p>"#,
            format::count(c.passed),
            format::count(total),
            format::percent(if total > 0 {
                c.passed as f64 / total as f64
            } else {
                0.0
            })
        ));
    }
    let mut rows = Vec::new();
    for s in &r.steps {
        for c in &s.checks {
            let total = c.passed + c.failed;
            let share = if total > 0 {
                c.passed as f64 / total as f64
            } else {
                0.0
            };
            let (scenario, name) = step_name(&Scope::Step {
                scenario: s.scenario.clone(),
                name: s.name.clone(),
            });
            rows.push(vec![
                escape(&scenario),
                escape(&name),
                format!("<code>{}</code>", escape(&c.label)),
                format::count(c.passed),
                if c.failed > 0 {
                    format!(r#"<span class="bad">{}</span>"#, format::count(c.failed))
                } else {
                    "0".to_owned()
                },
                format!(
                    "{} {}",
                    share_bar(share, if c.failed > 0 { "bad" } else { "good" }),
                    format::percent(share)
                ),
            ]);
        }
    }
    html.push_str(&table(
        "checks",
        &[
            Col::Text("scenario"),
            Col::Text("step"),
            Col::Text("check"),
            Col::Num("passed"),
            Col::Num("failed"),
            Col::Num("passed"),
        ],
        &rows,
    ));
    html
}

fn status_class(code: &str) -> &'static str {
    match code.as_bytes().first() {
        Some(b'2') => "good",
        Some(b'3') => "info",
        Some(b'4') => "warn",
        Some(b'5') => "bad",
        _ => "",
    }
}

fn errors_section(r: &RunResult, run: &Figures) -> String {
    let mut html = String::from(r#"<div class="grid">"#);
    let responses = r.responses.max(1) as f64;
    let rows: Vec<Vec<String>> = r
        .status
        .iter()
        .map(|(code, n)| {
            let share = *n as f64 / responses;
            vec![
                format!(
                    r#"<span class="pill {}">{}</span>"#,
                    status_class(code),
                    escape(code)
                ),
                format::count(*n),
                format!(
                    "{} {}",
                    share_bar(share, status_class(code)),
                    format::percent(share)
                ),
            ]
        })
        .collect();
    html.push_str("<div><h3>Status codes</h3>");
    if rows.is_empty() {
        html.push_str(&note("No responses."));
    } else {
        html.push_str(&table(
            "status",
            &[
                Col::Text("status"),
                Col::Num("responses"),
                Col::Num("share"),
            ],
            &rows,
        ));
    }
    html.push_str("</div><div><h3>Errors by kind</h3>");
    let requests = r.requests.max(1) as f64;
    let mut rows: Vec<Vec<String>> = r
        .errors
        .iter()
        .map(|(kind, n)| {
            let description = ErrorKind::from_key(kind).map_or("", ErrorKind::describe);
            vec![
                format!("<code>{}</code>", escape(kind)),
                escape(description),
                format::count(*n),
                format::percent(*n as f64 / requests),
            ]
        })
        .collect();
    if run.error_statuses > 0 {
        rows.push(vec![
            "<code>status ≥ 400</code>".to_owned(),
            "a response with an error status".to_owned(),
            format::count(run.error_statuses),
            format::percent(run.error_statuses as f64 / requests),
        ]);
    }
    if rows.is_empty() {
        html.push_str(&note(
            "No errors: every request got a response with a status below 400.",
        ));
    } else {
        html.push_str(&table(
            "errors",
            &[
                Col::Text("kind"),
                Col::Text("meaning"),
                Col::Num("requests"),
                Col::Num("share"),
            ],
            &rows,
        ));
    }
    html.push_str("</div></div>");

    let step_rows: Vec<Vec<String>> = r
        .steps
        .iter()
        .filter_map(|s| {
            let statuses = crate::figures::error_statuses(&s.status);
            let kinds: Vec<String> = s
                .errors
                .iter()
                .map(|(k, n)| format!("{} × {}", escape(k), format::count(*n)))
                .collect();
            let bad_codes: Vec<String> = s
                .status
                .iter()
                .filter(|(c, _)| c.parse::<u16>().is_ok_and(|c| c >= 400))
                .map(|(c, n)| format!("{} × {}", escape(c), format::count(*n)))
                .collect();
            (statuses > 0 || !kinds.is_empty()).then(|| {
                let (scenario, name) = step_name(&Scope::Step {
                    scenario: s.scenario.clone(),
                    name: s.name.clone(),
                });
                vec![
                    escape(&scenario),
                    escape(&name),
                    kinds.join(", "),
                    bad_codes.join(", "),
                ]
            })
        })
        .collect();
    if !step_rows.is_empty() {
        html.push_str("<h3>Errors by step</h3>");
        html.push_str(&table(
            "step-errors",
            &[
                Col::Text("scenario"),
                Col::Text("step"),
                Col::Text("no response"),
                Col::Text("error statuses"),
            ],
            &step_rows,
        ));
    }
    let examples = failures::examples(r);
    if !examples.is_empty() {
        html.push_str("<h3>Failures by place and kind</h3>");
        let rows: Vec<Vec<String>> = examples
            .iter()
            .map(|e| {
                vec![
                    format!("{}×", e.count),
                    format!("<code>{}</code>", escape(&e.place)),
                    escape(&e.what),
                    escape(&e.message),
                ]
            })
            .collect();
        html.push_str(&table(
            "failures",
            &[
                Col::Num("examples"),
                Col::Text("where"),
                Col::Text("what"),
                Col::Text("first message"),
            ],
            &rows,
        ));
        html.push_str(&note(
            "Grouped from the first failures of the run, as the engine kept them: \
             a sample, not a count of all failures.",
        ));
    }
    html
}

fn websocket_section(r: &RunResult) -> Option<String> {
    let ws = r.websocket.as_ref()?;
    let mut rows = vec![
        vec!["connection attempts".to_owned(), format::count(ws.connects)],
        vec!["connected".to_owned(), format::count(ws.connected)],
        vec![
            "connect p50 / p99".to_owned(),
            escape(&format!(
                "{} / {}",
                format::ms(ws.connect_ms.p50),
                format::ms(ws.connect_ms.p99)
            )),
        ],
        vec![
            "open at the end / most open".to_owned(),
            format!(
                "{} / {}",
                format::count(ws.open_at_end),
                format::count(ws.open_max)
            ),
        ],
        vec![
            "messages sent / replies".to_owned(),
            format!(
                "{} / {}",
                format::count(ws.messages_sent),
                format::count(ws.messages_received)
            ),
        ],
    ];
    for (kind, n) in &ws.connect_errors {
        rows.push(vec![
            format!("connect failed: <code>{}</code>", escape(kind)),
            format::count(*n),
        ]);
    }
    Some(table("websocket", &[Col::Text(""), Col::Num("")], &rows))
}

fn configuration(r: &RunResult) -> String {
    let mut rows = vec![
        vec!["kind".to_owned(), escape(&r.kind)],
        vec!["started".to_owned(), escape(&r.started_at)],
        vec![
            "duration".to_owned(),
            escape(&format::seconds(r.duration_s)),
        ],
    ];
    if let Some(map) = r.config.as_object() {
        for (key, value) in map {
            let shown = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            rows.push(vec![
                escape(key),
                format!("<code>{}</code>", escape(&shown)),
            ]);
        }
    }
    rows.push(vec![
        "bytes received / sent".to_owned(),
        format!(
            "{} / {}",
            format::bytes(r.bytes_received),
            format::bytes(r.bytes_sent)
        ),
    ]);
    if r.aborted > 0 {
        rows.push(vec![
            "in flight at the end".to_owned(),
            format::count(r.aborted),
        ]);
    }
    rows.push(vec![
        "result".to_owned(),
        format!("schema {} · pummel {}", r.schema, escape(&r.pummel_version)),
    ]);
    table("config", &[Col::Text("setting"), Col::Text("value")], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn html(r: &RunResult) -> String {
        build(r, &ReportOptions::default()).finish_with("/* uPlot stub */", "")
    }

    fn chart_ids(html: &str) -> Vec<String> {
        let start = html
            .find(r#"<script id="pummel-data" type="application/json">"#)
            .unwrap();
        let json = &html[start..];
        let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["charts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_scenario_run_has_every_section() {
        let page = html(&testdata::scenario_run());
        for needle in [
            r#"<div class="verdict fail"><span class="badge">FAIL</span><div><strong>3 of 4 thresholds failed</strong>"#,
            r#"<section id="thresholds">"#,
            r#"<section id="steps">"#,
            r#"<section id="checks">"#,
            "<h3>Scenarios</h3>",
            "<h3>Failures by place and kind</h3>",
            "<h3>Errors by step</h3>",
            "shop &lt;demo&gt;",
            "slow &lt;1&gt;",
            "timeout &lt;after 5s&gt; &amp; &quot;quoted&quot;",
        ] {
            assert!(page.contains(needle), "missing {needle}");
        }
        assert!(
            !page.contains("<demo>") && !page.contains("slow <1>"),
            "unescaped name"
        );
        let ids = chart_ids(&page);
        for id in [
            "chart-throughput",
            "chart-latency",
            "chart-errors",
            "chart-load",
            "chart-distribution",
            "chart-spectrum",
        ] {
            assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
            assert!(
                page.contains(&format!(r#"id="{id}""#)),
                "placeholder for {id}"
            );
        }
        assert!(!ids.iter().any(|i| i == "chart-capacity"));
    }

    #[test]
    fn a_cycles_run_has_a_capacity_chart_with_its_knee() {
        let page = html(&testdata::cycles_run());
        assert!(page.contains("Saturates at about 8 VUs"));
        assert!(chart_ids(&page).contains(&"chart-capacity".to_owned()));
        assert!(page.contains(r#""marker":{"x":8.0,"label":"saturation ≈ 8 VUs"}"#));
    }

    #[test]
    fn benches_and_bare_results_render() {
        let page = html(&testdata::bench());
        assert!(page.contains("NO THRESHOLDS"));
        assert!(!page.contains(r#"<section id="steps">"#));
        let page = html(&testdata::open_bench());
        assert!(page.contains("from the actual send (uncorrected)"));
        assert!(page.contains(r#""label":"target rate""#));
        assert!(page.contains(r#""label":"late/s""#));
        let page = html(&testdata::minimal());
        assert!(page.contains("PARTIAL"));
        assert!(page.contains("No timeline"));
        assert!(page.contains("No latency distribution"));
        assert!(chart_ids(&page).is_empty());
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = html(&testdata::scenario_run());
        for forbidden in ["http://", "https://", "src=", "<link", "@import", "url("] {
            let outside_data = page.replace("http://127.0.0.1:8080/", "");
            assert!(
                !outside_data.contains(forbidden),
                "the page refers to {forbidden}"
            );
        }
        assert!(!assets::PAGE_JS.contains("</script") && !assets::PAGE_CSS.contains("</style"));
        if let Some((js, css)) = assets::uplot() {
            assert!(!js.contains("</script") && !css.contains("</style"));
        }
    }

    use super::super::assets;
}
