//! The result of a run: the versioned JSON schema that `--json`/`--out`
//! write and that reports, comparisons and the server read back.
//!
//! Schema policy: additions keep the version; a change that breaks a reader
//! (a key removed, renamed, or changing its unit) bumps [`SCHEMA_VERSION`].
//! The schema is documented key by key in `docs/result-schema.md`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{LatencySummary, Stats, TimelinePoint};

pub const SCHEMA_VERSION: u32 = 1;

/// A run's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub schema: u32,
    pub pummel_version: String,
    /// What produced it: `"bench"` (later `"run"` for scenarios).
    pub kind: String,
    /// Wall-clock start, RFC 3339 (UTC).
    pub started_at: String,
    /// What was run, as given (URL, method, connections, rate, …).
    pub config: serde_json::Value,
    /// Requests that finished: `responses` plus the sum of `errors`.
    pub requests: u64,
    /// Requests that received a complete response, whatever its status.
    pub responses: u64,
    pub duration_s: f64,
    /// `requests / duration_s`.
    pub rps: f64,
    /// Latency of responses. In open-model runs, from the scheduled start.
    pub latency_ms: LatencySummary,
    /// Responses per status code.
    pub status: BTreeMap<String, u64>,
    /// Failed requests per error kind (see `ErrorKind::as_str`).
    pub errors: BTreeMap<String, u64>,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Requests in flight when the run ended (deadline or interrupt): the
    /// same figure as `requests_cut`, kept under its schema-1 name.
    pub aborted: u64,
    /// Requests in flight when the run ended (deadline or interrupt): sent
    /// (or being sent) and cut, neither responses nor errors.
    #[serde(default)]
    pub requests_cut: u64,
    /// Scenario runs: what became of the iterations, all scenarios together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_counts: Option<IterationCounts>,
    /// One point per second of the run.
    pub timeline: Vec<TimelinePoint>,
    /// Open-model (`--rate`) runs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_model: Option<OpenModelResult>,
    /// The latency histogram (µs), HdrHistogram V2 compressed, base64: the
    /// exact distribution, so any percentile can be recomputed later.
    pub histogram: String,
    /// True when the run was interrupted: the figures cover part of the plan.
    pub partial: bool,

    // Scenario runs (`kind: "run"`) only; absent from a bench.
    /// Per request step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepResult>,
    /// Per group: its steps' figures rolled up (nested groups' steps
    /// included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupResult>,
    /// Per scenario.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<ScenarioResult>,
    /// Custom metrics fed by `metric:` steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricResult>,
    /// All checks together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<ChecksTotal>,
    /// Attempts that were retries, all steps together (already counted in
    /// `requests`); present when a step has `retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdResult>,
    /// Cycles runs: figures per concurrency level, measured in each cycle's
    /// steady window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<CycleResult>,
    /// `"pass"` or `"fail"` when the plan has thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// WebSocket runs: connections and messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WebSocketResult>,
    /// A few examples of failed checks and aborted iterations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// Distributed runs only: who ran which share of the plan, and when
    /// each agent was lost or came back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<RunAgent>,
    /// Distributed runs only: seconds an agent sent after the run had ended
    /// (lost, then back with what it had buffered) were merged in, after
    /// the run's verdict was given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late_data_merged: bool,
    /// What the monitor scraped from the system under test (`monitor:` in
    /// a scenario, `--monitor` on the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::MonitorResult>,
    /// Runs whose journey ran in runner processes (Python, Node): what ran
    /// it, what went wrong with the processes, the custom metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerResult>,
}

/// What ran a journey written in another language, and how it went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunnerResult {
    /// `"python"` or `"node"`.
    pub kind: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Runner processes run at once (one per worker thread).
    pub processes: u32,
    /// What went wrong, by named kind (`runner_crashed`, `runner_protocol`,
    /// `iteration_hung`, `runner_restarted`, `runner_log_dropped`); only
    /// kinds that happened.
    #[serde(default)]
    pub incidents: BTreeMap<String, u64>,
    /// The journey's custom metrics, in the order first reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<CustomMetricResult>,
}

/// One custom metric of a runner's journey.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomMetricResult {
    pub name: String,
    /// `"counter"`, `"gauge"` or `"trend"`.
    pub kind: String,
    /// Counter: the total; gauge: the last value (summed over processes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Trend: its values' distribution (the values are milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<LatencySummary>,
}

/// One agent's part in a distributed run. Times are Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAgent {
    pub name: String,
    /// Its segment: `segment` of `of` equal shares of the plan (0-based).
    pub segment: u32,
    pub of: u32,
    pub assigned_at: i64,
    /// When it was declared lost (no heartbeat past the timeout): its share
    /// after `seconds_sent` did not run, or was not received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<i64>,
    /// When a lost agent was heard again (what it buffered then arrived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Seconds of measurements received from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_sent: Option<u64>,
    /// Requests it finished (responses and errors): the run's `requests`
    /// is the sum over its agents.
    #[serde(default)]
    pub requests: u64,
    /// Its latency histogram (µs, HdrHistogram V2, base64), as `histogram`
    /// is the run's: the run's is their exact merge.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub histogram: String,
}

/// What a WebSocket run did with its sockets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebSocketResult {
    /// Connection attempts: `connected` plus the sum of `connect_errors`.
    pub connects: u64,
    pub connected: u64,
    /// Time to connect and complete the upgrade.
    pub connect_ms: LatencySummary,
    /// Failed connections per error kind (`ws_handshake`, `connect_refused`, …).
    pub connect_errors: BTreeMap<String, u64>,
    /// Sockets open when the run ended.
    pub open_at_end: u64,
    /// Most sockets open at once (sampled each second).
    pub open_max: u64,
    pub messages_sent: u64,
    pub messages_received: u64,
}

/// One request step's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub name: String,
    /// `None` for the global setup and teardown.
    pub scenario: Option<String>,
    /// `"setup"` or `"teardown"` for a step of the global setup or
    /// teardown (absent in results written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<String>,
    /// The groups around the step, outermost first, joined by `/`; absent
    /// for a step in no group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The step's tags, its groups' and scenario's merged in; absent when
    /// it has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub requests: u64,
    pub responses: u64,
    /// Requests that failed: transport errors, plus statuses of 400 or more
    /// that the step's own `status` check did not accept.
    #[serde(default)]
    pub failed: u64,
    pub rps: f64,
    pub latency_ms: LatencySummary,
    pub status: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Requests in flight when the run ended, cut: not in `requests`.
    #[serde(default)]
    pub cut: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    /// Of `requests`, the attempts that were retries; present when the
    /// step has `retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    pub histogram: String,
}

/// A custom metric's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub name: String,
    /// `"counter"`, `"gauge"` or `"trend"`.
    pub kind: String,
    /// A counter's total; a gauge's value at the end (each thread's last
    /// value, summed); a trend's mean.
    pub value: f64,
    /// A trend's number of values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// A trend's figures, in the metric's own unit (the `_ms` names aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<LatencySummary>,
    /// A trend's HDR histogram of the value × 1000, encoded as the latency
    /// histograms are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
    /// Values that were not a non-negative number, left out.
    #[serde(default)]
    pub invalid: u64,
}

/// A group's figures: the sum of its steps' (requests, failures, checks),
/// their latency histograms merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupResult {
    /// The group's path: its name after those of the groups around it,
    /// joined by `/`.
    pub name: String,
    /// `None` for a group of the global setup or teardown.
    pub scenario: Option<String>,
    /// How many step results (`steps`) it rolls up.
    pub steps: u64,
    pub requests: u64,
    pub responses: u64,
    pub failed: u64,
    pub rps: f64,
    pub latency_ms: LatencySummary,
    pub checks: ChecksTotal,
    pub histogram: String,
    /// For the group of a `parallel` batch: the batches themselves, each
    /// lasting until its slowest request ended (`latency_ms` above merges
    /// the requests' own latencies, as for any group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchResult>,
}

/// The batches of a `parallel` step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    /// Batches that ran to their end.
    pub batches: u64,
    /// Each batch's latency: from its start (in an open model, from the
    /// iteration's scheduled start when the batch is its first step) until
    /// its slowest request ended.
    pub latency_ms: LatencySummary,
    /// The same latencies, an HDR histogram (V2, deflated, base64).
    pub histogram: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub label: String,
    pub passed: u64,
    pub failed: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecksTotal {
    pub passed: u64,
    pub failed: u64,
}

/// One scenario's iterations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    /// Iterations that ran to their end: completed, or stopped by an error
    /// (`iteration_counts.completed + iteration_counts.failed`).
    pub iterations: u64,
    /// Iterations stopped by an error (a request failed, a capture found
    /// nothing): `iteration_counts.failed`.
    pub aborted: u64,
    /// Iteration duration; open model: from the scheduled start.
    pub iteration_ms: LatencySummary,
    /// Open model: iterations that started more than 1 ms after their
    /// scheduled moment.
    #[serde(default)]
    pub late: u64,
    /// Open model: iterations scheduled that never started.
    #[serde(default)]
    pub dropped: u64,
    /// What became of the scenario's iterations; absent from results
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_counts: Option<IterationCounts>,
    /// A scenario with its own `load`: its load second by second (absent
    /// for scenarios sharing the file's `load`, whose figures are the run's
    /// timeline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<ScenarioTimelinePoint>,
}

/// One second of a scenario's own load.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioTimelinePoint {
    /// Start of the interval, in seconds since the run started.
    pub t: u32,
    /// The scenario's VUs at the end of the second.
    pub vus: u64,
    /// Iterations of the scenario started in the second.
    pub started: u64,
    /// Iterations started per second.
    pub rate: f64,
}

impl ScenarioResult {
    /// The iteration counts; for a result written before they were
    /// recorded, as far as its figures tell (no cut iterations known).
    pub fn counts(&self) -> IterationCounts {
        self.iteration_counts.unwrap_or(IterationCounts {
            scheduled: None,
            completed: self.iterations.saturating_sub(self.aborted),
            failed: self.aborted,
            cut: 0,
            dropped: self.dropped,
        })
    }
}

/// What became of a run's (or a scenario's) iterations. Each iteration is
/// counted once, in one of `completed`, `failed`, `cut` or `dropped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IterationCounts {
    /// Open model: iterations the schedule released by the end of the run,
    /// the sum of the four outcomes. Absent in a closed model, where
    /// iterations start when a user is free rather than on a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<u64>,
    /// Ran every step.
    pub completed: u64,
    /// Stopped by an error: a request failed, a capture found nothing.
    pub failed: u64,
    /// In flight when the run ended (deadline or interrupt).
    pub cut: u64,
    /// Open model: scheduled, never started (no user was free in time).
    pub dropped: u64,
}

impl IterationCounts {
    /// Adds `other` in; `scheduled` stays known only if both know it.
    pub fn add(&mut self, other: &IterationCounts) {
        self.scheduled = self.scheduled.zip(other.scheduled).map(|(a, b)| a + b);
        self.completed += other.completed;
        self.failed += other.failed;
        self.cut += other.cut;
        self.dropped += other.dropped;
    }
}

/// A threshold and whether it held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The condition as written, e.g. `p95 < 300ms`.
    pub condition: String,
    /// `run`, `scenario NAME` or `step NAME`.
    pub scope: String,
    /// The value the condition was judged on (ms, a fraction, or a number);
    /// absent when the scope saw nothing to measure.
    pub observed: Option<f64>,
    pub passed: bool,
    /// It failed during the run and stopped it.
    #[serde(default)]
    pub aborted_run: bool,
}

/// One cycle of a cycles run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleResult {
    pub index: usize,
    /// Concurrency (VUs) of the cycle.
    pub level: u32,
    /// Length of the steady window measured.
    pub duration_s: f64,
    pub requests: u64,
    pub rps: f64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency_ms: LatencySummary,
}

/// Figures only an open-model run has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenModelResult {
    /// Target rate, requests per second.
    pub rate: f64,
    /// Latency counted from the moment each request actually went out: what
    /// tools without coordinated-omission correction report.
    pub uncorrected_latency_ms: LatencySummary,
    /// Requests (in a scenario run: iterations) that started more than 1 ms
    /// after their scheduled moment.
    pub late: u64,
    /// Scheduled requests (in a scenario run: iterations) that never started
    /// before the run ended.
    pub dropped: u64,
    pub uncorrected_histogram: String,
}

/// What a result is built from.
#[derive(Debug)]
pub struct RunFacts<'a> {
    /// `"bench"` or `"run"`.
    pub kind: &'a str,
    pub config: serde_json::Value,
    /// Whole-run figures, the keys that aggregate merged.
    pub totals: &'a Stats,
    pub timeline: Vec<TimelinePoint>,
    pub elapsed: Duration,
    pub started_at: SystemTime,
    /// Open-model runs: the target rate.
    pub rate: Option<f64>,
    pub partial: bool,
}

impl RunResult {
    /// Builds a result from whole-run figures.
    pub fn new(facts: RunFacts<'_>) -> RunResult {
        let RunFacts {
            kind,
            config,
            totals,
            timeline,
            elapsed,
            started_at,
            rate,
            partial,
        } = facts;
        let duration_s = elapsed.as_secs_f64();
        let requests = totals.requests();
        RunResult {
            schema: SCHEMA_VERSION,
            pummel_version: env!("CARGO_PKG_VERSION").to_owned(),
            kind: kind.to_owned(),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            config,
            requests,
            responses: totals.responses,
            duration_s,
            rps: if duration_s > 0.0 {
                requests as f64 / duration_s
            } else {
                0.0
            },
            latency_ms: totals.latency.summary(),
            status: status_map(totals),
            errors: error_map(totals),
            bytes_received: totals.bytes_received,
            bytes_sent: totals.bytes_sent,
            aborted: totals.aborted,
            requests_cut: totals.aborted,
            iteration_counts: None,
            timeline,
            open_model: rate.map(|rate| {
                let uncorrected = totals.uncorrected.clone().unwrap_or_default();
                OpenModelResult {
                    rate,
                    uncorrected_latency_ms: uncorrected.summary(),
                    late: totals.late,
                    dropped: totals.dropped,
                    uncorrected_histogram: uncorrected.to_base64(),
                }
            }),
            histogram: totals.latency.to_base64(),
            partial,
            steps: Vec::new(),
            groups: Vec::new(),
            metrics: Vec::new(),
            scenarios: Vec::new(),
            checks: None,
            retries: None,
            thresholds: Vec::new(),
            cycles: Vec::new(),
            verdict: None,
            websocket: None,
            failures: Vec::new(),
            agents: Vec::new(),
            late_data_merged: false,
            monitor: None,
            runner: None,
        }
    }

    /// Total failed requests (transport errors; not HTTP error statuses).
    /// Requests under way when the run ended. A result of an older pummel
    /// has them only under their schema-1 name, `aborted`.
    pub fn requests_cut(&self) -> u64 {
        self.requests_cut.max(self.aborted)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Responses per status code, as the JSON has them.
pub fn status_map(stats: &Stats) -> BTreeMap<String, u64> {
    stats
        .status
        .sorted()
        .into_iter()
        .map(|(code, n)| (code.to_string(), n))
        .collect()
}

/// Failed requests per error kind, as the JSON has them.
pub fn error_map(stats: &Stats) -> BTreeMap<String, u64> {
    stats
        .errors
        .nonzero()
        .map(|(kind, n)| (kind.as_str().to_owned(), n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::LatencyHistogram;

    #[test]
    fn json_has_the_documented_keys_and_round_trips() {
        let mut stats = Stats::new(true);
        stats.record_response(
            Duration::from_millis(3),
            Some(Duration::from_millis(1)),
            200,
            100,
            50,
        );
        stats.record_error(ErrorKind::ConnectRefused, 0, 0);
        stats.late = 1;
        let result = RunResult::new(RunFacts {
            kind: "bench",
            config: serde_json::json!({"url": "http://127.0.0.1/"}),
            totals: &stats,
            timeline: vec![],
            elapsed: Duration::from_secs(2),
            started_at: SystemTime::UNIX_EPOCH,
            rate: Some(200.0),
            partial: false,
        });
        let json = serde_json::to_value(&result).unwrap();
        for key in [
            "schema",
            "requests",
            "duration_s",
            "rps",
            "latency_ms",
            "status",
            "errors",
            "bytes_received",
            "bytes_sent",
            "timeline",
            "open_model",
            "partial",
            "histogram",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in ["min", "mean", "p50", "p90", "p95", "p99", "p999", "max"] {
            assert!(
                json["latency_ms"].get(key).is_some(),
                "missing latency_ms.{key}"
            );
            assert!(json["open_model"]["uncorrected_latency_ms"]
                .get(key)
                .is_some());
        }
        assert_eq!(json["schema"], 1);
        assert_eq!(json["requests"], 2);
        assert_eq!(json["rps"], 1.0);
        assert_eq!(json["status"]["200"], 1);
        assert_eq!(json["errors"]["connect_refused"], 1);
        assert_eq!(json["open_model"]["late"], 1);
        assert_eq!(json["started_at"], "1970-01-01T00:00:00Z");
        assert_eq!(json["requests_cut"], 0);
        assert!(json.get("iteration_counts").is_none(), "a bench has none");
        let back: RunResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
        let h = LatencyHistogram::from_base64(&back.histogram).unwrap();
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn iteration_counts_of_a_schema_1_scenario_come_from_its_figures() {
        let old: ScenarioResult = serde_json::from_value(serde_json::json!({
            "name": "s", "iterations": 10, "aborted": 3, "dropped": 4,
            "iteration_ms": LatencyHistogram::new().summary(),
        }))
        .unwrap();
        let counts = old.counts();
        assert_eq!(
            counts,
            IterationCounts {
                scheduled: None,
                completed: 7,
                failed: 3,
                cut: 0,
                dropped: 4
            }
        );
        let mut total = IterationCounts {
            scheduled: Some(0),
            ..IterationCounts::default()
        };
        let open = IterationCounts {
            scheduled: Some(9),
            completed: 5,
            failed: 1,
            cut: 1,
            dropped: 2,
        };
        total.add(&open);
        total.add(&open);
        assert_eq!(total.scheduled, Some(18));
        assert_eq!((total.completed, total.cut, total.dropped), (10, 2, 4));
        total.add(&counts);
        assert_eq!(total.scheduled, None, "unknown once a part is unknown");
    }
}
