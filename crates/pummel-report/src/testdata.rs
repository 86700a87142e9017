//! Results for unit tests, built as JSON (as a file would hold them) so that
//! keys added to the schema later do not break the fixtures.

use pummel_result::result::RunResult;
use pummel_result::LatencyHistogram;
use serde_json::{json, Value};

/// A histogram of `n` latencies spread evenly over `lo_ms..hi_ms`, encoded.
pub(crate) fn histogram(n: u64, lo_ms: f64, hi_ms: f64) -> String {
    let mut h = LatencyHistogram::new();
    for i in 0..n {
        let ms = lo_ms + (hi_ms - lo_ms) * i as f64 / n.max(2).saturating_sub(1) as f64;
        h.record_us((ms * 1000.0) as u64);
    }
    h.to_base64()
}

fn latency(lo: f64, hi: f64) -> Value {
    let span = hi - lo;
    json!({
        "min": lo, "mean": lo + span / 2.0, "stdev": span / 4.0,
        "p50": span.mul_add(0.5, lo), "p90": span.mul_add(0.9, lo), "p95": span.mul_add(0.95, lo),
        "p99": span.mul_add(0.99, lo), "p999": span.mul_add(0.999, lo), "max": hi
    })
}

fn timeline(points: u32, rps: f64, p50: f64, gauges: bool) -> Value {
    (0..points)
        .map(|t| {
            let mut p = json!({
                "t": t, "duration_s": 1.0, "requests": rps as u64, "errors": u64::from(t == 2),
                "rps": rps, "p50_ms": p50, "p90_ms": p50 * 1.8, "p99_ms": p50 * 3.0,
                "max_ms": p50 * 4.0, "bytes_received": 1000, "bytes_sent": 500
            });
            if gauges {
                p["gauges"] = json!({"vus": 5 + t, "sockets": 3});
            }
            p
        })
        .collect()
}

fn base(kind: &str, config: Value, requests: u64, rps: f64, lat: Value, hist: String) -> Value {
    json!({
        "schema": 1, "pummel_version": "0.1.0", "kind": kind,
        "started_at": "2026-01-02T03:04:05Z", "config": config,
        "requests": requests, "responses": requests, "duration_s": requests as f64 / rps,
        "rps": rps, "latency_ms": lat, "status": {"200": requests}, "errors": {},
        "bytes_received": requests * 120, "bytes_sent": requests * 80, "aborted": 0,
        "timeline": timeline(5, rps, 2.0, kind == "run"), "histogram": hist, "partial": false
    })
}

fn parse(v: Value) -> RunResult {
    serde_json::from_value(v).expect("fixture is a valid result")
}

/// A closed-model bench of 5,000 requests.
pub(crate) fn bench() -> RunResult {
    let config =
        json!({"url": "http://127.0.0.1:8080/", "method": "GET", "connections": 10, "threads": 2});
    parse(base(
        "bench",
        config,
        5000,
        1000.0,
        latency(0.5, 9.5),
        histogram(5000, 0.5, 9.5),
    ))
}

/// An open-model bench (`-q`): late requests, uncorrected latency.
pub(crate) fn open_bench() -> RunResult {
    let config = json!({"url": "http://127.0.0.1:8080/delay/3", "method": "GET", "rate": 200.0});
    let mut v = base(
        "bench",
        config,
        600,
        200.0,
        latency(3.5, 12.0),
        histogram(600, 3.5, 12.0),
    );
    v["open_model"] = json!({
        "rate": 200.0, "uncorrected_latency_ms": latency(3.2, 6.0), "late": 19, "dropped": 3,
        "uncorrected_histogram": histogram(600, 3.2, 6.0)
    });
    v["timeline"][1]["late"] = json!(8);
    parse(v)
}

/// A scenario run with two scenarios, three steps, checks, failed
/// thresholds, error statuses, transport errors and failure examples.
pub(crate) fn scenario_run() -> RunResult {
    let config = json!({"name": "shop <demo>", "file": "shop.yaml", "url": "http://127.0.0.1:8080/", "max_vus": 5});
    let mut v = base(
        "run",
        config,
        1002,
        250.0,
        latency(0.1, 20.0),
        histogram(1000, 0.1, 20.0),
    );
    v["responses"] = json!(1000);
    v["status"] = json!({"200": 950, "503": 50});
    v["errors"] = json!({"timeout": 2});
    let step = |name: &str,
                scenario: &str,
                requests: u64,
                lo: f64,
                hi: f64,
                status: Value,
                errors: Value| {
        let transport: u64 = errors
            .as_object()
            .map_or(0, |o| o.values().filter_map(Value::as_u64).sum());
        let responses = requests - transport;
        // No check of these steps accepts an error status: every status of
        // 400 or more is a failed request.
        let error_statuses: u64 = status.as_object().map_or(0, |o| {
            o.iter()
                .filter(|(code, _)| code.parse::<u16>().is_ok_and(|c| c >= 400))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        });
        json!({
            "name": name, "scenario": scenario, "requests": requests, "responses": responses,
            "failed": transport + error_statuses,
            "rps": requests as f64 / 4.0, "latency_ms": latency(lo, hi), "status": status,
            "errors": errors, "bytes_received": requests * 100, "bytes_sent": requests * 50,
            "checks": [{"label": "status 200", "passed": if name == "flaky" { 0 } else { responses }, "failed": if name == "flaky" { 50 } else { 0 }}],
            "histogram": histogram(responses, lo, hi)
        })
    };
    v["steps"] = json!([
        step(
            "json",
            "browse",
            600,
            0.1,
            2.0,
            json!({"200": 600}),
            json!({})
        ),
        step(
            "slow <1>",
            "browse",
            350,
            5.0,
            20.0,
            json!({"200": 350}),
            json!({})
        ),
        step(
            "flaky",
            "buy",
            52,
            0.1,
            1.0,
            json!({"503": 50}),
            json!({"timeout": 2})
        ),
    ]);
    v["scenarios"] = json!([
        {"name": "browse", "iterations": 350, "aborted": 0, "iteration_ms": latency(5.2, 22.0)},
        {"name": "buy", "iterations": 52, "aborted": 2, "iteration_ms": latency(0.1, 1.0), "late": 0, "dropped": 0,
         "iteration_counts": {"completed": 50, "failed": 2, "cut": 1, "dropped": 0}}
    ]);
    // `browse` is as a result written before iteration counts were recorded.
    v["iteration_counts"] = json!({"completed": 400, "failed": 2, "cut": 1, "dropped": 0});
    v["aborted"] = json!(1);
    v["requests_cut"] = json!(1);
    v["checks"] = json!({"passed": 950, "failed": 50});
    v["thresholds"] = json!([
        {"condition": "p95 < 250ms", "scope": "run", "observed": 19.0, "passed": true},
        {"condition": "error_rate < 1%", "scope": "run", "observed": 0.0519, "passed": false},
        {"condition": "p99 < 3ms", "scope": "step slow <1>", "observed": 19.85, "passed": false, "aborted_run": false},
        {"condition": "rps > 10", "scope": "scenario buy", "observed": null, "passed": false}
    ]);
    v["verdict"] = json!("fail");
    v["failures"] = json!([
        "/status/503: status 200: status 503, expected 200",
        "/status/503: status 200: status 503, expected 200",
        "/delay/5000: timeout <after 5s> & \"quoted\""
    ]);
    parse(v)
}

/// A cycles run over levels 2, 4, 8, 16 that saturates at 8.
pub(crate) fn cycles_run() -> RunResult {
    let config = json!({"name": "capacity", "url": "http://127.0.0.1:8080/"});
    let mut v = base(
        "run",
        config,
        6000,
        600.0,
        latency(5.0, 40.0),
        histogram(6000, 5.0, 40.0),
    );
    let cycle = |index: usize, level: u32, rps: f64, p50: f64| {
        json!({
            "index": index, "level": level, "duration_s": 2.0, "requests": (rps * 2.0) as u64,
            "rps": rps, "errors": 0, "error_rate": 0.0, "latency_ms": latency(p50 * 0.8, p50 * 2.0)
        })
    };
    v["cycles"] = json!([
        cycle(0, 2, 200.0, 9.0),
        cycle(1, 4, 400.0, 9.2),
        cycle(2, 8, 780.0, 10.0),
        cycle(3, 16, 800.0, 19.5)
    ]);
    parse(v)
}

/// The fewest keys a result can have: nothing measured, no histogram.
pub(crate) fn minimal() -> RunResult {
    parse(json!({
        "schema": 1, "pummel_version": "0.1.0", "kind": "bench", "started_at": "",
        "config": null, "requests": 0, "responses": 0, "duration_s": 0.0, "rps": 0.0,
        "latency_ms": latency(0.0, 0.0), "status": {}, "errors": {}, "bytes_received": 0,
        "bytes_sent": 0, "aborted": 0, "timeline": [], "histogram": "", "partial": true
    }))
}
