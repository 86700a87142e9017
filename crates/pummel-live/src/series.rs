//! The series pummel publishes, named once: the endpoint renders them as
//! text, remote write sends them as samples, the Grafana dashboard queries
//! them (`docs/grafana/pummel.json`). Names follow Prometheus's
//! conventions: base units (seconds), `_total` for counters.

use crate::figures::{LiveFigures, BUCKETS_S};

/// What kind of metric a family is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One sample: the full series name (with `_total`, `_bucket`, …), its
/// labels in order, its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A metric family: its name (for a counter, without `_total`), help,
/// kind and samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

pub const REQUESTS: &str = "pummel_requests";
pub const RESPONSES: &str = "pummel_responses";
pub const ERRORS: &str = "pummel_errors";
pub const DURATION: &str = "pummel_request_duration_seconds";
pub const CHECKS: &str = "pummel_checks";
pub const VUS: &str = "pummel_vus";
pub const SOCKETS: &str = "pummel_open_sockets";
pub const ELAPSED: &str = "pummel_elapsed_seconds";
pub const FINISHED: &str = "pummel_finished";

fn sample(name: String, labels: Vec<(&'static str, String)>, value: f64) -> Sample {
    Sample {
        name,
        labels,
        value,
    }
}

/// A bucket bound as Prometheus's own clients print it (`0.005`, `1`,
/// `+Inf`), so the `le` label matches across clients and agents.
pub fn le_label(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".to_owned()
    } else {
        format!("{le}")
    }
}

/// Every family of `figures`, in a fixed order; counters and histograms
/// appear for every step from the first second on (zero until something
/// happens), so `rate()` sees the start of each series.
pub fn families(figures: &LiveFigures) -> Vec<Family> {
    let mut out = step_families(figures);
    out.extend(run_families(figures));
    out
}

/// The per-step families: requests, responses, errors, latency.
fn step_families(figures: &LiveFigures) -> Vec<Family> {
    let step = |name: &str| vec![("step", name.to_owned())];
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    let mut errors = Vec::new();
    let mut duration = Vec::new();
    for s in &figures.steps {
        requests.push(sample(
            format!("{REQUESTS}_total"),
            step(&s.name),
            s.requests as f64,
        ));
        for (code, n) in &s.status {
            responses.push(sample(
                format!("{RESPONSES}_total"),
                vec![("step", s.name.clone()), ("status", code.to_string())],
                *n as f64,
            ));
        }
        for (kind, n) in &s.errors {
            errors.push(sample(
                format!("{ERRORS}_total"),
                vec![("step", s.name.clone()), ("kind", kind.clone())],
                *n as f64,
            ));
        }
        for (le, n) in BUCKETS_S.iter().zip(&s.buckets) {
            duration.push(sample(
                format!("{DURATION}_bucket"),
                vec![("step", s.name.clone()), ("le", le_label(*le))],
                *n as f64,
            ));
        }
        duration.push(sample(
            format!("{DURATION}_bucket"),
            vec![("step", s.name.clone()), ("le", le_label(f64::INFINITY))],
            s.latency_count as f64,
        ));
        duration.push(sample(
            format!("{DURATION}_sum"),
            step(&s.name),
            s.latency_sum_s,
        ));
        duration.push(sample(
            format!("{DURATION}_count"),
            step(&s.name),
            s.latency_count as f64,
        ));
    }
    vec![
        Family {
            name: REQUESTS,
            help: "Requests that finished, with a response or an error.",
            kind: Kind::Counter,
            samples: requests,
        },
        Family {
            name: RESPONSES,
            help: "Requests that received a complete response, by status code.",
            kind: Kind::Counter,
            samples: responses,
        },
        Family {
            name: ERRORS,
            help: "Requests that failed without a response, by error kind.",
            kind: Kind::Counter,
            samples: errors,
        },
        Family {
            name: DURATION,
            help: "Response latency: response complete minus request start (scheduled start in open-model runs).",
            kind: Kind::Histogram,
            samples: duration,
        },
    ]
}

/// The run's families: checks, levels, progress.
fn run_families(figures: &LiveFigures) -> Vec<Family> {
    let mut out = Vec::new();
    if let Some(checks) = figures.checks {
        out.push(Family {
            name: CHECKS,
            help: "Checks evaluated, by result.",
            kind: Kind::Counter,
            samples: vec![
                sample(
                    format!("{CHECKS}_total"),
                    vec![("result", "pass".to_owned())],
                    checks.passed as f64,
                ),
                sample(
                    format!("{CHECKS}_total"),
                    vec![("result", "fail".to_owned())],
                    checks.failed as f64,
                ),
            ],
        });
    }
    for (gauge, name, help) in [
        (
            "vus",
            VUS,
            "Virtual users active at the end of the last second.",
        ),
        (
            "sockets",
            SOCKETS,
            "Open WebSocket connections at the end of the last second.",
        ),
    ] {
        if let Some(level) = figures.gauges.get(gauge) {
            out.push(Family {
                name,
                help,
                kind: Kind::Gauge,
                samples: vec![sample(name.to_owned(), Vec::new(), *level as f64)],
            });
        }
    }
    out.push(Family {
        name: ELAPSED,
        help: "Seconds since the run started, as of these figures.",
        kind: Kind::Gauge,
        samples: vec![sample(ELAPSED.to_owned(), Vec::new(), figures.elapsed_s)],
    });
    out.push(Family {
        name: FINISHED,
        help: "1 once the run has ended and these are the result's final figures.",
        kind: Kind::Gauge,
        samples: vec![sample(
            FINISHED.to_owned(),
            Vec::new(),
            if figures.finished { 1.0 } else { 0.0 },
        )],
    });
    out
}
