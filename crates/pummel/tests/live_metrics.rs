//! Live metrics and the monitor, against the real tools people run: Debian's Prometheus scrapes
//! `--metrics-listen` and receives `--out prometheus-rw=URL`, its query API is asked what it
//! stored, every query of the Grafana dashboard (`docs/grafana/pummel.json`) must return data
//! from it, and Debian's node exporter is the system a scenario's `monitor:` watches. Also the
//! shell completions and the man page, checked by the shells and groff.
//!
//! Every daemon runs on a free port of 127.0.0.1 in a temporary directory and is killed on drop;
//! the tests wait for them by polling their HTTP APIs with a deadline.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{self, pummel, u, Target};

pub(crate) const PROMETHEUS: &str = "prometheus";
const NODE_EXPORTER: &str = "prometheus-node-exporter";

pub(crate) fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port that was free a moment ago (the daemons must be told theirs before they start).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A minimal HTTP/1.0 GET: the status and the body.
pub(crate) fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A daemon killed (and reaped) on drop, with its scratch directory.
pub(crate) struct Daemon {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Waits until `path` answers 200, at most 60 s.
    fn wait_ready(&mut self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(http_get(self.port, path), Ok((200, _))) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the daemon on port {} exited: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "port {} never answered {path}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Prometheus scraping `127.0.0.1:scrape_port` every second, its remote-write receiver on.
pub(crate) fn prometheus(scrape_port: u16) -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: pummel\n    static_configs:\n      - targets: ['127.0.0.1:{scrape_port}']\n"
        ),
    )
    .expect("write prometheus.yml");
    let port = free_port();
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let mut daemon = Daemon {
        child,
        port,
        _dir: dir,
    };
    daemon.wait_ready("/-/ready");
    daemon
}

/// An instant query's result vector.
pub(crate) fn query(prom: &Daemon, expr: &str) -> Vec<Value> {
    let (status, body) =
        http_get(prom.port, &format!("/api/v1/query?query={}", encode(expr))).expect("query");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(status, 200, "{expr}: {body}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The single value of an instant query, if it has one.
pub(crate) fn scalar(prom: &Daemon, expr: &str) -> Option<f64> {
    let result = query(prom, expr);
    let value = result.first()?["value"][1].as_str()?;
    value.parse().ok()
}

/// Polls `expr` until it equals `expected`, at most 20 s; fails with the last value seen.
#[track_caller]
pub(crate) fn eventually_equals(prom: &Daemon, expr: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = scalar(prom, expr);
        if got == Some(expected as f64) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{expr}: Prometheus says {got:?}, the result says {expected}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub(crate) fn dashboard() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana/pummel.json")
}

#[test]
fn prometheus_scrapes_and_receives_exactly_the_results_counts_and_every_dashboard_panel_has_data() {
    let _busy = crate::util::busy();
    if !have(PROMETHEUS) {
        util::skip_without(
            "prometheus_scrapes_and_receives_exactly_the_results_counts_and_every_dashboard_panel_has_data",
            "Debian's prometheus is missing (scripts/install-test-deps)",
        );
        return;
    }
    let target = Target::start();
    let metrics_port = free_port();
    let prom = prometheus(metrics_port);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("live.yaml");
    // Two checked steps, and one that always fails (nothing listens there), so that requests,
    // checks and errors all have series.
    std::fs::write(
        &file,
        format!(
            "name: live\ntarget: {}\nload: {{ vus: 3, duration: 4s }}\nscenarios:\n  - name: shop\n    steps:\n      - name: list\n        request: GET /api/apps?category=games\n        check: {{ status: 200 }}\n      - name: search\n        request: GET /api/apps?q=chess\n        check: {{ status: 200 }}\n      - name: gone\n        request: GET http://127.0.0.1:{}/\n      - think: 20ms\n",
            target.url("/").trim_end_matches('/'),
            util::closed_port()
        ),
    )
    .expect("write scenario");
    let stream = dir.path().join("seconds.jsonl");
    let started = now_s();
    let listen = format!("127.0.0.1:{metrics_port}");
    let rw = format!("prometheus-rw=http://127.0.0.1:{}/api/v1/write", prom.port);
    let out = pummel(&[
        "run",
        s(&file),
        "--json",
        "--metrics-listen",
        &listen,
        "--metrics-linger",
        "4s",
        "--out",
        &rw,
        "--out-stream",
        s(&stream),
    ])
    .expect_code(0);
    let result = out.json();
    // The pushed series carry the run's own label, which the run names on stderr.
    let run = out
        .stderr
        .split_once("run=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(run, _)| run.to_owned())
        .unwrap_or_else(|| panic!("no run label named: {}", out.context()));
    let requests = u(&result, "/requests");
    assert!(
        requests > 20,
        "too few requests to mean anything: {requests}"
    );
    let refused = u(&result, "/errors/connect_refused");
    assert!(refused > 0, "the failing step failed: {result}");

    // Scraped (job="pummel"): the lingering endpoint's final figures are the result's.
    eventually_equals(
        &prom,
        r#"max_over_time(pummel_finished{job="pummel"}[5m])"#,
        1,
    );
    eventually_equals(
        &prom,
        r#"sum(max_over_time(pummel_requests_total{job="pummel"}[5m]))"#,
        requests,
    );
    for step in result["steps"].as_array().expect("steps") {
        let name = format!("shop/{}", step["name"].as_str().expect("name"));
        eventually_equals(
            &prom,
            &format!(r#"max_over_time(pummel_requests_total{{job="pummel",step="{name}"}}[5m])"#),
            u(step, "/requests"),
        );
    }
    eventually_equals(
        &prom,
        r#"sum(max_over_time(pummel_errors_total{job="pummel",kind="connect_refused"}[5m]))"#,
        refused,
    );
    eventually_equals(
        &prom,
        r#"max_over_time(pummel_checks_total{job="pummel",result="pass"}[5m])"#,
        u(&result, "/checks/passed"),
    );
    eventually_equals(
        &prom,
        r#"sum(max_over_time(pummel_request_duration_seconds_count{job="pummel"}[5m]))"#,
        u(&result, "/responses"),
    );
    pushed_series_are_the_runs(&prom, &run, requests);

    every_dashboard_panel_has_data(&prom, started, ".*");
    stream_matches_the_result(&stream, &result);
}

/// Pushed by remote write (no job label): the same series as scraped, each labelled with the
/// run, the last push the result's figures, one push a second.
fn pushed_series_are_the_runs(prom: &Daemon, run: &str, requests: u64) {
    eventually_equals(
        prom,
        &format!(r#"sum(max_over_time(pummel_requests_total{{job="",run="{run}"}}[5m]))"#),
        requests,
    );
    eventually_equals(
        prom,
        r#"count(count by (run) (pummel_requests_total{job=""}))"#,
        1,
    );
    eventually_equals(
        prom,
        r#"count(count_over_time(pummel_requests_total{job="",step="shop/list"}[5m]))"#,
        1,
    );
    let pushed = scalar(
        prom,
        r#"count_over_time(pummel_requests_total{job="",step="shop/list"}[5m])"#,
    )
    .expect("pushed samples");
    assert!(pushed >= 3.0, "one push a second: only {pushed} samples");
}

/// Every panel of the dashboard, `$job` and `$step` at "All" and `$run` at `run` (".*": all),
/// returns data over the run.
pub(crate) fn every_dashboard_panel_has_data(prom: &Daemon, started: f64, run: &str) {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(dashboard()).expect("read the dashboard"))
            .expect("the dashboard is JSON");
    let end = now_s();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().expect("targets") {
            let expr = t["expr"]
                .as_str()
                .expect("expr")
                .replace("$__rate_interval", "4s")
                .replace("$job", ".*")
                .replace("$step", ".*")
                .replace("$run", run);
            let (status, body) = http_get(
                prom.port,
                &format!(
                    "/api/v1/query_range?query={}&start={started:.3}&end={end:.3}&step=1",
                    encode(&expr)
                ),
            )
            .expect("query_range");
            assert_eq!(status, 200, "{expr}: {body}");
            let v: Value = serde_json::from_str(&body).expect("JSON");
            let finite = v["data"]["result"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|series| series["values"].as_array().cloned().unwrap_or_default())
                .filter_map(|pair| pair[1].as_str().and_then(|x| x.parse::<f64>().ok()))
                .filter(|x| x.is_finite())
                .count();
            assert!(
                finite > 0,
                "panel {:?}: {expr} returned no data",
                panel["title"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} panel queries");
}

/// The stream: one line per second as it closed, then the totals. The result folds a last
/// sliver of a second into the one before; written as it happened, the stream keeps it apart.
fn stream_matches_the_result(stream: &Path, result: &Value) {
    let requests = u(result, "/requests");
    let text = std::fs::read_to_string(stream).expect("read the stream");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let (last, seconds) = lines.split_last().expect("a closing line");
    assert_eq!(last["end"], true, "{text}");
    assert_eq!(u(last, "/requests_total"), requests);
    let timeline = result["timeline"].as_array().expect("timeline");
    assert!(
        seconds.len() == timeline.len() || seconds.len() == timeline.len() + 1,
        "{text}"
    );
    for (i, line) in seconds.iter().enumerate() {
        assert_eq!(u(line, "/t"), i as u64, "{text}");
    }
    let streamed: u64 = seconds.iter().map(|l| u(l, "/requests")).sum();
    assert_eq!(streamed, requests, "{text}");
    assert_eq!(u(&seconds[seconds.len() - 1], "/requests_total"), requests);
}

#[test]
fn a_scenario_monitors_node_exporter_into_the_result_and_the_html_report() {
    let _busy = crate::util::busy();
    if !have(NODE_EXPORTER) {
        util::skip_without(
            "a_scenario_monitors_node_exporter_into_the_result_and_the_html_report",
            "Debian's prometheus-node-exporter is missing (scripts/install-test-deps)",
        );
        return;
    }
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let child = Command::new(NODE_EXPORTER)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the node exporter");
    let mut exporter = Daemon {
        child,
        port,
        _dir: tempfile::tempdir().expect("tempdir"),
    };
    exporter.wait_ready("/metrics");
    let target = Target::start();
    let dead = util::closed_port();
    let file = dir.path().join("watched.yaml");
    std::fs::write(
        &file,
        format!(
            r#"name: watched
target: {}
load: {{ vus: 2, duration: 3s }}
monitor:
  - url: http://127.0.0.1:{port}/metrics
    series:
      - node_memory_MemAvailable_bytes
      - series: node_cpu_seconds_total{{mode="idle"}}
        rate: true
        sum: true
        as: CPU idle
  - url: http://127.0.0.1:{dead}/metrics
scenarios:
  - name: browse
    steps:
      - request: GET /api/apps
      - think: 50ms
"#,
            target.url("/").trim_end_matches('/')
        ),
    )
    .expect("write scenario");
    let html = dir.path().join("report.html");
    let result = pummel(&["run", s(&file), "--json", "--report", s(&html)])
        .expect_code(0)
        .json();
    monitor_holds_the_exporters_series(&result);
    // The report charts the series under the run's own charts, and Chromium draws them.
    let page = std::fs::read_to_string(&html).expect("read the report");
    assert!(
        page.contains(r#"<section id="monitor">"#),
        "no monitor section"
    );
    assert!(page.contains(r#"id="chart-monitor-0""#) && page.contains(r#"id="chart-monitor-1""#));
    assert!(page.contains("CPU idle") && page.contains("node_memory_MemAvailable_bytes"));
    assert!(
        page.contains("scrapes failed"),
        "the dead endpoint is shown"
    );
    let over_time = page.find(r#"<section id="over-time">"#).expect("over time");
    let monitored = page.find(r#"<section id="monitor">"#).expect("monitor");
    assert!(
        over_time < monitored,
        "the monitor comes under the latency chart"
    );
    if crate::reports::browser_available() {
        crate::reports::check_in_browser(&html);
    } else {
        util::skip_without(
            "a_scenario_monitors_node_exporter_into_the_result_and_the_html_report",
            "Chromium and Node.js are needed to open the report",
        );
    }
}

/// The monitor's part of the result: the exporter's series, the dead endpoint's failures.
fn monitor_holds_the_exporters_series(result: &Value) {
    let monitor = &result["monitor"];
    let endpoints = monitor["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 2, "{monitor}");
    assert!(u(&endpoints[0], "/scrapes") >= 3, "{monitor}");
    assert_eq!(u(&endpoints[0], "/failed"), 0, "{monitor}");
    // A dead endpoint: every scrape failed, counted and explained, and the run went on.
    assert_eq!(
        u(&endpoints[1], "/failed"),
        u(&endpoints[1], "/scrapes"),
        "{monitor}"
    );
    assert!(u(&endpoints[1], "/scrapes") >= 3);
    assert!(
        endpoints[1]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("connect")),
        "{monitor}"
    );
    let series = monitor["series"].as_array().expect("series");
    let memory = series
        .iter()
        .find(|s| s["metric"] == "node_memory_MemAvailable_bytes")
        .unwrap_or_else(|| panic!("no memory series: {monitor}"));
    let points = memory["points"].as_array().expect("points");
    assert!(points.len() >= 3, "{memory}");
    assert!(points
        .iter()
        .all(|p| p[1].as_f64().is_some_and(|v| v > 0.0)));
    let cpu = series
        .iter()
        .find(|s| s["name"] == "CPU idle")
        .unwrap_or_else(|| panic!("no CPU series: {monitor}"));
    assert_eq!(
        (cpu["rate"].as_bool(), cpu["sum"].as_bool()),
        (Some(true), Some(true))
    );
    let cpu_points = cpu["points"].as_array().expect("points");
    assert!(cpu_points.len() >= 2, "{cpu}");
    // Idle CPU-seconds per second: between none and every core.
    let cores = std::thread::available_parallelism().map_or(64, |n| n.get()) as f64;
    assert!(
        cpu_points.iter().all(|p| p[1]
            .as_f64()
            .is_some_and(|v| (0.0..=cores * 1.5).contains(&v))),
        "{cpu}"
    );
    let duration = result["duration_s"].as_f64().expect("duration");
    assert!(
        points.iter().all(|p| p[0]
            .as_f64()
            .is_some_and(|t| (0.0..duration + 1.5).contains(&t))),
        "{memory}"
    );
}

#[test]
fn completions_parse_in_their_shells_and_the_man_page_renders() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, checker, args) in [
        ("bash", "bash", &["-n"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
    ] {
        let out = pummel(&["completions", shell]).expect_code(0);
        let script = dir.path().join(format!("pummel.{shell}"));
        std::fs::write(&script, &out.stdout).expect("write the script");
        assert!(
            out.stdout.contains("metrics-listen"),
            "{shell}: {}",
            out.stdout
        );
        if !have(checker) && checker != "bash" {
            util::skip_without(
                "completions_parse_in_their_shells_and_the_man_page_renders",
                &format!("{checker} is missing to check its completions"),
            );
            continue;
        }
        let status = Command::new(checker)
            .args(args)
            .arg(&script)
            .status()
            .expect("run the shell");
        assert!(status.success(), "{shell} does not parse its completions");
    }
    let out = pummel(&["completions", "powershell"]).expect_code(0);
    assert!(out.stdout.contains("Register-ArgumentCompleter"));
    pummel(&["completions", "tcsh"]).expect_usage_error(&["tcsh"]);

    let out = pummel(&["man"]).expect_code(0);
    let page = dir.path().join("pummel.1");
    std::fs::write(&page, &out.stdout).expect("write the page");
    let rendered = Command::new("groff")
        .args(["-man", "-Tutf8"])
        .arg(&page)
        .output();
    match rendered {
        Ok(r) => {
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(r.status.success(), "groff failed");
            assert!(
                text.contains("pummel") && text.contains("completions"),
                "{text}"
            );
            assert!(
                !String::from_utf8_lossy(&r.stderr).contains("warning"),
                "groff warns: {}",
                String::from_utf8_lossy(&r.stderr)
            );
        }
        Err(_) => util::skip_without(
            "completions_parse_in_their_shells_and_the_man_page_renders",
            "groff is missing to render the man page",
        ),
    }
    let pages = dir.path().join("man");
    pummel(&["man", "--dir", s(&pages)]).expect_code(0);
    for name in ["pummel.1", "pummel-bench.1", "pummel-run.1"] {
        let text = std::fs::read_to_string(pages.join(name)).expect("a page per command");
        assert!(text.contains(".TH"), "{name} is not a man page");
    }
}

#[test]
fn live_outputs_and_the_monitor_section_are_checked_before_any_load() {
    let _busy = crate::util::busy();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let port = util::closed_port();
    let url = format!("http://127.0.0.1:{port}/");
    pummel(&["bench", &url, "-n", "1", "--metrics-listen", &addr])
        .expect_usage_error(&["cannot listen", &addr]);
    pummel(&[
        "bench",
        &url,
        "-n",
        "1",
        "--out",
        "prometheus-rw=https://127.0.0.1/write",
    ])
    .expect_usage_error(&["https"]);
    pummel(&[
        "bench", &url, "-n", "1", "--out", "a.json", "--out", "b.json",
    ])
    .expect_usage_error(&["more than one result file"]);
    pummel(&["bench", &url, "-n", "1", "--monitor", "ftp://x/metrics"])
        .expect_usage_error(&["--monitor", "http://"]);
    pummel(&[
        "bench",
        &url,
        "-n",
        "1",
        "--monitor",
        "http://127.0.0.1:1/metrics up{a=b}",
    ])
    .expect_usage_error(&["quoted value"]);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "target: http://127.0.0.1:1\nmonitor:\n  - url: http://127.0.0.1:9100/metrics\n    series:\n      - node_cpu_seconds_total{mode=~\"idle\"}\n      - series: up\n        rat: true\n  - url: https://127.0.0.1/metrics\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
    )
    .expect("write scenario");
    let out = pummel(&["validate", s(&file)]).expect_code(2);
    let said = out.stderr.clone();
    assert!(said.contains("bad.yaml:5:36"), "{said}");
    assert!(said.contains("regular-expression"), "{said}");
    assert!(
        said.contains("bad.yaml:7:9") && said.contains("`rat`"),
        "{said}"
    );
    assert!(
        said.contains("bad.yaml:8:10") && said.contains("https"),
        "{said}"
    );

    // A --server run's figures are merged on the server: the outputs fed from them here are
    // refused before anything is sent (the server's address is closed: nothing could be).
    let server = format!("http://127.0.0.1:{port}");
    let remote = ["--server", server.as_str(), "--token", "t"];
    for (flag, value) in [
        ("--metrics-listen", addr.as_str()),
        ("--out", "prometheus-rw=http://127.0.0.1:1/write"),
        ("--out-stream", "seconds.jsonl"),
        ("--monitor", "http://127.0.0.1:1/metrics"),
    ] {
        let mut args = vec!["bench", url.as_str(), "-n", "1", flag, value];
        args.extend(remote);
        let flag_said = flag.trim_end_matches('=');
        pummel(&args).expect_usage_error(&[flag_said, "does not apply to a --server run"]);
    }
}
