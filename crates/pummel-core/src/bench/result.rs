//! A bench's [`RunResult`]: its configuration as the result records it, and
//! the socket figures of a WebSocket bench.

use crate::metrics::{RunMetrics, TimelinePoint};
use crate::result::{error_map, RunFacts, RunResult, WebSocketResult};

use super::{BenchPlan, SOCKETS_GAUGE, WS_CONNECT, WS_MESSAGES_SENT, WS_ROUNDTRIP};
use crate::coordinator::Measured;

/// The result of a bench that ran `plan` and measured `outcome`.
pub fn result(plan: &BenchPlan, outcome: &Measured) -> RunResult {
    let mut result = RunResult::new(RunFacts {
        kind: "bench",
        config: config(plan),
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

/// The plan as the result's `config` records it.
fn config(plan: &BenchPlan) -> serde_json::Value {
    serde_json::json!({
        "url": plan.websocket.as_ref().map_or_else(|| plan.request.url.absolute(), |ws| ws.url.clone()),
        "websocket": plan.websocket.is_some(),
        "method": plan.request.method.as_str(),
        // What ran, not what was asked: see `BenchPlan::connections_that_run`.
        "connections": plan.connections_that_run(),
        "threads": plan.worker_count(),
        "requested_connections": plan.connections,
        "requested_threads": plan.threads,
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
    })
}

/// The socket figures of a WebSocket bench: connects are their own metric
/// key, messages are the round trips, open sockets a gauge.
fn websocket_result(metrics: &RunMetrics) -> WebSocketResult {
    let connect = &metrics.totals[WS_CONNECT.index()];
    let roundtrip = &metrics.totals[WS_ROUNDTRIP.index()];
    let sockets = |p: &TimelinePoint| p.gauges.get(SOCKETS_GAUGE).copied().unwrap_or(0);
    WebSocketResult {
        connects: connect.requests(),
        connected: connect.responses,
        connect_ms: connect.latency.summary(),
        connect_errors: error_map(connect),
        open_at_end: metrics.timeline.last().map_or(0, sockets),
        open_max: metrics.timeline.iter().map(sockets).max().unwrap_or(0),
        // A message that failed or was cut short was still sent.
        messages_sent: metrics.counters[WS_MESSAGES_SENT.0 as usize],
        messages_received: roundtrip.responses,
    }
}
