//! Load models run as the scenario file writes them, with no `--vus` or `--rate` override: ramping
//! VUs, a ramping rate, cycles, pacing and an abort grace, each judged by what happened (the VU
//! gauge of the timeline, iterations, the requests of each cycle, arrival times at a server,
//! the run's length), not by the configuration echoed back.
//!
//! `--threads 2` makes every run split its load between two workers whatever the machine, so a
//! schedule that only holds on one thread shows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::servers::{Behaviour, Server};
use crate::util::{self, brief, f, pummel, u, Output, Running, Target};

/// Writes a scenario file (`@TARGET@` replaced by `base`) in a fresh directory.
fn scenario_file(base: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("load.yaml");
    std::fs::write(&path, text.replace("@TARGET@", base)).expect("write scenario file");
    (dir, path)
}

fn run(file: &Path) -> Output {
    let file = file.to_str().expect("utf-8 path");
    pummel(&["run", file, "--json", "--threads", "2"])
}

/// The `vus` gauge of every timeline point, in order.
fn vus_gauge(r: &Value) -> Vec<u64> {
    r["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|p| u(p, "/gauges/vus"))
        .collect()
}

/// `stages` 0 → 4 over 2 s, then 4 held for 1 s: the VUs rise second by second and peak at 4,
/// and more VUs make more requests (about 1 VU on average in the first second, 3 in the second).
#[test]
fn ramping_vus_rise_to_their_target() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = scenario_file(
        &target.url("/"),
        r#"
target: @TARGET@
load:
  stages:
    - { duration: 2s, target: 4 }
    - { duration: 1s, target: 4 }
scenarios:
  - name: s
    steps:
      - request: GET /delay/10
"#,
    );
    let r = run(&file).json_ok();
    let vus = vus_gauge(&r);
    let timeline = r["timeline"].as_array().expect("timeline");
    let requests: Vec<u64> = timeline.iter().map(|p| u(p, "/requests")).collect();
    assert!(vus.len() >= 3, "{vus:?}\n{}", brief(&r));
    // At the end of second 0 the ramp is half way (2 VUs), at the end of second 1 at 4.
    assert!(
        (1..=3).contains(&vus[0]) && vus[1] == 4,
        "vus gauge {vus:?}: rising to 4 by 2 s\n{}",
        brief(&r)
    );
    assert_eq!(vus.iter().max(), Some(&4), "peak {vus:?}\n{}", brief(&r));
    assert_eq!(u(&r, "/config/max_vus"), 4, "{}", brief(&r));
    assert!(
        requests[1] > requests[0],
        "4 VUs make more requests than the ramp's first second: {requests:?}\n{}",
        brief(&r)
    );
    util::assert_within(&r, "/duration_s", 2.9, 3.5);
}

/// `stages` 0 → 2 over 2 s on two threads: the first user starts half a second in, when the whole
/// ramp reaches 1 (rounded), not when each thread's half of the ramp does (1 s in, both users at
/// once).
#[test]
fn a_ramp_is_one_schedule_across_threads() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = scenario_file(
        &target.url("/"),
        r#"
target: @TARGET@
load:
  stages:
    - { duration: 2s, target: 2 }
scenarios:
  - name: s
    steps:
      - request: GET /delay/10
"#,
    );
    let r = run(&file).json_ok();
    let first = &r["timeline"][0];
    assert!(
        u(first, "/gauges/vus") == 1 && u(first, "/requests") >= 10,
        "one user from 0.5 s: the first second has one user and its requests\n{}",
        brief(&r)
    );
}

/// `rate_stages` 0 → 40/s over 2 s: the area under the ramp is 40 iterations, 10 in the first
/// second and 30 in the second.
#[test]
fn a_ramping_rate_makes_the_iterations_under_its_ramp() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = scenario_file(
        &target.url("/"),
        r#"
target: @TARGET@
load:
  rate_stages:
    - { duration: 2s, target: 40 }
  max_vus: 10
scenarios:
  - name: s
    steps:
      - request: GET /
"#,
    );
    let r = run(&file).json_ok();
    let iterations = u(&r["scenarios"][0], "/iterations");
    let dropped = u(&r, "/open_model/dropped");
    assert!(
        (37..=41).contains(&(iterations + dropped)) && dropped <= 1,
        "{iterations} iterations and {dropped} dropped, about 40 scheduled\n{}",
        brief(&r)
    );
    let timeline = r["timeline"].as_array().expect("timeline");
    let first = u(&timeline[0], "/requests");
    assert!(
        (7..=13).contains(&first),
        "the ramp's first second holds about 10 of the 40: {first}\n{}",
        brief(&r)
    );
}

/// Cycles `[1, 2]`, each held 1 s, users started 1 s apart: the second cycle ramps during
/// 1–2 s and holds its 2 users during 2–3 s. Each cycle reports its held second, and the level
/// of 2 makes twice the requests of the level of 1.
#[test]
fn cycles_report_each_held_window_in_proportion_to_the_level() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = scenario_file(
        &target.url("/"),
        r#"
target: @TARGET@
load:
  cycles: [1, 2]
  cycle_duration: 1s
  startup_delay: 1s
scenarios:
  - name: s
    steps:
      - request: GET /delay/20
"#,
    );
    let r = run(&file).json_ok();
    util::assert_within(&r, "/duration_s", 2.9, 3.5);
    let cycles = r["cycles"].as_array().expect("cycles[]");
    assert_eq!(cycles.len(), 2, "{}", brief(&r));
    for (cycle, level) in cycles.iter().zip([1, 2]) {
        assert_eq!(u(cycle, "/level"), level, "{}", brief(&r));
        util::assert_within(cycle, "/duration_s", 0.95, 1.05);
        assert_eq!(u(cycle, "/errors"), 0, "{}", brief(&r));
    }
    let one = u(&cycles[0], "/requests") as f64;
    let two = u(&cycles[1], "/requests") as f64;
    assert!(
        one > 10.0 && (1.6..=2.4).contains(&(two / one)),
        "level 2 makes about twice the requests of level 1: {one} and {two}\n{}",
        brief(&r)
    );
    let vus = vus_gauge(&r);
    assert!(
        vus[0] == 1 && vus.iter().max() == Some(&2),
        "one user in the first cycle, two at most: {vus:?}\n{}",
        brief(&r)
    );
}

/// The same cycles with users started 500 ms apart: the second cycle holds its 2 users from 1.5 s
/// to 2.5 s, and that held window is what it reports. Today a cycle is measured over whole
/// seconds (the second whose middle falls in the held window, 1–2 s here), so half of what it
/// reports is the ramp's single user: about 1.5 times level 1's requests, not 2.
#[test]
#[ignore = "cycles are measured per whole second: a held window that does not start on a second \
            boundary includes part of the ramp; needs intervals that end at cycle boundaries"]
fn cycles_measure_a_held_window_that_is_not_on_a_second() {
    let _machine = util::busy();
    let target = Target::start();
    let (_dir, file) = scenario_file(
        &target.url("/"),
        r#"
target: @TARGET@
load:
  cycles: [1, 2]
  cycle_duration: 1s
  startup_delay: 500ms
scenarios:
  - name: s
    steps:
      - request: GET /delay/20
"#,
    );
    let r = run(&file).json_ok();
    util::assert_within(&r, "/duration_s", 2.4, 3.0);
    let cycles = r["cycles"].as_array().expect("cycles[]");
    let one = f(&cycles[0], "/rps");
    let two = f(&cycles[1], "/rps");
    assert!(
        one > 10.0 && (1.75..=2.25).contains(&(two / one)),
        "level 2 makes twice the requests a second of level 1 while held: {one} and {two}\n{}",
        brief(&r)
    );
}

/// `pacing: 500ms` on a 10 ms iteration: one VU starts an iteration every 500 ms, as the server
/// sees them arrive.
#[test]
fn pacing_holds_each_iteration_for_its_period() {
    let _machine = util::quiet();
    let server = Server::start(Behaviour::Answer { extra: "" });
    let (_dir, file) = scenario_file(
        &server.base(),
        r#"
target: @TARGET@
load: { vus: 1, duration: 2s }
scenarios:
  - name: paced
    pacing: 500ms
    steps:
      - request: GET /
"#,
    );
    let r = run(&file).json_ok();
    assert_eq!(u(&r["scenarios"][0], "/iterations"), 4, "{}", brief(&r));
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 4, "{}", brief(&r));
    for gap in arrivals.windows(2).map(|w| w[1] - w[0]) {
        assert!(
            (Duration::from_millis(480)..=Duration::from_millis(560)).contains(&gap),
            "iterations start 500 ms apart, not {gap:?} ({arrivals:?})"
        );
    }
}

/// A scenario that fails from its first request, under `error_rate < 10%` with
/// `abort_on_fail`: with `abort_grace: 3s` the run stops 3–5 s in; without a grace, within 2 s.
#[test]
fn abort_grace_delays_the_abort_and_no_grace_aborts_at_once() {
    let _machine = util::busy();
    let target = Target::start();
    let text = r#"
target: @TARGET@
load: { vus: 2, duration: 30s }
thresholds:
  - condition: error_rate < 10%
    abort_on_fail: true
GRACE
scenarios:
  - name: failing
    steps:
      - request: GET /status/500
      - think: 10ms
"#;
    for (grace, lo, hi) in [("    abort_grace: 3s", 3.0, 5.0), ("", 0.0, 2.0)] {
        let (_dir, file) = scenario_file(&target.url("/"), &text.replace("GRACE", grace));
        let file = file.to_str().expect("utf-8 path");
        let out = Running::spawn(&["run", file, "--json", "--threads", "2"])
            .finish(Duration::from_secs(20))
            .expect_code(99);
        let r = out.json();
        assert_eq!(r["thresholds"][0]["aborted_run"], true, "{}", brief(&r));
        let took = out.elapsed.as_secs_f64();
        assert!(
            (lo..=hi).contains(&took) && (lo..=hi).contains(&f(&r, "/duration_s")),
            "with {grace:?} the run stopped after {took:.2} s (duration_s {}), expected {lo}–{hi} s",
            f(&r, "/duration_s")
        );
    }
}
