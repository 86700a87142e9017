//! Distributed runs when something goes wrong, end to end on loopback with the `cluster`
//! harness: a threshold with `abort_on_fail` stops every agent, `--on-agent-loss stop` ends the
//! run when an agent dies, a plan an agent cannot load is refused before any load, an agent cut
//! off from its server stops by itself after `--orphan-timeout`, and a server behind TLS with a
//! private CA is reached only by those who trust that CA.
//!
//! Each test starts its own server and agents: they kill, cut or refuse things.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{self, poll, Agent, FreezableProxy, Server, SETTLE};
use crate::distributed::{read_json, run_id, CountingTarget};
use crate::util::{self, u};

/// Waits until the target has seen no request for a whole `quiet` window; how long that took.
fn until_quiet(target: &CountingTarget, quiet: Duration, limit: Duration) -> Option<Duration> {
    let began = Instant::now();
    let mut last = target.served();
    let mut since = Instant::now();
    let reached = poll(limit, || {
        let now = target.served();
        if now != last {
            last = now;
            since = Instant::now();
        }
        since.elapsed() >= quiet
    });
    reached.then(|| began.elapsed())
}

#[test]
fn an_abort_on_fail_threshold_stops_every_agent() {
    let _busy = util::busy();
    let server = Server::start(&[]);
    let _agents: Vec<Agent> = ["t1", "t2"]
        .iter()
        .map(|n| server.agent(n, &[], &[]))
        .collect();
    server.wait_agents(&["t1", "t2"], "idle");
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    // Every request is a 404: the error-rate threshold fails in the first second.
    let scenario = cluster::write(
        dir.path(),
        "abort.yaml",
        &format!(
            "target: {}\nload: {{ vus: 4, duration: 60s }}\n\
             thresholds:\n  - condition: error_rate < 1%\n    abort_on_fail: true\n\
             scenarios:\n  - name: s\n    steps:\n      - request: GET /no/such/page\n        think: 20ms\n",
            target.url("")
        ),
    );
    let file = dir.path().join("r.json");
    let began = Instant::now();
    let out = server.client(&[
        "run",
        scenario.to_str().unwrap(),
        "--agents",
        "2",
        "--out",
        file.to_str().unwrap(),
    ]);
    let took = began.elapsed();
    let out = out.expect_code(99);
    assert!(
        took < Duration::from_secs(30),
        "a 60 s run aborted at its first failure ended after {took:?}: {}",
        out.context()
    );
    let v = read_json(&file);
    let thresholds = v["thresholds"].as_array().expect("thresholds");
    assert_eq!(thresholds[0]["passed"], false, "{thresholds:?}");
    assert_eq!(thresholds[0]["aborted_run"], true, "{thresholds:?}");
    // Both agents ran, and both stopped: once they are idle the target's count is the result's.
    let agents = v["agents"].as_array().expect("an agents section");
    assert_eq!(agents.len(), 2);
    assert!(agents.iter().all(|a| u(a, "/requests") > 0), "{agents:?}");
    server.wait_agents(&["t1", "t2"], "idle");
    // A request cut by the abort may or may not have reached the target.
    let (done, cut) = (u(&v, "/requests"), u(&v, "/requests_cut"));
    assert!(
        (done..=done + cut).contains(&target.served()),
        "{} served: {}",
        target.served(),
        util::brief(&v)
    );
}

#[test]
fn on_agent_loss_stop_ends_the_run_and_names_the_loss() {
    let _busy = util::busy();
    let server = Server::start(&["--agent-timeout", "2s"]);
    let mut agents: Vec<Agent> = ["s1", "s2", "s3"]
        .iter()
        .map(|n| server.agent(n, &[], &[]))
        .collect();
    server.wait_agents(&["s1", "s2", "s3"], "idle");
    let target = CountingTarget::start();
    let out = server.client(&[
        "bench",
        &target.url("/"),
        "-q",
        "60",
        "-z",
        "60s",
        "-c",
        "3",
        "--on-agent-loss",
        "stop",
        "--detach",
    ]);
    let run = run_id(&out.expect_code(0));
    server.wait_run(&run, &["running"], SETTLE);
    assert!(poll(SETTLE, || target.served() > 60), "load started");
    let killed_at = Instant::now();
    agents[0].kill();
    // Lost after 2 s of silence, then the others are stopped: far before the 60 s end.
    let info = server.wait_run(&run, &["finished"], Duration::from_secs(30));
    assert!(
        killed_at.elapsed() < Duration::from_secs(30),
        "stopped {:?} after the kill",
        killed_at.elapsed()
    );
    assert_eq!(info["exit_code"], 1, "{info}");
    let attach = server.client(&["attach", &run]);
    let attach = attach.expect_code(1);
    assert!(
        attach.stderr.contains("agent s1 lost"),
        "the loss is named: {}",
        attach.context()
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
    assert_eq!(lost[0]["name"], "s1");
    assert_eq!(v["partial"], true);
    // The survivors stopped too: once they are idle, nothing more reaches the target.
    server.wait_agents(&["s2", "s3"], "idle");
    assert!(u(&v, "/requests") <= target.served(), "{}", util::brief(&v));
    assert!(
        until_quiet(&target, Duration::from_secs(1), SETTLE).is_some(),
        "the survivors' load stopped"
    );
}

#[test]
fn a_plan_an_agent_cannot_load_is_an_error_before_any_load() {
    let _busy = util::busy();
    let server = Server::start(&[]);
    let _good = server.agent("good", &[], &[]);
    // This agent cannot unpack the plan's data files: its temporary directory does not exist.
    let _bad = server.agent("bad", &[], &[("TMPDIR", "/nonexistent/pummel-tmp")]);
    server.wait_agents(&["good", "bad"], "idle");
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    cluster::write(dir.path(), "ids.csv", "id\n1\n2\n3\n4\n");
    let scenario = cluster::write(
        dir.path(),
        "data.yaml",
        &format!(
            "target: {}\nload: {{ vus: 2, duration: 5s }}\ndata:\n  ids: {{ file: ids.csv }}\n\
             scenarios:\n  - name: s\n    steps:\n      - request: GET /?id={{{{ ids.id }}}}\n",
            target.url("")
        ),
    );
    // The client loads the plan; only on the agent does it fail.
    util::pummel(&["validate", scenario.to_str().unwrap()]).expect_code(0);
    let out = server.client(&["run", scenario.to_str().unwrap(), "--agents", "2"]);
    let out = out.expect_code(2);
    assert!(
        out.stderr.contains("the plan failed to load on agent bad"),
        "the agent and the problem are named: {}",
        out.context()
    );
    assert_eq!(target.served(), 0, "no load started");
    server.wait_agents(&["good", "bad"], "idle");
}

#[test]
fn an_orphaned_agent_stops_its_load_by_itself() {
    let _busy = util::busy();
    let server = Server::start(&["--agent-timeout", "60s"]);
    let proxy = FreezableProxy::start(&server.url);
    let _agent = server.agent_via(&proxy.url(), "o1", &["--orphan-timeout", "3s"], &[]);
    server.wait_agents(&["o1"], "idle");
    let target = CountingTarget::start();
    let out = server.client(&[
        "bench",
        &target.url("/"),
        "-q",
        "40",
        "-z",
        "60s",
        "-c",
        "2",
        "--detach",
    ]);
    let _run = run_id(&out.expect_code(0));
    assert!(poll(SETTLE, || target.served() > 40), "load started");
    proxy.freeze();
    let frozen_at = target.served();
    // The load goes on at first (the agent keeps running through short cuts) …
    assert!(
        poll(SETTLE, || target.served() > frozen_at + 40),
        "the agent stopped at once"
    );
    // … then, 3 s without its server, it stops by itself: the target goes quiet.
    let quiet = until_quiet(&target, Duration::from_secs(2), Duration::from_secs(20));
    let quiet = quiet.expect("the orphaned agent's load never stopped");
    assert!(
        quiet < Duration::from_secs(15),
        "quiet only after {quiet:?}"
    );
    assert!(
        target.served() < frozen_at + 40 * 12,
        "it ran on far past its orphan timeout: {} requests",
        target.served()
    );
    proxy.resume();
}

/// A private CA and a certificate it signed for 127.0.0.1, made with openssl: (ca, cert, key).
pub(crate) fn private_ca(dir: &std::path::Path) -> Option<(String, String, String)> {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (ca_key, ca, key, csr, cert) = (
        path("ca.key"),
        path("ca.pem"),
        path("server.key"),
        path("server.csr"),
        path("server.pem"),
    );
    let ext = cluster::write(
        dir,
        "ext.cnf",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    );
    let steps: [Vec<&str>; 3] = [
        vec![
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=pummel test CA",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ],
        vec![
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            &cert,
            "-extfile",
            ext.to_str().unwrap(),
        ],
    ];
    for args in steps {
        match Command::new("openssl").args(&args).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!("openssl failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => {
                util::skip_without(
                    "a_server_behind_tls_with_a_private_ca",
                    &format!("no openssl to make a CA ({e})"),
                );
                return None;
            }
        }
    }
    Some((ca, cert, key))
}

#[test]
fn a_server_behind_tls_with_a_private_ca() {
    let _busy = util::busy();
    let dir = tempfile::tempdir().unwrap();
    let Some((ca, cert, key)) = private_ca(dir.path()) else {
        return;
    };
    let server = Server::start(&["--tls-cert", &cert, "--tls-key", &key]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    // An agent without the CA cannot join; one with it can.
    let mut untrusting = server.agent("nca", &[], &[]);
    let _agent = server.agent("tls1", &["--server-ca", &ca], &[]);
    let agents = || -> Vec<Value> {
        let out = server.client(&["agents", "--json", "--server-ca", &ca]);
        serde_json::from_str(&out.stdout).unwrap_or_default()
    };
    assert!(
        poll(SETTLE, || agents()
            .iter()
            .any(|a| a["name"] == "tls1" && a["state"] == "idle")),
        "the agent with the CA joined: {:?}",
        agents()
    );
    let target = CountingTarget::start();
    let out = server.client(&[
        "bench",
        &target.url("/"),
        "-n",
        "200",
        "-c",
        "2",
        "--json",
        "--server-ca",
        &ca,
        "--agents",
        "1",
    ]);
    let v = out.expect_code(0).json();
    assert_eq!(u(&v, "/requests"), 200, "{}", util::brief(&v));
    assert_eq!(target.served(), 200);
    assert_eq!(v["agents"][0]["name"], "tls1");
    // A client without the CA is told why it cannot connect.
    let refused = server.client(&["runs"]);
    assert_ne!(refused.code, Some(0), "{}", refused.context());
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "a TLS error that names the certificate: {}",
        refused.context()
    );
    assert!(
        !agents().iter().any(|a| a["name"] == "nca"),
        "the agent without the CA never joined"
    );
    untrusting.kill();
}
