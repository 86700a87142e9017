//! A run's figures so far, in the shape live metrics publish them: per
//! step, cumulative since the start, with latency already folded into the
//! classic buckets every Prometheus reads.
//!
//! Built once a second from the coordinator's merged totals (never on the
//! hot path), and once more at the end from the [`RunResult`] itself, so
//! the counters a scraper last sees are the result's counts exactly.

use std::collections::BTreeMap;

use pummel_result::result::ChecksTotal;
use pummel_result::{KeyId, LatencyHistogram, MetricLayout, RunResult, Stats};

/// Upper bounds of the latency buckets, in seconds. Fixed, so that series
/// from many agents (and many runs) add up bucket by bucket; from half a
/// millisecond to a minute, about three to a decade as Prometheus's own
/// defaults space them.
pub const BUCKETS_S: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
    30.0, 60.0,
];

/// One metric key's figures (a bench's one target, or a scenario step).
#[derive(Clone, Debug, PartialEq)]
pub struct StepFigures {
    /// `scenario/step`, `(setup)/step`, or `bench` for a bench.
    pub name: String,
    /// Requests that finished: responses plus errors.
    pub requests: u64,
    /// Responses per status code.
    pub status: Vec<(u16, u64)>,
    /// Failed requests per error kind.
    pub errors: Vec<(String, u64)>,
    /// Cumulative count of responses at or below each of [`BUCKETS_S`].
    pub buckets: Vec<u64>,
    /// Responses (the histogram's `_count`).
    pub latency_count: u64,
    /// Sum of response latencies in seconds (the histogram's `_sum`).
    pub latency_sum_s: f64,
}

/// Everything published at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveFigures {
    pub steps: Vec<StepFigures>,
    /// Checks passed and failed, all steps together (scenario runs).
    pub checks: Option<ChecksTotal>,
    /// Levels at the end of the last second: `vus`, `sockets`.
    pub gauges: BTreeMap<String, u64>,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// The run has ended: these are the result's figures.
    pub finished: bool,
}

impl StepFigures {
    fn new(
        name: String,
        requests: u64,
        status: Vec<(u16, u64)>,
        errors: Vec<(String, u64)>,
        latency: &LatencyHistogram,
    ) -> StepFigures {
        StepFigures {
            name,
            requests,
            status,
            errors,
            buckets: BUCKETS_S
                .iter()
                .map(|&le| latency.count_at_or_below_us(seconds_to_us(le)))
                .collect(),
            latency_count: latency.len(),
            latency_sum_s: latency.sum_us() / 1e6,
        }
    }

    fn from_stats(name: &str, stats: &Stats) -> StepFigures {
        StepFigures::new(
            name.to_owned(),
            stats.requests(),
            stats.status.sorted(),
            stats
                .errors
                .nonzero()
                .map(|(kind, n)| (kind.as_str().to_owned(), n))
                .collect(),
            &stats.latency,
        )
    }
}

fn seconds_to_us(s: f64) -> u64 {
    // The bounds are constants between 0.0005 and 60: exact in µs.
    (s * 1e6).round() as u64
}

/// Where the counters of checks are in a run's layout: the engine names
/// them `KEY:LABEL:pass` and `KEY:LABEL:fail`, and nothing else ends so.
fn checks_from_counters(layout: &MetricLayout, counters: &[u64]) -> Option<ChecksTotal> {
    let mut total = ChecksTotal::default();
    let mut any = false;
    for (name, n) in layout.counters().iter().zip(counters) {
        if name.ends_with(":pass") {
            total.passed += n;
            any = true;
        } else if name.ends_with(":fail") {
            total.failed += n;
            any = true;
        }
    }
    any.then_some(total)
}

impl LiveFigures {
    /// The figures of all closed seconds so far: `per_key` and `counters`
    /// are the coordinator's cumulative totals, `gauges` the last second's
    /// levels. Keys that do not count as requests (iteration durations, a
    /// WebSocket bench's connects) are left out, as they are from the
    /// result's request count.
    pub fn from_totals(
        layout: &MetricLayout,
        per_key: &[Stats],
        counters: &[u64],
        gauges: &BTreeMap<String, u64>,
        elapsed_s: f64,
    ) -> LiveFigures {
        let steps = per_key
            .iter()
            .enumerate()
            .filter(|(i, _)| layout.aggregates(KeyId(*i as u32)))
            .map(|(i, stats)| StepFigures::from_stats(layout.name(KeyId(i as u32)), stats))
            .collect();
        LiveFigures {
            steps,
            checks: checks_from_counters(layout, counters),
            gauges: gauges.clone(),
            elapsed_s,
            finished: false,
        }
    }

    /// Every step and check of `layout` at zero: what is published before the
    /// first second closes, so that the series exist from the start and a
    /// `rate()` over the first seconds counts from zero rather than from
    /// the first second's total.
    pub fn zero(layout: &MetricLayout) -> LiveFigures {
        let per_key: Vec<Stats> = (0..layout.len()).map(|_| Stats::new(false)).collect();
        let counters = vec![0; layout.counters().len()];
        LiveFigures::from_totals(layout, &per_key, &counters, &BTreeMap::new(), 0.0)
    }

    /// The figures of a finished run, from its result: the last word, equal
    /// to what the result file says. Steps are named as the engine names
    /// their keys, so each series goes on where the live ones left off.
    pub fn from_result(result: &RunResult) -> LiveFigures {
        let steps = if result.steps.is_empty() {
            let name = if result.websocket.is_some() {
                "roundtrip"
            } else {
                "bench"
            };
            vec![StepFigures::new(
                name.to_owned(),
                result.requests,
                parse_status(&result.status),
                to_pairs(&result.errors),
                &decode(&result.histogram),
            )]
        } else {
            result
                .steps
                .iter()
                .map(|s| {
                    let scope = match (&s.scenario, &s.global) {
                        (Some(scenario), _) => scenario.clone(),
                        (None, Some(global)) => format!("({global})"),
                        (None, None) => "(setup)".to_owned(),
                    };
                    StepFigures::new(
                        format!("{scope}/{}", s.name),
                        s.requests,
                        parse_status(&s.status),
                        to_pairs(&s.errors),
                        &decode(&s.histogram),
                    )
                })
                .collect()
        };
        LiveFigures {
            steps,
            checks: result.checks,
            gauges: result
                .timeline
                .last()
                .map(|p| p.gauges.clone())
                .unwrap_or_default(),
            elapsed_s: result.duration_s,
            finished: true,
        }
    }

    /// Requests of all steps together.
    pub fn requests(&self) -> u64 {
        self.steps.iter().map(|s| s.requests).sum()
    }
}

/// A histogram from a result file; one that does not decode publishes as
/// empty rather than stopping the run's exporter.
fn decode(encoded: &str) -> LatencyHistogram {
    LatencyHistogram::from_base64(encoded).unwrap_or_default()
}

fn parse_status(status: &BTreeMap<String, u64>) -> Vec<(u16, u64)> {
    status
        .iter()
        .filter_map(|(code, n)| code.parse().ok().map(|c| (c, *n)))
        .collect()
}

fn to_pairs(map: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    map.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pummel_result::result::RunFacts;
    use pummel_result::ErrorKind;
    use std::time::{Duration, SystemTime};

    fn stats() -> Stats {
        let mut s = Stats::new(false);
        for ms in [1, 3, 7, 30, 300] {
            s.record_response(Duration::from_millis(ms), None, 200, 10, 10);
        }
        s.record_response(Duration::from_millis(2), None, 404, 10, 10);
        s.record_error(ErrorKind::Reset, 0, 0);
        s
    }

    #[test]
    fn buckets_are_cumulative_and_end_at_the_response_count() {
        let layout = MetricLayout::new(vec!["bench".into()], false);
        let f = LiveFigures::from_totals(&layout, &[stats()], &[], &BTreeMap::new(), 1.0);
        let step = &f.steps[0];
        assert_eq!(step.requests, 7);
        assert_eq!(step.latency_count, 6);
        // 0.5ms 1ms 2.5ms 5ms 10ms 25ms 50ms 100ms 250ms 500ms …
        assert_eq!(&step.buckets[..10], &[0, 1, 2, 3, 4, 4, 5, 5, 5, 6]);
        assert_eq!(*step.buckets.last().unwrap(), 6);
        assert!(
            (step.latency_sum_s - 0.343).abs() < 0.001,
            "{}",
            step.latency_sum_s
        );
        assert_eq!(step.errors, vec![("reset".to_owned(), 1)]);
        assert_eq!(step.status, vec![(200, 5), (404, 1)]);
    }

    #[test]
    fn before_the_first_second_every_step_and_check_is_there_at_zero() {
        let layout = MetricLayout::new(vec!["s/home".into(), "s/(iteration)".into()], false)
            .without_aggregate(KeyId(1))
            .with_counters(vec![
                "s/home:status 200:pass".into(),
                "s/home:status 200:fail".into(),
            ]);
        let zero = LiveFigures::zero(&layout);
        let names: Vec<&str> = zero.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s/home"]);
        assert_eq!(
            (zero.steps[0].requests, zero.steps[0].latency_count),
            (0, 0)
        );
        assert_eq!(
            zero.checks.as_ref().map(|c| (c.passed, c.failed)),
            Some((0, 0))
        );
    }

    #[test]
    fn the_result_gives_the_same_figures_as_the_totals() {
        let layout = MetricLayout::new(vec!["bench".into()], false);
        let live = LiveFigures::from_totals(&layout, &[stats()], &[], &BTreeMap::new(), 2.0);
        let result = RunResult::new(RunFacts {
            kind: "bench",
            config: serde_json::json!({}),
            totals: &stats(),
            timeline: vec![],
            elapsed: Duration::from_secs(2),
            started_at: SystemTime::UNIX_EPOCH,
            rate: None,
            partial: false,
        });
        let last = LiveFigures::from_result(&result);
        assert!(last.finished);
        assert_eq!(last.steps, live.steps);
        assert_eq!(last.requests(), result.requests);
    }

    #[test]
    fn keys_that_are_not_requests_and_check_counters_are_told_apart() {
        let layout = MetricLayout::new(vec!["s/home".into(), "s/(iteration)".into()], false)
            .without_aggregate(KeyId(1))
            .with_counters(vec![
                "s/home:status 200:pass".into(),
                "s/home:status 200:fail".into(),
                "s:completed".into(),
            ]);
        let f = LiveFigures::from_totals(
            &layout,
            &[stats(), stats()],
            &[5, 2, 9],
            &BTreeMap::from([("vus".to_owned(), 3)]),
            1.0,
        );
        assert_eq!(f.steps.len(), 1);
        assert_eq!(f.steps[0].name, "s/home");
        assert_eq!(
            f.checks,
            Some(ChecksTotal {
                passed: 5,
                failed: 2
            })
        );
        assert_eq!(f.gauges["vus"], 3);
    }
}
