//! `pummel run`, `validate` and `init` on scenario files, end to end: the real binary against a
//! real `pummel target` (and a real nginx) on 127.0.0.1.
//!
//! - the files in `examples/`, copied into a temporary directory with their `target:` pointed at
//!   the started target (`target` is not a template), kept short with command-line overrides;
//! - validation: every error of a broken file, each at its `file:line:col`;
//! - the marketplace journey (register, log in, publish, review), browser behaviour (cookies,
//!   redirects, basic auth, gzip, chunked bodies, captures), data feeders;
//! - the same browser behaviour against nginx, a server pummel did not write;
//! - thresholds and `abort_on_fail`, the open model through a stall, cycles, Ctrl-C, and the
//!   figures of the JSON result adding up.
//!
//! Scenario files are written with `@TARGET@` standing for the server's base URL.

pub(crate) mod nginx;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{self, assert_consistent, brief, f, pummel, u, Output, Running, Target};
use nginx::Nginx;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A temporary directory of scenario files.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("tempdir"))
    }

    /// Writes `text` to `name` (creating directories), `@TARGET@` replaced by `base`.
    fn write_for(&self, name: &str, base: &str, text: &str) -> PathBuf {
        self.write(name, &text.replace("@TARGET@", base))
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write scenario file");
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// A path as the `&str` argument `pummel` takes.
fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The base URL of a target (`http://127.0.0.1:PORT`).
fn base(target: &Target) -> String {
    target.url("/").trim_end_matches('/').to_owned()
}

/// Runs `pummel run FILE --json ARGS` within the usual time limit.
fn run(file: &Path, args: &[&str]) -> Output {
    let mut all = vec!["run", s(file), "--json"];
    all.extend_from_slice(args);
    pummel(&all)
}

/// Runs `pummel run FILE --json ARGS`, asserts the exit code and returns the JSON result.
#[track_caller]
fn run_json(file: &Path, args: &[&str], code: i32) -> Value {
    run(file, args).expect_code(code).json()
}

/// A run's result without its bulky parts (histograms, timeline), for failure messages.
fn brief_run(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(steps) = v.get_mut("steps").and_then(Value::as_array_mut) {
        for step in steps.iter_mut().filter_map(Value::as_object_mut) {
            step.remove("histogram");
        }
    }
    brief(&v)
}

fn steps(v: &Value) -> &[Value] {
    v["steps"].as_array().map_or(&[], Vec::as_slice)
}

/// The step of that name (in that scenario; `None`: the global setup or teardown).
#[track_caller]
fn step<'a>(v: &'a Value, scenario: Option<&str>, name: &str) -> &'a Value {
    steps(v)
        .iter()
        .find(|s| s["name"] == name && s["scenario"].as_str() == scenario)
        .unwrap_or_else(|| panic!("no step {scenario:?}/{name:?} in\n{}", brief_run(v)))
}

/// The scenario of that name.
#[track_caller]
fn scenario<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no scenario {name:?} in\n{}", brief_run(v)))
}

/// A step's check by label.
#[track_caller]
fn check<'a>(step: &'a Value, label: &str) -> &'a Value {
    step["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["label"] == label))
        .unwrap_or_else(|| panic!("no check {label:?} in step\n{step:#}"))
}

/// Asserts that checks ran and none failed, naming the failing ones otherwise.
#[track_caller]
fn assert_checks_pass(v: &Value) {
    let mut failing = Vec::new();
    for step in steps(v) {
        for c in step["checks"].as_array().into_iter().flatten() {
            if u(c, "/failed") > 0 {
                failing.push(format!(
                    "  {}/{}: {} failed {} of {}",
                    step["scenario"].as_str().unwrap_or("(setup)"),
                    step["name"].as_str().unwrap_or("?"),
                    c["label"],
                    u(c, "/failed"),
                    u(c, "/failed") + u(c, "/passed"),
                ));
            }
        }
    }
    assert!(
        failing.is_empty(),
        "failed checks:\n{}\nexamples: {:#}\n{}",
        failing.join("\n"),
        v["failures"],
        brief_run(v)
    );
    assert_eq!(u(v, "/checks/failed"), 0, "{}", brief_run(v));
    assert!(u(v, "/checks/passed") > 0, "{}", brief_run(v));
}

/// Asserts that every request step ran at least once and got a response every time.
#[track_caller]
fn assert_every_step_answered(v: &Value) {
    for step in steps(v) {
        let name = &step["name"];
        assert!(
            u(step, "/requests") > 0,
            "step {name} never ran\n{}",
            brief_run(v)
        );
        assert_eq!(
            u(step, "/responses"),
            u(step, "/requests"),
            "step {name}: every request answered\n{}",
            brief_run(v)
        );
    }
}

/// Asserts the figures of a scenario run add up: steps to the run, statuses and errors to each
/// step's requests, each check to its step's responses, the checks to their total.
#[track_caller]
fn assert_run_adds_up(v: &Value) {
    assert_eq!(v["kind"], "run", "{}", brief_run(v));
    let (mut requests, mut responses, mut passed, mut failed) = (0, 0, 0, 0);
    for step in steps(v) {
        let name = &step["name"];
        let step_requests = u(step, "/requests");
        let step_responses = u(step, "/responses");
        let sum = |key: &str| -> u64 {
            step[key]
                .as_object()
                .map(|o| o.values().filter_map(Value::as_u64).sum())
                .unwrap_or(0)
        };
        assert_eq!(
            step_requests,
            step_responses + sum("errors"),
            "step {name}: requests = responses + errors\n{}",
            brief_run(v)
        );
        // WebSocket steps (a message awaited, a ping) have responses without a status.
        if sum("status") > 0 {
            assert_eq!(
                sum("status"),
                step_responses,
                "step {name}: statuses add up to responses\n{}",
                brief_run(v)
            );
        }
        // With `retry`, checks judge each request's last attempt: the attempts retried are not
        // judged (those that got a response, that is).
        let retries = step["retries"].as_u64().unwrap_or(0);
        for c in step["checks"].as_array().into_iter().flatten() {
            let judged = u(c, "/passed") + u(c, "/failed");
            assert!(
                judged <= step_responses && judged + retries >= step_responses,
                "step {name}: check {} is judged once per response ({judged} of {step_responses}, \
                 {retries} retries)\n{}",
                c["label"],
                brief_run(v)
            );
            passed += u(c, "/passed");
            failed += u(c, "/failed");
        }
        requests += step_requests;
        responses += step_responses;
    }
    assert_eq!(
        requests,
        u(v, "/requests"),
        "steps add up to the run's requests\n{}",
        brief_run(v)
    );
    assert_eq!(
        responses,
        u(v, "/responses"),
        "steps add up to the run's responses\n{}",
        brief_run(v)
    );
    if v["checks"].is_object() {
        assert_eq!(u(v, "/checks/passed"), passed, "{}", brief_run(v));
        assert_eq!(u(v, "/checks/failed"), failed, "{}", brief_run(v));
    }
}

/// `(line, column)`, 1-based, of `token` on the first line of `text` that contains `line_has`.
fn position(text: &str, line_has: &str, token: &str) -> (usize, usize) {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(line_has))
        .unwrap_or_else(|| panic!("no line with {line_has:?} in\n{text}"));
    let col = line
        .find(token)
        .unwrap_or_else(|| panic!("no {token:?} in line {line:?}"));
    (i + 1, col + 1)
}

/// Asserts stderr has a diagnostic `FILE:LINE:COL: …message…` for `token` on the line that
/// contains `line_has`.
#[track_caller]
fn assert_diagnostic(out: &Output, file: &Path, text: &str, at: (&str, &str), message: &str) {
    let (line, col) = position(text, at.0, at.1);
    let prefix = format!("{}:{line}:{col}: ", file.display());
    let found = out
        .stderr
        .lines()
        .any(|l| l.starts_with(&prefix) && l.contains(message));
    assert!(
        found,
        "expected a diagnostic `{prefix}…{message}…`\n{}",
        out.context()
    );
}

/// The `/bytes/{n}` body of `pummel target`: byte `i` is `ALPHABET[i % 64]`. For 5000 bytes it is
/// 78 whole alphabets and `ABCDEFGH`, which this regex matches only at exactly that length.
const BYTES_5000_REGEX: &str = "^(?:[A-Za-z0-9_-]{64}){78}ABCDEFGH$";

/// A 5000-byte body in the same pattern, for nginx to serve.
fn bytes_5000() -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..5000).map(|i| ALPHABET[i % 64]).collect()
}

// ---------------------------------------------------------------------------------------------
// The examples
// ---------------------------------------------------------------------------------------------

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The examples this module runs, each in a test of its own below (`custom-metrics.yaml` and
/// `tags-groups.yaml` in `scenload`, `proxy.yaml` in `proxy`).
const EXAMPLES: [&str; 14] = [
    "browser-forms.yaml",
    "custom-metrics.yaml",
    "cycles.yaml",
    "flow.yaml",
    "http2.yaml",
    "marketplace.yaml",
    "open-model.yaml",
    "parallel.yaml",
    "per-scenario-load.yaml",
    "proxy.yaml",
    "quickstart.yaml",
    "tags-groups.yaml",
    "thresholds-fail.yaml",
    "websocket-feed.yaml",
];

/// The scenario files in `examples/`.
fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("read examples/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Copies `examples/` (its data files too) into a temporary directory with every scenario's
/// `target:` line pointing at `target`, and returns the directory and the copy of `name`.
fn example(target: &Target, name: &str) -> (Dir, PathBuf) {
    let dir = Dir::new();
    copy_tree(&examples_dir(), dir.0.path(), &base(target));
    let file = dir.path(name);
    assert!(file.exists(), "no example {name}");
    (dir, file)
}

fn copy_tree(from: &Path, to: &Path, base: &str) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("dir entry").path();
        let dest = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_tree(&path, &dest, base);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read example");
            let mut rewritten = 0;
            let lines: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.starts_with("target:") {
                        rewritten += 1;
                        format!("target: {base}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
            assert_eq!(
                rewritten,
                1,
                "{} has one top-level `target:` line",
                path.display()
            );
            std::fs::write(&dest, lines.join("\n") + "\n").expect("write example");
        } else {
            std::fs::copy(&path, &dest).expect("copy data file");
        }
    }
}

/// Asserts a run of an example passed: every threshold held, no check failed, no request failed.
#[track_caller]
fn assert_example_passed(out: &Output) -> Value {
    let r = out.json();
    let failed: Vec<String> = r["thresholds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["passed"] != true)
        .map(|t| {
            format!(
                "  {} ({}): observed {}",
                t["condition"], t["scope"], t["observed"]
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "thresholds failed:\n{}\n{}",
        failed.join("\n"),
        out.context()
    );
    assert_checks_pass(&r);
    assert!(u(&r, "/requests") > 0, "{}", brief_run(&r));
    assert_eq!(util::errors(&r), vec![], "{}", brief_run(&r));
    assert_run_adds_up(&r);
    assert_eq!(out.code, Some(0), "exit code\n{}", out.context());
    r
}

/// Every scenario file in `examples/` has a test here (a new example needs one, with overrides
/// that keep it short).
#[test]
fn every_example_has_a_test() {
    let names: Vec<String> = example_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, EXAMPLES, "the examples this module runs");
}

#[test]
fn validate_accepts_every_example() {
    let files = example_files();
    assert!(files.len() >= EXAMPLES.len());
    let mut args = vec!["validate"];
    args.extend(files.iter().map(|p| s(p)));
    let out = pummel(&args).expect_code(0);
    for file in &files {
        assert!(
            out.stdout.contains(&format!("{}: ok (", file.display())),
            "{} validates\n{}",
            file.display(),
            out.context()
        );
    }
}

#[test]
fn example_per_scenario_load_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = example(&target, "per-scenario-load.yaml");
    let html = file.with_extension("html");
    let r = assert_example_passed(&run(&file, &["--threads", "2", "--html", s(&html)]));
    let page = std::fs::read_to_string(&html).expect("html report");
    assert!(
        page.contains(r#"<section id="scenario-load">"#) && page.contains("<h3>order</h3>"),
        "no load-per-scenario section"
    );
    // Each scenario ran its own model: 10 orders/s for 2 s exactly, 2 users × 3 onboardings.
    let order = scenario(&r, "order");
    assert_eq!(
        u(order, "/iteration_counts/scheduled"),
        20,
        "{}",
        brief_run(&r)
    );
    assert_eq!(u(order, "/iterations"), 20, "{}", brief_run(&r));
    assert_eq!(u(scenario(&r, "onboarding"), "/iterations"), 6);
    let timeline = order["timeline"].as_array().expect("order timeline");
    assert_eq!(u(&timeline[0], "/started"), 0, "no order before 1 s");
    assert!(u(scenario(&r, "browse"), "/iterations") > 0);
}

#[test]
fn example_quickstart_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = example(&target, "quickstart.yaml");
    let r = assert_example_passed(&run(&file, &["--vus", "3", "--duration", "2s"]));
    assert_eq!(r["verdict"], "pass", "{}", brief_run(&r));
    assert!(u(scenario(&r, "browse"), "/iterations") > 0);
}

/// The parallel example: each batch lasts about its slowest request (200 ms), not the sum of its
/// three delayed ones, and the step after it uses what the batch captured.
#[test]
fn example_parallel_passes() {
    let target = Target::start();
    let (_dir, file) = example(&target, "parallel.yaml");
    let r = assert_example_passed(&run(&file, &[]));
    assert_eq!(u(&r, "/checks/passed"), 70, "{}", brief_run(&r));
    let assets = r["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == "assets"))
        .unwrap_or_else(|| panic!("no group assets\n{}", brief_run(&r)));
    assert_eq!(u(assets, "/batch/batches"), 10, "{assets}");
    let p50 = assets["batch"]["latency_ms"]["p50"].as_f64().unwrap_or(0.0);
    assert!(
        (200.0..600.0).contains(&p50),
        "batch p50 {p50} ms\n{assets}"
    );
}

/// The HTTP/2 example against the target's h2c: the version checks pass both ways.
#[test]
fn example_http2_passes() {
    let target = Target::start();
    let (_dir, file) = example(&target, "http2.yaml");
    let r = assert_example_passed(&run(&file, &["--iterations", "4"]));
    assert_eq!(u(&r, "/checks/passed"), 8, "{}", brief_run(&r));
}

/// The browser-forms example, once through: a redirect not followed, a CSRF token read by CSS
/// selector, an upload.
#[test]
fn example_browser_forms_passes() {
    let target = Target::start();
    let (_dir, file) = example(&target, "browser-forms.yaml");
    let r = assert_example_passed(&run(&file, &["--once"]));
    assert_eq!(u(&r, "/checks/passed"), 14, "{}", brief_run(&r));
}

/// The flow-control example: its branches, loops and retries run, and every flaky 503 was
/// retried to a 200 (the check judges the last attempt).
#[test]
fn example_flow_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = example(&target, "flow.yaml");
    let r = assert_example_passed(&run(&file, &["--vus", "2", "--duration", "2s"]));
    let flaky = step(&r, Some("shop"), "flaky");
    assert!(u(flaky, "/retries") > 0, "{}", brief_run(&r));
    assert_eq!(u(flaky, "/retries"), u(flaky, "/status/503"));
    assert_eq!(u(&r, "/retries"), u(flaky, "/retries"));
    assert_eq!(
        u(step(&r, Some("shop"), "by category"), "/requests"),
        3 * u(step(&r, Some("shop"), "search games"), "/requests"),
        "one pass per item"
    );
}

/// The marketplace example with its default pause between requests (500 ms to 2 s) replaced.
fn marketplace_example(target: &Target, think: &str) -> (Dir, PathBuf) {
    let (dir, file) = example(target, "marketplace.yaml");
    let text = std::fs::read_to_string(&file).expect("read copy");
    let default_think = "\n  think: 500ms..2s\n";
    assert!(text.contains(default_think), "{text}");
    std::fs::write(&file, text.replace(default_think, &format!("\n{think}\n")))
        .expect("write copy");
    (dir, file)
}

/// The marketplace example for 2 s instead of a minute, with 20 users (a row of `users.csv`
/// each) and 25–75 ms pauses instead of 500 ms to 2 s, so that 2 s reach every scenario and step
/// its thresholds name (a scope that saw nothing fails its threshold).
#[test]
fn example_marketplace_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = marketplace_example(&target, "  think: 25ms..75ms");
    let r = assert_example_passed(&run(&file, &["--vus", "20", "--duration", "2s"]));
    assert_eq!(r["verdict"], "pass", "{}", brief_run(&r));
    for name in ["browse", "publish", "review"] {
        assert!(
            u(scenario(&r, name), "/iterations") > 0,
            "{name}\n{}",
            brief_run(&r)
        );
    }
    assert_eq!(u(step(&r, None, "seed app"), "/status/201"), 1);
}

/// The example's users register in each scenario they run (a shared YAML
/// anchor): one user that runs both `publish` and `review` registers twice,
/// and the second answer is 409. The step's own `status: [201, 409]` check
/// accepts it, so it is not a failed request: `error_rate` stays at 0.
#[test]
fn example_marketplace_does_not_count_accepted_409s_as_errors() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = marketplace_example(&target, "");
    let out = run(&file, &["--vus", "1", "--iterations", "100"]);
    assert!(matches!(out.code, Some(0 | 99)), "{}", out.context());
    let r = out.json();
    let publish = u(scenario(&r, "publish"), "/iterations");
    let review = u(scenario(&r, "review"), "/iterations");
    assert!(publish > 0 && review > 0, "{}", brief_run(&r));
    assert_eq!(
        r["status"]["409"],
        1,
        "the second scenario's register: {}",
        brief_run(&r)
    );
    for s in ["publish", "review"] {
        assert_eq!(
            step(&r, Some(s), "register")["failed"],
            0,
            "{}",
            brief_run(&r)
        );
    }
    let error_rate = r["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["condition"] == "error_rate < 1%" && t["scope"] == "run")
        .expect("the run-wide error_rate threshold");
    assert_eq!(error_rate["observed"], 0.0, "{}", brief_run(&r));
    assert_eq!(error_rate["passed"], true, "{}", brief_run(&r));
}

#[test]
fn example_open_model_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = example(&target, "open-model.yaml");
    let r = assert_example_passed(&run(&file, &["--rate", "20", "--duration", "2s"]));
    assert_eq!(r["verdict"], "pass", "{}", brief_run(&r));
    assert_eq!(f(&r, "/open_model/rate"), 20.0, "{}", brief_run(&r));
    // 40 iterations scheduled in 2 s, one request each.
    util::assert_within(&r, "/requests", 36.0, 42.0);
}

#[test]
fn example_cycles_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = example(&target, "cycles.yaml");
    // `--duration` alone cannot shorten a cycles model: `--vus` makes it a constant one.
    let r = assert_example_passed(&run(&file, &["--vus", "3", "--duration", "2s"]));
    assert!(u(step(&r, Some("browse"), "list"), "/requests") > 0);
}

#[test]
fn example_websocket_feed_passes() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = example(&target, "websocket-feed.yaml");
    let r = assert_example_passed(&run(&file, &["--vus", "2", "--duration", "2s"]));
    assert_eq!(r["verdict"], "pass", "{}", brief_run(&r));
    let arrived = step(&r, Some("review-and-watch"), "review arrives on the feed");
    assert!(u(arrived, "/responses") > 0, "{}", brief_run(&r));
    assert_eq!(
        u(arrived, "/responses"),
        u(
            step(&r, Some("review-and-watch"), "post review"),
            "/status/201"
        ),
        "every review posted came back on the feed\n{}",
        brief_run(&r)
    );
}

/// `thresholds-fail.yaml` is built to fail: exit 99, a "fail" verdict, its `abort_on_fail`
/// threshold stopping the run after its 2 s grace (instead of the file's 10 s).
#[test]
fn example_thresholds_fail_exits_99() {
    let _machine = util::busy();
    let target = Target::start();
    let (dir, file) = example(&target, "thresholds-fail.yaml");
    let json = dir.path("result.json");
    let out = Running::spawn(&["run", s(&file), "--out", s(&json)])
        .finish(Duration::from_secs(30))
        .expect_code(99);
    assert!(
        out.stdout.contains("Verdict     FAIL"),
        "the text summary says FAIL\n{}",
        out.context()
    );
    assert!(out.stdout.contains("✗ FAIL"), "{}", out.context());
    assert!(
        out.stdout.contains("(stopped the run)"),
        "{}",
        out.context()
    );

    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("--out is written"))
        .expect("--out is JSON");
    assert_eq!(r["verdict"], "fail", "{}", brief_run(&r));
    let thresholds = r["thresholds"].as_array().expect("thresholds");
    assert!(
        thresholds.iter().any(|t| t["passed"] == false),
        "{}",
        brief_run(&r)
    );
    let aborting: Vec<&Value> = thresholds
        .iter()
        .filter(|t| t["aborted_run"] == true)
        .collect();
    assert_eq!(aborting.len(), 1, "{}", brief_run(&r));
    assert_eq!(aborting[0]["condition"], "checks > 99%");
    assert_eq!(aborting[0]["scope"], "scenario teapot");
    assert!(
        f(&r, "/duration_s") < 8.0,
        "the abort stops the 10 s run soon after its 2 s grace\n{}",
        brief_run(&r)
    );
    assert_eq!(u(&r, "/checks/passed"), 0, "{}", brief_run(&r));
    assert!(u(&r, "/checks/failed") > 0, "{}", brief_run(&r));
}

// ---------------------------------------------------------------------------------------------
// validate and init
// ---------------------------------------------------------------------------------------------

/// A broken file: its text, and the errors expected, each as (text on the line, the token the
/// column points at, part of the message).
struct Broken {
    name: &'static str,
    text: &'static str,
    errors: &'static [(&'static str, &'static str, &'static str)],
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "typo.yaml",
        text: "target: http://127.0.0.1:8080
load: { vus: 2, duraton: 10s }
scenarios:
  - name: browse
    steps:
      - request: GET /api/apps
",
        errors: &[(
            "duraton",
            "duraton",
            "unknown key `duraton` in `load` (did you mean `duration`?)",
        )],
    },
    Broken {
        name: "duration.yaml",
        text: "target: http://127.0.0.1:8080
load: { vus: 2, duration: 10 }
scenarios:
  - name: browse
    steps:
      - request: GET /api/apps
",
        errors: &[("duration: 10", "10", "has no unit")],
    },
    Broken {
        name: "undefined.yaml",
        text: "target: http://127.0.0.1:8080
load: { vus: 1, iterations: 1 }
scenarios:
  - name: browse
    steps:
      - name: category
        request: GET /api/apps?category={{ category }}
",
        errors: &[("{{ category }}", "category }}", "`category` is not defined")],
    },
    Broken {
        name: "jsonpath.yaml",
        text: r#"target: http://127.0.0.1:8080
scenarios:
  - name: browse
    steps:
      - request: GET /api/apps
        check:
          status: 200
          jsonpath: { "$.items[": exists }
"#,
        errors: &[("jsonpath:", "\"$.items[", "invalid JSONPath")],
    },
    Broken {
        name: "syntax.yaml",
        text: "target: http://127.0.0.1:8080
scenarios:
  - name: browse
    steps:
      - request: GET /api/apps
        check: { status: [200, 201 }
",
        errors: &[("check:", "[", "invalid YAML")],
    },
    Broken {
        name: "no-scenarios.yaml",
        text: "target: http://127.0.0.1:8080
load: { vus: 2, duration: 10s }
",
        errors: &[("target:", "target", "no `scenarios`")],
    },
    Broken {
        name: "several.yaml",
        text: r#"target: http://127.0.0.1:8080
load: { vus: 2, duraton: 10s }
thresholds:
  - p95 < 300
scenarios:
  - name: browse
    wieght: 2
    steps:
      - name: app page
        request: GET /api/apps/{{ app_id }}
        think: 2 seconds
      - name: search
        request: GET /api/apps
        check:
          jsonpath: { "$.items[": exists }
        capture:
          app_id: { jsonpath: "$.items[0].id" }
"#,
        errors: &[
            ("duraton", "duraton", "(did you mean `duration`?)"),
            ("p95 < 300", "300", "write 300ms"),
            ("wieght", "wieght", "(did you mean `weight`?)"),
            (
                "{{ app_id }}",
                "app_id }}",
                "`app_id` is used before it is captured",
            ),
            ("think: 2 seconds", "2 seconds", "invalid duration"),
            ("jsonpath:", "\"$.items[", "invalid JSONPath"),
        ],
    },
];

#[test]
fn validate_reports_every_error_at_its_line_and_column() {
    let dir = Dir::new();
    for broken in BROKEN {
        let file = dir.write(broken.name, broken.text);
        let out = pummel(&["validate", s(&file)]).expect_usage_error(&[]);
        for (line_has, token, message) in broken.errors {
            assert_diagnostic(&out, &file, broken.text, (line_has, token), message);
        }
        let count = broken.errors.len();
        let summary = if count == 1 {
            "1 error".to_owned()
        } else {
            format!("{count} errors")
        };
        assert!(
            out.stderr.lines().any(|l| l == summary),
            "{}: all {count} errors reported\n{}",
            broken.name,
            out.context()
        );
    }
}

#[test]
fn validate_checks_every_file_it_is_given() {
    let dir = Dir::new();
    let good = dir.write(
        "good.yaml",
        "target: http://127.0.0.1:8080\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
    );
    let typo = dir.write(BROKEN[0].name, BROKEN[0].text);
    let jsonpath = dir.write(BROKEN[3].name, BROKEN[3].text);
    let out = pummel(&["validate", s(&good), s(&typo), s(&jsonpath)]).expect_code(2);
    assert!(
        out.stdout.contains(&format!("{}: ok", good.display())),
        "{}",
        out.context()
    );
    assert!(
        out.stderr.contains(&format!("{}:2:17: ", typo.display())),
        "{}",
        out.context()
    );
    assert!(
        out.stderr
            .contains(&format!("{}:8:23: ", jsonpath.display())),
        "{}",
        out.context()
    );
}

/// `pummel run` loads files as `validate` does: the same diagnostics, exit 2, nothing sent.
#[test]
fn run_refuses_a_broken_file_with_the_same_diagnostics() {
    let dir = Dir::new();
    for broken in [&BROKEN[0], &BROKEN[2], &BROKEN[6]] {
        let file = dir.write(broken.name, broken.text);
        let out = pummel(&["run", s(&file), "--json"]).expect_usage_error(&[]);
        for (line_has, token, message) in broken.errors {
            assert_diagnostic(&out, &file, broken.text, (line_has, token), message);
        }
    }
}

#[test]
fn init_writes_a_file_that_validates_and_keeps_it() {
    let dir = Dir::new();
    let file = dir.path("pummel.yaml");
    pummel(&["init", s(&file)]).expect_code(0);
    let written = std::fs::read_to_string(&file).expect("init wrote the file");
    assert!(written.contains("scenarios:"), "{written}");
    pummel(&["validate", s(&file)]).expect_code(0);

    // A second init would overwrite it: refused unless --force.
    std::fs::write(&file, "# my edits\n".to_owned() + &written).expect("edit");
    pummel(&["init", s(&file)]).expect_usage_error(&["--force"]);
    assert!(std::fs::read_to_string(&file)
        .expect("still there")
        .starts_with("# my edits\n"));
    pummel(&["init", "--force", s(&file)]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&file).expect("rewritten"),
        written,
        "--force writes the example again"
    );
}

// ---------------------------------------------------------------------------------------------
// Journeys and browser behaviour against pummel target
// ---------------------------------------------------------------------------------------------

/// Each user registers an account of its own, logs in with basic auth (the session cookie goes to
/// its jar), then publishes an app, reviews it and reads the reviews back, every iteration.
const MARKETPLACE_JOURNEY: &str = r#"
name: marketplace journey
target: @TARGET@
defaults:
  headers: { accept: application/json }
  timeout: 5s
variables:
  username: "vu{{ vu }}-{{ uuid() }}"
  password: "{{ random_string(16) }}"
load: { vus: 3, duration: 2s }
thresholds:
  - checks > 99.9%
  - error_rate < 0.1%
scenarios:
  - name: publish and review
    setup:
      - name: register
        request:
          method: POST
          url: /api/register
          json: { username: "{{ username }}", password: "{{ password }}" }
        check:
          status: 201
          jsonpath: { "$.username": "{{ username }}" }
      - name: login
        request:
          method: POST
          url: /api/login
          auth: { basic: { username: "{{ username }}", password: "{{ password }}" } }
        check:
          status: 200
          headers: { set-cookie: { contains: "session=" } }
    steps:
      - name: me
        request: GET /api/me
        check:
          status: 200
          jsonpath: { "$.username": "{{ username }}" }
      - name: create app
        request:
          method: POST
          url: /api/apps
          json:
            name: "App of {{ username }} {{ iteration }}"
            category: tools
            description: Published by virtual user {{ vu }}.
        check:
          status: 201
          jsonpath:
            "$.id": exists
            "$.owner": "{{ username }}"
        capture:
          app_id: { jsonpath: "$.id" }
      - name: review
        request:
          method: POST
          url: /api/apps/{{ app_id }}/reviews
          json: { rating: "{{ random_int(1, 5) }}", text: "Reviewed by {{ username }}" }
        check:
          status: 201
          jsonpath:
            "$.app_id": "{{ app_id }}"
            "$.author": "{{ username }}"
            "$.rating": { regex: "^[1-5]$" }
        capture:
          review_id: { jsonpath: "$.id" }
      - name: read reviews
        request: GET /api/apps/{{ app_id }}/reviews
        check:
          status: 200
          jsonpath:
            "$.total": 1
            "$.items[0].id": "{{ review_id }}"
            "$.items[0].text": "Reviewed by {{ username }}"
      - name: app page
        request: GET /api/apps/{{ app_id }}
        check:
          status: 200
          jsonpath: { "$.reviews": 1, "$.owner": "{{ username }}" }
"#;

#[test]
fn marketplace_journey_passes_every_check() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for("journey.yaml", &base(&target), MARKETPLACE_JOURNEY);
    let r = run_json(&file, &[], 0);
    assert_eq!(r["verdict"], "pass", "{}", brief_run(&r));
    assert_checks_pass(&r);
    assert_every_step_answered(&r);
    assert_run_adds_up(&r);
    let journey = scenario(&r, "publish and review");
    assert!(u(journey, "/iterations") > 0, "{}", brief_run(&r));
    assert_eq!(u(journey, "/aborted"), 0, "{}", brief_run(&r));
    // One account per user, registered once.
    assert_eq!(
        u(
            step(&r, Some("publish and review"), "register"),
            "/status/201"
        ),
        3,
        "{}",
        brief_run(&r)
    );
    let created = u(
        step(&r, Some("publish and review"), "create app"),
        "/requests",
    );
    assert!(created > 0, "{}", brief_run(&r));
}

/// Cookies, redirects, basic auth, gzip, chunked bodies and captures, against the endpoints of
/// `pummel target` made for them.
const TARGET_BROWSER: &str = r#"
target: @TARGET@
load: { vus: 2, iterations: 10 }
scenarios:
  - name: browser
    steps:
      - name: set cookies
        # 302 with two Set-Cookie headers to /cookies, which shows the cookies it was sent.
        request: GET /cookies/set?flavour=oatmeal&iteration={{ iteration }}
        check:
          status: 200
          jsonpath:
            "$.cookies.flavour": oatmeal
            "$.cookies.iteration": "{{ iteration }}"
      - name: cookies kept
        request: GET /cookies
        check:
          jsonpath: { "$.cookies.flavour": oatmeal }
      - name: redirects
        request: GET /redirect/3
        check:
          status: 200
          body: { equals: "Hello from pummel target\n" }
      - name: basic auth
        request:
          url: /basic-auth/alice/s3cret
          auth: { basic: { username: alice, password: s3cret } }
        check: { status: 200 }
      - name: basic auth wrong
        request:
          url: /basic-auth/alice/s3cret
          auth: { basic: { username: alice, password: wrong } }
        check: { status: 401 }
      - name: gzip
        request: GET /gzip
        check:
          status: 200
          headers: { content-encoding: gzip }
          jsonpath:
            "$.gzipped": true
            "$.message": { contains: pummel }
      - name: chunked
        request: GET /bytes/5000?chunked=1
        check:
          status: 200
          headers: { transfer-encoding: { contains: chunked }, content-length: absent }
          body: { regex: '@BYTES_REGEX@' }
      - name: login
        request:
          method: POST
          url: /api/login
          auth: { basic: { username: demo, password: demo } }
        check: { status: 200 }
        capture:
          session: { cookie: session }
          token: { jsonpath: "$.token" }
          token_by_regex: { regex: '"token"\s*:\s*"([0-9a-f]+)"' }
          content_type: { header: Content-Type }
      - name: show headers
        request:
          url: /headers
          headers:
            x-session: "{{ session }}"
            x-token: "{{ token_by_regex }}"
            x-content-type: "{{ content_type }}"
        check:
          status: 200
          jsonpath:
            "$.headers['x-session']": "{{ token }}"
            "$.headers['x-token']": "{{ token }}"
            "$.headers['x-content-type']": { contains: json }
            "$.headers.cookie": { contains: "session={{ session }}" }
      - name: me
        request: GET /api/me
        check:
          status: 200
          jsonpath: { "$.username": demo }
"#;

#[test]
fn browser_behaviour_against_the_target() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let text = TARGET_BROWSER.replace("@BYTES_REGEX@", BYTES_5000_REGEX);
    let file = dir.write_for("browser.yaml", &base(&target), &text);
    let r = run_json(&file, &[], 0);
    assert_checks_pass(&r);
    assert_every_step_answered(&r);
    assert_run_adds_up(&r);
    assert_eq!(u(scenario(&r, "browser"), "/iterations"), 10);
    assert_eq!(u(scenario(&r, "browser"), "/aborted"), 0);
    assert!(
        u(step(&r, Some("browser"), "chunked"), "/bytes_received") > 10 * 5000,
        "{}",
        brief_run(&r)
    );
}

/// A sequential feeder hands out rows in file order, wrapping around; a unique one gives each user
/// a row of its own for its whole life.
#[test]
fn csv_feeders_sequential_and_unique() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let target_base = base(&target);

    // Row k is drawn by iterations k and k + 5 of the one user.
    dir.write(
        "slots.csv",
        "slot,iterations\ns0,-0-5-\ns1,-1-6-\ns2,-2-\ns3,-3-\ns4,-4-\n",
    );
    let sequential = dir.write_for(
        "sequential.yaml",
        &target_base,
        r#"
target: @TARGET@
data:
  slots: slots.csv
load: { vus: 1, iterations: 7 }
scenarios:
  - name: in order
    steps:
      - name: echo row
        request:
          method: POST
          url: /echo
          json: { slot: "{{ slots.slot }}", iterations: "{{ slots.iterations }}" }
        check:
          status: 200
          jsonpath:
            "$.iterations": { contains: "-{{ iteration }}-" }
"#,
    );
    let r = run_json(&sequential, &["--threads", "1"], 0);
    assert_checks_pass(&r);
    assert_eq!(u(step(&r, Some("in order"), "echo row"), "/requests"), 7);

    // Three users, three accounts: a shared row would register twice and get 409.
    dir.write(
        "users.csv",
        "username,password\nfeeder-ann,pass-ann-1\nfeeder-bob,pass-bob-2\n\"feeder-cy\",\"pass,cy\"\"3\"\n",
    );
    let unique = dir.write_for(
        "unique.yaml",
        &target_base,
        r#"
target: @TARGET@
data:
  users: { file: users.csv, mode: unique }
load: { vus: 3, duration: 1s }
scenarios:
  - name: accounts
    setup:
      - name: register
        request:
          method: POST
          url: /api/register
          json: { username: "{{ users.username }}", password: "{{ users.password }}" }
        check: { status: 201 }
      - name: login
        request:
          method: POST
          url: /api/login
          auth: { basic: { username: "{{ users.username }}", password: "{{ users.password }}" } }
        check: { status: 200 }
    steps:
      - name: me
        request: GET /api/me
        check:
          status: 200
          jsonpath: { "$.username": "{{ users.username }}" }
      - think: 20ms
"#,
    );
    pummel(&["validate", s(&unique)]).expect_code(0);
    let r = run_json(&unique, &[], 0);
    assert_checks_pass(&r);
    assert_eq!(
        u(step(&r, Some("accounts"), "register"), "/status/201"),
        3,
        "{}",
        brief_run(&r)
    );
    assert!(u(step(&r, Some("accounts"), "me"), "/requests") >= 3);
}

/// A unique feeder with fewer rows than users: for a closed model the file is refused (exit 2, at
/// the feeder); when the users only come from `--vus` or from an open model's demand, the run
/// stops with an error naming the feeder (exit 1, a run-time failure).
#[test]
fn a_unique_feeder_with_too_few_rows_is_an_error() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    dir.write("users.csv", "name\nann\nbob\ncy\n");
    let scenario = r#"
target: @TARGET@
data:
  users: { file: users.csv, mode: unique }
load: LOAD
scenarios:
  - name: users
    steps:
      - request: GET /delay/200?user={{ users.name }}
"#;
    let closed_text = scenario
        .replace("@TARGET@", &base(&target))
        .replace("LOAD", "{ vus: 5, duration: 2s }");
    let closed = dir.write("closed.yaml", &closed_text);
    for command in ["validate", "run"] {
        let out = pummel(&[command, s(&closed)]).expect_usage_error(&[]);
        assert_diagnostic(
            &out,
            &closed,
            &closed_text,
            ("users:", "users"),
            "data feeder `users` (mode: unique) has 3 rows, but the load model runs up to 5 virtual users",
        );
    }

    let two = dir.write_for(
        "two.yaml",
        &base(&target),
        &scenario.replace("LOAD", "{ vus: 2, duration: 10s }"),
    );
    pummel(&["run", s(&two), "--duration", "1s"]).expect_code(0);
    let out = run(&two, &["--vus", "5"]).expect_code(1);
    assert!(
        out.stderr
            .contains("data feeder `users` (mode: unique) ran dry"),
        "{}",
        out.context()
    );
    assert!(
        out.elapsed < Duration::from_secs(8),
        "the run stops when the feeder runs dry\n{}",
        out.context()
    );
    let r = out.json();
    assert_eq!(r["partial"], true, "{}", brief_run(&r));
}

/// An open model's demand for users is known only at run time (`validate` cannot check it): when
/// it outgrows a unique feeder, the run stops there with an error naming the feeder, exit 1.
#[test]
fn an_open_model_stops_when_its_unique_feeder_runs_dry() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    dir.write("users.csv", "name\nann\nbob\ncy\n");
    // 50 arrivals a second that each take 200 ms keep about 10 users busy.
    let open = dir.write_for(
        "open.yaml",
        &base(&target),
        r#"
target: @TARGET@
data:
  users: { file: users.csv, mode: unique }
load: { rate: 50, duration: 6s, max_vus: 50 }
scenarios:
  - name: users
    steps:
      - request: GET /delay/200?user={{ users.name }}
"#,
    );
    pummel(&["validate", s(&open)]).expect_code(0);
    let out = run(&open, &[]).expect_code(1);
    assert!(
        out.stderr
            .contains("data feeder `users` (mode: unique) ran dry"),
        "{}",
        out.context()
    );
    assert_eq!(out.json()["partial"], true);
    assert!(
        out.elapsed < Duration::from_secs(4),
        "the run stops when the feeder runs dry, not at the end of its 6 s schedule\n{}",
        out.context()
    );
}

/// The run-time error counts the rows of the file: a 3-row file reported as "only 2 rows" (the
/// share of one worker thread) sends the user looking for a row that is not missing.
#[test]
fn a_feeder_that_runs_dry_counts_the_rows_of_its_file() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    dir.write("users.csv", "name\nann\nbob\ncy\n");
    let file = dir.write_for(
        "two.yaml",
        &base(&target),
        r#"
target: @TARGET@
data:
  users: { file: users.csv, mode: unique }
load: { vus: 2, duration: 10s }
scenarios:
  - name: users
    steps:
      - request: GET /delay/200?user={{ users.name }}
"#,
    );
    let out = run(&file, &["--vus", "5", "--threads", "2"]).expect_code(1);
    assert!(
        out.stderr.contains("ran dry") && out.stderr.contains("3 rows"),
        "the message names the file's 3 rows\n{}",
        out.context()
    );
}

// ---------------------------------------------------------------------------------------------
// The same behaviour against nginx
// ---------------------------------------------------------------------------------------------

/// nginx's site: cookies, captures, gzip (chunked, since nginx cannot know the compressed length
/// up front), basic auth from a generated htpasswd file.
const NGINX_SITE: &str = r#"
    location = /login {
      add_header Set-Cookie "session=$arg_user-42; Path=/; HttpOnly";
      add_header X-Request-Token "tok-$arg_user";
      default_type application/json;
      return 200 '{"user":"$arg_user","token":"tok-$arg_user"}';
    }
    location = /echo-cookie {
      default_type text/plain;
      return 200 "$cookie_session";
    }
    location = /whoami {
      default_type application/json;
      return 200 '{"token":"$http_x_token","session":"$cookie_session","row":"$arg_row"}';
    }
    location = /set-cookie {
      add_header Set-Cookie "flavour=oatmeal; Path=/";
      return 302 /show-cookie;
    }
    location = /show-cookie {
      default_type application/json;
      return 200 '{"flavour":"$cookie_flavour"}';
    }
    location = /hop/3 { return 302 /hop/2; }
    location = /hop/2 { return 301 /hop/1; }
    location = /hop/1 { return 307 /landing; }
    location = /landing {
      default_type application/json;
      return 200 '{"landed":true}';
    }
    location /private/ {
      auth_basic "pummel test";
      auth_basic_user_file @DIR@/htpasswd;
    }
    location / {
      gzip on;
      gzip_types application/json text/plain;
      gzip_min_length 0;
      chunked_transfer_encoding on;
    }
"#;

fn start_nginx() -> Option<Nginx> {
    let apps = serde_json::json!({
        "total": 200,
        "items": (0..200).map(|i| serde_json::json!({"id": i, "name": format!("app {i}")})).collect::<Vec<_>>(),
    })
    .to_string();
    let pattern = bytes_5000();
    let htpasswd = nginx::htpasswd_line("alice", "s3cret");
    Nginx::start_or_skip(
        NGINX_SITE,
        &[
            ("apps.json", apps.as_bytes()),
            ("pattern.txt", &pattern),
            (
                "private/secret.json",
                br#"{"secret":"nginx basic auth works"}"#,
            ),
        ],
        &[("htpasswd", htpasswd.as_bytes())],
    )
}

const NGINX_BROWSER: &str = r#"
target: @TARGET@
load: { vus: 2, iterations: 12 }
data:
  rows: rows.csv
scenarios:
  - name: nginx
    steps:
      - name: gzip json
        request: GET /apps.json
        check:
          status: 200
          headers:
            content-encoding: gzip
            transfer-encoding: { contains: chunked }
            content-length: absent
          jsonpath:
            "$.total": 200
            "$.items[199].name": "app 199"
      - name: gzip chunked text
        request: GET /pattern.txt
        check:
          status: 200
          headers: { content-encoding: gzip, transfer-encoding: chunked }
          body: { regex: '@BYTES_REGEX@' }
      - name: basic auth
        request:
          url: /private/secret.json
          auth: { basic: { username: alice, password: s3cret } }
        check:
          status: 200
          jsonpath: { "$.secret": { contains: basic auth } }
      - name: basic auth wrong
        request:
          url: /private/secret.json
          auth: { basic: { username: alice, password: wrong } }
        check:
          status: 401
          headers: { www-authenticate: { contains: pummel test } }
      - name: no auth
        request: GET /private/secret.json
        check: { status: 401 }
      - name: login
        request: GET /login?user=u{{ vu }}
        check: { status: 200 }
        capture:
          session: { cookie: session }
          token: { header: X-Request-Token }
          user: { jsonpath: "$.user" }
          token_by_regex: { regex: '"token":"([^"]+)"' }
      - name: cookie sent back
        request: GET /echo-cookie
        check:
          body: { equals: "{{ user }}-42" }
      - name: captures sent back
        request:
          url: /whoami
          query: { row: "{{ rows.row }}" }
          headers: { x-token: "{{ token_by_regex }}" }
        check:
          jsonpath:
            "$.token": "{{ token }}"
            "$.session": "{{ session }}"
            "$.row": { equals: "{{ rows.row }}", regex: "^r[0-2]$" }
"#;

/// gzip, chunked bodies, basic auth, cookies, captures by header, cookie, JSONPath and regex, and
/// a feeder, against nginx.
#[test]
fn browser_behaviour_against_nginx() {
    let _machine = util::busy();
    let Some(nginx) = start_nginx() else { return };
    let dir = Dir::new();
    dir.write("rows.csv", "row\nr0\nr1\nr2\n");
    let text = NGINX_BROWSER.replace("@BYTES_REGEX@", BYTES_5000_REGEX);
    let file = dir.write_for("nginx.yaml", nginx.base(), &text);
    let out = run(&file, &[]);
    assert_eq!(
        out.code,
        Some(0),
        "{}\nnginx:\n{}",
        out.context(),
        nginx.log()
    );
    let r = out.json();
    assert_checks_pass(&r);
    assert_every_step_answered(&r);
    assert_run_adds_up(&r);
    assert_eq!(u(scenario(&r, "nginx"), "/iterations"), 12);
    assert_eq!(u(&r, "/status/401"), 24, "{}", brief_run(&r));
}

/// Redirects from nginx: a cookie set on a 302 is sent to where it points, a chain of 302, 301 and
/// 307 ends at the last page, and checks see that page. (nginx's redirects have an HTML body,
/// unlike those of `pummel target`.)
#[test]
fn redirects_against_nginx() {
    let _machine = util::busy();
    let Some(nginx) = start_nginx() else { return };
    let dir = Dir::new();
    let file = dir.write_for(
        "redirects.yaml",
        nginx.base(),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 3 }
scenarios:
  - name: redirects
    steps:
      - name: cookie across a redirect
        request: GET /set-cookie
        check:
          status: 200
          jsonpath: { "$.flavour": oatmeal }
      - name: redirect chain
        request: GET /hop/3
        check:
          status: 200
          body: { equals: '{"landed":true}' }
"#,
    );
    let out = run(&file, &[]);
    assert_eq!(
        out.code,
        Some(0),
        "{}\nnginx:\n{}",
        out.context(),
        nginx.log()
    );
    let r = out.json();
    assert_checks_pass(&r);
    assert_every_step_answered(&r);
}

// ---------------------------------------------------------------------------------------------
// Thresholds
// ---------------------------------------------------------------------------------------------

#[test]
fn error_rate_threshold_fails_against_status_500() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for(
        "errors.yaml",
        &base(&target),
        r#"
target: @TARGET@
load: { vus: 2, duration: 1s }
thresholds:
  - error_rate < 1%
scenarios:
  - name: failing
    steps:
      - name: server error
        request: GET /status/500
      - think: 5ms
"#,
    );
    let out = run(&file, &[]).expect_code(99);
    let r = out.json();
    assert_eq!(r["verdict"], "fail", "{}", brief_run(&r));
    let t = &r["thresholds"][0];
    assert_eq!(t["condition"], "error_rate < 1%");
    assert_eq!(t["passed"], false, "{}", brief_run(&r));
    assert_eq!(f(t, "/observed"), 1.0, "{}", brief_run(&r));
    assert!(u(&r, "/requests") > 0);
    assert_eq!(
        u(&r, "/status/500"),
        u(&r, "/requests"),
        "{}",
        brief_run(&r)
    );
    assert_run_adds_up(&r);

    let text = pummel(&["run", s(&file)]).expect_code(99);
    assert!(
        text.stdout.contains("Verdict     FAIL"),
        "{}",
        text.context()
    );
}

#[test]
fn abort_on_fail_stops_a_long_run_early() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for(
        "abort.yaml",
        &base(&target),
        r#"
target: @TARGET@
load: { vus: 2, duration: 30s }
thresholds:
  - condition: error_rate < 10%
    abort_on_fail: true
    abort_grace: 1s
  - p99 < 10s
scenarios:
  - name: unavailable
    steps:
      - request: GET /status/503
      - think: 10ms
"#,
    );
    let out = Running::spawn(&["run", s(&file), "--json"])
        .finish(Duration::from_secs(25))
        .expect_code(99);
    assert!(
        out.elapsed < Duration::from_secs(10),
        "a 30 s run stops about 1 s in\n{}",
        out.context()
    );
    let r = out.json();
    assert!(f(&r, "/duration_s") < 10.0, "{}", brief_run(&r));
    assert_eq!(r["verdict"], "fail", "{}", brief_run(&r));
    let aborting = &r["thresholds"][0];
    assert_eq!(aborting["aborted_run"], true, "{}", brief_run(&r));
    assert_eq!(aborting["passed"], false, "{}", brief_run(&r));
    let other = &r["thresholds"][1];
    assert_eq!(other["aborted_run"], false, "{}", brief_run(&r));
    assert_eq!(other["passed"], true, "{}", brief_run(&r));
    assert!(u(&r, "/status/503") > 0);
}

// ---------------------------------------------------------------------------------------------
// The open model and cycles
// ---------------------------------------------------------------------------------------------

/// 100 iterations a second for 6 s, served by at most 10 users, while the target freezes for 1 s
/// (2 s after its first request). The 100 iterations scheduled in the freeze waited from their
/// scheduled start until it ended — 1 s down to 0 — so the slowest 1 % of the 600 waited about
/// 0.94–1 s. Measured from when a user became free to start them instead, they look fast.
#[test]
fn open_model_scenario_counts_a_stall_from_the_schedule() {
    let _machine = util::quiet();
    let target = Target::start_with(&["--stall-after", "2s", "--stall-for", "1s"]);
    let dir = Dir::new();
    let file = dir.write_for(
        "open.yaml",
        &base(&target),
        r#"
target: @TARGET@
load: { rate: 100, duration: 6s, max_vus: 10 }
scenarios:
  - name: arrivals
    steps:
      - name: hello
        request: GET /
        check: { status: 200 }
"#,
    );
    let r = run_json(&file, &[], 0);
    assert_checks_pass(&r);
    assert_eq!(util::errors(&r), vec![], "{}", brief_run(&r));
    assert_eq!(f(&r, "/open_model/rate"), 100.0, "{}", brief_run(&r));
    util::assert_within(&r, "/requests", 570.0, 600.0);
    util::assert_within(&r, "/latency_ms/p99", 850.0, 1150.0);
    util::assert_within(&r, "/latency_ms/max", 850.0, 1300.0);
    let arrivals = scenario(&r, "arrivals");
    util::assert_within(arrivals, "/iteration_ms/p99", 850.0, 1150.0);
    assert!(u(&r, "/open_model/late") > 0, "{}", brief_run(&r));
    assert!(u(arrivals, "/late") > 0, "{}", brief_run(&r));
    assert_eq!(u(&r, "/open_model/dropped"), 0, "{}", brief_run(&r));
    // A tenth of the run (the last 0.6 s of the freeze) waited 0.4 s or more from the schedule;
    // from the moment each request went out, almost nothing did.
    assert!(f(&r, "/latency_ms/p90") > 250.0, "{}", brief_run(&r));
    assert!(
        f(&r, "/open_model/uncorrected_latency_ms/p90") < 100.0,
        "{}",
        brief_run(&r)
    );
}

/// Every iteration an open model schedules is accounted for, once: it ran (late or on time) or it
/// was dropped. 50 a second for 2 s with one user and 30 ms a request: about 62 run, nearly all
/// late, and the other 38 or so never start.
#[test]
fn open_model_accounts_for_every_scheduled_iteration_once() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for(
        "late.yaml",
        &base(&target),
        r#"
target: @TARGET@
load: { rate: 50, duration: 2s, max_vus: 1 }
scenarios:
  - name: slow
    steps:
      - request: GET /delay/30
"#,
    );
    let r = run_json(&file, &[], 0);
    let slow = scenario(&r, "slow");
    let iterations = u(slow, "/iterations");
    assert!(iterations > 0 && u(slow, "/late") > 0, "{}", brief_run(&r));
    let mut wrong = Vec::new();
    if u(&r, "/open_model/late") != u(slow, "/late") {
        wrong.push(format!(
            "open_model.late = {} but the scenario had {} late iterations (of {iterations})",
            u(&r, "/open_model/late"),
            u(slow, "/late")
        ));
    }
    // 100 scheduled: the ones that ran, one perhaps cut short by the end, and the dropped.
    let dropped = u(&r, "/open_model/dropped");
    if !(97..=100).contains(&(iterations + dropped)) {
        wrong.push(format!(
            "{iterations} iterations ran and {dropped} were dropped, of 100 scheduled"
        ));
    }
    if u(slow, "/dropped") != dropped {
        wrong.push(format!(
            "open_model.dropped = {dropped} but the scenario's dropped = {}",
            u(slow, "/dropped")
        ));
    }
    assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), brief_run(&r));
}

#[test]
fn cycles_report_one_entry_per_level() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for(
        "cycles.yaml",
        &base(&target),
        r#"
target: @TARGET@
load:
  cycles: [1, 2, 4]
  cycle_duration: 2s
  startup_delay: 20ms
scenarios:
  - name: browse
    steps:
      - name: list
        request: GET /delay/5
        check: { status: 200 }
"#,
    );
    let r = run_json(&file, &[], 0);
    assert_checks_pass(&r);
    assert_run_adds_up(&r);
    let cycles = r["cycles"].as_array().expect("cycles[]");
    assert_eq!(cycles.len(), 3, "{}", brief_run(&r));
    for (i, (cycle, level)) in cycles.iter().zip([1, 2, 4]).enumerate() {
        assert_eq!(u(cycle, "/index"), i as u64, "{}", brief_run(&r));
        assert_eq!(u(cycle, "/level"), level, "{}", brief_run(&r));
        assert!(f(cycle, "/rps") > 0.0, "cycle {i}\n{}", brief_run(&r));
        assert!(u(cycle, "/requests") > 0, "cycle {i}\n{}", brief_run(&r));
        assert!(
            f(cycle, "/duration_s") > 0.0,
            "cycle {i}\n{}",
            brief_run(&r)
        );
        assert_eq!(u(cycle, "/errors"), 0, "cycle {i}\n{}", brief_run(&r));
    }
    // Four users each waiting 5 ms per request make more requests a second than one does.
    assert!(
        f(&cycles[2], "/rps") > f(&cycles[0], "/rps"),
        "{}",
        brief_run(&r)
    );
}

/// Each cycle is measured while its level is held, "from its last user's start to the cycle's
/// end" (docs/scenarios.md): a 1 s cycle whose users start 10 ms apart is held for almost 1 s.
#[test]
fn short_cycles_are_measured_too() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for(
        "cycles.yaml",
        &base(&target),
        r#"
target: @TARGET@
load:
  cycles: [1, 2, 3]
  cycle_duration: 1s
  startup_delay: 10ms
scenarios:
  - name: browse
    steps:
      - request: GET /delay/5
"#,
    );
    let r = run_json(&file, &[], 0);
    let cycles = r["cycles"].as_array().expect("cycles[]");
    assert_eq!(cycles.len(), 3, "{}", brief_run(&r));
    for (i, cycle) in cycles.iter().enumerate() {
        assert!(
            u(cycle, "/requests") > 0 && f(cycle, "/duration_s") > 0.0,
            "cycle {i} ({} users) ran for 1 s yet reports nothing\n{}",
            cycle["level"],
            brief_run(&r)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C
// ---------------------------------------------------------------------------------------------

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every request `200 ok` and reports when it
/// has answered `n`: the event a test waits for before interrupting a run.
struct Beacon {
    base: String,
    reached: mpsc::Receiver<()>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl Beacon {
    fn start(n: u64) -> Beacon {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, reached) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (tx, answered) = (tx.clone(), answered.clone());
                std::thread::spawn(move || answer(conn, n, &answered, &tx));
            }
        });
        Beacon {
            base: format!("http://{addr}"),
            reached,
            stop,
            addr,
        }
    }
}

impl Drop for Beacon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Answers the requests of one connection (bodiless ones, which is all the test sends).
fn answer(conn: TcpStream, n: u64, answered: &AtomicU64, reached: &mpsc::Sender<()>) {
    let Ok(read) = conn.try_clone() else { return };
    let mut reader = BufReader::new(read);
    let mut writer = conn;
    let mut line = String::new();
    loop {
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {}
            }
        }
        let response =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
        if writer.write_all(response).is_err() {
            return;
        }
        if answered.fetch_add(1, Ordering::SeqCst) + 1 == n {
            let _ = reached.send(());
        }
    }
}

#[test]
fn ctrl_c_on_a_scenario_run_writes_a_partial_result() {
    let _machine = util::busy();
    let beacon = Beacon::start(50);
    let dir = Dir::new();
    let file = dir.write_for(
        "long.yaml",
        &beacon.base,
        r#"
target: @TARGET@
load: { vus: 2, duration: 30s }
scenarios:
  - name: long
    steps:
      - name: ping
        request: GET /ping
        check: { status: 200, body: ok }
      - think: 5ms
"#,
    );
    let json = dir.path("partial.json");
    let run = Running::spawn(&["run", s(&file), "--json", "--out", s(&json)]);
    if beacon
        .reached
        .recv_timeout(Duration::from_secs(20))
        .is_err()
    {
        run.interrupt();
        let out = run.finish(Duration::from_secs(30));
        panic!(
            "the run did not reach 50 requests in 20 s\n{}",
            out.context()
        );
    }
    let interrupted_at = Instant::now();
    run.interrupt();
    let out = run.finish(Duration::from_secs(30)).expect_code(130);
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(10),
        "the run stops promptly after Ctrl-C\n{}",
        out.context()
    );
    let printed = out.json();
    assert_eq!(printed["kind"], "run", "{}", brief_run(&printed));
    assert_eq!(printed["partial"], true, "{}", brief_run(&printed));
    assert!(f(&printed, "/duration_s") < 20.0, "{}", brief_run(&printed));
    // 50 were answered before the interrupt; at most one per user may have been cut off.
    assert!(u(&printed, "/requests") >= 48, "{}", brief_run(&printed));
    assert_eq!(util::errors(&printed), vec![], "{}", brief_run(&printed));
    assert!(u(scenario(&printed, "long"), "/iterations") > 0);
    assert_checks_pass(&printed);
    assert_run_adds_up(&printed);

    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("--out is written on Ctrl-C"))
            .expect("--out is JSON");
    assert_eq!(written, printed, "stdout and --out hold the same result");
}

// ---------------------------------------------------------------------------------------------
// The JSON result
// ---------------------------------------------------------------------------------------------

/// Two weighted scenarios, 40 iterations in all, one check that always fails: every figure of the
/// result adds up, per step, per check, per scenario and for the run.
#[test]
fn json_result_of_a_run_adds_up() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write_for(
        "counts.yaml",
        &base(&target),
        r#"
name: counting
target: @TARGET@
load: { vus: 2, iterations: 40 }
scenarios:
  - name: reader
    weight: 3
    steps:
      - name: json
        request: GET /json
        check:
          status: 200
          jsonpath: { "$.ok": true, "$.items[2]": 3 }
          headers: { x-not-sent: exists }
      - name: bytes
        request: GET /bytes/100
        check: { status: 200 }
  - name: misser
    weight: 1
    steps:
      - name: missing
        request: GET /status/404
        check: { status: 404 }
"#,
    );
    let r = run_json(&file, &[], 0);
    assert_consistent(&r);
    assert_run_adds_up(&r);
    assert_eq!(r["partial"], false, "{}", brief_run(&r));
    assert!(r.get("verdict").is_none(), "no thresholds, no verdict");
    assert_eq!(r["config"]["name"], "counting");

    let reader = scenario(&r, "reader");
    let misser = scenario(&r, "misser");
    let (reads, misses) = (u(reader, "/iterations"), u(misser, "/iterations"));
    assert_eq!(reads + misses, 40, "{}", brief_run(&r));
    assert!(reads > 0 && misses > 0, "{}", brief_run(&r));
    assert_eq!(u(reader, "/aborted") + u(misser, "/aborted"), 0);

    // One request per step per iteration of its scenario.
    let json = step(&r, Some("reader"), "json");
    let bytes = step(&r, Some("reader"), "bytes");
    let missing = step(&r, Some("misser"), "missing");
    assert_eq!(u(json, "/requests"), reads, "{}", brief_run(&r));
    assert_eq!(u(bytes, "/requests"), reads, "{}", brief_run(&r));
    assert_eq!(u(missing, "/requests"), misses, "{}", brief_run(&r));
    assert_eq!(u(&r, "/requests"), 2 * reads + misses, "{}", brief_run(&r));
    assert_eq!(u(missing, "/status/404"), misses, "{}", brief_run(&r));
    assert_eq!(u(&r, "/status/404"), misses, "{}", brief_run(&r));
    assert_eq!(u(&r, "/status/200"), 2 * reads, "{}", brief_run(&r));

    // Checks, one count per check.
    for label in [
        "status 200",
        "jsonpath $.ok == true",
        "jsonpath $.items[2] == 3",
    ] {
        let c = check(json, label);
        assert_eq!((u(c, "/passed"), u(c, "/failed")), (reads, 0), "{label}");
    }
    let never = check(json, "header x-not-sent exists");
    assert_eq!((u(never, "/passed"), u(never, "/failed")), (0, reads));
    assert_eq!(
        u(check(missing, "status 404"), "/passed"),
        misses,
        "{}",
        brief_run(&r)
    );
    assert_eq!(u(&r, "/checks/failed"), reads, "{}", brief_run(&r));
    assert_eq!(
        u(&r, "/checks/passed"),
        3 * reads + reads + misses,
        "{}",
        brief_run(&r)
    );
    assert!(
        r["failures"].as_array().is_some_and(|f| f.iter().any(|x| x
            .as_str()
            .is_some_and(|x| x.contains("header x-not-sent exists")))),
        "failures[] gives examples of the failed check\n{}",
        brief_run(&r)
    );
}
