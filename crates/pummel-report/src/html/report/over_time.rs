//! The charts over time: throughput, latency, errors, and the load levels.

use std::collections::BTreeSet;

use pummel_result::result::RunResult;
use pummel_result::TimelinePoint;

use crate::html::chart::{color, Chart, Series, Unit, YAxis};
use crate::html::page::{note, render, Grid, Page};

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

/// The section's HTML; the charts are registered with the page.
pub(super) fn section(page: &mut Page, r: &RunResult) -> String {
    let timeline = charted(&r.timeline);
    if timeline.is_empty() {
        return note("No timeline: the run did not last a whole second.");
    }
    let t: Vec<f64> = timeline.iter().map(|p| f64::from(p.t)).collect();
    let mut figures = vec![
        throughput(page, r, timeline, &t),
        latency(page, r, timeline, &t),
        errors(page, timeline, &t),
    ];
    figures.extend(load(page, timeline, t));
    render(&Grid { figures })
}

fn throughput(page: &mut Page, r: &RunResult, timeline: &[TimelinePoint], t: &[f64]) -> String {
    let mut throughput = Chart::over_time(
        "chart-throughput",
        t.to_vec(),
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
    page.chart(throughput, "Throughput", "requests completed per second")
}

fn latency(page: &mut Page, r: &RunResult, timeline: &[TimelinePoint], t: &[f64]) -> String {
    // A second without responses has no latency: a gap, not a zero.
    let latency_of = |f: fn(&TimelinePoint) -> f64| -> Vec<Option<f64>> {
        timeline
            .iter()
            .map(|p| (p.requests > p.errors).then(|| f(p)))
            .collect()
    };
    let latency = Chart::over_time("chart-latency", t.to_vec(), YAxis::new("latency", Unit::Ms))
        .series(Series::new("p50", color::GREEN, latency_of(|p| p.p50_ms)))
        .series(Series::new("p90", color::AMBER, latency_of(|p| p.p90_ms)))
        .series(Series::new("p99", color::RED, latency_of(|p| p.p99_ms)))
        .series(Series::new("max", color::VIOLET, latency_of(|p| p.max_ms)).dashed());
    let caption = if r.open_model.is_some() {
        "percentiles of each second, from each request's scheduled start"
    } else {
        "percentiles of the responses completed in each second"
    };
    page.chart(latency, "Latency", caption)
}

fn errors(page: &mut Page, timeline: &[TimelinePoint], t: &[f64]) -> String {
    let per_s = |n: u64, d: f64| if d > 0.0 { n as f64 / d } else { n as f64 };
    let mut errors = Chart::over_time(
        "chart-errors",
        t.to_vec(),
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
    page.chart(errors, "Errors", caption)
}

/// Active users, open sockets and any other gauge that was ever above zero.
fn load(page: &mut Page, timeline: &[TimelinePoint], t: Vec<f64>) -> Option<String> {
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
    if gauges.is_empty() {
        return None;
    }
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
    Some(page.chart(load, title, "levels at the end of each second"))
}
