//! Distributed runs end to end: a real `pummel server`, real `pummel agent` processes and the
//! client commands, all on loopback (see `cluster`). The target runs in this process (or is a
//! recording server), so what reached it is the figure the merged result is held against.
//!
//! One server with three agents is shared by the tests that leave it as they found it (one at a
//! time: each run takes every idle agent); tests that kill agents, cut links or restart the
//! server start their own.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;

pub(crate) use crate::accounting::CountingTarget;
use crate::cluster::{self, poll, Agent, FreezableProxy, Server, SETTLE};
use crate::servers::{Behaviour, Server as Recorder};
use crate::util::{self, u, Running};

/// The shared server and its three agents.
struct Shared {
    server: Server,
    _agents: Vec<Agent>,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

/// The shared cluster, for one test at a time, its three agents idle.
fn shared() -> MutexGuard<'static, Shared> {
    let cell = SHARED.get_or_init(|| {
        let server = Server::start(&[]);
        let agents = ["a1", "a2", "a3"]
            .iter()
            .map(|name| server.agent(name, &["--label", "pool=shared"], &[]))
            .collect();
        Mutex::new(Shared {
            server,
            _agents: agents,
        })
    });
    let guard = cell.lock().unwrap_or_else(PoisonError::into_inner);
    guard.server.wait_agents(&["a1", "a2", "a3"], "idle");
    guard
}

pub(crate) fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read result")).expect("JSON result")
}

/// The run id a detached submission printed.
pub(crate) fn run_id(out: &util::Output) -> String {
    out.stdout.trim().to_owned()
}

#[test]
fn three_agents_merge_into_one_exact_result() {
    let _busy = util::busy();
    let shared = shared();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("r.json");
    let out = shared.server.client(&[
        "bench",
        &target.url("/"),
        "-n",
        "1500",
        "-c",
        "6",
        "--agents",
        "3",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let out = out.expect_code(0);
    let v = read_json(&out_file);
    // Every request the target saw is in the merged result, and each agent's share adds up.
    assert_eq!(u(&v, "/requests"), 1500, "{}", out.context());
    assert_eq!(target.served(), 1500);
    let agents = v["agents"].as_array().expect("an agents section");
    assert_eq!(agents.len(), 3);
    let mut segments: Vec<u64> = agents.iter().map(|a| u(a, "/segment")).collect();
    segments.sort_unstable();
    assert_eq!(segments, [0, 1, 2]);
    assert_eq!(agents.iter().map(|a| u(a, "/requests")).sum::<u64>(), 1500);
    assert!(
        agents.iter().all(|a| u(a, "/requests") > 0),
        "every agent ran its share: {agents:?}"
    );
    // The merged percentiles are those of one histogram holding every agent's samples.
    let mut all = pummel_result::LatencyHistogram::new();
    for a in agents {
        let h =
            pummel_result::LatencyHistogram::from_base64(a["histogram"].as_str().unwrap()).unwrap();
        all.merge(&h);
    }
    let merged: Value = serde_json::to_value(all.summary()).unwrap();
    assert_eq!(merged, v["latency_ms"], "merged percentiles are exact");
}

#[test]
fn an_open_model_is_one_schedule_dealt_out_not_three_rates() {
    let _busy = util::busy();
    let shared = shared();
    let recorder = Recorder::start(Behaviour::Answer { extra: "" });
    let out = shared.server.client(&[
        "bench",
        &format!("{}/", recorder.base()),
        "-q",
        "60",
        "-z",
        "2s",
        "-c",
        "6",
        "--agents",
        "3",
        "--json",
    ]);
    let v = out.expect_code(0).json();
    let mut arrivals = recorder.arrivals();
    arrivals.sort_unstable();
    assert!(
        arrivals.len() >= 110,
        "{} arrivals of 120 planned: {}",
        arrivals.len(),
        util::brief(&v)
    );
    let mut gaps: Vec<f64> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    // Three rates of 20/s started together would arrive in bunches of three: a median gap
    // near zero. One schedule dealt out arrives every 16.7 ms.
    assert!(
        (12.0..22.0).contains(&median),
        "median gap {median:.1} ms: {gaps:?}"
    );
    let bunched = gaps.iter().filter(|g| **g < 4.0).count();
    assert!(
        bunched * 10 < gaps.len(),
        "{bunched} of {} gaps under 4 ms: {gaps:?}",
        gaps.len()
    );
}

#[test]
fn unique_feeder_rows_are_split_without_overlap() {
    let _busy = util::busy();
    let shared = shared();
    let recorder = Recorder::start(Behaviour::Answer { extra: "" });
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (1..=6).map(|i| format!("user{i}")).collect();
    cluster::write(
        dir.path(),
        "users.csv",
        &format!("id\n{}\n", ids.join("\n")),
    );
    let scenario = cluster::write(
        dir.path(),
        "rows.yaml",
        &format!(
            "target: {}\nload: {{ vus: 6, iterations: 12 }}\ndata:\n  users: {{ file: users.csv, mode: unique }}\n\
             scenarios:\n  - name: s\n    steps:\n      - request: GET /who/{{{{ users.id }}}}\n",
            recorder.base()
        ),
    );
    let out = shared
        .server
        .client(&["run", scenario.to_str().unwrap(), "--agents", "3", "--json"]);
    let v = out.expect_code(0).json();
    assert_eq!(u(&v, "/requests"), 12, "{}", util::brief(&v));
    let mut seen: Vec<String> = recorder
        .heads()
        .iter()
        .filter_map(|h| {
            h.split_whitespace()
                .nth(1)
                .map(|p| p.trim_start_matches("/who/").to_owned())
        })
        .collect();
    seen.sort();
    seen.dedup();
    // Six VUs over three agents, six rows: had two agents dealt the same rows, some row would
    // never have been used.
    assert_eq!(seen, ids, "every row used, none by two agents");
}

#[test]
fn detach_attach_and_stop() {
    let _busy = util::busy();
    let shared = shared();
    let target = CountingTarget::start();
    let out = shared.server.client(&[
        "bench",
        &target.url("/"),
        "-q",
        "50",
        "-z",
        "60s",
        "-c",
        "3",
        "--detach",
    ]);
    let out = out.expect_code(0);
    let run = run_id(&out);
    assert!(out.stderr.contains("pummel attach"), "{}", out.context());
    shared.server.wait_run(&run, &["running"], SETTLE);
    // An attached client replays and follows; `stop` ends the run, and the client exits with
    // the run's code for a stopped run.
    let attached = Running::spawn(&[
        "attach",
        &run,
        "--server",
        &shared.server.url,
        "--token",
        &shared.server.client_token,
    ]);
    assert!(
        poll(SETTLE, || target.served() > 50),
        "load reached the target"
    );
    shared.server.client(&["stop", &run]).expect_code(0);
    let attached = attached.finish(SETTLE);
    assert_eq!(attached.code, Some(130), "{}", attached.context());
    assert!(
        attached.stderr.contains("stopped"),
        "{}",
        attached.context()
    );
    let info = shared.server.wait_run(&run, &["stopped"], SETTLE);
    assert_eq!(info["exit_code"], 130);
    // The result of the stopped run: partial, everything the target saw.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let html = dir.path().join("r.html");
    shared
        .server
        .client(&[
            "result",
            &run,
            "--out",
            file.to_str().unwrap(),
            "--report",
            html.to_str().unwrap(),
        ])
        .expect_code(0);
    let v = read_json(&file);
    assert_eq!(v["partial"], true);
    assert_eq!(
        u(&v, "/requests") + u(&v, "/requests_cut"),
        target.served(),
        "{}",
        util::brief(&v)
    );
    assert!(std::fs::metadata(&html).unwrap().len() > 1000);
}

#[test]
fn wrong_tokens_and_roles_are_refused() {
    let shared = shared();
    let s = &shared.server;
    let garbage = util::pummel(&["runs", "--server", &s.url, "--token", "pmt_not-a-token"]);
    garbage.expect_usage_error(&["unknown token"]);
    let agent_as_client = util::pummel(&["runs", "--server", &s.url, "--token", &s.agent_token]);
    agent_as_client.expect_usage_error(&["role agent"]);
    let out = Running::spawn(&[
        "agent",
        "--server",
        &s.url,
        "--token",
        &s.client_token,
        "--name",
        "intruder",
    ])
    .finish(SETTLE);
    assert_eq!(out.code, Some(2), "{}", out.context());
    assert!(out.stderr.contains("role client"), "{}", out.context());
    assert!(s.agents().iter().all(|a| a["name"] != "intruder"));
}

#[test]
fn too_few_agents_is_an_error_before_any_load() {
    let shared = shared();
    let target = CountingTarget::start();
    let out = shared
        .server
        .client(&["bench", &target.url("/"), "-n", "10", "--agents", "5"]);
    out.expect_usage_error(&["not enough agents", "5 wanted", "3 idle"]);
    let out = shared.server.client(&[
        "bench",
        &target.url("/"),
        "-n",
        "10",
        "--label",
        "pool=elsewhere",
    ]);
    out.expect_usage_error(&["not enough agents", "pool=elsewhere"]);
    assert_eq!(target.served(), 0);
}

#[test]
fn disabled_and_drained_agents_get_no_new_run() {
    let _busy = util::busy();
    let shared = shared();
    let s = &shared.server;
    s.client(&["agents", "disable", "a3"]).expect_code(0);
    s.wait_agents(&["a3"], "disabled");
    s.client(&["agents", "drain", "a2"]).expect_code(0);
    let target = CountingTarget::start();
    let v = s
        .client(&["bench", &target.url("/"), "-n", "20", "-c", "2", "--json"])
        .expect_code(0)
        .json();
    let names: Vec<&str> = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a1"]);
    s.client(&["agents", "enable", "a3"]).expect_code(0);
    s.client(&["agents", "enable", "a2"]).expect_code(0);
    s.wait_agents(&["a1", "a2", "a3"], "idle");
}

#[test]
fn a_killed_agent_is_lost_and_the_run_goes_on() {
    let _busy = util::busy();
    let server = Server::start(&["--agent-timeout", "2s"]);
    let mut agents: Vec<Agent> = ["k1", "k2", "k3"]
        .iter()
        .map(|n| server.agent(n, &[], &[]))
        .collect();
    server.wait_agents(&["k1", "k2", "k3"], "idle");
    let target = CountingTarget::start();
    let out = server.client(&[
        "bench",
        &target.url("/"),
        "-q",
        "60",
        "-z",
        "6s",
        "-c",
        "3",
        "--detach",
    ]);
    let run = run_id(&out.expect_code(0));
    server.wait_run(&run, &["running"], SETTLE);
    assert!(poll(SETTLE, || target.served() > 100), "load started");
    agents[1].kill();
    let info = server.wait_run(&run, &["finished"], Duration::from_secs(40));
    assert_eq!(
        info["exit_code"], 1,
        "a run that lost an agent failed: {info}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    server
        .client(&["result", &run, "--out", file.to_str().unwrap()])
        .expect_code(0);
    let v = read_json(&file);
    let lost: Vec<&Value> = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("lost_at").is_some())
        .collect();
    assert_eq!(lost.len(), 1, "{}", v["agents"]);
    assert_eq!(lost[0]["name"], "k2");
    // What it sent before it died is kept.
    assert!(
        u(lost[0], "/requests") > 0 && u(lost[0], "/seconds_sent") >= 1,
        "{}",
        lost[0]
    );
    assert_eq!(v["partial"], true);
    let total: u64 = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| u(a, "/requests"))
        .sum();
    assert_eq!(total, u(&v, "/requests"));
}

#[test]
fn a_cut_link_loses_nothing() {
    let _busy = util::busy();
    let server = Server::start(&["--agent-timeout", "30s"]);
    let proxy = FreezableProxy::start(&server.url);
    let _direct = server.agent("d1", &[], &[]);
    let _cut = server.agent_via(&proxy.url(), "c1", &[], &[]);
    server.wait_agents(&["d1", "c1"], "idle");
    let target = CountingTarget::start();
    let run = Running::spawn(&[
        "bench",
        &target.url("/"),
        "-q",
        "40",
        "-z",
        "8s",
        "-c",
        "2",
        "--json",
        "--server",
        &server.url,
        "--token",
        &server.client_token,
    ]);
    assert!(poll(SETTLE, || target.served() > 40), "load started");
    proxy.freeze();
    // The link stays cut while the load goes on: 100 more requests at 40/s.
    let at_cut = target.served();
    assert!(poll(SETTLE, || target.served() > at_cut + 100));
    proxy.resume();
    let out = run.finish(Duration::from_secs(60));
    let v = out.expect_code(0).json();
    assert_eq!(
        u(&v, "/requests") + u(&v, "/requests_cut"),
        target.served(),
        "{}",
        util::brief(&v)
    );
    let c1 = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "c1")
        .unwrap()
        .clone();
    assert!(u(&c1, "/requests") > 100, "{c1}");
}

/// An agent the server declared lost (its link frozen past `--agent-timeout`) that was in fact
/// running all along: the run ends without it, and when its link comes back, everything it
/// measured is merged into the finished run's result, which says so.
#[test]
fn a_lost_agent_that_comes_back_late_loses_nothing() {
    let _busy = util::busy();
    let server = Server::start(&["--agent-timeout", "2s"]);
    let proxy = FreezableProxy::start(&server.url);
    let _direct = server.agent("ld1", &[], &[]);
    let _cut = server.agent_via(&proxy.url(), "lc1", &[], &[]);
    server.wait_agents(&["ld1", "lc1"], "idle");
    let target = CountingTarget::start();
    let out = server.client(&[
        "bench",
        &target.url("/"),
        "-q",
        "40",
        "-z",
        "4s",
        "-c",
        "2",
        "--detach",
    ]);
    let run = run_id(&out.expect_code(0));
    server.wait_run(&run, &["running"], SETTLE);
    assert!(poll(SETTLE, || target.served() > 20), "load started");
    proxy.freeze();
    // The run ends with lc1 lost while lc1 still runs its share behind the frozen link.
    let info = server.wait_run(&run, &["finished"], Duration::from_secs(30));
    assert_eq!(info["exit_code"], 1, "{info}");
    assert!(
        poll(SETTLE, || until_settled(&target)),
        "the load did not end"
    );
    proxy.resume();
    server.wait_agents(&["ld1", "lc1"], "idle");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    // A request cut at the end may or may not have reached the target: the target's count lies
    // between the requests finished and those plus the ones cut.
    let complete = poll(SETTLE, || {
        if server
            .client(&["result", &run, "--out", file.to_str().unwrap()])
            .code
            != Some(0)
        {
            return false;
        }
        let v = read_json(&file);
        let (done, cut) = (u(&v, "/requests"), u(&v, "/requests_cut"));
        (done..=done + cut).contains(&target.served())
    });
    let v = read_json(&file);
    assert!(
        complete,
        "the late agent's seconds merged: {} + {} cut of {} ({})",
        v["requests"],
        v["requests_cut"],
        target.served(),
        util::brief(&v)
    );
    assert_eq!(v["late_data_merged"], true, "{}", util::brief(&v));
    let lc1 = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "lc1")
        .unwrap()
        .clone();
    assert!(lc1.get("lost_at").is_some(), "{lc1}");
    let total: u64 = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| u(a, "/requests"))
        .sum();
    assert_eq!(total, u(&v, "/requests"));
}

/// An agent declared lost (its link frozen past `--agent-timeout`) whose link comes back while
/// the run is still going: the run waits for its end again, and its every second is in the
/// result the attached client gets, with no late merge needed.
#[test]
fn a_lost_agent_back_before_the_end_is_waited_for() {
    let _busy = util::busy();
    let server = Server::start(&["--agent-timeout", "2s"]);
    let proxy = FreezableProxy::start(&server.url);
    let _direct = server.agent("bd1", &[], &[]);
    let _cut = server.agent_via(&proxy.url(), "bc1", &[], &[]);
    server.wait_agents(&["bd1", "bc1"], "idle");
    let target = CountingTarget::start();
    let run = Running::spawn(&[
        "bench",
        &target.url("/"),
        "-q",
        "40",
        "-z",
        "8s",
        "-c",
        "2",
        "--json",
        "--server",
        &server.url,
        "--token",
        &server.client_token,
    ]);
    assert!(poll(SETTLE, || target.served() > 20), "load started");
    proxy.freeze();
    let lost = poll(SETTLE, || {
        server
            .agents()
            .iter()
            .any(|a| a["name"] == "bc1" && a["state"] == "lost")
    });
    assert!(lost, "bc1 never declared lost: {:?}", server.agents());
    proxy.resume();
    let out = run.finish(Duration::from_secs(60));
    // Nothing of the plan was lost: the run passes and is whole.
    let v = out.expect_code(0).json();
    assert_eq!(v["partial"], false, "{}", util::brief(&v));
    let (done, cut) = (u(&v, "/requests"), u(&v, "/requests_cut"));
    assert!(
        (done..=done + cut).contains(&target.served()),
        "{} served, {done} + {cut} cut in the result: {}",
        target.served(),
        v["agents"]
    );
    let bc1 = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "bc1")
        .unwrap()
        .clone();
    assert!(
        bc1.get("lost_at").is_some() && bc1.get("back_at").is_some(),
        "{bc1}"
    );
    assert!(bc1.get("finished_at").is_some(), "waited for: {bc1}");
    assert_eq!(v.get("late_data_merged"), None);
}

/// True once the target has served nothing new for half a second.
fn until_settled(target: &CountingTarget) -> bool {
    let before = target.served();
    std::thread::sleep(Duration::from_millis(500));
    target.served() == before
}

#[test]
fn a_server_restart_interrupts_the_run_and_keeps_late_snapshots() {
    let _busy = util::busy();
    let mut server = Server::start(&[]);
    let _agents: Vec<Agent> = ["s1", "s2"]
        .iter()
        .map(|n| server.agent(n, &[], &[]))
        .collect();
    server.wait_agents(&["s1", "s2"], "idle");
    let target = CountingTarget::start();
    let out = server.client(&[
        "bench",
        &target.url("/"),
        "-q",
        "40",
        "-z",
        "5s",
        "-c",
        "2",
        "--detach",
    ]);
    let run = run_id(&out.expect_code(0));
    server.wait_run(&run, &["running"], SETTLE);
    assert!(poll(SETTLE, || target.served() > 40));
    server.restart();
    server.wait_run(&run, &["interrupted"], SETTLE);
    // The agents come back by themselves, and what they measured meanwhile goes into the run.
    server.wait_agents(&["s1", "s2"], "idle");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let complete = poll(SETTLE, || {
        server
            .client(&["result", &run, "--out", file.to_str().unwrap()])
            .code
            == Some(0)
            && u(&read_json(&file), "/requests") + u(&read_json(&file), "/requests_cut")
                == target.served()
    });
    assert!(
        complete,
        "late snapshots accepted: {} of {}",
        read_json(&file)["requests"],
        target.served()
    );
    assert_eq!(read_json(&file)["partial"], true);
    assert_eq!(server.run_info(&run).unwrap()["state"], "interrupted");
}

/// A scenario with a global setup, its server restarted mid-run: the interrupted run's result,
/// merged again from what the store kept, still has the setup's figures, beside every second the
/// agents sent.
#[test]
fn an_interrupted_run_keeps_its_setup_figures() {
    let _busy = util::busy();
    let mut server = Server::start(&[]);
    let _agents: Vec<Agent> = ["g1", "g2"]
        .iter()
        .map(|n| server.agent(n, &[], &[]))
        .collect();
    server.wait_agents(&["g1", "g2"], "idle");
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = cluster::write(
        dir.path(),
        "setup.yaml",
        &format!(
            "target: {}\nload: {{ vus: 2, duration: 4s }}\n\
             setup:\n  - {{ name: login, request: GET /login }}\n\
             teardown:\n  - {{ name: logout, request: GET /logout }}\n\
             scenarios:\n  - name: s\n    steps:\n      - request: GET /work\n        think: 50ms\n",
            target.url("")
        ),
    );
    let out = server.client(&[
        "run",
        scenario.to_str().unwrap(),
        "--agents",
        "2",
        "--detach",
    ]);
    let run = run_id(&out.expect_code(0));
    server.wait_run(&run, &["running"], SETTLE);
    assert!(poll(SETTLE, || target.served() > 10), "load started");
    server.restart();
    server.wait_run(&run, &["interrupted"], SETTLE);
    server.wait_agents(&["g1", "g2"], "idle");
    let file = dir.path().join("r.json");
    let complete = poll(SETTLE, || {
        server
            .client(&["result", &run, "--out", file.to_str().unwrap()])
            .code
            == Some(0)
            && u(&read_json(&file), "/requests") + u(&read_json(&file), "/requests_cut")
                == target.served()
    });
    let v = read_json(&file);
    assert!(complete, "{} of {}", v["requests"], target.served());
    let steps = v["steps"].as_array().expect("steps");
    let login = steps
        .iter()
        .find(|s| s["global"] == "setup")
        .unwrap_or_else(|| panic!("no setup step in the rebuilt result: {steps:?}"));
    assert_eq!(login["name"], "login");
    assert_eq!(u(login, "/requests"), 1, "{login}");
}

#[test]
fn starts_agree_even_with_a_skewed_clock() {
    let _quiet = util::quiet();
    let server = Server::start(&[]);
    let _agents = [
        server.agent("t1", &[], &[]),
        server.agent("t2", &[], &[]),
        server.agent("t3", &[], &[("PUMMEL_TEST_CLOCK_OFFSET_MS", "2000")]),
    ];
    server.wait_agents(&["t1", "t2", "t3"], "idle");
    let recorder = Recorder::start(Behaviour::Answer { extra: "" });
    server
        .client(&[
            "bench",
            &format!("{}/", recorder.base()),
            "-n",
            "30",
            "-c",
            "3",
        ])
        .expect_code(0);
    let firsts = recorder.first_per_connection();
    assert_eq!(firsts.len(), 3);
    let skew = *firsts.iter().max().unwrap() - *firsts.iter().min().unwrap();
    // The clock 2 s ahead is measured at connect and cancelled.
    assert!(skew < Duration::from_millis(100), "start skew {skew:?}");
}

#[test]
fn an_agent_of_another_version_is_refused_and_named() {
    let shared = shared();
    let s = &shared.server;
    let mut old = s.agent("old", &[], &[("PUMMEL_TEST_PROTOCOL_VERSION", "0")]);
    assert_eq!(
        old.wait_exit(SETTLE),
        Some(2),
        "a refused agent exits with 2"
    );
    // A run short of agents says why, before any load.
    let target = CountingTarget::start();
    let out = s.client(&["bench", &target.url("/"), "-n", "10", "--agents", "4"]);
    out.expect_usage_error(&[
        "not enough agents",
        "agent old was refused",
        "protocol 0",
        "protocol 1",
    ]);
    assert_eq!(target.served(), 0);
}
