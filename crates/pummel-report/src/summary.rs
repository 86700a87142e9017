//! The text summary printed at the end of a run (and by `pummel report`
//! with nothing else asked for): a bench's totals, or a scenario run's
//! totals then per step, scenario, check, cycle and threshold.
//!
//! Terminal columns use [`format::ms_compact`] and [`format::rate_tenths`],
//! which line up in a fixed-width font; counts and bytes read as in every
//! other report.

use std::fmt::Write;

use pummel_result::result::RunResult;
use pummel_result::{ErrorKind, LatencySummary};

use crate::format;

/// Renders a result as the end-of-run summary.
pub fn render(r: &RunResult) -> String {
    let mut out = String::new();
    if r.kind == "run" {
        run_header(&mut out, r);
        run_totals(&mut out, r);
        status_and_errors(&mut out, r);
        steps(&mut out, r);
        groups(&mut out, r);
        custom_metrics(&mut out, r);
        scenarios(&mut out, r);
        checks(&mut out, r);
        cycles(&mut out, r);
        runner(&mut out, r);
        failures(&mut out, r);
        thresholds(&mut out, r);
    } else {
        bench_header(&mut out, r);
        bench_totals(&mut out, r);
        if let Some(ws) = &r.websocket {
            websocket(&mut out, ws);
        }
        let _ = writeln!(out);
        bench_latency(&mut out, r);
        let _ = writeln!(out);
        status_and_errors(&mut out, r);
    }
    out
}

fn config_str<'a>(r: &'a RunResult, key: &str) -> Option<&'a str> {
    r.config.get(key).and_then(|v| v.as_str())
}

fn config_u64(r: &RunResult, key: &str) -> u64 {
    r.config.get(key).and_then(|v| v.as_u64()).unwrap_or(0)
}

fn interrupted(r: &RunResult) -> &'static str {
    if r.partial {
        "  — INTERRUPTED: partial result"
    } else {
        ""
    }
}

/// What was benchmarked, with how many connections and threads.
fn bench_header(out: &mut String, r: &RunResult) {
    let url = config_str(r, "url").unwrap_or("?");
    let method = if r.websocket.is_some() {
        "WebSocket"
    } else {
        config_str(r, "method").unwrap_or("GET")
    };
    let _ = writeln!(out, "{method} {url}");
    let _ = writeln!(
        out,
        "  {}, {}{}{}",
        counted(config_u64(r, "connections"), "connection"),
        counted(config_u64(r, "threads"), "thread"),
        r.open_model
            .as_ref()
            .map(|o| format!(", target rate {} req/s", format::rate_tenths(o.rate)))
            .unwrap_or_default(),
        interrupted(r),
    );
    let _ = writeln!(out);
}

/// A bench's requests, responses and bytes moved.
fn bench_totals(out: &mut String, r: &RunResult) {
    let _ = writeln!(
        out,
        "  Requests    {:>12}  in {:.2}s  = {} req/s",
        format::count(r.requests),
        r.duration_s,
        format::rate_tenths(r.rps)
    );
    let _ = writeln!(
        out,
        "  Responses   {:>12}   errors {}{}",
        format::count(r.responses),
        format::count(r.error_count()),
        cut_at_the_end(r),
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
}

/// A WebSocket bench's connections and messages.
fn websocket(out: &mut String, ws: &pummel_result::result::WebSocketResult) {
    let _ = writeln!(
        out,
        "  Sockets     {} connected of {} attempts   open at the end {}   most open {}   connect p50 {}  p99 {}",
        format::count(ws.connected),
        format::count(ws.connects),
        format::count(ws.open_at_end),
        format::count(ws.open_max),
        format::ms_compact(ws.connect_ms.p50),
        format::ms_compact(ws.connect_ms.p99),
    );
    let _ = writeln!(
        out,
        "  Messages    sent {}   replies {}   (latency: message sent → reply received)",
        format::count(ws.messages_sent),
        format::count(ws.messages_received),
    );
    for (kind, n) in &ws.connect_errors {
        let description = ErrorKind::from_key(kind).map_or("", ErrorKind::describe);
        let _ = writeln!(
            out,
            "    connect failed {:>8}  {kind} ({description})",
            format::count(*n)
        );
    }
}

fn latency_heading(out: &mut String) {
    let _ = writeln!(
        out,
        "  Latency     {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
}

/// A bench's latency table; in an open model also from the actual send,
/// with the late and dropped requests.
fn bench_latency(out: &mut String, r: &RunResult) {
    latency_heading(out);
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
            format::count(open.late),
            format::count(open.dropped),
        );
        let _ = writeln!(
            out,
            "              'scheduled' counts from each request's scheduled start (no coordinated omission)"
        );
    }
}

/// `1 thread`, `2 threads`.
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The scenario file and its threads.
fn run_header(out: &mut String, r: &RunResult) {
    let _ = writeln!(
        out,
        "{}  ({}){}",
        config_str(r, "file").unwrap_or("?"),
        counted(config_u64(r, "threads"), "thread"),
        interrupted(r)
    );
    let _ = writeln!(out);
}

/// Requests that were under way when the run ended, if any.
fn cut_at_the_end(r: &RunResult) -> String {
    let cut = r.requests_cut();
    if cut > 0 {
        format!("   cut at the end {}", format::count(cut))
    } else {
        String::new()
    }
}

/// A scenario run's requests and latency over all steps, and what became
/// of its iterations.
fn run_totals(out: &mut String, r: &RunResult) {
    let _ = writeln!(
        out,
        "  Requests    {:>12}  in {:.2}s  = {} req/s   errors {}{}",
        format::count(r.requests),
        r.duration_s,
        format::rate_tenths(r.rps),
        format::count(r.error_count()),
        cut_at_the_end(r),
    );
    latency_heading(out);
    let _ = writeln!(out, "             {}", latency_row(&r.latency_ms));
    if let Some(it) = &r.iteration_counts {
        let scheduled = it
            .scheduled
            .map(|n| format!("scheduled {}: ", format::count(n)))
            .unwrap_or_default();
        let dropped = if it.scheduled.is_some() {
            format!("   dropped {}", format::count(it.dropped))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  Iterations  {scheduled}completed {}   failed {}   cut at the end {}{dropped}",
            format::count(it.completed),
            format::count(it.failed),
            format::count(it.cut),
        );
    }
    if let Some(open) = &r.open_model {
        let _ = writeln!(
            out,
            "  Open model  iterations late {}   dropped {}   (latency counts from the scheduled start)",
            format::count(open.late),
            format::count(open.dropped)
        );
    }
}

/// Percentage of checks passed; 100 when none ran.
fn passed_percent(passed: u64, failed: u64) -> f64 {
    let total = passed + failed;
    if total > 0 {
        passed as f64 * 100.0 / total as f64
    } else {
        100.0
    }
}

/// One line per step, its checks under it.
fn steps(out: &mut String, r: &RunResult) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<32} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "step", "requests", "errors", "req/s", "p50", "p95", "p99", "max"
    );
    for step in &r.steps {
        let name = match &step.scenario {
            Some(s) => format!("{s}/{}", step.name),
            None => format!(
                "({})/{}",
                step.global.as_deref().unwrap_or("setup"),
                step.name
            ),
        };
        let l = &step.latency_ms;
        let _ = writeln!(
            out,
            "  {:<32} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
            truncate(&name, 32),
            format::count(step.requests),
            format::count(step.failed),
            format::rate_tenths(step.rps),
            format::ms_compact(l.p50),
            format::ms_compact(l.p95),
            format::ms_compact(l.p99),
            format::ms_compact(l.max),
        );
        if let Some(retries) = step.retries.filter(|n| *n > 0) {
            // Retries are among the requests above; say how many.
            let _ = writeln!(
                out,
                "    ↻ {} of the requests were retries",
                format::count(retries),
            );
        }
        for check in &step.checks {
            if check.passed + check.failed == 0 {
                // Never ran (its step never got a response): no pass to show.
                let _ = writeln!(
                    out,
                    "    – {:<40} not evaluated (the step got no response)",
                    truncate(&check.label, 40),
                );
                continue;
            }
            let mark = if check.failed == 0 { "✓" } else { "✗" };
            let _ = writeln!(
                out,
                "    {mark} {:<40} {:>6.2}%  ({} of {} failed)",
                truncate(&check.label, 40),
                passed_percent(check.passed, check.failed),
                format::count(check.failed),
                format::count(check.passed + check.failed),
            );
        }
    }
}

/// Per group, its steps rolled up, when the file has groups.
fn groups(out: &mut String, r: &RunResult) {
    if r.groups.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<32} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "group", "requests", "errors", "req/s", "p50", "p95", "p99", "max"
    );
    for g in &r.groups {
        let name = format!("{}/{}", g.scenario.as_deref().unwrap_or("(global)"), g.name);
        let l = &g.latency_ms;
        let _ = writeln!(
            out,
            "  {:<32} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
            truncate(&name, 32),
            format::count(g.requests),
            format::count(g.failed),
            format::rate_tenths(g.rps),
            format::ms_compact(l.p50),
            format::ms_compact(l.p95),
            format::ms_compact(l.p99),
            format::ms_compact(l.max),
        );
        if let Some(b) = &g.batch {
            // A `parallel` batch: its own latency, until its slowest
            // request ended, beside its requests' merged above.
            let l = &b.latency_ms;
            let _ = writeln!(
                out,
                "    {:<30} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
                "batches (slowest request)",
                format::count(b.batches),
                "",
                "",
                format::ms_compact(l.p50),
                format::ms_compact(l.p95),
                format::ms_compact(l.p99),
                format::ms_compact(l.max),
            );
        }
    }
}

/// Custom metrics: a counter's total, a gauge's value, a trend's figures.
fn custom_metrics(out: &mut String, r: &RunResult) {
    if r.metrics.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<24} {:<8} {:>12} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "metric", "kind", "value", "count", "p50", "p95", "p99", "max"
    );
    for m in &r.metrics {
        let number = format::sig3;
        let (count, p50, p95, p99, max) = match (&m.trend, m.count) {
            (Some(t), Some(n)) => (
                format::count(n),
                number(t.p50),
                number(t.p95),
                number(t.p99),
                number(t.max),
            ),
            _ => Default::default(),
        };
        let line = format!(
            "  {:<24} {:<8} {:>12} {:>9} {:>10} {:>10} {:>10} {:>10}",
            truncate(&m.name, 24),
            m.kind,
            if m.trend.is_some() {
                number(m.value)
            } else {
                format::thousandths(m.value)
            },
            count,
            p50,
            p95,
            p99,
            max,
        );
        let _ = writeln!(out, "{}", line.trim_end());
        if m.invalid > 0 {
            let _ = writeln!(
                out,
                "    ✗ {} values were not a non-negative number (left out)",
                format::count(m.invalid)
            );
        }
    }
}

/// Iterations per scenario, when the run had scenarios.
fn scenarios(out: &mut String, r: &RunResult) {
    if r.scenarios.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<24} {:>10} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "scenario", "completed", "failed", "cut", "dropped", "p50", "p95", "max"
    );
    for s in &r.scenarios {
        let counts = s.counts();
        let _ = writeln!(
            out,
            "  {:<24} {:>10} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}",
            truncate(&s.name, 24),
            format::count(counts.completed),
            format::count(counts.failed),
            format::count(counts.cut),
            format::count(counts.dropped),
            format::ms_compact(s.iteration_ms.p50),
            format::ms_compact(s.iteration_ms.p95),
            format::ms_compact(s.iteration_ms.max),
        );
    }
}

/// All checks together.
fn checks(out: &mut String, r: &RunResult) {
    let Some(checks) = &r.checks else {
        return;
    };
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  Checks      {} passed, {} failed ({:.2}% passed)",
        format::count(checks.passed),
        format::count(checks.failed),
        passed_percent(checks.passed, checks.failed)
    );
}

/// One line per cycle of a cycles run.
fn cycles(out: &mut String, r: &RunResult) {
    if r.cycles.is_empty() {
        return;
    }
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
            format::rate_tenths(c.rps),
            c.error_rate * 100.0,
            format::ms_compact(c.latency_ms.p50),
            format::ms_compact(c.latency_ms.p95),
            format::ms_compact(c.latency_ms.p99),
        );
    }
}

/// A runner's run: what ran it, its custom metrics, and what went wrong
/// with its processes, by named kind.
fn runner(out: &mut String, r: &RunResult) {
    let Some(runner) = &r.runner else {
        return;
    };
    let _ = writeln!(out);
    let incidents = if runner.incidents.is_empty() {
        "no incidents".to_owned()
    } else {
        runner
            .incidents
            .iter()
            .map(|(k, n)| format!("{k} × {}", format::count(*n)))
            .collect::<Vec<_>>()
            .join("   ")
    };
    let _ = writeln!(
        out,
        "  Runner      {} × {}   {incidents}",
        runner.kind, runner.processes
    );
    for m in &runner.metrics {
        let value = match (&m.trend, m.value) {
            (Some(t), _) if m.kind == "trend" => format!(
                "p50 {}  p95 {}  max {}",
                format::ms_compact(t.p50),
                format::ms_compact(t.p95),
                format::ms_compact(t.max)
            ),
            (_, Some(v)) => format!("{v}"),
            _ => String::new(),
        };
        let _ = writeln!(out, "    {} ({})  {value}", m.name, m.kind);
    }
}

/// The first few failure examples.
fn failures(out: &mut String, r: &RunResult) {
    if r.failures.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "  Failures (examples)");
    for f in r.failures.iter().take(5) {
        let _ = writeln!(out, "    {f}");
    }
}

/// Each threshold's outcome, then the verdict.
fn thresholds(out: &mut String, r: &RunResult) {
    if r.thresholds.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "  Thresholds");
    for t in &r.thresholds {
        let mark = if t.passed { "✓ pass" } else { "✗ FAIL" };
        // In the condition's unit (ms, %, /s), as every other report shows it.
        let observed = crate::thresholds::observed(t);
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

/// Responses per status code, then failures per error kind.
fn status_and_errors(out: &mut String, r: &RunResult) {
    if !r.status.is_empty() {
        let codes: Vec<String> = r
            .status
            .iter()
            .map(|(code, n)| format!("{code} × {}", format::count(*n)))
            .collect();
        let _ = writeln!(out, "  Status      {}", codes.join("   "));
    }
    if !r.errors.is_empty() {
        let _ = writeln!(out, "  Errors");
        for (kind, n) in &r.errors {
            let description = ErrorKind::from_key(kind).map_or("", ErrorKind::describe);
            let _ = writeln!(out, "    {:>12}  {kind} ({description})", format::count(*n));
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
        .map(|v| format!(" {:>8}", format::ms_compact(*v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pummel_result::result::RunFacts;
    use pummel_result::Stats;
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

    #[test]
    fn a_run_shows_what_became_of_its_requests_and_iterations() {
        let text = render(&crate::testdata::scenario_run());
        assert!(text.contains("errors 2   cut at the end 1"), "{text}");
        assert!(
            text.contains("Iterations  completed 400   failed 2   cut at the end 1\n"),
            "{text}"
        );
        let row = |name: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .map(|l| l.split_whitespace().take(5).collect::<Vec<_>>())
        };
        assert_eq!(
            row("scenario"),
            Some(vec!["scenario", "completed", "failed", "cut", "dropped"])
        );
        // A result without iteration counts: as far as its figures tell.
        assert_eq!(row("browse"), Some(vec!["browse", "350", "0", "0", "0"]));
        assert_eq!(row("buy"), Some(vec!["buy", "50", "2", "1", "0"]));
    }

    #[test]
    fn an_open_model_run_shows_its_schedule() {
        let mut r = crate::testdata::scenario_run();
        r.iteration_counts = Some(pummel_result::result::IterationCounts {
            scheduled: Some(100),
            completed: 40,
            failed: 0,
            cut: 2,
            dropped: 58,
        });
        let text = render(&r);
        assert!(
            text.contains(
                "Iterations  scheduled 100: completed 40   failed 0   cut at the end 2   dropped 58"
            ),
            "{text}"
        );
    }
}
