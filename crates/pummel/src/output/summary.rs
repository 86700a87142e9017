//! The text summary printed at the end of a run.

use std::fmt::Write;

use pummel_core::metrics::LatencySummary;
use pummel_core::result::RunResult;
use pummel_core::ErrorKind;

use super::format;

/// Renders a result as the end-of-run summary.
pub fn render(r: &RunResult) -> String {
    let mut out = String::new();
    let url = r.config.get("url").and_then(|v| v.as_str()).unwrap_or("?");
    let method = r.config.get("method").and_then(|v| v.as_str()).unwrap_or("GET");
    let connections = r.config.get("connections").and_then(|v| v.as_u64()).unwrap_or(0);
    let threads = r.config.get("threads").and_then(|v| v.as_u64()).unwrap_or(0);
    let _ = writeln!(out, "{method} {url}");
    let _ = writeln!(
        out,
        "  {connections} connections, {threads} threads{}{}",
        r.open_model.as_ref().map(|o| format!(", target rate {} req/s", format::rate(o.rate))).unwrap_or_default(),
        if r.partial { "  — INTERRUPTED: partial result" } else { "" },
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
        if r.aborted > 0 { format!("   in flight at the end {}", format::thousands(r.aborted)) } else { String::new() },
    );
    let per_s = |n: u64| if r.duration_s > 0.0 { (n as f64 / r.duration_s) as u64 } else { 0 };
    let _ = writeln!(
        out,
        "  Transfer    received {} ({}/s)   sent {} ({}/s)",
        format::bytes(r.bytes_received),
        format::bytes(per_s(r.bytes_received)),
        format::bytes(r.bytes_sent),
        format::bytes(per_s(r.bytes_sent)),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  Latency     {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    let label = if r.open_model.is_some() { "  (scheduled)" } else { "             " };
    let _ = writeln!(out, "{label}{}", latency_row(&r.latency_ms));
    if let Some(open) = &r.open_model {
        let _ = writeln!(out, "  (sent)     {}", latency_row(&open.uncorrected_latency_ms));
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
            let _ = writeln!(out, "    {:>12}  {kind} ({description})", format::thousands(*n));
        }
    }
    out
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
    use std::time::{Duration, SystemTime};

    #[test]
    fn renders_the_key_figures() {
        let mut stats = Stats::new(true);
        for ms in [1, 2, 3] {
            stats.record_response(Duration::from_millis(ms), Some(Duration::from_millis(1)), 200, 100, 10);
        }
        stats.record_error(ErrorKind::Reset, 0, 10);
        stats.dropped = 4;
        let result = RunResult::new(
            "bench",
            serde_json::json!({"url": "http://127.0.0.1:1/", "method": "GET", "connections": 5, "threads": 2}),
            &stats,
            vec![],
            Duration::from_secs(2),
            SystemTime::now(),
            Some(2.0),
            true,
        );
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
