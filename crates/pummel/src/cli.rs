//! Command-line interface definitions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use pummel_core::limits;

#[derive(Debug, Parser)]
#[command(
    name = "pummel",
    version,
    about = "Load testing for HTTP services: fast, and truthful about latency",
    long_about = None,
    after_help = "Exit codes: 0 success · 1 run-time failure · 2 usage or configuration error · 99 thresholds failed · 130 interrupted"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Benchmark one URL: as fast as possible, or at a fixed rate (-q)
    Bench(BenchArgs),
    /// Serve the built-in target (HTTP test server) until Ctrl-C
    Target(TargetArgs),
    /// Start the built-in target and run a short bench against it
    Demo(DemoArgs),
    /// Run a scenario file: user journeys under a load model, with thresholds
    Run(RunArgs),
    /// Check a scenario file without sending anything
    Validate(ValidateArgs),
    /// Write a commented example scenario file
    Init(InitArgs),
    /// Turn a browser recording (HAR) or a Postman collection into a scenario file
    Convert(ConvertArgs),
    /// Make reports from a JSON result: HTML, JUnit, CSV, Markdown
    Report(ReportCmdArgs),
    /// Compare two results: changes per step, regression gates (exit 99)
    Compare(CompareArgs),
    /// Key figures over several results, oldest first
    Trend(TrendArgs),
    /// Serve the agent hub and the API for distributed runs (and manage its store)
    Server(ServerArgs),
    /// Run the segments a server gives this machine (dials out to the server)
    Agent(AgentArgs),
    /// List the runs a server knows
    Runs(RunsArgs),
    /// Follow a run on a server: its timeline so far, then live (Ctrl-C detaches)
    Attach(RunIdArgs),
    /// Stop a run on a server (every agent stops its load)
    Stop(RunIdArgs),
    /// Fetch a run's result from a server: JSON, reports
    Result(ResultArgs),
    /// List a server's agents, or disable, drain or enable one
    Agents(AgentsArgs),
    /// Test repositories on a server: add, list, pull, tests, run, remove
    Repos(repos::ReposArgs),
    /// List a server's job queue and past jobs, or show, cancel, rerun or delete one
    Jobs(JobsArgs),
    /// The hosts you claimed on a server, or claim one and prove you own it
    Hosts(HostsArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell, elvish
    Completions(CompletionsArgs),
    /// Print pummel's manual page (roff): `pummel man > pummel.1`, or every page into a directory
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write pummel.1 and one page per subcommand (pummel-bench.1, …) into this directory
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

/// Live metrics and the monitor, for the commands that run load (`bench`,
/// `run`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Live metrics")]
pub(crate) struct LiveArgs {
    /// Serve Prometheus/OpenMetrics metrics at http://ADDR/metrics while the run goes on (ADDR:
    /// 127.0.0.1:9464, localhost:9464, or :9464 for every interface)
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Keep the metrics endpoint up this long after the run, so the last seconds are scraped
    /// (the default outlasts Prometheus's default 15s scrape interval)
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_linger, requires = "metrics_listen")]
    pub metrics_linger: Duration,

    /// Write each second's figures as a JSON line to this file as it happens
    #[arg(long, value_name = "FILE.jsonl")]
    pub out_stream: Option<PathBuf>,

    /// Watch the system under test: scrape this Prometheus endpoint each second and keep its
    /// series in the result. One argument, the URL then the series separated by spaces:
    /// 'http://HOST:9100/metrics node_load1 sum(rate(node_cpu_seconds_total{mode!="idle"}))';
    /// no series keeps CPU, memory and load. Repeatable; a scenario's `monitor:` says more
    #[arg(long = "monitor", value_name = "URL [SERIES…]")]
    pub monitor: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The scenario file (YAML); with --runner, the test file and its entry: FILE[:ENTRY]
    pub file: PathBuf,

    /// Serve the live run page (charts each second, a stop button) on this loopback address
    /// while the run lasts; without ADDR, 127.0.0.1:5665
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:5665",
          value_parser = parse_listen, conflicts_with = "server")]
    pub dashboard: Option<std::net::SocketAddr>,

    /// Run FILE[:ENTRY] in a runner process: python (a pummel.TestCase method, e.g.
    /// tests/test_market.py:MarketTest.test_buy) or node (an exported test function)
    #[arg(long, value_name = "KIND", value_parser = ["python", "node"])]
    pub runner: Option<String>,

    /// Runner processes, each hosting its share of the VUs (default: one per core)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=limits::MAX_THREADS as i64))]
    pub runner_processes: Option<u32>,

    /// A runner's iteration that runs longer counts as hung and its VU is replaced (default 60s)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub iteration_timeout: Option<Duration>,

    /// Override the load model: this many virtual users (closed model)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub vus: Option<u32>,

    /// Override the run's duration: 500ms, 10s, 2m, 1h
    #[arg(short = 'z', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Override the load model: iterations started per second (open model)
    #[arg(short = 'q', long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Override the load model: stop after this many iterations in all
    #[arg(short = 'i', long, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,

    /// Set a variable for {{ env.NAME }}: NAME=VALUE (repeatable; beats the process environment)
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,

    /// Worker threads (default: one per core; at most 1024)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_THREADS))]
    pub threads: Option<u64>,

    /// Accept any TLS certificate (self-signed test servers)
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Send every request through this HTTP proxy: http://[user:password@]host:port
    /// (https and WebSockets through CONNECT). HTTP_PROXY and HTTPS_PROXY are
    /// never read; write --proxy "$HTTPS_PROXY" to use one
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Send the file's relative URLs to this base URL instead of its `target`
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,

    /// Seed the schedule's random parts (`arrivals: poisson`): the same seed, the same schedule.
    /// Without it a fresh seed is drawn; the result records it (config.seed)
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Print requests and responses on stderr: headers of the first VU's first iteration (no
    /// value), with bodies (`full`), or every failed request with bodies (`failures`)
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true,
          default_missing_value = "headers", value_enum)]
    pub http_debug: Option<HttpDebugArg>,

    /// Run one iteration of each scenario, in order, by one VU, with `--http-debug=full`
    /// (unless another mode is given); exit 99 when a check failed or an iteration stopped
    #[arg(long, conflicts_with_all = ["vus", "duration", "rate", "iterations"])]
    pub once: bool,

    /// Run only the scenarios and steps tagged so: KEY=VALUE (repeatable: each narrows further)
    #[arg(long = "select", value_name = "KEY=VALUE", value_parser = parse_tag_pair)]
    pub select: Vec<(String, String)>,

    /// Run only this scenario of the file (repeatable; the others are left out)
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub distributed: SubmitArgs,

    #[command(flatten)]
    pub live: LiveArgs,
}

/// `--http-debug` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HttpDebugArg {
    /// Headers of the first VU's first iteration
    Headers,
    /// Headers and bodies (up to 2 KiB each) of the first VU's first iteration
    Full,
    /// Headers and bodies of every failed request (at most 100)
    Failures,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Scenario files to check
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// Set a variable for {{ env.NAME }}: NAME=VALUE (repeatable)
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// A HAR 1.2 file (as browsers' DevTools save it) or a Postman v2.1 collection
    pub input: PathBuf,

    /// Where to write the scenario file (default: stdout)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Read the input as this format instead of recognising it
    #[arg(long = "from", value_name = "FORMAT", value_parser = ["har", "postman"])]
    pub from: Option<String>,

    /// HAR: keep images, fonts, style sheets and scripts (a page's assets sent at once, in a
    /// `parallel:` batch)
    #[arg(long)]
    pub keep_assets: bool,

    /// HAR: multiply the recorded pauses between requests by this (0 drops them)
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = parse_think_scale)]
    pub think_scale: f64,

    /// HAR: only requests to this host (host, host:port or *.domain; repeatable)
    #[arg(long = "include-host", value_name = "HOST")]
    pub include_hosts: Vec<String>,

    /// HAR: leave out requests to this host (host, host:port or *.domain; repeatable)
    #[arg(long = "exclude-host", value_name = "HOST")]
    pub exclude_hosts: Vec<String>,

    /// Replace the output file if it exists
    #[arg(long)]
    pub force: bool,
}

fn parse_think_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && (0.0..=1000.0).contains(&f) => Ok(f),
        _ => Err(format!("{s:?} is not a number from 0 to 1000")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to write the example
    #[arg(default_value = "pummel.yaml")]
    pub file: PathBuf,

    /// Replace the file if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The URL to load: http:// or https://; ws:// or wss:// for a WebSocket
    /// bench (each connection sends the -d message and waits for the reply)
    pub url: String,

    /// Connections to keep open (the concurrency; at most 100000)
    #[arg(short = 'c', long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_CONNECTIONS))]
    pub connections: u64,

    /// Stop after this many requests
    #[arg(short = 'n', long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Stop after this long: 500ms, 10s, 2m, 1h (default 10s unless -n is given)
    #[arg(short = 'z', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Open model: send this many requests per second, whatever the responses;
    /// latency counts from each request's scheduled start
    #[arg(short = 'q', long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Worker threads (default: one per core; at most 1024)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_THREADS))]
    pub threads: Option<u64>,

    /// HTTP method
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,

    /// A request header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Request body
    #[arg(short = 'd', long, conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Request body, read from a file
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,

    /// Give up on a request (and a connect) after this long
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Use HTTP/2 (ALPN over https; h2c with prior knowledge over http)
    #[arg(long)]
    pub http2: bool,

    /// HTTP/2: concurrent streams per connection
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_H2_STREAMS), requires = "http2")]
    pub h2_streams: u64,

    /// Accept any TLS certificate (self-signed test servers)
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Send every request through this HTTP proxy: http://[user:password@]host:port
    /// (https and WebSockets through CONNECT). HTTP_PROXY and HTTPS_PROXY are
    /// never read; write --proxy "$HTTPS_PROXY" to use one
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub distributed: SubmitArgs,

    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// Port to listen on; 0 picks a free one (the address is printed)
    #[arg(short = 'p', long, default_value_t = 8080)]
    pub port: u16,

    /// Address to bind
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,

    /// Answer GET /.well-known/pummel-challenge/ID with TOKEN (a host's proof of ownership for a
    /// shared pummel server; repeatable)
    #[arg(long = "challenge", value_name = "ID=TOKEN", value_parser = parse_env_pair)]
    pub challenges: Vec<(String, String)>,

    /// Server threads (default: one per core; at most 1024)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_THREADS))]
    pub threads: Option<u64>,

    /// Pause the whole server this long after the first request (with --stall-for)
    #[arg(long, value_parser = parse_duration, requires = "stall_for")]
    pub stall_after: Option<Duration>,

    /// How long the scheduled pause lasts
    #[arg(long, value_parser = parse_duration, requires = "stall_after")]
    pub stall_for: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How long the demo bench runs
    #[arg(short = 'z', long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Connections
    #[arg(short = 'c', long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_CONNECTIONS))]
    pub connections: u64,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the result of a command that produces one (`bench`, `run`, `demo`)
/// goes: stdout as text or JSON, a JSON file, reports. Every path is checked
/// before the first request, so a run is never measured only to be lost.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub(crate) struct OutputArgs {
    /// Print the result as JSON on stdout instead of text
    #[arg(long)]
    pub json: bool,

    /// Also write the JSON result to this file ('-' for stdout, instead of the text); or,
    /// as prometheus-rw=URL, push live metrics each second with Prometheus remote write
    /// (repeatable: one file, any number of URLs)
    #[arg(long = "out", value_name = "FILE.json", value_parser = parse_out)]
    pub outs: Vec<Out>,

    #[command(flatten)]
    pub reports: ReportArgs,
}

/// One `--out`: the JSON result's file, or a remote-write receiver.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    File(PathBuf),
    RemoteWrite(pummel_live::RemoteWriteUrl),
}

impl OutputArgs {
    /// The JSON result's file (`-` for stdout), if `--out` names one.
    pub(crate) fn out(&self) -> Option<&std::path::Path> {
        self.outs.iter().find_map(|o| match o {
            Out::File(p) => Some(p.as_path()),
            Out::RemoteWrite(_) => None,
        })
    }

    /// Remote-write receivers (`--out prometheus-rw=URL`).
    pub(crate) fn remote_writes(&self) -> impl Iterator<Item = &pummel_live::RemoteWriteUrl> {
        self.outs.iter().filter_map(|o| match o {
            Out::RemoteWrite(url) => Some(url),
            Out::File(_) => None,
        })
    }
}

fn parse_out(s: &str) -> Result<Out, String> {
    match s.split_once('=') {
        Some(("prometheus-rw", url)) => pummel_live::RemoteWriteUrl::parse(url)
            .map(Out::RemoteWrite)
            .map_err(|e| e.to_string()),
        _ => Ok(Out::File(PathBuf::from(s))),
    }
}

/// A listening address: `127.0.0.1:9464`, `[::1]:9464`, or `:9464` for
/// every interface.
/// `HOST:PORT` with an IP address; `localhost:PORT` is 127.0.0.1, and `:PORT` every interface
/// (as exporters write it, `:9100`).
pub(crate) fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    let full = match (s.strip_prefix(':'), s.strip_prefix("localhost:")) {
        (Some(port), _) => format!("0.0.0.0:{port}"),
        (_, Some(port)) => format!("127.0.0.1:{port}"),
        _ => s.to_owned(),
    };
    full.parse()
        .map_err(|_| format!("invalid address {s:?}: expected HOST:PORT, e.g. 127.0.0.1:9464"))
}

/// A linger may be zero: no wait after the run.
pub(crate) fn parse_linger(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" || s.trim() == "0s" {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

/// Reports written from a result: after `run` and `bench`, or by `pummel report`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Reports")]
pub(crate) struct ReportArgs {
    /// Write a self-contained HTML report: charts and tables, opens from disk
    #[arg(long = "report", visible_alias = "html", value_name = "FILE.html")]
    pub html: Option<PathBuf>,

    /// Write JUnit XML: each threshold and check is a test case (for CI)
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,

    /// Write timeline.csv and steps.csv into this directory
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,

    /// Write a Markdown summary (for a pull-request comment)
    #[arg(long, value_name = "FILE.md")]
    pub markdown: Option<PathBuf>,

    /// Apdex threshold T: responses within T satisfy, within 4T are tolerated
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub apdex_t: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct ReportCmdArgs {
    /// A result file (written by `--out FILE.json`)
    pub result: PathBuf,

    #[command(flatten)]
    pub reports: ReportArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The baseline result file
    pub base: PathBuf,

    /// The result file to judge against it
    pub new: PathBuf,

    /// Changes within plus or minus this much count as unchanged
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = parse_percent)]
    pub noise: f64,

    /// Exit 99 if a figure changed like this (repeatable): 'p95>+10%', 'rps<-5%', 'p99>+20ms',
    /// 'error_rate>+0.5pp'; one step only: 'STEP: p95>+10%'. Metrics: p50 p90 p95 p99 mean max rps
    /// error_rate
    #[arg(long = "fail-if", value_name = "GATE", value_parser = parse_gate)]
    pub fail_if: Vec<pummel_report::compare::Gate>,

    /// Write the comparison as a self-contained HTML page with overlaid charts
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,

    /// Write the comparison as Markdown (for a pull-request comment)
    #[arg(long, value_name = "FILE.md")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct TrendArgs {
    /// Result files, oldest first
    #[arg(required = true, num_args = 2.., value_name = "RESULT.json")]
    pub results: Vec<PathBuf>,

    /// Write the trend as a self-contained HTML page with charts
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,

    /// Apdex threshold T
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub apdex_t: Duration,
}

mod distributed;
pub(crate) mod repos;

pub(crate) use distributed::{
    AgentArgs, AgentsAction, AgentsArgs, DataDirArgs, JobsAction, JobsArgs, OnLoss, RemoteArgs,
    ResultArgs, RoleArg, RunIdArgs, RunsArgs, ServerAction, ServerArgs, SubmitArgs, TokenAction,
    UserAction, UserRoleArg,
};
pub(crate) use distributed::{HostsAction, HostsArgs, NetworkAction, QuotaAction};

/// Parses a percentage: `5%`, `5` or `12.5%`.
fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..=1000.0).contains(&p) => Ok(p),
        _ => Err(format!("invalid percentage {s:?}: expected e.g. 5%")),
    }
}

fn parse_gate(s: &str) -> Result<pummel_report::compare::Gate, String> {
    pummel_report::compare::Gate::parse(s)
}

/// Parses a humane duration: `500ms`, `10s`, `2m`, `1h`, `1m30s`. A unit
/// is required, as in scenario files: `5` could mean seconds or
/// milliseconds, and the same text must mean the same thing everywhere.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "duration {s:?} has no unit: write e.g. {s}s (or 500ms, 2m, 1h)"
        ));
    }
    let parsed = humantime::parse_duration(s)
        .map_err(|e| format!("invalid duration {s:?} ({e}); use e.g. 500ms, 10s, 2m, 1h"))?;
    if parsed.is_zero() {
        return Err(format!("duration {s:?} must be more than zero"));
    }
    Ok(parsed)
}

pub(crate) fn parse_env_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(format!("invalid --env {s:?}: expected NAME=VALUE")),
    }
}

fn parse_tag_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        }
        _ => Err(format!(
            "invalid --select {s:?}: expected KEY=VALUE (a tag)"
        )),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= limits::MAX_RATE => Ok(r),
        Ok(r) if r.is_finite() && r > limits::MAX_RATE => Err(format!(
            "rate {s:?} is more than the highest rate, {} per second",
            limits::MAX_RATE
        )),
        _ => Err(format!(
            "invalid rate {s:?}: expected requests per second, more than 0 and at most {}",
            limits::MAX_RATE
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("127.0.0.1:9464").unwrap().to_string(),
            "127.0.0.1:9464"
        );
        assert_eq!(
            parse_listen("localhost:9464").unwrap().to_string(),
            "127.0.0.1:9464"
        );
        assert_eq!(parse_listen(":9464").unwrap().to_string(), "0.0.0.0:9464");
        assert_eq!(
            parse_listen("[::1]:9464").unwrap().to_string(),
            "[::1]:9464"
        );
        assert!(parse_listen("example.com:9464")
            .unwrap_err()
            .contains("expected HOST:PORT"));
    }

    #[test]
    fn humane_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        let bare = parse_duration("3").unwrap_err();
        assert!(bare.contains("no unit") && bare.contains("3s"), "{bare}");
        assert!(parse_duration("1.5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200"), Ok(200.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
        assert!(parse_rate("NaN").is_err());
        let high = parse_rate("1e9").unwrap_err();
        assert!(high.contains("10000000"), "{high}");
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
