//! `pummel bench URL`.

use pummel_core::bench::{self, BenchOutcome, BenchPlan};
use pummel_core::result::{error_map, RunFacts, RunResult, WebSocketResult};

use crate::cli::BenchArgs;
use crate::exit::{self, Failure};
use crate::output::destinations::Destinations;
use crate::output::progress::ProgressLine;

pub(super) fn run(args: &BenchArgs) -> Result<i32, Failure> {
    let resolved = super::resolve::bench(args)?;
    let stop = super::stop_on_interrupt();
    execute(&resolved.plan, &stop, &resolved.outputs)
}

/// Runs a plan and writes its result where `outputs` say, with live
/// progress on a terminal. Shared with `pummel demo`.
pub(super) fn execute(
    plan: &BenchPlan,
    stop: &bench::StopSignal,
    outputs: &Destinations,
) -> Result<i32, Failure> {
    let mut progress = ProgressLine::on_terminal(plan.duration);
    let outcome = bench::run(plan, stop, |p| progress.update(&p))
        .map_err(|e| Failure::usage(e.to_string()))?;
    progress.clear();
    let result = result_of(plan, &outcome);
    let verdict = if outcome.partial {
        exit::INTERRUPTED
    } else {
        exit::SUCCESS
    };
    outputs.write(&result, Ok(verdict))
}

fn result_of(plan: &BenchPlan, outcome: &BenchOutcome) -> RunResult {
    let config = serde_json::json!({
        "url": plan.websocket.as_ref().map_or_else(|| plan.request.url.absolute(), |ws| ws.url.clone()),
        "websocket": plan.websocket.is_some(),
        "method": plan.request.method.as_str(),
        "connections": plan.connections,
        "threads": plan.threads,
        "requests": plan.requests,
        "duration_s": plan.duration.map(|d| d.as_secs_f64()),
        "rate": plan.rate,
        "timeout_s": plan.timeout.as_secs_f64(),
        "http2": plan.http2,
        "h2_streams": plan.http2.then_some(plan.h2_streams),
        "headers": plan.request.headers.iter()
            .map(|(n, v)| format!("{}: {}", n, v.to_str().unwrap_or("<binary>")))
            .collect::<Vec<_>>(),
        "body_bytes": plan.request.body.len(),
    });
    let mut result = RunResult::new(RunFacts {
        kind: "bench",
        config,
        totals: &outcome.metrics.combined(),
        timeline: outcome.metrics.timeline.clone(),
        elapsed: outcome.elapsed,
        started_at: outcome.started_at,
        rate: plan.rate,
        partial: outcome.partial,
    });
    if plan.websocket.is_some() {
        result.websocket = Some(websocket_result(&outcome.metrics));
    }
    result
}

/// The socket figures of a WebSocket bench.
fn websocket_result(metrics: &pummel_core::metrics::RunMetrics) -> WebSocketResult {
    let connect = &metrics.totals[bench::WS_CONNECT.index()];
    let roundtrip = &metrics.totals[bench::WS_ROUNDTRIP.index()];
    let sockets =
        |p: &pummel_core::metrics::TimelinePoint| p.gauges.get("sockets").copied().unwrap_or(0);
    WebSocketResult {
        connects: connect.requests(),
        connected: connect.responses,
        connect_ms: connect.latency.summary(),
        connect_errors: error_map(connect),
        open_at_end: metrics.timeline.last().map_or(0, sockets),
        open_max: metrics.timeline.iter().map(sockets).max().unwrap_or(0),
        messages_sent: roundtrip.responses + roundtrip.errors.total() + roundtrip.aborted,
        messages_received: roundtrip.responses,
    }
}
