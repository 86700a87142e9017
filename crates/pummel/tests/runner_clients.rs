//! The runner clients' WebSocket helpers (Python `self.ws(url)`, JS `ws(url)`) against the
//! target's echo, their connects and round trips timed in the result; and Node runners that
//! crash, hang past `--iteration-timeout` or print garbage, each counted under its named kind
//! while the run goes on (the Python ones are in `runners`).
//!
//! Needs `scripts/test-deps.d/50-runners.sh`.

use std::time::Duration;

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::cluster::poll;
use crate::runners::{assert_contained, fixture, hits, incidents, needs, run};
use crate::util::{brief, f, u};

fn step<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no step {name:?}\n{}", brief(r)))
}

/// A WebSocket journey's run: one timed connect (status 101) per iteration, three timed round
/// trips, every echo checked, and the target left with no socket open.
#[track_caller]
fn assert_timed_websockets(r: &Value, target: &CountingTarget, iterations: u64) {
    assert_eq!(
        u(r, "/iteration_counts/completed"),
        iterations,
        "{}",
        brief(r)
    );
    let connect = step(r, "WS /ws/echo");
    assert_eq!(u(connect, "/requests"), iterations, "{}", brief(r));
    assert_eq!(u(connect, "/status/101"), iterations, "{}", brief(r));
    assert!(
        f(connect, "/latency_ms/max") > 0.0,
        "connects timed: {connect}"
    );
    let ask = step(r, "WS /ws/echo ask");
    assert_eq!(u(ask, "/requests"), 3 * iterations, "{}", brief(r));
    assert!(f(ask, "/latency_ms/max") > 0.0, "round trips timed: {ask}");
    assert!(
        f(ask, "/latency_ms/min") <= f(ask, "/latency_ms/p50"),
        "{ask}"
    );
    assert_eq!(u(r, "/checks/passed"), 3 * iterations, "{}", brief(r));
    assert_eq!(u(r, "/checks/failed"), 0, "{}", brief(r));
    assert!(
        r["errors"]
            .as_object()
            .is_some_and(serde_json::Map::is_empty),
        "{}",
        brief(r)
    );
    // The client's close reaches the target just after the run's end: wait for it.
    assert!(
        poll(Duration::from_secs(5), || target.open_websockets() == 0),
        "every socket closed: {} open",
        target.open_websockets()
    );
    // The upgrades are the only HTTP requests the target saw: one per connect.
    assert_eq!(target.served(), iterations, "{}", brief(r));
}

#[test]
fn python_self_ws_times_connects_and_round_trips() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("python_self_ws_times_connects_and_round_trips") else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:Echo.test_echo", fixture("ws_echo.py"));
    let r = run(
        &[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "3",
            "--iterations",
            "9",
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
    assert_timed_websockets(&r, &target, 9);
}

#[test]
fn node_ws_times_connects_and_round_trips() {
    let _busy = crate::util::busy();
    let Some((python, dir)) = needs("node_ws_times_connects_and_round_trips") else {
        return;
    };
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:echo", fixture("ws_echo.mjs"));
    let r = run(
        &[
            "run",
            "--runner",
            "node",
            &entry,
            "--vus",
            "3",
            "--iterations",
            "9",
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
    assert_timed_websockets(&r, &target, 9);
}

/// Runs `bad_runners.mjs:EXPORT` with one runner process and `extra` flags.
fn bad_node(test: &str, export: &str, extra: &[&str]) -> Option<(Value, CountingTarget)> {
    let (python, dir) = needs(test)?;
    let target = CountingTarget::start();
    let env = format!("TARGET={}", target.base());
    let entry = format!("{}:{export}", fixture("bad_runners.mjs"));
    let mut args = vec![
        "run",
        "--runner",
        "node",
        &entry,
        "--runner-processes",
        "1",
        "-e",
        &env,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = run(&args, &python, &dir);
    assert!(
        out.elapsed < Duration::from_secs(20),
        "a misbehaving runner does not hold the run: {:?}",
        out.elapsed
    );
    Some((out.json_ok(), target))
}

#[test]
fn a_node_runner_that_crashes_is_restarted_and_its_vus_recreated() {
    let _busy = crate::util::busy();
    let Some((r, target)) = bad_node(
        "a_node_runner_that_crashes_is_restarted_and_its_vus_recreated",
        "crash",
        &["--vus", "3", "--iterations", "12"],
    ) else {
        return;
    };
    assert_contained(&r, "runner_crashed");
    assert!(incidents(&r, "runner_restarted") >= 1, "{}", brief(&r));
    assert!(u(&r, "/iteration_counts/failed") >= 1, "{}", brief(&r));
    // A process that dies loses at most the hit each of its 3 VUs had not written yet.
    let (served, hits, crashes) = (target.served(), hits(&r), incidents(&r, "runner_crashed"));
    assert!(
        hits <= served && served <= hits + 3 * crashes,
        "the target saw {served}, pummel reports {hits} hits, {crashes} crashes\n{}",
        brief(&r)
    );
}

#[test]
fn a_node_iteration_that_hangs_counts_as_hung_and_its_vu_is_replaced() {
    let _busy = crate::util::busy();
    let Some((r, _target)) = bad_node(
        "a_node_iteration_that_hangs_counts_as_hung_and_its_vu_is_replaced",
        "hang",
        &[
            "--vus",
            "2",
            "--duration",
            "3s",
            // Long enough that no healthy iteration outlives it on a loaded machine: only the
            // one that never ends counts as hung.
            "--iteration-timeout",
            "1500ms",
        ],
    ) else {
        return;
    };
    assert_contained(&r, "iteration_hung");
    assert_eq!(incidents(&r, "iteration_hung"), 1, "{}", brief(&r));
    // A promise that never settles leaves the event loop free: the VU is retired, the process
    // kept.
    assert_eq!(incidents(&r, "runner_restarted"), 0, "{}", brief(&r));
}

#[test]
fn a_node_runner_that_prints_garbage_is_restarted() {
    let _busy = crate::util::busy();
    let Some((r, _target)) = bad_node(
        "a_node_runner_that_prints_garbage_is_restarted",
        "garbage",
        &["--vus", "2", "--iterations", "12"],
    ) else {
        return;
    };
    assert_contained(&r, "runner_protocol");
    assert!(incidents(&r, "runner_restarted") >= 1, "{}", brief(&r));
}
