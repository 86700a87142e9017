//! From flags to what `bench` and `run` execute: the plan, the worker
//! threads, where the result goes. Everything the command line can get wrong
//! is found here, before the first request, and is a usage error (exit 2).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pummel_core::bench::BenchPlan;
use pummel_core::http::{parse_header, RequestSpec, TargetUrl};
use pummel_core::http::{Bytes, Method};
use pummel_core::http::{ProxyUrl, UrlError};
use pummel_core::limits;
use pummel_core::run::{DebugMode, HttpDebug, RunOptions};
use pummel_core::scenario::runner::{RunnerKind, RunnerSpec};
use pummel_core::scenario::{self, Overrides, Plan};
use pummel_core::ws::WsUrl;

use pummel_live::monitor::{MonitorTarget, MAX_ENDPOINTS};

use crate::cli::{BenchArgs, HttpDebugArg, RunArgs};
use crate::exit::Failure;
use crate::output::destinations::{self, Destinations};

/// The message a WebSocket bench sends when `-d` gives none.
const DEFAULT_WS_MESSAGE: &str = "pummel says hello";

/// How long a bench runs when neither `-n` nor `-z` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// What a bench accepts, for the message that refuses a URL.
const BENCH_SCHEMES: &str = "http, https, ws or wss";

/// A command ready to run: its plan, and where its result goes (each path
/// checked).
pub(super) struct Resolved<P> {
    pub plan: P,
    pub outputs: Destinations,
}

/// A scenario run's plan and options.
pub(super) struct RunPlan {
    pub plan: Arc<Plan>,
    pub options: RunOptions,
}

/// Resolves `pummel bench`'s flags.
pub(super) fn bench(args: &BenchArgs) -> Result<Resolved<BenchPlan>, Failure> {
    let plan = bench_plan(args)?;
    Ok(Resolved {
        plan,
        outputs: Destinations::for_result(&args.output)?,
    })
}

/// Resolves `pummel run`'s flags and loads its scenario file.
pub(super) fn run(args: &RunArgs) -> Result<Resolved<RunPlan>, Failure> {
    let overrides = Overrides {
        vus: args.vus,
        duration: args.duration,
        rate: args.rate,
        iterations: args.iterations,
    };
    let mut plan = match &args.runner {
        Some(kind) => runner_plan(&args.file, kind, &overrides)?,
        None => {
            let mut options = super::validate::load_options(&args.env);
            if let Some(url) = &args.target {
                options.target = Some(
                    TargetUrl::parse(url).map_err(|e| Failure::usage(format!("--target: {e}")))?,
                );
            }
            let mut plan = scenario::load_with(&args.file, &options).map_err(|diagnostics| {
                crate::output::stderr::say(format_args!("{diagnostics}"));
                Failure::usage("the scenario file has errors (see above)")
            })?;
            if args.once {
                plan.run_once();
            }
            for (key, value) in &args.select {
                plan.select_tag(key, value).map_err(|e| {
                    Failure::usage(format!("--select: {}: {e}", args.file.display()))
                })?;
            }
            plan.select_scenarios(&args.scenarios)
                .map_err(|e| Failure::usage(format!("--scenario: {}: {e}", args.file.display())))?;
            plan.apply_overrides(&overrides)
                .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?;
            plan
        }
    };
    plan.set_seed(args.seed.unwrap_or_else(fresh_seed));
    runner_settings(&mut plan, args)?;
    let mut written = destinations::report_paths(&args.output.reports);
    written.extend(args.output.out().map(|p| ("--out", p.to_owned())));
    written.extend(args.live.out_stream.clone().map(|p| ("--out-stream", p)));
    destinations::check_distinct(&[("the scenario file", &args.file)], &written)?;
    Ok(Resolved {
        plan: RunPlan {
            plan: Arc::new(plan),
            options: RunOptions {
                threads: threads(args.threads),
                insecure: args.insecure,
                http_debug: http_debug(args),
                connect_filter: None,
                proxy: proxy(args.proxy.as_deref())?,
            },
        },
        outputs: Destinations::for_result(&args.output)?,
    })
}

/// `--http-debug` (and `--once`, which implies `full`), printing on stderr.
fn http_debug(args: &RunArgs) -> Option<HttpDebug> {
    let mode = match args.http_debug {
        Some(HttpDebugArg::Headers) => DebugMode::Headers,
        Some(HttpDebugArg::Full) => DebugMode::Full,
        Some(HttpDebugArg::Failures) => DebugMode::Failures,
        None if args.once => DebugMode::Full,
        None => return None,
    };
    let sink = |text: &str| {
        use std::io::Write as _;
        // One write per exchange, so threads do not interleave lines; a
        // stderr that cannot be written loses the trace, not the run.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    };
    Some(HttpDebug::new(mode, Arc::new(sink)))
}

/// The runner's settings from the command line (over the file's); refused
/// for a plan without a runner.
pub(super) fn runner_settings(plan: &mut Plan, args: &RunArgs) -> Result<(), Failure> {
    match plan.runner_mut() {
        Some(runner) => {
            if let Some(n) = args.runner_processes {
                runner.set_processes(n);
            }
            if let Some(t) = args.iteration_timeout {
                runner.set_iteration_timeout(t);
            }
            runner.add_env(args.env.iter().cloned());
            Ok(())
        }
        None if args.runner_processes.is_some() || args.iteration_timeout.is_some() => {
            Err(Failure::usage(
                "--runner-processes and --iteration-timeout are for runners: give --runner, or a file with a `runner:` section",
            ))
        }
        None => Ok(()),
    }
}

/// The plan of `--runner KIND FILE[:ENTRY]`: the file must exist.
pub(super) fn runner_plan(
    target: &Path,
    kind: &str,
    overrides: &Overrides,
) -> Result<Plan, Failure> {
    let kind = RunnerKind::parse(kind)
        .ok_or_else(|| Failure::usage(format!("unknown runner {kind:?} (python or node)")))?;
    let spec = RunnerSpec::from_command_line(kind, &target.to_string_lossy());
    if !spec.file().is_file() {
        return Err(Failure::usage(format!(
            "no test file at {}",
            spec.file().display()
        )));
    }
    let file = spec.file().display().to_string();
    Plan::for_runner(spec, overrides).map_err(|e| Failure::usage(format!("{file}: {e}")))
}

/// A seed for a run given none: the standard library's per-process random
/// keys, so two runs differ unless `--seed` makes them alike.
fn fresh_seed() -> u64 {
    use std::hash::BuildHasher as _;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

/// Worker threads: as given, or one per core.
pub(super) fn threads(given: Option<u64>) -> u64 {
    given.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64))
}

pub(super) fn bench_plan(args: &BenchArgs) -> Result<BenchPlan, Failure> {
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
        None => TargetUrl::parse(&args.url).map_err(|e| match e {
            // The URL parser serves scenario files too, which take only
            // http and https; a bench takes WebSocket URLs as well.
            UrlError::Scheme { url, scheme } => Failure::usage(format!(
                "unsupported scheme {scheme:?} in {url:?} (expected {BENCH_SCHEMES})"
            )),
            other => Failure::usage(other.to_string()),
        })?,
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
        threads: threads(args.threads),
        timeout: args.timeout,
        http2: args.http2,
        insecure: args.insecure,
        websocket,
        connect_filter: None,
        proxy: proxy(args.proxy.as_deref())?,
    })
}

/// `--proxy URL`, checked.
fn proxy(given: Option<&str>) -> Result<Option<ProxyUrl>, Failure> {
    given
        .map(|url| ProxyUrl::parse(url).map_err(|e| Failure::usage(format!("--proxy: {e}"))))
        .transpose()
}

fn http_method(given: &str) -> Result<Method, Failure> {
    Method::from_bytes(given.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::usage(format!("invalid HTTP method {given:?}")))
}

/// The request body from `-d` or `--body-file`.
fn read_body(inline: Option<&str>, file: Option<&Path>) -> Result<Bytes, Failure> {
    match (inline, file) {
        (Some(text), _) => Ok(Bytes::from(text.to_owned())),
        (None, Some(path)) => limits::read_file(path, limits::MAX_DATA_FILE_BYTES)
            .map(Bytes::from)
            .map_err(|e| {
                Failure::usage(format!("cannot read --body-file {}: {e}", path.display()))
            }),
        (None, None) => Ok(Bytes::new()),
    }
}

/// The endpoints to monitor: the scenario's `monitor:` and each
/// `--monitor 'URL [SERIES …]'` (no series: the defaults). A value that
/// does not parse is a usage error, before any load.
pub(super) fn monitor_targets(
    flags: &[String],
    from_plan: &[MonitorTarget],
) -> Result<Vec<MonitorTarget>, Failure> {
    let mut targets = from_plan.to_vec();
    for flag in flags {
        let target = MonitorTarget::parse_flag(flag)
            .map_err(|e| Failure::usage(format!("--monitor: {e}")))?;
        targets.push(target);
    }
    if targets.len() > MAX_ENDPOINTS {
        return Err(Failure::usage(format!(
            "{} endpoints to monitor: at most {MAX_ENDPOINTS}",
            targets.len()
        )));
    }
    Ok(targets)
}
