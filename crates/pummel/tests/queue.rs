//! The server's store on both backends and its job queue, end to end: a real `pummel server`
//! (its store in SQLite, then in a real PostgreSQL from `postgres`), real agents and the client
//! commands, against a counting target. Every test body runs once per backend.

use std::time::Duration;

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::cluster::{poll, Agent, Server, SETTLE};
use crate::distributed::{read_json, run_id};
use crate::util::{self, u};

/// Runs `body` with the store in SQLite, then in a fresh PostgreSQL database (skipped, outside
/// CI, when PostgreSQL is not installed).
fn on_both_backends(test: &str, body: impl Fn(Option<&str>)) {
    body(None);
    if let Some(url) = crate::postgres::database(test) {
        body(Some(&url));
    }
}

#[test]
fn the_store_keeps_runs_across_a_kill_on_both_backends() {
    on_both_backends(
        "the_store_keeps_runs_across_a_kill_on_both_backends",
        |db| {
            let _busy = util::busy();
            let mut server = Server::start_on(db, &[]);
            let _agents: Vec<Agent> = ["k1", "k2"]
                .iter()
                .map(|n| server.agent(n, &[], &[]))
                .collect();
            server.wait_agents(&["k1", "k2"], "idle");
            let target = CountingTarget::start();
            // A whole run: merged exactly, kept with its result.
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("r.json");
            let out = server.client(&[
                "bench",
                &target.url("/"),
                "-n",
                "400",
                "-c",
                "4",
                "--agents",
                "2",
                "--out",
                file.to_str().unwrap(),
            ]);
            out.expect_code(0);
            assert_eq!(u(&read_json(&file), "/requests"), 400, "{db:?}");
            assert_eq!(target.served(), 400);
            // A run in flight when the server is killed: interrupted, with what it measured.
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
            assert!(poll(SETTLE, || target.served() > 440));
            server.restart();
            server.wait_run(&run, &["interrupted"], SETTLE);
            server.wait_agents(&["k1", "k2"], "idle");
            let kept = poll(SETTLE, || {
                server
                    .client(&["result", &run, "--out", file.to_str().unwrap()])
                    .code
                    == Some(0)
                    && u(&read_json(&file), "/requests") + u(&read_json(&file), "/requests_cut")
                        == target.served() - 400
            });
            assert!(
                kept,
                "{db:?}: {} of {}",
                read_json(&file)["requests"],
                target.served() - 400
            );
            assert_eq!(read_json(&file)["partial"], true);
        },
    );
}

/// What `pummel jobs --json` says.
fn jobs(server: &Server) -> Vec<Value> {
    let out = server.client(&["jobs", "--json"]);
    serde_json::from_str(&out.stdout).unwrap_or_default()
}

fn job(server: &Server, id: &str) -> Value {
    jobs(server)
        .into_iter()
        .find(|j| j["id"] == id)
        .unwrap_or_default()
}

/// Waits until job `id` is in one of `states`.
#[track_caller]
fn wait_job(server: &Server, id: &str, states: &[&str], limit: Duration) -> Value {
    let mut last = Value::Null;
    let reached = poll(limit, || {
        last = job(server, id);
        states.iter().any(|s| last["state"] == *s)
    });
    assert!(
        reached,
        "job {id} not in {states:?} within {limit:?}: {last}"
    );
    last
}

/// Queues `bench ARGS` detached; the job's id.
fn queue(server: &Server, args: &[&str]) -> (String, String) {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend(["--queue", "--detach"]);
    let out = server.client(&all).expect_code(0);
    (out.stdout.trim().to_owned(), out.stderr)
}

fn started_ms(result: &Value) -> u128 {
    let at = result["started_at"].as_str().expect("started_at");
    humantime::parse_rfc3339(at)
        .expect("RFC 3339")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn result_of(server: &Server, run: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    server
        .client(&["result", run, "--out", file.to_str().unwrap()])
        .expect_code(0);
    read_json(&file)
}

#[test]
fn queued_jobs_run_in_order_once_each_on_both_backends() {
    on_both_backends(
        "queued_jobs_run_in_order_once_each_on_both_backends",
        |db| {
            let _busy = util::busy();
            let server = Server::start_on(db, &[]);
            let _agents: Vec<Agent> = ["q1", "q2"]
                .iter()
                .map(|n| server.agent(n, &[], &[]))
                .collect();
            server.wait_agents(&["q1", "q2"], "idle");
            let target = CountingTarget::start();
            let url = target.url("/");
            // Five jobs each wanting both agents, submitted faster than they run: one at a time.
            let mut ids = Vec::new();
            let mut said = Vec::new();
            for _ in 0..5 {
                let (id, stderr) = queue(
                    &server,
                    &[
                        &url, "-q", "10", "-z", "2s", "-c", "2", "--agents", "2", "--test", "order",
                    ],
                );
                ids.push(id);
                said.push(stderr);
            }
            // While the first runs, the later ones are told their place.
            assert!(
                said[2].contains("position 2") || said[2].contains("position 1"),
                "{}",
                said[2]
            );
            let listed = jobs(&server);
            assert!(
                listed
                    .iter()
                    .any(|j| j["state"] == "queued" && j["position"].as_u64() >= Some(2)),
                "{listed:?}"
            );
            // One more, waited for in the foreground: its place, then its run, then exit 0.
            let waited = server
                .client(&[
                    "bench", &url, "-q", "10", "-z", "1s", "-c", "2", "--agents", "2", "--queue",
                    "--test", "order",
                ])
                .expect_code(0);
            assert!(
                waited.stderr.contains("queued, position"),
                "{}",
                waited.stderr
            );
            let mut runs = Vec::new();
            for id in &ids {
                let j = wait_job(&server, id, &["passed"], SETTLE);
                assert_eq!(j["source"], "cli");
                assert_eq!(j["test"], "order");
                runs.push(j["run"].as_str().expect("a run").to_owned());
            }
            // Each ran once, in submission order, none overlapping the one before.
            let mut total = 0;
            let mut previous_end = 0u128;
            for run in &runs {
                let r = result_of(&server, run);
                total += u(&r, "/requests");
                let start = started_ms(&r);
                assert!(
                    start + 50 >= previous_end,
                    "{db:?}: run {run} started before the one ahead ended"
                );
                previous_end = start + (r["duration_s"].as_f64().unwrap() * 1000.0) as u128;
            }
            let foreground = target.served() - total;
            assert_eq!(foreground, 10, "{db:?}: the foreground job ran once");
            let distinct: std::collections::BTreeSet<&String> = runs.iter().collect();
            assert_eq!(distinct.len(), 5);
        },
    );
}

#[test]
fn a_kill_mid_job_interrupts_it_and_the_queue_still_runs_on_both_backends() {
    on_both_backends(
        "a_kill_mid_job_interrupts_it_and_the_queue_still_runs_on_both_backends",
        |db| {
            let _busy = util::busy();
            let mut server = Server::start_on(db, &[]);
            let _agent = server.agent("solo", &[], &[]);
            server.wait_agents(&["solo"], "idle");
            let target = CountingTarget::start();
            let url = target.url("/");
            let (long, _) = queue(&server, &[&url, "-q", "20", "-z", "6s", "-c", "2"]);
            let (second, _) = queue(&server, &[&url, "-n", "30", "-c", "2"]);
            let (third, _) = queue(&server, &[&url, "-n", "30", "-c", "2"]);
            let running = wait_job(&server, &long, &["running"], SETTLE);
            assert_eq!(job(&server, &second)["position"], 1);
            assert_eq!(job(&server, &third)["position"], 2);
            assert!(poll(SETTLE, || target.served() > 20));
            server.restart();
            let interrupted = wait_job(&server, &long, &["interrupted"], SETTLE);
            assert_eq!(interrupted["run"], running["run"]);
            // The queued ones still run, once each, after the restart.
            wait_job(&server, &second, &["passed"], SETTLE);
            wait_job(&server, &third, &["passed"], SETTLE);
            let run = interrupted["run"].as_str().unwrap().to_owned();
            let kept = poll(SETTLE, || {
                let r = result_of(&server, &run);
                u(&r, "/requests") + u(&r, "/requests_cut") + 60 == target.served()
            });
            assert!(
                kept,
                "{db:?}: the interrupted job's measurements are kept: {}",
                result_of(&server, &run)
            );
            assert!(u(&result_of(&server, &run), "/requests") > 0);
            assert_eq!(server.run_info(&run).unwrap()["state"], "interrupted");
        },
    );
}

/// One HTTP/1.1 request to the server's API: the status and the JSON body.
fn http(
    server: &Server,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the server");
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let payload = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

/// A second client token, of another owner.
fn token_of(server: &Server, name: &str) -> String {
    let data = server.data.to_str().unwrap().to_owned();
    let mut args = vec![
        "server", "token", "create", "--name", name, "--role", "client",
    ];
    match &server.database {
        Some(url) => args.extend(["--database", url.as_str()]),
        None => args.extend(["--data-dir", data.as_str()]),
    }
    util::pummel(&args).expect_code(0).stdout.trim().to_owned()
}

#[test]
fn backfill_cancel_rerun_delete_and_the_http_api_on_both_backends() {
    on_both_backends(
        "backfill_cancel_rerun_delete_and_the_http_api_on_both_backends",
        |db| {
            let _busy = util::busy();
            let server = Server::start_on(db, &[]);
            let _agents: Vec<Agent> = [("a1", "zone=a"), ("a2", "zone=a"), ("b1", "zone=b")]
                .iter()
                .map(|(n, l)| server.agent(n, &["--label", l], &[]))
                .collect();
            server.wait_agents(&["a1", "a2", "b1"], "idle");
            let target = CountingTarget::start();
            let url = target.url("/");
            // A long job holds one zone-a agent.
            let (long, _) = queue(
                &server,
                &[&url, "-q", "10", "-z", "4s", "--label", "zone=a"],
            );
            let long_job = wait_job(&server, &long, &["running"], SETTLE);
            // The head wants both zone-a agents: it waits, holding the free one.
            let (head, _) = queue(
                &server,
                &[&url, "-n", "20", "--agents", "2", "--label", "zone=a"],
            );
            // Any agent would do for this one: it starts at once, on b1, which the head cannot use.
            let (any, _) = queue(&server, &[&url, "-n", "20"]);
            // This one could only use the agent the head holds: it waits behind the head.
            let (behind, _) = queue(&server, &[&url, "-n", "20", "--label", "zone=a"]);
            let any_job = wait_job(&server, &any, &["running", "passed"], SETTLE);
            assert_eq!(
                job(&server, &long)["state"],
                "running",
                "{db:?}: the backfill never delayed the head"
            );
            let any_run = server.run_info(any_job["run"].as_str().unwrap()).unwrap();
            assert_eq!(any_run["agents"], serde_json::json!(["b1"]), "{db:?}");
            assert_eq!(job(&server, &head)["state"], "queued");
            assert_eq!(job(&server, &head)["position"], 1);
            assert_eq!(job(&server, &behind)["state"], "queued");
            // Cancelled while queued: it never runs.
            let (doomed, _) = queue(&server, &[&url, "-n", "500", "--label", "zone=a"]);
            let out = server.client(&["jobs", "cancel", &doomed]).expect_code(0);
            assert!(out.stdout.contains("cancelled"), "{}", out.stdout);
            // Another user may neither see nor touch it; the API says so.
            let bob = token_of(&server, "bob");
            let (status, body) = http(
                &server,
                "POST",
                &format!("/v1/jobs/{head}/cancel"),
                &bob,
                None,
            );
            assert_eq!(status, 403, "{body}");
            let (status, body) = http(&server, "GET", "/v1/jobs", &bob, None);
            assert_eq!(
                (status, body.as_array().map(Vec::len)),
                (200, Some(0)),
                "{body}"
            );
            // The head starts when the long job ends, on both zone-a agents, then the one behind it.
            let head_job = wait_job(&server, &head, &["passed"], SETTLE);
            let behind_job = wait_job(&server, &behind, &["passed"], SETTLE);
            assert!(head_job["started_at"].as_i64() >= long_job["started_at"].as_i64());
            assert!(behind_job["started_at"].as_i64() >= head_job["started_at"].as_i64());
            let head_run = server.run_info(head_job["run"].as_str().unwrap()).unwrap();
            assert_eq!(
                head_run["agents"],
                serde_json::json!(["a1", "a2"]),
                "{db:?}"
            );
            wait_job(&server, &long, &["passed"], SETTLE);
            assert_eq!(job(&server, &doomed)["state"], "cancelled");
            assert!(job(&server, &doomed)["run"].is_null());
            let before = target.served();
            assert_eq!(
                before,
                40 + 20 + 20 + 20,
                "{db:?}: the cancelled job sent nothing"
            );
            the_jobs_api(&server, &target, before, db);
        },
    );
}

/// Submit, show, rerun and delete over the HTTP API.
fn the_jobs_api(server: &Server, target: &CountingTarget, before: u64, db: Option<&str>) {
    let url = target.url("/");
    // Submitted over the API: 201, then run like any other.
    let plan = serde_json::json!({
        "plan": { "kind": "bench", "args": [url.clone(), "-n", "15"] },
        "test": "api-test"
    });
    let (status, made) = http(
        server,
        "POST",
        "/v1/jobs",
        &server.client_token,
        Some(&plan),
    );
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["source"], "api");
    let api_job = made["id"].as_str().unwrap().to_owned();
    wait_job(server, &api_job, &["passed"], SETTLE);
    let (status, one) = http(
        server,
        "GET",
        &format!("/v1/jobs/{api_job}"),
        &server.client_token,
        None,
    );
    assert_eq!(
        (status, one["state"].as_str()),
        (200, Some("passed")),
        "{one}"
    );
    // Rerun: a new job with the same request.
    let (status, again) = http(
        server,
        "POST",
        &format!("/v1/jobs/{api_job}/rerun"),
        &server.client_token,
        None,
    );
    assert_eq!(status, 201, "{again}");
    assert_ne!(again["id"], made["id"]);
    wait_job(server, again["id"].as_str().unwrap(), &["passed"], SETTLE);
    assert_eq!(target.served(), before + 30);
    // Delete: the job, its run and its result are gone.
    let run = one["run"].as_str().unwrap().to_owned();
    let (status, _) = http(
        server,
        "DELETE",
        &format!("/v1/jobs/{api_job}"),
        &server.client_token,
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = http(
        server,
        "GET",
        &format!("/v1/jobs/{api_job}"),
        &server.client_token,
        None,
    );
    assert_eq!(status, 404);
    assert!(
        server.run_info(&run).is_none(),
        "{db:?}: the deleted job's run is gone"
    );
    server.client(&["result", &run]).expect_code(2);
}

/// Schedules over HTTP: stored (201), listed, removed (then 404); a request with a schedule is
/// not a job, and a bad expression is refused.
fn the_schedules_api(server: &Server, url: &str) {
    let token = &server.client_token;
    let request = |cron: &str| {
        serde_json::json!({
            "plan": { "kind": "bench", "args": [url, "-n", "5"] },
            "test": "yearly",
            "schedule": cron
        })
    };
    let (status, made) = http(
        server,
        "POST",
        "/v1/schedules",
        token,
        Some(&request("0 0 1 1 *")),
    );
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["cron"].as_str(), made["test"].as_str()),
        (Some("0 0 1 1 *"), Some("yearly"))
    );
    let id = made["id"].as_str().expect("an id").to_owned();
    let (status, listed) = http(server, "GET", "/v1/schedules", token, None);
    assert_eq!(status, 200, "{listed}");
    assert!(
        listed
            .as_array()
            .is_some_and(|l| l.iter().any(|s| s["id"] == id.as_str())),
        "{listed}"
    );
    let (status, refused) = http(
        server,
        "POST",
        "/v1/jobs",
        token,
        Some(&request("0 0 1 1 *")),
    );
    assert_eq!(status, 422, "{refused}");
    let path = format!("/v1/schedules/{id}");
    let (status, gone) = http(server, "DELETE", &path, token, None);
    assert_eq!(
        (status, gone["id"].as_str()),
        (200, Some(id.as_str())),
        "{gone}"
    );
    let (status, again) = http(server, "DELETE", &path, token, None);
    assert_eq!(status, 404, "{again}");
    let (status, bad) = http(
        server,
        "POST",
        "/v1/schedules",
        token,
        Some(&request("every night")),
    );
    assert_eq!(status, 422, "{bad}");
}

#[test]
fn retention_keeps_the_newest_runs_per_test_on_both_backends() {
    on_both_backends(
        "retention_keeps_the_newest_runs_per_test_on_both_backends",
        |db| {
            let _busy = util::busy();
            let server = Server::start_on(db, &["--keep-runs", "2"]);
            let _agent = server.agent("keeper", &[], &[]);
            server.wait_agents(&["keeper"], "idle");
            let target = CountingTarget::start();
            let url = target.url("/");
            let mut ids = Vec::new();
            for _ in 0..4 {
                ids.push(queue(&server, &[&url, "-n", "10", "--test", "nightly"]).0);
            }
            let (other, _) = queue(&server, &[&url, "-n", "10", "--test", "other"]);
            wait_job(&server, &other, &["passed"], SETTLE);
            // All five ran; of "nightly", only the newest two are kept, runs and results included.
            assert_eq!(target.served(), 50);
            let kept: Vec<String> = jobs(&server)
                .iter()
                .filter(|j| j["test"] == "nightly")
                .map(|j| j["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(kept, vec![ids[3].clone(), ids[2].clone()], "{db:?}");
            assert_eq!(job(&server, &other)["state"], "passed");
            let runs = server.client(&["runs", "--json"]);
            let runs: Vec<Value> = serde_json::from_str(&runs.stdout).unwrap();
            assert_eq!(
                runs.len(),
                3,
                "{db:?}: the pruned jobs' runs are gone: {runs:?}"
            );
        },
    );
}

#[test]
fn a_schedule_queues_its_job_at_each_firing_on_both_backends() {
    on_both_backends(
        "a_schedule_queues_its_job_at_each_firing_on_both_backends",
        |db| {
            let _busy = util::busy();
            let server = Server::start_on(db, &[]);
            let _agent = server.agent("cron", &[], &[]);
            server.wait_agents(&["cron"], "idle");
            let target = CountingTarget::start();
            let url = target.url("/");
            let out = server
                .client(&[
                    "bench",
                    &url,
                    "-n",
                    "5",
                    "--queue",
                    "--test",
                    "tick",
                    "--schedule",
                    "*/2 * * * * *",
                ])
                .expect_code(0);
            let schedule = out.stdout.trim().to_owned();
            assert!(out.stderr.contains("stored; next at"), "{}", out.stderr);
            // It fires every two seconds: two jobs of it have run.
            let fired = poll(SETTLE, || {
                jobs(&server)
                    .iter()
                    .filter(|j| {
                        j["source"] == "schedule" && j["test"] == "tick" && j["state"] == "passed"
                    })
                    .count()
                    >= 2
            });
            assert!(fired, "{db:?}: {:?}", jobs(&server));
            let listed = server
                .client(&["jobs", "schedules", "--json"])
                .expect_code(0);
            assert!(listed.stdout.contains(&schedule), "{}", listed.stdout);
            server
                .client(&["jobs", "unschedule", &schedule])
                .expect_code(0);
            let listed = server
                .client(&["jobs", "schedules", "--json"])
                .expect_code(0);
            assert!(!listed.stdout.contains(&schedule), "{}", listed.stdout);
            the_schedules_api(&server, &url);
            // A bad expression is refused before anything is stored.
            server
                .client(&[
                    "bench",
                    &url,
                    "-n",
                    "5",
                    "--queue",
                    "--schedule",
                    "every night",
                ])
                .expect_code(2);
        },
    );
}
