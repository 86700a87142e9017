//! The text summary printed at the end of a run.

use std::fmt::Write;

use pummel_core::metrics::LatencySummary;
use pummel_core::result::RunResult;
use pummel_core::ErrorKind;

use super::format;

/// Renders a result as the end-of-run summary.
pub(crate) fn render(r: &RunResult) -> String {
    if r.kind == "run" {
        return render_run(r);
    }
    let mut out = String::new();
    let url = r.config.get("url").and_then(|v| v.as_str()).unwrap_or("?");
    let method = if r.websocket.is_some() {
        "WebSocket"
    } else {
        r.config
            .get("method")
            .and_then(|v| v.as_str())
            .unwrap_or("GET")
    };
    let connections = r
        .config
        .get("connections")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let threads = r
        .config
        .get("threads")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let _ = writeln!(out, "{method} {url}");
    let _ = writeln!(
        out,
        "  {connections} connections, {threads} threads{}{}",
        r.open_model
            .as_ref()
            .map(|o| format!(", target rate {} req/s", format::rate(o.rate)))
            .unwrap_or_default(),
        if r.partial {
            "  — INTERRUPTED: partial result"
        } else {
            ""
        },
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  Requests    {:>12}  in {:.2}s  = {} req/s",
        format::thousands(r.requests),
        r.duration_s,
        format::rate(r.rps)
    );
    let _ = writeln!(
        out,
        "  Responses   {:>12}   errors {}{}",
        format::thousands(r.responses),
        format::thousands(r.error_count()),
        if r.aborted > 0 {
            format!("   in flight at the end {}", format::thousands(r.aborted))
        } else {
            String::new()
        },
    );
    let per_s = |n: u64| {
        if r.duration_s > 0.0 {
            (n as f64 / r.duration_s) as u64
        } else {
            0
        }
    };
    let _ = writeln!(
        out,
        "  Transfer    received {} ({}/s)   sent {} ({}/s)",
        format::bytes(r.bytes_received),
        format::bytes(per_s(r.bytes_received)),
        format::bytes(r.bytes_sent),
        format::bytes(per_s(r.bytes_sent)),
    );
    if let Some(ws) = &r.websocket {
        let _ = writeln!(
            out,
            "  Sockets     {} connected of {} attempts   open at the end {}   most open {}   connect p50 {}  p99 {}",
            format::thousands(ws.connected),
            format::thousands(ws.connects),
            format::thousands(ws.open_at_end),
            format::thousands(ws.open_max),
            format::latency(ws.connect_ms.p50),
            format::latency(ws.connect_ms.p99),
        );
        let _ = writeln!(
            out,
            "  Messages    sent {}   replies {}   (latency: message sent → reply received)",
            format::thousands(ws.messages_sent),
            format::thousands(ws.messages_received),
        );
        for (kind, n) in &ws.connect_errors {
            let description = ErrorKind::from_key(kind).map_or("", ErrorKind::describe);
            let _ = writeln!(
                out,
                "    connect failed {:>8}  {kind} ({description})",
                format::thousands(*n)
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  Latency     {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    let label = if r.open_model.is_some() {
        "  (scheduled)"
    } else {
        "             "
    };
    let _ = writeln!(out, "{label}{}", latency_row(&r.latency_ms));
    if let Some(open) = &r.open_model {
        let _ = writeln!(
            out,
            "  (sent)     {}",
            latency_row(&open.uncorrected_latency_ms)
        );
        let _ = writeln!(
            out,
            "  Open model  late {} (started >1ms after schedule)   dropped {} (never started)",
            format::thousands(open.late),
            format::thousands(open.dropped),
        );
        let _ = writeln!(
            out,
            "              'scheduled' counts from each request's scheduled start (no coordinated omission)"
        );
    }
    let _ = writeln!(out);
    status_and_errors(&mut out, r);
    out
}

/// The summary of a scenario run: totals, then per step, scenario, check,
/// cycle and threshold.
fn render_run(r: &RunResult) -> String {
    let mut out = String::new();
    let file = r.config.get("file").and_then(|v| v.as_str()).unwrap_or("?");
    let threads = r
        .config
        .get("threads")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{file}  ({threads} threads){}",
        if r.partial {
            "  — INTERRUPTED: partial result"
        } else {
            ""
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  Requests    {:>12}  in {:.2}s  = {} req/s   errors {}",
        format::thousands(r.requests),
        r.duration_s,
        format::rate(r.rps),
        format::thousands(r.error_count()),
    );
    let _ = writeln!(
        out,
        "  Latency     {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    let _ = writeln!(out, "             {}", latency_row(&r.latency_ms));
    if let Some(open) = &r.open_model {
        let _ = writeln!(
            out,
            "  Open model  iterations late {}   dropped {}   (latency counts from the scheduled start)",
            format::thousands(open.late),
            format::thousands(open.dropped)
        );
    }
    status_and_errors(&mut out, r);

    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<32} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "step", "requests", "errors", "req/s", "p50", "p95", "p99", "max"
    );
    for step in &r.steps {
        let name = match &step.scenario {
            Some(s) => format!("{s}/{}", step.name),
            None => format!("(setup)/{}", step.name),
        };
        let errors = step.failed;
        let l = &step.latency_ms;
        let _ = writeln!(
            out,
            "  {:<32} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
            truncate(&name, 32),
            format::thousands(step.requests),
            format::thousands(errors),
            format::rate(step.rps),
            format::latency(l.p50),
            format::latency(l.p95),
            format::latency(l.p99),
            format::latency(l.max),
        );
        for check in &step.checks {
            let total = check.passed + check.failed;
            let mark = if check.failed == 0 { "✓" } else { "✗" };
            let _ = writeln!(
                out,
                "    {mark} {:<40} {:>6.2}%  ({} of {} failed)",
                truncate(&check.label, 40),
                if total > 0 {
                    check.passed as f64 * 100.0 / total as f64
                } else {
                    100.0
                },
                format::thousands(check.failed),
                format::thousands(total),
            );
        }
    }
    if !r.scenarios.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<24} {:>10} {:>8} {:>10} {:>10} {:>10}",
            "scenario", "iterations", "aborted", "p50", "p95", "max"
        );
        for s in &r.scenarios {
            let _ = writeln!(
                out,
                "  {:<24} {:>10} {:>8} {:>10} {:>10} {:>10}",
                truncate(&s.name, 24),
                format::thousands(s.iterations),
                format::thousands(s.aborted),
                format::latency(s.iteration_ms.p50),
                format::latency(s.iteration_ms.p95),
                format::latency(s.iteration_ms.max),
            );
        }
    }
    if let Some(checks) = &r.checks {
        let total = checks.passed + checks.failed;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  Checks      {} passed, {} failed ({:.2}% passed)",
            format::thousands(checks.passed),
            format::thousands(checks.failed),
            if total > 0 {
                checks.passed as f64 * 100.0 / total as f64
            } else {
                100.0
            }
        );
    }
    if !r.cycles.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<6} {:>6} {:>10} {:>9} {:>8} {:>8} {:>8}",
            "cycle", "VUs", "req/s", "errors", "p50", "p95", "p99"
        );
        for c in &r.cycles {
            let _ = writeln!(
                out,
                "  {:<6} {:>6} {:>10} {:>8.2}% {:>8} {:>8} {:>8}",
                c.index + 1,
                c.level,
                format::rate(c.rps),
                c.error_rate * 100.0,
                format::latency(c.latency_ms.p50),
                format::latency(c.latency_ms.p95),
                format::latency(c.latency_ms.p99),
            );
        }
    }
    if !r.failures.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "  Failures (examples)");
        for f in r.failures.iter().take(5) {
            let _ = writeln!(out, "    {f}");
        }
    }
    if !r.thresholds.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "  Thresholds");
        for t in &r.thresholds {
            let mark = if t.passed { "✓ pass" } else { "✗ FAIL" };
            let observed = t
                .observed
                .map_or("no data".to_owned(), |v| format!("{v:.3}"));
            let _ = writeln!(
                out,
                "    {mark}  {:<28} {:<24} observed {observed}{}",
                t.condition,
                t.scope,
                if t.aborted_run {
                    "  (stopped the run)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(out);
        let verdict = r.verdict.as_deref().unwrap_or("pass");
        let _ = writeln!(
            out,
            "  Verdict     {}",
            if verdict == "pass" { "PASS" } else { "FAIL" }
        );
    }
    out
}

/// Responses per status code, then failures per error kind.
fn status_and_errors(out: &mut String, r: &RunResult) {
    if !r.status.is_empty() {
        let codes: Vec<String> = r
            .status
            .iter()
            .map(|(code, n)| format!("{code} × {}", format::thousands(*n)))
            .collect();
        let _ = writeln!(out, "  Status      {}", codes.join("   "));
    }
    if !r.errors.is_empty() {
        let _ = writeln!(out, "  Errors");
        for (kind, n) in &r.errors {
            let description = ErrorKind::from_key(kind).map_or("", ErrorKind::describe);
            let _ = writeln!(
                out,
                "    {:>12}  {kind} ({description})",
                format::thousands(*n)
            );
        }
    }
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn latency_row(l: &LatencySummary) -> String {
    [l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max]
        .iter()
        .map(|v| format!(" {:>8}", format::latency(*v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pummel_core::metrics::Stats;
    use pummel_core::result::RunFacts;
    use std::time::{Duration, SystemTime};

    #[test]
    fn renders_the_key_figures() {
        let mut stats = Stats::new(true);
        for ms in [1, 2, 3] {
            stats.record_response(
                Duration::from_millis(ms),
                Some(Duration::from_millis(1)),
                200,
                100,
                10,
            );
        }
        stats.record_error(ErrorKind::Reset, 0, 10);
        stats.dropped = 4;
        let result = RunResult::new(RunFacts {
            kind: "bench",
            config: serde_json::json!({"url": "http://127.0.0.1:1/", "method": "GET", "connections": 5, "threads": 2}),
            totals: &stats,
            timeline: vec![],
            elapsed: Duration::from_secs(2),
            started_at: SystemTime::now(),
            rate: Some(2.0),
            partial: true,
        });
        let text = render(&result);
        assert!(text.contains("GET http://127.0.0.1:1/"), "{text}");
        assert!(text.contains("INTERRUPTED"), "{text}");
        assert!(text.contains("= 2.0 req/s"), "{text}");
        assert!(text.contains("200 × 3"), "{text}");
        assert!(text.contains("reset (connection reset by peer)"), "{text}");
        assert!(text.contains("dropped 4"), "{text}");
        assert!(text.contains("2.00ms"), "{text}");
    }
}
