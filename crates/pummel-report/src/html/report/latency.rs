//! Latency: the summary table, the distribution and the percentile spectrum.

use askama::Template;
use pummel_result::result::RunResult;
use pummel_result::{LatencyHistogram, LatencySummary};

use crate::html::chart::{color, Chart, Series, Unit, XAxis, YAxis};
use crate::html::page::{render, Cell, Col, Page, Table};
use crate::{distribution, format};

/// Bins of the latency distribution chart.
const DISTRIBUTION_BINS: usize = 48;

const COLS: [Col<'static>; 10] = [
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
];

#[derive(Template)]
#[template(path = "report/latency.html")]
struct Latency<'a> {
    table: Table<'a>,
    open_model: Option<String>,
    /// The distribution and percentile figures.
    charts: Option<(String, String)>,
}

/// The section's HTML; the charts are registered with the page.
pub(super) fn section(page: &mut Page, r: &RunResult) -> String {
    let mut rows = vec![row(
        if r.open_model.is_some() {
            "from the scheduled start"
        } else {
            "all responses"
        },
        &r.latency_ms,
    )];
    if let Some(o) = &r.open_model {
        rows.push(row(
            "from the actual send (uncorrected)",
            &o.uncorrected_latency_ms,
        ));
    }
    let open_model = r.open_model.as_ref().map(|o| {
        format!(
            "Open model at {} requests/s: latency counts from each request's scheduled start, so time spent \
             waiting behind a slow server is included. {} requests started late, {} never started.",
            format::rate(o.rate),
            format::count(o.late),
            format::count(o.dropped)
        )
    });
    let charts = LatencyHistogram::from_base64(&r.histogram)
        .ok()
        .filter(|h| !h.is_empty())
        .map(|h| {
            (
                page.chart(
                    distribution_chart(&h),
                    "Distribution",
                    "share of responses by latency (logarithmic bins)",
                ),
                page.chart(
                    spectrum_chart(r, &h),
                    "Percentiles",
                    "latency at each percentile; the tail (99%, 99.9% …) is stretched out",
                ),
            )
        });
    render(&Latency {
        table: Table::new("latency", &COLS, rows),
        open_model,
        charts,
    })
}

fn row(label: &str, l: &LatencySummary) -> Vec<Cell> {
    let mut row = vec![Cell::Text(label.to_owned())];
    row.extend(
        [
            l.min, l.mean, l.stdev, l.p50, l.p90, l.p95, l.p99, l.p999, l.max,
        ]
        .map(|v| Cell::Text(format::ms(v))),
    );
    row
}

fn distribution_chart(h: &LatencyHistogram) -> Chart {
    let bins = distribution::log_bins(h, DISTRIBUTION_BINS);
    let total = h.len().max(1) as f64;
    Chart::line(
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
    ))
}

/// Latency at each percentile; in an open model also from the actual send.
fn spectrum_chart(r: &RunResult, h: &LatencyHistogram) -> Chart {
    let points = distribution::percentile_spectrum(h);
    let mut spectrum = Chart::line(
        "chart-spectrum",
        XAxis::new(
            "percentile",
            Unit::Nines,
            points.iter().map(|p| p.nines).collect(),
        ),
        YAxis::new("latency", Unit::Ms),
    )
    .series(Series::of("latency", color::BLUE, points.iter().map(|p| p.latency_ms)).filled());
    if let Some(u) = r
        .open_model
        .as_ref()
        .and_then(|o| LatencyHistogram::from_base64(&o.uncorrected_histogram).ok())
    {
        let values = points
            .iter()
            .map(|p| (!u.is_empty()).then(|| u.quantile_ms(p.percentile / 100.0)))
            .collect();
        spectrum = spectrum.series(Series::new("uncorrected", color::SLATE, values).dashed());
    }
    spectrum
}
