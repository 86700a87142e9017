//! Reports, end to end: real results from runs against `pummel target`, turned into HTML, JUnit,
//! CSV and Markdown (at the end of a run and later by `pummel report`), compared (`pummel
//! compare`, its gates and exit 99) and trended (`pummel trend`); and the HTML pages opened in
//! headless Chromium.
//!
//! The browser tests skip (saying why) only when Chromium or Node.js is missing; `scripts/test`
//! installs both, so CI runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, busy, pummel, quiet, Target};

/// A scenario with two scenarios, a failing check (503s) and thresholds of which two fail.
/// `{{ env.DELAY }}` sets the slow step's delay, so two runs can differ in one known way.
fn scenario(target: &Target, duration: &str) -> String {
    format!(
        r#"name: report test
target: {base}
load: {{ vus: 4, duration: {duration} }}
thresholds:
  - p95 < 2s
  - error_rate < 1%
  - condition: p99 < 1ms
    step: slow
scenarios:
  - name: browse
    weight: 3
    steps:
      - name: json
        request: GET /json
        check: {{ status: 200 }}
      - name: slow
        request: "GET /delay/{{{{ env.DELAY }}}}"
        check: {{ status: 200 }}
  - name: buy
    steps:
      - name: flaky
        request: GET /status/503
        check: {{ status: 200 }}
"#,
        base = target.url("/").trim_end_matches('/')
    )
}

fn write_scenario(dir: &Path, target: &Target, duration: &str) -> PathBuf {
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, scenario(target, duration)).expect("write scenario");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Runs the scenario with `DELAY=delay_ms`, writing the result to `out`; returns the result.
fn run_scenario(file: &Path, delay_ms: u32, out: &Path, extra: &[&str]) -> Value {
    let delay = format!("DELAY={delay_ms}");
    let mut args = vec!["run", s(file), "-e", &delay, "--json", "--out", s(out)];
    args.extend_from_slice(extra);
    // The thresholds fail by design: exit 99.
    pummel(&args).expect_code(99).json()
}

/// Checks a JUnit document the way CI systems read it: the common schema's structure (Jenkins'
/// junit-10.xsd: testsuites > testsuite > testcase > failure), counts that agree with the cases,
/// and the failed cases named.
fn check_junit(xml: &str) -> Vec<(String, String, bool)> {
    let doc = roxmltree::Document::parse(xml)
        .unwrap_or_else(|e| panic!("JUnit is not XML ({e}):\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let (mut tests, mut failures, mut cases) = (0usize, 0usize, Vec::new());
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        let mine: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let failed = mine
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        assert_eq!(
            suite.attribute("tests"),
            Some(mine.len().to_string().as_str()),
            "{xml}"
        );
        assert_eq!(
            suite.attribute("failures"),
            Some(failed.to_string().as_str()),
            "{xml}"
        );
        assert!(suite.attribute("name").is_some());
        for c in mine {
            let failure = c.children().find(|n| n.has_tag_name("failure"));
            if let Some(f) = failure {
                assert!(
                    f.attribute("message").is_some_and(|m| !m.is_empty()),
                    "failure message"
                );
            }
            cases.push((
                c.attribute("classname").unwrap_or_default().to_owned(),
                c.attribute("name").expect("testcase name").to_owned(),
                failure.is_some(),
            ));
        }
        tests += suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .count();
        failures += failed;
    }
    assert_eq!(root.attribute("tests"), Some(tests.to_string().as_str()));
    assert_eq!(
        root.attribute("failures"),
        Some(failures.to_string().as_str())
    );
    cases
}

#[allow(
    clippy::too_many_lines,
    reason = "one run followed through every report and `pummel report`; split, the steps would lose their shared result"
)]
#[test]
fn a_scenario_run_writes_every_report_and_pummel_report_makes_the_same_later() {
    let _machine = busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), &target, "2s");
    let p = |name: &str| dir.path().join(name);
    let result = run_scenario(
        &file,
        5,
        &p("r.json"),
        &[
            "--report",
            s(&p("r.html")),
            "--junit",
            s(&p("r.xml")),
            "--csv",
            s(&p("csv")),
            "--markdown",
            s(&p("r.md")),
        ],
    );
    assert_eq!(result["verdict"], "fail");

    // HTML: the verdict at the top, every section, the data for the charts.
    let html = read(&p("r.html"));
    assert!(html.starts_with("<!doctype html>"));
    for needle in [
        r#"<div class="verdict fail"><span class="badge">FAIL</span><div><strong>2 of 3 thresholds failed</strong>"#,
        r#"<section id="thresholds">"#,
        r#"<section id="over-time">"#,
        r#"<section id="steps">"#,
        r#"<section id="checks">"#,
        r#"<section id="errors">"#,
        r#"id="chart-throughput""#,
        r#"id="chart-load""#,
        r#"id="chart-distribution""#,
        "Failures by place and kind",
        "<code>buy/flaky</code>",
    ] {
        assert!(html.contains(needle), "the report lacks {needle}");
    }

    // JUnit: each threshold and each check a test case; the failed ones failed.
    let cases = check_junit(&read(&p("r.xml")));
    let case = |name: &str| {
        cases
            .iter()
            .find(|c| c.1 == name)
            .unwrap_or_else(|| panic!("no case {name}: {cases:?}"))
    };
    assert!(!case("p95 < 2s").2);
    assert!(case("error_rate < 1%").2);
    assert!(case("p99 < 1ms").2);
    assert_eq!(case("p99 < 1ms").0, "pummel.thresholds.step slow");
    let checks: Vec<_> = cases
        .iter()
        .filter(|c| c.0.starts_with("pummel.checks."))
        .collect();
    assert_eq!(checks.len(), 3, "{cases:?}");
    assert!(
        checks
            .iter()
            .find(|c| c.0 == "pummel.checks.buy.flaky")
            .expect("flaky check")
            .2
    );
    assert!(
        !checks
            .iter()
            .find(|c| c.0 == "pummel.checks.browse.json")
            .expect("json check")
            .2
    );

    // CSV: a row per second; the run then one row per step.
    let timeline = read(&p("csv/timeline.csv"));
    let header = timeline.lines().next().expect("header");
    assert!(
        header.starts_with("t,duration_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms"),
        "{header}"
    );
    assert!(header.ends_with(",vus"), "{header}");
    assert_eq!(
        timeline.lines().count(),
        1 + result["timeline"].as_array().expect("timeline").len()
    );
    let steps = read(&p("csv/steps.csv"));
    let rows: Vec<&str> = steps.lines().collect();
    assert_eq!(rows.len(), 1 + 1 + 3, "{steps}");
    assert!(
        rows[1].starts_with(&format!("run,,,{},", result["requests"])),
        "{steps}"
    );
    assert!(steps.contains("step,buy,flaky,"), "{steps}");

    // Markdown: the verdict first, the thresholds and the steps.
    let md = read(&p("r.md"));
    assert!(md.starts_with("### ❌ pummel: report test — FAIL"), "{md}");
    assert!(md.contains("| ❌ | `error_rate < 1%` | run |"), "{md}");
    assert!(md.contains("| browse | slow |"), "{md}");

    // The same reports, later, from the result file alone.
    pummel(&[
        "report",
        s(&p("r.json")),
        "--html",
        s(&p("again.html")),
        "--junit",
        s(&p("again.xml")),
        "--markdown",
        s(&p("again.md")),
    ])
    .expect_code(0);
    assert_eq!(read(&p("again.html")), html);
    assert_eq!(read(&p("again.xml")), read(&p("r.xml")));
    assert_eq!(read(&p("again.md")), md);

    // Without an output flag, `pummel report` shows the summary.
    let out = pummel(&["report", s(&p("r.json"))]).expect_code(0);
    assert!(out.stdout.contains("flaky"), "{}", out.context());
}

#[test]
fn a_bench_writes_reports_too() {
    let _machine = busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    let url = target.url("/");
    pummel(&[
        "bench",
        "-z",
        "1s",
        "-c",
        "4",
        "--threads",
        "1",
        &url,
        "--json",
        "--out",
        s(&p("b.json")),
        "--report",
        s(&p("b.html")),
        "--junit",
        s(&p("b.xml")),
        "--csv",
        s(&p("csv")),
        "--markdown",
        s(&p("b.md")),
        "--apdex-t",
        "1ms",
    ])
    .expect_code(0);
    let html = read(&p("b.html"));
    assert!(html.contains("NO THRESHOLDS"));
    assert!(html.contains(&format!("GET {url}")));
    assert!(html.contains("T = 1 ms"), "the Apdex threshold given");
    let cases = check_junit(&read(&p("b.xml")));
    assert_eq!(
        cases,
        vec![("pummel.run".to_owned(), "run completed".to_owned(), false)]
    );
    assert!(read(&p("csv/steps.csv"))
        .lines()
        .nth(1)
        .expect("run row")
        .starts_with("run,"));
    assert!(read(&p("b.md")).starts_with(&format!("### 📊 pummel: GET {url} — no thresholds")));
}

#[test]
fn bad_result_files_are_usage_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.json");
    pummel(&[
        "report",
        s(&missing),
        "--html",
        s(&dir.path().join("x.html")),
    ])
    .expect_usage_error(&["missing.json", "cannot read"]);
    let not_json = dir.path().join("notes.json");
    std::fs::write(&not_json, "hello").expect("write");
    pummel(&["report", s(&not_json)]).expect_usage_error(&["notes.json", "not JSON"]);
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"name": "not a result"}"#).expect("write");
    pummel(&["compare", s(&other), s(&other)])
        .expect_usage_error(&["other.json", "not a pummel result"]);
    pummel(&["trend", s(&not_json), s(&other)]).expect_usage_error(&["notes.json"]);
    pummel(&["compare", s(&other), s(&other), "--fail-if", "p95>fast"])
        .expect_usage_error(&["invalid gate"]);
    assert!(!dir.path().join("x.html").exists());
}

#[allow(
    clippy::too_many_lines,
    reason = "two runs and their comparisons read as one story; split, each part would redo the runs"
)]
#[test]
fn compare_flags_a_slower_target_and_passes_the_same_setup() {
    // Timing matters here: nothing else loads the machine meanwhile.
    let _machine = quiet();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), &target, "2s");
    let p = |name: &str| dir.path().join(name);
    run_scenario(&file, 5, &p("fast.json"), &[]);
    run_scenario(&file, 5, &p("fast-again.json"), &[]);
    run_scenario(&file, 20, &p("slow.json"), &[]);

    // /delay/5 → /delay/20: the slow step's p95 and the run's p95 more than triple.
    let out = pummel(&[
        "compare",
        s(&p("fast.json")),
        s(&p("slow.json")),
        "--fail-if",
        "p95>+10%",
        "--fail-if",
        "slow: p95>+10%",
        "--fail-if",
        "json: p95>+1000%",
        "--html",
        s(&p("compare.html")),
        "--markdown",
        s(&p("compare.md")),
    ])
    .expect_code(99);
    assert!(
        out.stdout.contains("TRIPPED  p95>+10%   run: p95"),
        "{}",
        out.context()
    );
    assert!(
        out.stdout
            .contains("TRIPPED  slow: p95>+10%   browse / slow: p95"),
        "{}",
        out.context()
    );
    assert!(
        out.stdout.contains("ok       json: p95>+1000%"),
        "{}",
        out.context()
    );
    let slow_block = out
        .stdout
        .split("step browse / slow")
        .nth(1)
        .expect("slow step block");
    let p95_line = slow_block
        .lines()
        .find(|l| l.trim_start().starts_with("p95"))
        .expect("p95 line");
    assert!(
        p95_line.ends_with("✗ worse"),
        "{p95_line}\n{}",
        out.context()
    );
    assert!(
        out.stderr.contains("2 of 3 gates tripped"),
        "{}",
        out.context()
    );
    let html = read(&p("compare.html"));
    assert!(html.contains("GATE TRIPPED") && html.contains(r#"id="chart-spectrum""#));
    assert!(read(&p("compare.md")).starts_with("### ❌ pummel compare: 2 of 3 gates tripped"));

    // The same setup twice: within a generous noise band, and no gate trips.
    let out = pummel(&[
        "compare",
        s(&p("fast.json")),
        s(&p("fast-again.json")),
        "--noise",
        "75%",
        "--fail-if",
        "slow: p95>+100%",
        "--fail-if",
        "p95>+100%",
    ])
    .expect_code(0);
    assert!(!out.stdout.contains("TRIPPED"), "{}", out.context());
    let slow_block = out
        .stdout
        .split("step browse / slow")
        .nth(1)
        .expect("slow step block");
    for metric in ["p50", "p90", "p95", "mean"] {
        let line = slow_block
            .lines()
            .find(|l| l.trim_start().starts_with(metric))
            .expect("metric line");
        assert!(
            !line.contains("worse") && !line.contains("better"),
            "{line}\n{}",
            out.context()
        );
    }

    // A trend over the three.
    let out = pummel(&[
        "trend",
        s(&p("fast.json")),
        s(&p("fast-again.json")),
        s(&p("slow.json")),
        "--html",
        s(&p("trend.html")),
    ])
    .expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.context());
    assert!(
        lines[1].contains("fast.json") && lines[3].contains("slow.json"),
        "{}",
        out.context()
    );
    assert!(lines[4].contains("first → last"), "{}", out.context());
    let html = read(&p("trend.html"));
    assert!(html.contains("report test — trend over 3 runs"));
    assert!(html.contains(r#"id="chart-trend-steps""#));
}

// ---- the pages in a real browser ----------------------------------------------------------------

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Writes the three kinds of page from real runs: a report, a comparison, a trend.
fn real_pages(dir: &Path) -> Vec<PathBuf> {
    let target = Target::start();
    let file = write_scenario(dir, &target, "3s");
    let p = |name: &str| dir.join(name);
    run_scenario(&file, 5, &p("a.json"), &["--report", s(&p("report.html"))]);
    run_scenario(&file, 8, &p("b.json"), &[]);
    pummel(&[
        "compare",
        s(&p("a.json")),
        s(&p("b.json")),
        "--html",
        s(&p("compare.html")),
    ])
    .expect_code(0);
    pummel(&[
        "trend",
        s(&p("a.json")),
        s(&p("b.json")),
        s(&p("a.json")),
        "--html",
        s(&p("trend.html")),
    ])
    .expect_code(0);
    vec![p("report.html"), p("compare.html"), p("trend.html")]
}

#[test]
fn html_pages_render_their_charts_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() {
        util::skip_without(
            "html_pages_render_their_charts_in_headless_chromium",
            &format!("{CHROMIUM} is missing"),
        );
        return;
    }
    let _machine = busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = tempfile::tempdir().expect("tempdir");
    for page in real_pages(dir.path()) {
        let url = format!("file://{}", page.display());
        let out = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", &url])
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "chromium failed on {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let attr = |name: &str| {
            let at = dom
                .find(&format!("{name}=\""))
                .unwrap_or_else(|| panic!("no {name} in the DOM of {url}"));
            let rest = &dom[at + name.len() + 2..];
            rest[..rest.find('"').expect("closing quote")]
                .parse::<usize>()
                .expect("a count")
        };
        let (expected, drawn) = (attr("data-charts-expected"), attr("data-charts-drawn"));
        assert!(expected >= 3, "{url}: only {expected} charts described");
        assert_eq!(drawn, expected, "{url}: drew {drawn} of {expected} charts");
        assert!(
            dom.matches("class=\"uplot").count() >= expected,
            "{url}: uPlot elements missing"
        );
    }
}

#[test]
fn html_pages_have_no_console_errors_and_make_no_network_request() {
    if !Path::new(CHROMIUM).exists() || !have("node") {
        util::skip_without(
            "html_pages_have_no_console_errors_and_make_no_network_request",
            &format!("needs {CHROMIUM} and node"),
        );
        return;
    }
    let _machine = busy();
    let dir = tempfile::tempdir().expect("tempdir");
    for page in real_pages(dir.path()) {
        check_in_browser(&page);
    }
}

/// Opens `page` in headless Chromium through the Playwright harness: no console error, no
/// network request, every chart drawn; a screenshot lands in the build directory, to look at
/// when something is off. The caller has checked that Chromium and Node.js are there.
pub(crate) fn check_in_browser(page: &Path) {
    let harness = browser_dir();
    if !harness.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&harness)
            .status()
            .expect("run npm ci for the browser harness");
        assert!(
            status.success(),
            "npm ci --prefix {} failed",
            harness.display()
        );
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let shot = shots
        .join(page.file_name().expect("name"))
        .with_extension("png");
    let out = Command::new("node")
        .arg(harness.join("check-report.mjs"))
        .arg(page)
        .arg(&shot)
        .env("CHROMIUM", CHROMIUM)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} in the browser: {stdout}\n{}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Value = serde_json::from_str(stdout.trim()).expect("the harness prints JSON");
    assert_eq!(found["errors"], serde_json::json!([]), "{stdout}");
    assert_eq!(found["requests"], serde_json::json!([]), "{stdout}");
    assert!(found["canvases"].as_u64().unwrap_or(0) > 0, "{stdout}");
    assert!(shot.exists(), "no screenshot at {}", shot.display());
}

/// Whether the browser harness can run: Chromium and Node.js.
pub(crate) fn browser_available() -> bool {
    Path::new(CHROMIUM).exists() && have("node")
}
