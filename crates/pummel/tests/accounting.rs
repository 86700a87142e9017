//! Nothing a run did goes unaccounted: every request the target saw is a request pummel reports,
//! finished or cut by the end of the run (the deadline or Ctrl-C); every iteration an open model
//! scheduled is completed, failed, cut or dropped — per scenario, per second and in total.
//!
//! The target runs in this process, so its own request counter (counted as each request reaches
//! its router) is the figure pummel's result is held against.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{self, brief, pummel, u, Running};

/// A `pummel_target::Target` on its own runtime in this process: its request counter is readable.
pub(crate) struct CountingTarget {
    target: pummel_target::Target,
    // Declared after `target`, so the server is dropped (and stopped) before its runtime.
    _runtime: tokio::runtime::Runtime,
}

impl CountingTarget {
    pub(crate) fn start() -> CountingTarget {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the target");
        let target = runtime
            .block_on(pummel_target::Target::start(pummel_target::TargetConfig {
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                threads: Some(1),
                stall: None,
                challenges: Vec::new(),
            }))
            .expect("start the target");
        CountingTarget {
            target,
            _runtime: runtime,
        }
    }

    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.target.local_addr())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.target.local_addr()
    }

    /// The most `/delay` requests the target held at once so far.
    pub(crate) fn peak_delayed(&self) -> u64 {
        self.target.peak_delayed()
    }

    /// Requests that reached the target's router so far.
    pub(crate) fn served(&self) -> u64 {
        self.target.requests_served()
    }

    /// WebSockets open on the target now.
    pub(crate) fn open_websockets(&self) -> u64 {
        self.target.open_websockets()
    }

    /// Waits until the target has seen `n` requests (at most `limit`): the event a test waits
    /// for before interrupting a run. False when it did not happen in time.
    fn wait_for_requests(&self, n: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.served() < n {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// Writes a scenario file, `@TARGET@` replaced by `base`.
fn scenario_file(dir: &Path, name: &str, base: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text.replace("@TARGET@", base)).expect("write scenario file");
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The scenario of that name.
#[track_caller]
fn scenario<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no scenario {name:?} in\n{}", brief(v)))
}

/// Asserts that the target saw exactly the requests the result reports, finished or cut, and
/// that `aborted` (schema 1) and `requests_cut` agree; returns the requests cut.
#[track_caller]
fn assert_server_saw_every_request(r: &Value, served: u64) -> u64 {
    let requests = u(r, "/requests");
    let aborted = u(r, "/aborted");
    assert_eq!(
        served,
        requests + aborted,
        "the target saw {served} requests; pummel reports {requests} finished and {aborted} \
         cut at the end\n{}",
        brief(r)
    );
    let cut = u(r, "/requests_cut");
    assert_eq!(cut, aborted, "requests_cut and aborted agree\n{}", brief(r));
    let per_step: u64 = r["steps"]
        .as_array()
        .map(|steps| steps.iter().map(|s| u(s, "/cut")).sum())
        .unwrap_or(0);
    assert_eq!(per_step, cut, "the steps' cut add up\n{}", brief(r));
    cut
}

/// Asserts that the iteration counts add up, for the run and for each scenario: completed,
/// failed, cut and dropped make the scheduled (where a schedule exists). Returns the run's counts
/// as `(completed, failed, cut, dropped)`.
#[track_caller]
fn assert_iterations_add_up(r: &Value) -> (u64, u64, u64, u64) {
    let counts = |v: &Value| {
        (
            u(v, "/iteration_counts/completed"),
            u(v, "/iteration_counts/failed"),
            u(v, "/iteration_counts/cut"),
            u(v, "/iteration_counts/dropped"),
        )
    };
    let mut sum = (0, 0, 0, 0);
    for s in r["scenarios"].as_array().expect("scenarios") {
        let (completed, failed, cut, dropped) = counts(s);
        if let Some(scheduled) = s.pointer("/iteration_counts/scheduled") {
            assert_eq!(
                scheduled.as_u64(),
                Some(completed + failed + cut + dropped),
                "scenario {}: scheduled = completed + failed + cut + dropped\n{}",
                s["name"],
                brief(r)
            );
        }
        // Schema 1's figures keep their meaning: iterations that ran to their end (completed or
        // failed), and the failed among them.
        assert_eq!(u(s, "/iterations"), completed + failed, "{}", brief(r));
        assert_eq!(u(s, "/aborted"), failed, "{}", brief(r));
        assert_eq!(u(s, "/dropped"), dropped, "{}", brief(r));
        sum = (
            sum.0 + completed,
            sum.1 + failed,
            sum.2 + cut,
            sum.3 + dropped,
        );
    }
    assert_eq!(
        counts(r),
        sum,
        "the run's counts are the scenarios' sum\n{}",
        brief(r)
    );
    sum
}

/// Four users on a 150 ms endpoint for 1 s: when the deadline comes, each has a request at the
/// target. Those are cut, not lost: the target's count is the requests finished plus those cut.
#[test]
fn a_run_accounts_for_the_requests_the_deadline_cuts() {
    let _machine = util::busy();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario_file(
        dir.path(),
        "deadline.yaml",
        &target.base(),
        r#"
target: @TARGET@
load: { vus: 4, duration: 1s }
scenarios:
  - name: slow
    steps:
      - name: wait
        request: GET /delay/150
"#,
    );
    let r = pummel(&["run", path_str(&file), "--json"]).json_ok();
    let cut = assert_server_saw_every_request(&r, target.served());
    assert!(
        cut > 0,
        "a user was mid-request at the deadline\n{}",
        brief(&r)
    );
    let (completed, failed, iterations_cut, _) = assert_iterations_add_up(&r);
    assert_eq!(failed, 0, "{}", brief(&r));
    // One request per iteration: the iterations cut are the requests cut.
    assert_eq!(iterations_cut, cut, "{}", brief(&r));
    assert_eq!(completed, u(&r, "/requests"), "{}", brief(&r));
    let summary = pummel(&["run", path_str(&file)]).expect_code(0).stdout;
    assert!(summary.contains("cut at the end"), "{summary}");
}

/// The same on Ctrl-C: the requests in flight when the run was interrupted are counted as cut.
#[test]
fn an_interrupted_run_accounts_for_the_requests_it_cuts() {
    let _machine = util::busy();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario_file(
        dir.path(),
        "long.yaml",
        &target.base(),
        r#"
target: @TARGET@
load: { vus: 4, duration: 30s }
scenarios:
  - name: slow
    steps:
      - name: wait
        request: GET /delay/150
"#,
    );
    let run = Running::spawn(&["run", path_str(&file), "--json"]);
    let reached = target.wait_for_requests(12, Duration::from_secs(20));
    run.interrupt();
    let out = run.finish(Duration::from_secs(30));
    assert!(
        reached,
        "the run did not reach 12 requests\n{}",
        out.context()
    );
    let r = out.expect_code(130).json();
    assert_eq!(r["partial"], true, "{}", brief(&r));
    let cut = assert_server_saw_every_request(&r, target.served());
    assert!(
        cut > 0,
        "a user was mid-request at the interrupt\n{}",
        brief(&r)
    );
    let (_, failed, iterations_cut, _) = assert_iterations_add_up(&r);
    assert_eq!(failed, 0, "{}", brief(&r));
    assert_eq!(iterations_cut, cut, "{}", brief(&r));
}

/// 50 iterations a second for 2 s on a 100 ms endpoint, at most 2 users: about 40 run, the other
/// 60 or so never start. All 100 are accounted for — completed, cut by the end, or dropped —
/// and the late and dropped show in the timeline, second by second.
#[test]
fn an_open_model_accounts_for_every_scheduled_iteration() {
    let _machine = util::busy();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario_file(
        dir.path(),
        "open.yaml",
        &target.base(),
        r#"
target: @TARGET@
load: { rate: 50, duration: 2s, max_vus: 2 }
scenarios:
  - name: slow
    steps:
      - name: wait
        request: GET /delay/100
"#,
    );
    let r = pummel(&["run", path_str(&file), "--json"]).json_ok();
    assert_server_saw_every_request(&r, target.served());
    let (completed, failed, cut, dropped) = assert_iterations_add_up(&r);
    assert_eq!(
        u(&r, "/iteration_counts/scheduled"),
        100,
        "50 a second for 2 s\n{}",
        brief(&r)
    );
    assert_eq!(completed + failed + cut + dropped, 100, "{}", brief(&r));
    assert!(dropped > 20 && completed > 10, "{}", brief(&r));
    assert_eq!(u(&r, "/open_model/dropped"), dropped, "{}", brief(&r));

    let timeline = r["timeline"].as_array().expect("timeline");
    let per_second = |key: &str| -> u64 {
        timeline
            .iter()
            .map(|p| p.get(key).and_then(Value::as_u64).unwrap_or(0))
            .sum()
    };
    let late = u(&r, "/open_model/late");
    assert!(late > 0, "{}", brief(&r));
    assert_eq!(per_second("late"), late, "late per second\n{timeline:?}");
    assert_eq!(
        per_second("dropped"),
        dropped,
        "dropped per second\n{timeline:?}"
    );
}

/// Ctrl-C in the middle of an open model's schedule: the users busy at that moment are stopped,
/// not forgotten, so their requests and iterations count as cut, and the slots still waiting as
/// dropped.
#[test]
fn an_interrupted_open_model_accounts_for_what_it_cut() {
    let _machine = util::busy();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario_file(
        dir.path(),
        "open-long.yaml",
        &target.base(),
        r#"
target: @TARGET@
load: { rate: 50, duration: 30s, max_vus: 2 }
scenarios:
  - name: slow
    steps:
      - name: wait
        request: GET /delay/100
"#,
    );
    let run = Running::spawn(&["run", path_str(&file), "--json"]);
    let reached = target.wait_for_requests(10, Duration::from_secs(20));
    run.interrupt();
    let out = run.finish(Duration::from_secs(30));
    assert!(
        reached,
        "the run did not reach 10 requests\n{}",
        out.context()
    );
    let r = out.expect_code(130).json();
    let cut = assert_server_saw_every_request(&r, target.served());
    assert!(
        cut > 0,
        "a user was mid-request at the interrupt\n{}",
        brief(&r)
    );
    let (_, _, iterations_cut, dropped) = assert_iterations_add_up(&r);
    assert_eq!(iterations_cut, cut, "{}", brief(&r));
    assert!(dropped > 0, "{}", brief(&r));
}

/// Two scenarios weighted 1 and 9 under a rate one user cannot keep up with: the dropped
/// iterations are the scenarios' in proportion to their weights, as the started ones are — not
/// all the first scenario's.
#[test]
fn an_open_model_drops_iterations_of_each_scenario_by_weight() {
    let _machine = util::busy();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario_file(
        dir.path(),
        "weights.yaml",
        &target.base(),
        r#"
target: @TARGET@
load: { rate: 100, duration: 2s, max_vus: 1 }
scenarios:
  - name: rare
    weight: 1
    steps:
      - request: GET /delay/100
  - name: common
    weight: 9
    steps:
      - request: GET /delay/100
"#,
    );
    let r = pummel(&["run", path_str(&file), "--json"]).json_ok();
    let rare = u(scenario(&r, "rare"), "/dropped");
    let common = u(scenario(&r, "common"), "/dropped");
    let dropped = rare + common;
    assert_eq!(u(&r, "/open_model/dropped"), dropped, "{}", brief(&r));
    // About 180 dropped: 18 expected on `rare` (a standard deviation of 4), 162 on `common`. Beyond
    // 40 % on `rare` is ten standard deviations away; all of them there fails at once.
    assert!(dropped > 100, "{}", brief(&r));
    assert!(
        rare > 0 && rare * 10 < dropped * 4 && common * 10 > dropped * 6,
        "dropped: rare {rare}, common {common}\n{}",
        brief(&r)
    );
    assert_iterations_add_up(&r);
}
