//! A shared server's safety end to end: a real `pummel server`, one real `pummel agent` and
//! `pummel target` processes on loopback. The non-admin user `ci` (the cluster's client token) is
//! allowed one loopback address, 127.0.0.2; everything else on loopback stays refused by default.
//! A target there is refused until `ci` proves ownership through the challenge the target serves;
//! a redirect from it to 127.0.0.1 is refused by the agent at connect time (counted as
//! `address_refused`, and the target at 127.0.0.1 sees nothing); a challenge pointed at
//! 127.0.0.1 is refused; each quota refuses with its name and value; an admin is exempt; a
//! queued job (`--queue`, `POST /v1/jobs`) passes the same gate.
//!
//! One server and agent serve every test here, one test at a time (a run takes the agent).

use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::cluster::{Agent, Server};
use crate::util::{self, errors, pummel, u, Output, Target};

struct Shared {
    server: Server,
    _agent: Agent,
    admin_token: String,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

fn shared() -> MutexGuard<'static, Shared> {
    let cell = SHARED.get_or_init(|| {
        let server = Server::start_shared(&[]);
        let agent = server.agent("s1", &[], &[]);
        let admin_token = server_cmd(
            &server,
            &["token", "create", "--name", "boss", "--role", "admin"],
        )
        .expect_code(0)
        .stdout
        .trim()
        .to_owned();
        let allowed =
            server_cmd(&server, &["network", "allow", "127.0.0.2", "--user", "ci"]).expect_code(0);
        assert_eq!(allowed.stdout.trim(), "127.0.0.2/32");
        Mutex::new(Shared {
            server,
            _agent: agent,
            admin_token,
        })
    });
    let guard = cell.lock().unwrap_or_else(PoisonError::into_inner);
    guard.server.wait_agents(&["s1"], "idle");
    guard
}

/// `pummel server ARGS --data-dir DATA` (an admin's command on the store).
fn server_cmd(server: &Server, args: &[&str]) -> Output {
    let data = server.data.to_str().expect("utf-8 path");
    let mut all = vec!["server"];
    all.extend_from_slice(args);
    all.extend(["--data-dir", data]);
    pummel(&all)
}

/// `pummel ARGS --server URL --token TOKEN`.
fn as_user(server: &Server, token: &str, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--server", &server.url, "--token", token]);
    pummel(&all)
}

/// The (id, token) of a claim, from what `pummel hosts claim` printed.
fn claimed(out: &Output) -> (String, String) {
    let url_line = out
        .stdout
        .lines()
        .find(|l| l.contains("/.well-known/pummel-challenge/"))
        .expect("URL line");
    let id = url_line.rsplit('/').next().expect("id").trim().to_owned();
    let token = out
        .stdout
        .lines()
        .last()
        .expect("token line")
        .trim()
        .to_owned();
    assert!(token.starts_with("pummel-challenge-"), "{}", out.context());
    (id, token)
}

/// A `pummel target` on `host` (port 0) with extra flags.
fn target_on(host: &str, extra: &[&str]) -> Target {
    let mut args = vec!["--host", host];
    args.extend_from_slice(extra);
    Target::start_with(&args)
}

fn write_scenario(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("s.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path.to_str().expect("utf-8").to_owned()
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("result")).expect("JSON")
}

/// Unproven, refused; claimed, and proven once the target serves the token. Returns the proving
/// target and its authority.
fn prove(server: &Server, ci: &str) -> (Target, String) {
    // Unproven: refused before any agent is asked, naming the host and how to prove it.
    let plain = target_on("127.0.0.2", &[]);
    let url = format!("http://127.0.0.2:{}/", plain.port());
    let out = as_user(server, ci, &["bench", &url, "-n", "5", "--agents", "1"]).expect_code(2);
    assert!(
        out.stderr.contains("127.0.0.2 is unproven"),
        "{}",
        out.context()
    );
    assert!(
        out.stderr.contains("pummel hosts claim 127.0.0.2"),
        "{}",
        out.context()
    );

    // Claim it; a target that does not serve the token does not prove it.
    let authority = format!("127.0.0.2:{}", plain.port());
    let out = as_user(server, ci, &["hosts", "claim", &authority]).expect_code(0);
    let (id, token) = claimed(&out);
    let out = as_user(server, ci, &["hosts", "verify", &authority]).expect_code(2);
    assert!(
        out.stderr.contains("does not hold the token"),
        "{}",
        out.context()
    );
    drop(plain);

    // Served by the target: proven.
    let challenge = format!("{id}={token}");
    let proving = target_on("127.0.0.2", &["--challenge", &challenge]);
    let authority = format!("127.0.0.2:{}", proving.port());
    let out = as_user(server, ci, &["hosts", "verify", &authority]).expect_code(0);
    assert!(
        out.stdout.contains("127.0.0.2 is proven"),
        "{}",
        out.context()
    );
    let listed = as_user(server, ci, &["hosts", "--json"]).expect_code(0);
    let hosts: Value = serde_json::from_str(&listed.stdout).expect("hosts JSON");
    assert_eq!(hosts[0]["host"], "127.0.0.2", "{}", listed.context());
    assert!(hosts[0]["verified_at"].is_i64(), "{}", listed.context());
    (proving, authority)
}

#[test]
fn ownership_is_proven_and_the_network_policy_holds_at_the_agent() {
    let _busy = util::busy();
    let shared = shared();
    let server = &shared.server;
    let ci = server.client_token.clone();
    let inside = CountingTarget::start();
    let (_proving, authority) = prove(server, &ci);

    let dir = tempfile::tempdir().expect("temp dir");
    let result = dir.path().join("ok.json");
    let url = format!("http://{authority}/");
    let out_file = result.to_str().expect("utf-8");
    as_user(
        server,
        &ci,
        &[
            "bench", &url, "-n", "20", "--agents", "1", "--out", out_file,
        ],
    )
    .expect_code(0);
    assert_eq!(u(&read(&result), "/requests"), 20);

    // A redirect from the proven host into 127.0.0.1: the agent refuses to connect, counts it,
    // and the target inside never sees a request.
    let scenario = write_scenario(
        dir.path(),
        &format!(
            "target: http://{authority}\nload: {{ vus: 1, iterations: 4 }}\nscenarios:\n  - name: escape\n    steps:\n      - request: GET /redirect-to?url={}\n",
            inside.url("/secret")
        ),
    );
    let result = dir.path().join("redirect.json");
    let out_file = result.to_str().expect("utf-8");
    let out = as_user(
        server,
        &ci,
        &["run", &scenario, "--agents", "1", "--out", out_file],
    );
    let v = read(&result);
    let refused = errors(&v)
        .into_iter()
        .find(|(k, _)| k == "address_refused")
        .map(|(_, n)| n);
    assert_eq!(refused, Some(4), "{}\n{}", out.context(), util::brief(&v));
    assert_eq!(inside.served(), 0, "the target inside was reached");

    // A challenge pointed at 127.0.0.1 is never fetched.
    let inside_authority = inside.base().trim_start_matches("http://").to_owned();
    as_user(server, &ci, &["hosts", "claim", &inside_authority]).expect_code(0);
    let out = as_user(server, &ci, &["hosts", "verify", &inside_authority]).expect_code(2);
    assert!(
        out.stderr.contains("127.0.0.1 is a loopback address"),
        "{}",
        out.context()
    );
    // And a run there is refused at submit time for the network, before ownership.
    let out = as_user(
        server,
        &ci,
        &["bench", &inside.url("/"), "-n", "3", "--agents", "1"],
    )
    .expect_code(2);
    assert!(out.stderr.contains("loopback"), "{}", out.context());
    assert_eq!(inside.served(), 0, "the target inside was reached");

    // Quotas that count what the user has used: runs of the day, stored results.
    server_cmd(server, &["quota", "set", "ci", "--runs-per-day", "2"]).expect_code(0);
    let out = as_user(server, &ci, &["bench", &url, "-n", "3", "--agents", "1"]).expect_code(2);
    assert!(
        out.stderr
            .contains("quota runs-per-day is 2: you started 2 runs"),
        "{}",
        out.context()
    );
    server_cmd(server, &["quota", "set", "ci", "--report-storage", "100"]).expect_code(0);
    let out = as_user(server, &ci, &["bench", &url, "-n", "3", "--agents", "1"]).expect_code(2);
    assert!(
        out.stderr.contains("quota report-storage is 100 bytes"),
        "{}",
        out.context()
    );
    server_cmd(server, &["quota", "set", "ci"]).expect_code(0);

    // The admin is exempt: loopback, unproven, no quota.
    let admin = shared.admin_token.clone();
    as_user(
        server,
        &admin,
        &["bench", &inside.url("/"), "-n", "7", "--agents", "1"],
    )
    .expect_code(0);
    assert_eq!(inside.served(), 7);
}

#[test]
fn each_quota_refuses_with_its_name_and_value() {
    let _busy = util::busy();
    let shared = shared();
    let server = &shared.server;
    let token = server_cmd(
        server,
        &["token", "create", "--name", "quoted", "--role", "client"],
    )
    .expect_code(0)
    .stdout
    .trim()
    .to_owned();
    // Quotas are judged before ownership: no host needs proving to be refused by one.
    let url = "http://127.0.0.2:9/";
    let cases: [(&[&str], &[&str], &str); 6] = [
        (
            &["--max-vus", "2"],
            &["-c", "5", "-n", "10", "--agents", "1"],
            "quota max-vus is 2: the plan runs up to 5 VUs",
        ),
        (
            &["--max-rate", "10"],
            &["--rate", "50", "-z", "1s", "--agents", "1"],
            "quota max-rate is 10/s",
        ),
        (
            &["--max-duration", "5s"],
            &["-z", "10s", "--agents", "1"],
            "quota max-duration is 5s: the plan lasts 10s",
        ),
        (
            &["--agents-per-job", "1"],
            &["-n", "10", "--agents", "2"],
            "quota agents-per-job is 1: the run asks for 2",
        ),
        (
            &["--concurrent-jobs", "0"],
            &["-n", "10", "--agents", "1"],
            "quota concurrent-jobs is 0",
        ),
        // Within quota: refused for the network, which the admin opened for `ci` only.
        (
            &[],
            &["-n", "10", "--agents", "1"],
            "127.0.0.2 is a loopback address and is not in a network the admin allowed",
        ),
    ];
    for (quota, run, expected) in cases {
        let mut set = vec!["quota", "set", "quoted"];
        set.extend_from_slice(quota);
        server_cmd(server, &set).expect_code(0);
        let mut args = vec!["bench", url];
        args.extend_from_slice(run);
        let out = as_user(server, &token, &args).expect_code(2);
        assert!(
            out.stderr.contains(expected),
            "{quota:?}: {}",
            out.context()
        );
    }
    let shown = server_cmd(server, &["quota", "show", "quoted"]).expect_code(0);
    assert!(
        shown.stdout.contains("\"allow_runners\": false"),
        "{}",
        shown.context()
    );
    // Nothing of it reached an agent: no run was recorded for the user.
    let runs = as_user(server, &token, &["runs", "--json"]).expect_code(0);
    let runs: Vec<Value> = serde_json::from_str(&runs.stdout).expect("runs JSON");
    assert!(runs.iter().all(|r| r["owner"] != "quoted"), "{runs:?}");
}

/// A queued job passes the same gate as a run submitted now: a non-admin's job to loopback or
/// to an unproven host is refused at submission, from `--queue` and from `POST /v1/jobs`, and
/// never enters the queue.
#[test]
fn queued_jobs_of_a_non_admin_pass_the_gate() {
    let shared = shared();
    let server = &shared.server;
    // A user of their own: no networks opened, no host proven, no quota set by other tests.
    let queuer = server_cmd(
        server,
        &["token", "create", "--name", "queuer", "--role", "client"],
    )
    .expect_code(0)
    .stdout
    .trim()
    .to_owned();
    // Nothing listens there: had the job run, it would have found nothing.
    for url in ["http://127.0.0.1:9/", "http://127.0.0.2:9/"] {
        let out = as_user(
            server,
            &queuer,
            &[
                "bench", url, "-n", "3", "--agents", "1", "--queue", "--detach",
            ],
        )
        .expect_code(2);
        assert!(
            out.stderr.contains("loopback") && out.stderr.contains("refused"),
            "{}",
            out.context()
        );
        let body = serde_json::json!({
            "plan": { "kind": "bench", "args": [url, "-n", "3"] },
            "test": "sneaky"
        })
        .to_string();
        let out = Command::new("curl")
            .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST"])
            .arg(format!("{}/v1/jobs", server.url))
            .args([
                "-H",
                &format!("authorization: Bearer {queuer}"),
                "-H",
                "content-type: application/json",
                "--data",
                &body,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (answer, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
        assert_eq!(code, "403", "{answer}");
        assert!(answer.contains("loopback"), "{answer}");
    }
    // Neither request became a job.
    let jobs = as_user(server, &queuer, &["jobs", "--json"]).expect_code(0);
    assert!(
        !jobs.stdout.contains("sneaky") && !jobs.stdout.contains("127.0.0."),
        "{}",
        jobs.context()
    );
}

#[test]
fn the_http_api_lists_claims_and_only_an_admin_sets_quotas() {
    let shared = shared();
    let server = &shared.server;
    let curl = |method: &str, path: &str, token: &str, body: Option<&str>| -> (String, String) {
        let mut c = Command::new("curl");
        c.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method])
            .arg(format!("{}{path}", server.url))
            .args([
                "-H",
                &format!("authorization: Bearer {token}"),
                "-H",
                "content-type: application/json",
            ]);
        if let Some(body) = body {
            c.args(["--data", body]);
        }
        let out = c.stdin(Stdio::null()).output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
        (body.to_owned(), code.to_owned())
    };
    let ci = server.client_token.clone();
    let admin = shared.admin_token.clone();
    let (body, code) = curl("PUT", "/v1/quotas/ci", &ci, Some(r#"{"max_vus": 1}"#));
    assert_eq!(code, "403", "{body}");
    let (body, code) = curl(
        "PUT",
        "/v1/quotas/api-user",
        &admin,
        Some(r#"{"max_vus": 3, "max_duration": "2m"}"#),
    );
    assert_eq!(code, "200", "{body}");
    let (body, code) = curl("GET", "/v1/quotas/api-user", &admin, None);
    assert_eq!(code, "200", "{body}");
    assert!(
        body.contains(r#""max_vus":3"#) && body.contains(r#""max_duration":"2m""#),
        "{body}"
    );
    let (body, code) = curl("GET", "/v1/networks/ci", &ci, None);
    assert_eq!(
        (code.as_str(), body.as_str()),
        ("200", r#"["127.0.0.2/32"]"#)
    );
    let (body, code) = curl("POST", "/v1/hosts/shop.example/claim", &ci, None);
    assert_eq!(code, "201", "{body}");
    assert!(
        body.contains(r#""host":"shop.example""#) && body.contains(r#""verified_at":null"#),
        "{body}"
    );
    let (body, code) = curl("GET", "/v1/hosts", &ci, None);
    assert_eq!(code, "200", "{body}");
    assert!(body.contains(r#""host":"shop.example""#), "{body}");
}
