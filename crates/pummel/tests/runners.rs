//! Journeys written in Python and JavaScript, run by runner processes over the runner protocol:
//! the marketplace examples under closed, open and cycles models against a target whose own
//! request count is held against the hits reported; `python -m unittest` on the same file; and
//! runners that crash, hang, speak garbage, flood their log or cannot load, each leaving a
//! completed run that names what happened.
//!
//! Needs `scripts/test-deps.d/50-runners.sh` (a venv and a Node project under target/).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::util::{brief, skip_without, u, Output, Running, RUN_LIMIT};

pub(crate) fn repo() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

pub(crate) fn python() -> Option<PathBuf> {
    let p = repo().join("target/runner-venv/bin/python");
    p.is_file().then_some(p)
}

pub(crate) fn node_project() -> Option<PathBuf> {
    let p = repo().join("target/runner-node");
    p.join("node_modules/pummel/runner.mjs")
        .is_file()
        .then_some(p)
}

pub(crate) fn example(name: &str) -> String {
    repo()
        .join("examples/runners")
        .join(name)
        .display()
        .to_string()
}

pub(crate) fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/runner_fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Runs pummel with the venv's Python as the runner's interpreter, in the Node project (where
/// `pummel/runner` resolves).
pub(crate) fn run(args: &[&str], python: &Path, dir: &Path) -> Output {
    let python = python.display().to_string();
    Running::spawn_env(args, dir, &[("PUMMEL_PYTHON", python.as_str())]).finish(RUN_LIMIT)
}

pub(crate) fn needs(test: &str) -> Option<(PathBuf, PathBuf)> {
    match (python(), node_project()) {
        (Some(p), Some(n)) => Some((p, n)),
        _ => {
            skip_without(
                test,
                "the runner venv or Node project (scripts/test-deps.d/50-runners.sh)",
            );
            None
        }
    }
}

fn step_names(r: &Value) -> Vec<String> {
    r["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn incidents(r: &Value, kind: &str) -> u64 {
    r["runner"]["incidents"][kind].as_u64().unwrap_or(0)
}

/// The hits pummel reports: finished requests plus those the run's end cut.
pub(crate) fn hits(r: &Value) -> u64 {
    u(r, "/requests") + u(r, "/requests_cut")
}

/// Requests the journey makes untimed: the Python example's setUpClass (the YAML's global setup:
/// register, log in, publish) runs once per process; the Node example seeds only for `review`.
fn untimed(r: &Value) -> u64 {
    if r["runner"]["kind"] == "python" {
        3 * u(r, "/runner/processes")
    } else {
        0
    }
}

/// A healthy journey's run: every check passed, iterations completed, the marketplace's steps.
#[track_caller]
fn assert_healthy_journey(r: &Value, kind: &str) {
    assert_eq!(r["runner"]["kind"], kind, "{}", brief(r));
    assert!(
        r["runner"]["incidents"]
            .as_object()
            .is_some_and(|m| m.is_empty()),
        "no incidents\n{}",
        brief(r)
    );
    assert_eq!(u(r, "/checks/failed"), 0, "{}", brief(r));
    assert!(u(r, "/checks/passed") > 0, "{}", brief(r));
    assert!(u(r, "/iteration_counts/completed") > 0, "{}", brief(r));
    assert_eq!(u(r, "/iteration_counts/failed"), 0, "{}", brief(r));
    let steps = step_names(r);
    for step in ["search", "category", "app page", "app reviews"] {
        assert!(
            steps.iter().any(|s| s == step),
            "step {step:?} in {steps:?}"
        );
    }
    let by_steps: u64 = r["steps"]
        .as_array()
        .map_or(0, |s| s.iter().map(|s| u(s, "/requests")).sum());
    assert_eq!(
        by_steps,
        u(r, "/requests"),
        "the steps add up to the run\n{}",
        brief(r)
    );
}

#[test]
fn a_python_journey_runs_closed_and_the_target_saw_every_hit() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_python_journey_runs_closed_and_the_target_saw_every_hit")
    else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:MarketTest.test_journey", example("test_market.py"));
    let r = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "6",
            "--iterations",
            "30",
            "--runner-processes",
            "2",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    assert_healthy_journey(&r, "python");
    assert_eq!(u(&r, "/runner/processes"), 2);
    // setUpClass (the YAML's global setup: register, log in, publish) runs once per process,
    // untimed; everything else the target saw is a hit pummel reports.
    assert_eq!(
        target.served(),
        hits(&r) + untimed(&r),
        "the target's count against the hits\n{}",
        brief(&r)
    );
    assert!(
        r["runner"]["metrics"][0]["name"] == "reviews posted",
        "{}",
        brief(&r)
    );
}

#[test]
fn a_python_journey_runs_open_from_the_scheduled_start() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_python_journey_runs_open_from_the_scheduled_start") else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:MarketTest.test_browse", example("test_market.py"));
    let r = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--rate",
            "10",
            "--duration",
            "3s",
            "--vus",
            "20",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    assert_healthy_journey(&r, "python");
    let scheduled = u(&r, "/iteration_counts/scheduled");
    let accounted = ["completed", "failed", "cut", "dropped"]
        .iter()
        .map(|k| u(&r, &format!("/iteration_counts/{k}")))
        .sum::<u64>();
    assert_eq!(scheduled, accounted, "{}", brief(&r));
    assert!(
        (28..=32).contains(&scheduled),
        "10/s for 3s schedules about 30: {scheduled}"
    );
    // On pummel's clock no hit starts before its iteration was scheduled, so the latency from
    // the scheduled start is never below the uncorrected one (both kept in an open model).
    let corrected = r["latency_ms"]["max"].as_f64().unwrap_or(0.0);
    let uncorrected = r["open_model"]["uncorrected_latency_ms"]["max"]
        .as_f64()
        .unwrap_or(f64::MAX);
    assert!(corrected >= uncorrected, "{}", brief(&r));
    assert_eq!(
        target.served(),
        hits(&r) + untimed(&r),
        "the target's count against the hits\n{}",
        brief(&r)
    );
}

fn cycles_file(dir: &Path, file: &str, entry: &str, interpreter: &str, base: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("cycles.yaml")).expect("cycles fixture");
    let text = text
        .replace("@FILE@", file)
        .replace("@ENTRY@", entry)
        .replace("@INTERPRETER@", interpreter)
        .replace("@TARGET@", base);
    let path = dir.join(format!(
        "cycles-{}.yaml",
        std::process::id() ^ entry.len() as u32
    ));
    std::fs::write(&path, text).expect("write the scenario");
    path
}

#[test]
fn python_and_node_journeys_run_cycles_from_a_runner_section() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("python_and_node_journeys_run_cycles_from_a_runner_section")
    else {
        return;
    };
    let target = CountingTarget::start();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (file, entry, interpreter, kind) in [
        (
            example("test_market.py"),
            "MarketTest.test_browse",
            python.display().to_string(),
            "python",
        ),
        (
            example("market.test.mjs"),
            "browse",
            "node".to_owned(),
            "node",
        ),
    ] {
        let before = target.served();
        let yaml = cycles_file(scratch, &file, entry, &interpreter, &target.base());
        let yaml = yaml.display().to_string();
        let r = run(&["run", &yaml, "--json"], &python, &dir).json_ok();
        assert_healthy_journey(&r, kind);
        assert_eq!(
            r["cycles"].as_array().map(Vec::len),
            Some(2),
            "{}",
            brief(&r)
        );
        assert!(u(&r, "/cycles/1/requests") > 0, "{}", brief(&r));
        assert_eq!(r["verdict"], "pass", "{}", brief(&r));
        assert_eq!(
            target.served() - before,
            hits(&r) + untimed(&r),
            "{kind}: the target's count\n{}",
            brief(&r)
        );
    }
}

#[test]
fn a_node_journey_runs_closed_and_open() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_node_journey_runs_closed_and_open") else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let journey = example("market.test.mjs");
    let r = run(
        &[
            "run",
            "--runner",
            "node",
            &journey,
            "--vus",
            "4",
            "--iterations",
            "20",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    assert_healthy_journey(&r, "node");
    let before = target.served();
    let browse = format!("{journey}:browse");
    let r = run(
        &[
            "run",
            "--runner",
            "node",
            &browse,
            "--rate",
            "10",
            "--duration",
            "3s",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    assert_healthy_journey(&r, "node");
    let scheduled = u(&r, "/iteration_counts/scheduled");
    assert!(
        (28..=32).contains(&scheduled),
        "10/s for 3s schedules about 30: {scheduled}"
    );
    assert_eq!(target.served() - before, hits(&r), "{}", brief(&r));
}

#[test]
fn python_m_unittest_runs_the_journey_as_a_plain_test() {
    let _busy = crate::util::busy();
    let Some((python, _)) = needs("python_m_unittest_runs_the_journey_as_a_plain_test") else {
        return;
    };
    let target = CountingTarget::start();
    let out = Command::new(&python)
        .args(["-m", "unittest", "-v", "test_market.py"])
        .current_dir(repo().join("examples/runners"))
        .env("TARGET", target.base())
        .output()
        .expect("run python -m unittest");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python -m unittest failed:\n{stderr}");
    assert!(
        stderr.contains("Ran 4 tests") && stderr.contains("OK"),
        "{stderr}"
    );
    assert!(target.served() > 10, "the tests reached the target");
    // A failed check fails the plain test: the journey against a port that answers 404s.
    let out = Command::new(&python)
        .args(["-m", "unittest", "test_market"])
        .current_dir(repo().join("examples/runners"))
        .env("TARGET", format!("{}/nothing-here", target.base()))
        .output()
        .expect("run python -m unittest");
    assert!(
        !out.status.success(),
        "a journey whose checks fail must fail as a plain test"
    );
}

/// A misbehaving runner's run: it completes (exit 0), counts the incident by name, says so in
/// its failures, and goes on completing iterations after it.
#[track_caller]
pub(crate) fn assert_contained(r: &Value, incident: &str) {
    assert!(
        incidents(r, incident) >= 1,
        "{incident} counted\n{}",
        brief(r)
    );
    let failures = r["failures"].to_string();
    assert!(
        failures.contains(incident),
        "{incident} named in the failures\n{}",
        brief(r)
    );
    assert!(
        u(r, "/iteration_counts/completed") > 4,
        "the run went on\n{}",
        brief(r)
    );
}

#[test]
fn a_runner_that_crashes_is_restarted_and_its_vus_recreated() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_runner_that_crashes_is_restarted_and_its_vus_recreated")
    else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:Bad.test_crash", fixture("bad_runners.py"));
    let r = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "3",
            "--iterations",
            "12",
            "--runner-processes",
            "1",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    assert_contained(&r, "runner_crashed");
    assert!(incidents(&r, "runner_restarted") >= 1, "{}", brief(&r));
    // Its iterations under way when it died failed; the rest completed.
    assert!(u(&r, "/iteration_counts/failed") >= 1, "{}", brief(&r));
    // A process that dies loses the hits it had not written yet: at most the request each of its
    // 3 VUs was making.
    let (served, hits, crashes) = (target.served(), hits(&r), incidents(&r, "runner_crashed"));
    assert!(
        hits <= served && served <= hits + 3 * crashes,
        "the target saw {served}, pummel reports {hits} hits, {crashes} crashes\n{}",
        brief(&r)
    );
}

#[test]
fn an_iteration_that_hangs_counts_as_hung_and_its_vu_is_replaced() {
    let _busy = crate::util::busy();
    let Some((python, dir)) =
        needs("an_iteration_that_hangs_counts_as_hung_and_its_vu_is_replaced")
    else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:Bad.test_hang", fixture("bad_runners.py"));
    let out = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "2",
            "--duration",
            "3s",
            "--runner-processes",
            "1",
            "--iteration-timeout",
            "500ms",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    );
    assert!(
        out.elapsed < Duration::from_secs(15),
        "a hung thread does not hold the run: {:?}",
        out.elapsed
    );
    let r = out.json_ok();
    assert_contained(&r, "iteration_hung");
    assert_eq!(
        incidents(&r, "iteration_hung"),
        1,
        "one iteration hung\n{}",
        brief(&r)
    );
    assert_eq!(
        incidents(&r, "runner_restarted"),
        0,
        "a thread that hangs leaves its process be\n{}",
        brief(&r)
    );
}

#[test]
fn a_runner_that_speaks_garbage_is_restarted() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_runner_that_speaks_garbage_is_restarted") else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:Bad.test_garbage", fixture("bad_runners.py"));
    let r = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "2",
            "--iterations",
            "12",
            "--runner-processes",
            "1",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    assert_contained(&r, "runner_protocol");
    assert!(incidents(&r, "runner_restarted") >= 1, "{}", brief(&r));
}

#[test]
fn a_runner_that_floods_its_log_is_bounded() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_runner_that_floods_its_log_is_bounded") else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:Bad.test_noisy", fixture("bad_runners.py"));
    let r = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "2",
            "--iterations",
            "10",
            "--runner-processes",
            "1",
            "-e",
            &env,
            "--json",
        ],
        &python,
        &dir,
    )
    .json_ok();
    // 50,000 lines: at most 100 a second kept, the rest counted.
    assert!(
        incidents(&r, "runner_log_dropped") > 40_000,
        "{}",
        brief(&r)
    );
    assert_eq!(u(&r, "/iteration_counts/completed"), 10, "{}", brief(&r));
}

#[test]
fn a_runner_that_cannot_load_stops_the_run_and_says_why() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("a_runner_that_cannot_load_stops_the_run_and_says_why") else {
        return;
    };
    let entry = format!("{}:Broken.test_nothing", fixture("broken.py"));
    let out = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "2",
            "--duration",
            "2s",
        ],
        &python,
        &dir,
    )
    .expect_code(1);
    assert!(
        out.stderr.contains("could not start")
            && out.stderr.contains("a_module_that_does_not_exist"),
        "{}",
        out.stderr
    );
    run(
        &["run", "--runner", "python", "no/such/test.py", "--vus", "1"],
        &python,
        &dir,
    )
    .expect_usage_error(&["no test file at no/such/test.py"]);
}
