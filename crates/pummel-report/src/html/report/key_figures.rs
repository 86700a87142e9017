//! The cards of key figures: requests, throughput, error rate, latency
//! percentiles and Apdex.

use askama::Template;
use pummel_result::result::RunResult;

use super::over_time::charted;
use crate::figures::Figures;
use crate::{format, ReportOptions};

struct Card {
    label: &'static str,
    value: String,
    sub: String,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "report/key_figures.html")]
pub(super) struct KeyFigures {
    cards: Vec<Card>,
}

impl KeyFigures {
    pub(super) fn of(r: &RunResult, run: &Figures, options: &ReportOptions) -> KeyFigures {
        let mut cards = vec![
            Card {
                label: "requests",
                value: format::count(run.requests),
                sub: format!("in {}", format::seconds(r.duration_s)),
                class: "",
            },
            throughput(r, run),
            error_rate(run),
        ];
        cards.extend(latency(run));
        cards.push(apdex(run, options));
        KeyFigures { cards }
    }
}

fn throughput(r: &RunResult, run: &Figures) -> Card {
    let peak = charted(&r.timeline)
        .iter()
        .map(|p| p.rps)
        .fold(0.0, f64::max);
    Card {
        label: "throughput",
        value: format!("{}/s", format::rate(run.rps)),
        sub: if peak > 0.0 {
            format!("peak {}/s", format::rate(peak))
        } else {
            String::new()
        },
        class: "",
    }
}

fn error_rate(run: &Figures) -> Card {
    Card {
        label: "error rate",
        value: format::percent(run.error_rate()),
        sub: if run.failed() == 0 {
            "no failed requests".to_owned()
        } else {
            format!(
                "{} no response · {} status ≥ 400",
                format::count(run.errors),
                format::count(run.error_statuses)
            )
        },
        class: if run.failed() > 0 { "bad" } else { "good" },
    }
}

fn latency(run: &Figures) -> [Card; 3] {
    let l = &run.latency;
    // With no response there is no latency: a dash, not a misleading 0.
    let lat = |v: f64| {
        if run.responses > 0 {
            format::ms(v)
        } else {
            "–".to_owned()
        }
    };
    let card = |label, value, sub| Card {
        label,
        value,
        sub,
        class: "",
    };
    [
        card("p50", lat(l.p50), format!("mean {}", lat(l.mean))),
        card("p95", lat(l.p95), format!("p90 {}", lat(l.p90))),
        card("p99", lat(l.p99), format!("max {}", lat(l.max))),
    ]
}

fn apdex(run: &Figures, options: &ReportOptions) -> Card {
    let apdex = run.apdex;
    Card {
        label: "Apdex",
        value: format::score(run.apdex_score()),
        sub: format!(
            "{} · T = {}",
            apdex.map_or("no data", |a| a.rating()),
            format::ms(options.apdex_t_ms)
        ),
        class: match apdex.map(|a| a.rating()) {
            Some("excellent" | "good") => "good",
            Some("fair") => "warn",
            Some("poor" | "unacceptable") => "bad",
            _ => "",
        },
    }
}
