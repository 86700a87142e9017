//! `pummel bench URL`.

use std::io::{IsTerminal, Write};

use pummel_core::bench::{self, BenchOutcome, BenchPlan};
use pummel_core::http::request::{Bytes, Method};
use pummel_core::http::{parse_header, RequestSpec, TargetUrl};
use pummel_core::result::{error_map, RunFacts, RunResult, WebSocketResult};
use pummel_core::ws::WsUrl;
use pummel_report::summary;

use crate::cli::BenchArgs;
use crate::exit::{self, Failure};
use crate::output::progress::ProgressLine;

/// The message a WebSocket bench sends when `-d` gives none.
const DEFAULT_WS_MESSAGE: &str = "pummel says hello";

/// How long a bench runs when neither `-n` nor `-z` is given.
const DEFAULT_DURATION: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) fn run(args: BenchArgs) -> Result<i32, Failure> {
    let plan = plan_from_args(&args)?;
    let stop = super::stop_on_interrupt();
    execute(&plan, &stop, args.json, args.out.as_deref(), &args.reports)
}

/// Runs a plan and reports it: live progress, then the text summary or
/// JSON, and the result file. Shared with `pummel demo`.
pub(crate) fn execute(
    plan: &BenchPlan,
    stop: &bench::StopSignal,
    json: bool,
    out: Option<&std::path::Path>,
    reports: &crate::cli::ReportArgs,
) -> Result<i32, Failure> {
    let live = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let mut progress = ProgressLine::new(live, plan.duration);
    let outcome = bench::run(plan, stop, |p| progress.update(&p))
        .map_err(|e| Failure::usage(e.to_string()))?;
    progress.clear();
    let result = result_of(plan, &outcome);

    let mut stdout = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut stdout, &result)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        write!(stdout, "{}", summary::render(&result))
    };
    // A closed pipe (`| head`) is not worth a failure; the result file below still is.
    let _ = written.and_then(|()| stdout.flush());

    if let Some(path) = out {
        let text = serde_json::to_string_pretty(&result).expect("a result serialises");
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    super::report::write_requested(&result, reports)?;
    Ok(if outcome.partial {
        exit::INTERRUPTED
    } else {
        exit::SUCCESS
    })
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

fn plan_from_args(args: &BenchArgs) -> Result<BenchPlan, Failure> {
    let is_ws = {
        let lower = args.url.trim_start().to_ascii_lowercase();
        lower.starts_with("ws://") || lower.starts_with("wss://")
    };
    let websocket = if is_ws {
        if args.http2 {
            return Err(Failure::usage(
                "--http2 does not apply to a WebSocket bench",
            ));
        }
        Some(WsUrl::parse(args.url.trim()).map_err(|e| Failure::usage(e.to_string()))?)
    } else {
        None
    };
    let url = match &websocket {
        Some(ws) => ws.target.clone(),
        None => TargetUrl::parse(&args.url).map_err(|e| Failure::usage(e.to_string()))?,
    };
    let method = http_method(&args.method)?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h).map_err(|e| Failure::usage(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut body = read_body(args.body.as_deref(), args.body_file.as_deref())?;
    if websocket.is_some() && body.is_empty() {
        body = Bytes::from_static(DEFAULT_WS_MESSAGE.as_bytes());
    }
    let duration = match (args.duration, args.requests) {
        (None, None) => Some(DEFAULT_DURATION),
        (d, _) => d,
    };
    Ok(BenchPlan {
        request: RequestSpec {
            method,
            url,
            headers,
            body,
        },
        connections: args.connections,
        h2_streams: args.h2_streams,
        requests: args.requests,
        duration,
        rate: args.rate,
        threads: args.threads.unwrap_or_else(default_threads),
        timeout: args.timeout,
        http2: args.http2,
        insecure: args.insecure,
        websocket,
    })
}

pub(crate) fn default_threads() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

fn http_method(given: &str) -> Result<Method, Failure> {
    Method::from_bytes(given.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::usage(format!("invalid HTTP method {given:?}")))
}

/// The request body from `-d` or `--body-file`.
fn read_body(inline: Option<&str>, file: Option<&std::path::Path>) -> Result<Bytes, Failure> {
    match (inline, file) {
        (Some(text), _) => Ok(Bytes::from(text.to_owned())),
        (None, Some(path)) => std::fs::read(path).map(Bytes::from).map_err(|e| {
            Failure::usage(format!("cannot read --body-file {}: {e}", path.display()))
        }),
        (None, None) => Ok(Bytes::new()),
    }
}
