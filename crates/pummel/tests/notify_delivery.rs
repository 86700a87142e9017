//! Notifications as they are delivered, end to end: a webhook receiver that fails its first
//! attempts (a 500, an attempt left unanswered past `--webhook-timeout`, a refused connection)
//! gets the notification once, after the documented backoff; one that always fails is given up
//! on after 4 attempts, and both outcomes are recorded on the run
//! (`GET /v1/runs/{id}/notifications`). Email goes to aiosmtpd requiring STARTTLS with a
//! certificate of a private CA made here: delivered when the server trusts that CA
//! (`--smtp-ca`), refused and recorded when it trusts another. A repository test with a
//! `schedule:` runs at its time, by itself, and its notifications arrive.
//!
//! One server and agent serve the tests here, one test at a time (a run takes the agent).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::accounting::CountingTarget;
use crate::cluster::{poll, Agent, Server, SETTLE};
use crate::distributed_failures::private_ca;
use crate::repos::{
    admin_token, commit, mails, new_repo, receiver, repos, scenario, wait_repo_run, SmtpSink,
};
use crate::util;

struct Shared {
    server: Server,
    _agent: Agent,
    admin: String,
    target: CountingTarget,
    maildir: PathBuf,
    _sink: SmtpSink,
    /// The private CA's certificate the sink's certificate is signed by.
    ca: String,
    dir: tempfile::TempDir,
}

/// The server (its mail relay: the STARTTLS sink, its CA trusted) and its agent; None when
/// aiosmtpd or openssl is missing (the caller skips, or fails under CI).
fn shared() -> Option<MutexGuard<'static, Shared>> {
    static SHARED: OnceLock<Option<Mutex<Shared>>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tmp");
            let certs = dir.path().join("certs");
            std::fs::create_dir_all(&certs).expect("mkdir");
            let (ca, cert, key) = private_ca(&certs)?;
            let maildir = dir.path().join("mail");
            let sink = SmtpSink::start_with(&maildir, &["--tlscert", &cert, "--tlskey", &key])?;
            let smtp = format!("smtp://127.0.0.1:{}?tls=required", sink.port);
            let server = Server::start(&[
                "--smtp",
                &smtp,
                "--smtp-ca",
                &ca,
                "--mail-from",
                "pummel@example.com",
                "--webhook-timeout",
                "1s",
            ]);
            let agent = server.agent("d1", &[], &[]);
            server.wait_agents(&["d1"], "idle");
            let admin = admin_token(&server);
            Some(Mutex::new(Shared {
                server,
                _agent: agent,
                admin,
                target: CountingTarget::start(),
                maildir,
                _sink: sink,
                ca,
                dir,
            }))
        })
        .as_ref()
        .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

fn shared_or_skip(test: &str) -> Option<MutexGuard<'static, Shared>> {
    let shared = shared();
    if shared.is_none() {
        util::skip_without(
            test,
            "aiosmtpd (python3-aiosmtpd) and openssl: scripts/test-deps.d",
        );
    }
    shared
}

/// Registers (as the admin) a repository at `dir/name` whose pummel.yml is `yml`, with one
/// scenario `s.yaml` against `base`; the commit.
fn register(server: &Server, admin: &str, dir: &Path, name: &str, yml: &str, base: &str) -> String {
    let repo = dir.join(name);
    new_repo(&repo);
    let head = commit(
        &repo,
        &[("pummel.yml", yml.to_owned()), ("s.yaml", scenario(base))],
        "first",
    );
    let out = repos(
        server,
        admin,
        &["add", name, repo.to_str().expect("utf-8"), "--json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.context());
    let added: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(added["repository"]["problems"], json!([]), "{added}");
    assert_eq!(added["repository"]["commit"], head, "{added}");
    head
}

/// Starts a repository test and waits for its run to finish; the run's id.
fn run_test(server: &Server, admin: &str, name: &str, test: &str) -> String {
    let out = repos(server, admin, &["run", name, test]);
    assert_eq!(out.code, Some(0), "{}", out.context());
    let run = server.job_run_as(admin, out.stdout.trim(), SETTLE);
    let info = server.wait_run_as(admin, &run, &["finished"], SETTLE);
    assert_eq!(info["exit_code"], 0, "{info}");
    run
}

/// What the server recorded of the run's notifications.
fn deliveries(server: &Server, token: &str, run: &str) -> Vec<Value> {
    let out = Command::new("curl")
        .args(["-s", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{}/v1/runs/{run}/notifications", server.url))
        .output()
        .expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// Waits until the run's delivery to `target` satisfies `done`; that delivery.
#[track_caller]
fn wait_delivery(
    server: &Server,
    token: &str,
    run: &str,
    target: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut found = Value::Null;
    let reached = poll_fast(limit, || {
        found = deliveries(server, token, run)
            .into_iter()
            .find(|d| d["target"] == target)
            .unwrap_or(Value::Null);
        done(&found)
    });
    assert!(
        reached,
        "the delivery to {target} did not get there: {found} (all: {:?})",
        deliveries(server, token, run)
    );
    found
}

/// As `cluster::poll`, every 20 ms: a receiver must come back within a backoff's time.
fn poll_fast(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads one HTTP request's body from `stream` (None when the peer left first).
fn read_request(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn answer(mut stream: &TcpStream, status: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

/// The next connection to `listener` within `limit` (None when none came).
fn accept_within(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking");
                return Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    None
}

/// When each request reached a receiver, and what it answered.
type Log = Arc<Mutex<Vec<(Instant, &'static str, Vec<u8>)>>>;

/// A receiver that always answers 503: its port, and what reached it.
fn always_503() -> (u16, Log) {
    let failing = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = failing.local_addr().expect("addr").port();
    let log: Log = Arc::default();
    let kept = log.clone();
    std::thread::spawn(move || {
        for stream in failing.incoming().map_while(Result::ok) {
            let body = read_request(&stream).unwrap_or_default();
            kept.lock()
                .expect("lock")
                .push((Instant::now(), "503", body));
            answer(&stream, "503 Service Unavailable");
        }
    });
    (port, log)
}

#[test]
fn webhooks_are_retried_with_backoff_delivered_once_or_given_up_and_recorded() {
    let _busy = crate::util::busy();
    let Some(shared) =
        shared_or_skip("webhooks_are_retried_with_backoff_delivered_once_or_given_up_and_recorded")
    else {
        return;
    };
    let server = &shared.server;
    // A receiver that fails in every way a receiver fails, then accepts: a 500, then a request
    // it never answers (the attempt times out), then nobody listening (refused), then a 200.
    let flaky = TcpListener::bind("127.0.0.1:0").expect("bind");
    let flaky_port = flaky.local_addr().expect("addr").port();
    let log: Log = Arc::default();
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    {
        let log = log.clone();
        std::thread::spawn(move || {
            let (first, _) = flaky.accept().expect("accept");
            let body = read_request(&first).unwrap_or_default();
            log.lock()
                .expect("lock")
                .push((Instant::now(), "500", body));
            answer(&first, "500 Internal Server Error");
            drop(first);
            let (second, _) = flaky.accept().expect("accept");
            let body = read_request(&second).unwrap_or_default();
            log.lock()
                .expect("lock")
                .push((Instant::now(), "none", body));
            // Nobody listens any more: the attempt after this one is refused.
            drop(flaky);
            let _ = closed_tx.send(());
            // Unanswered until the server gives up on it and closes.
            let mut rest = Vec::new();
            let _ = (&second).read_to_end(&mut rest);
        });
    }
    let (failing_port, failing_log) = always_503();
    let flaky_url = format!("http://127.0.0.1:{flaky_port}/hook");
    let failing_url = format!("http://127.0.0.1:{failing_port}/hook");
    let yml = format!(
        "tests:\n  - name: hooked\n    scenario: s.yaml\n    notify:\n      webhooks: [\"{flaky_url}\", \"{failing_url}\"]\n"
    );
    register(
        server,
        &shared.admin,
        shared.dir.path(),
        "hooks",
        &yml,
        &shared.target.base(),
    );
    let run = run_test(server, &shared.admin, "hooks", "hooked");

    // Attempts 1 (500) and 2 (unanswered) reached the receiver, then it stopped listening;
    // attempt 3 is refused and recorded, still being retried.
    closed_rx.recv_timeout(SETTLE).expect("two attempts");
    let third = wait_delivery(server, &shared.admin, &run, &flaky_url, SETTLE, |d| {
        d["attempts"] == 3
    });
    assert_eq!(third["state"], "sending", "{third}");
    assert!(
        third["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot connect") && e.contains("refused")),
        "{third}"
    );
    // Back on the same port (the next attempt is 2 s after the third): accepted.
    let back = TcpListener::bind(("127.0.0.1", flaky_port)).expect("bind the same port again");
    let fourth = accept_within(&back, SETTLE).expect("the fourth attempt");
    let body = read_request(&fourth).unwrap_or_default();
    log.lock()
        .expect("lock")
        .push((Instant::now(), "200", body));
    answer(&fourth, "200 OK");
    drop(fourth);
    let delivered = wait_delivery(server, &shared.admin, &run, &flaky_url, SETTLE, |d| {
        d["state"] == "delivered"
    });
    assert_eq!(delivered["attempts"], 4, "{delivered}");
    assert_eq!(delivered["error"], Value::Null, "{delivered}");

    let log = log.lock().expect("lock").clone();
    assert_eq!(log.len(), 3, "attempts 1, 2 and 4 reach the receiver");
    for (_, _, body) in &log {
        let value: Value = serde_json::from_slice(body).expect("a JSON summary");
        assert_eq!(value["run"], run, "{value}");
    }
    assert_eq!(
        log.iter()
            .filter(|(_, answered, _)| *answered == "200")
            .count(),
        1,
        "delivered once"
    );
    // The backoff: 0.5 s after the 500; the unanswered attempt's 1 s timeout, 1 s, the refused
    // attempt, 2 s: the fourth 4.5 s after the first.
    let gap = |a: usize, b: usize| log[b].0.duration_since(log[a].0);
    assert!(gap(0, 1) >= Duration::from_millis(450), "{:?}", gap(0, 1));
    assert!(gap(0, 2) >= Duration::from_millis(4400), "{:?}", gap(0, 2));

    // The receiver that always fails: 4 attempts, then given up, recorded with the last answer.
    let given_up = wait_delivery(server, &shared.admin, &run, &failing_url, SETTLE, |d| {
        d["state"] == "failed"
    });
    assert_eq!(given_up["attempts"], 4, "{given_up}");
    let error = given_up["error"].as_str().unwrap_or("");
    assert!(error.contains("the receiver answered 503"), "{given_up}");
    assert_eq!(failing_log.lock().expect("lock").len(), 4);
}

#[test]
fn mail_goes_over_starttls_to_a_relay_of_a_private_ca_and_a_wrong_ca_is_recorded() {
    let _busy = crate::util::busy();
    let Some(shared) = shared_or_skip(
        "mail_goes_over_starttls_to_a_relay_of_a_private_ca_and_a_wrong_ca_is_recorded",
    ) else {
        return;
    };
    let server = &shared.server;
    let yml = "tests:\n  - name: mailed\n    scenario: s.yaml\n    notify:\n      email: [team@example.com]\n";
    register(
        server,
        &shared.admin,
        shared.dir.path(),
        "mailed",
        yml,
        &shared.target.base(),
    );
    // The sink requires STARTTLS (aiosmtpd refuses MAIL before it): a mail there went over TLS,
    // with the sink's certificate verified against the CA given by --smtp-ca.
    let run = run_test(server, &shared.admin, "mailed", "mailed");
    let mut mail = None;
    poll(SETTLE, || {
        mail = mails(&shared.maildir)
            .into_iter()
            .find(|m| m.contains(&run));
        mail.is_some()
    });
    let mail = mail.unwrap_or_else(|| panic!("no email about run {run}"));
    assert!(mail.contains("To: team@example.com"), "{mail}");
    let sent = wait_delivery(
        server,
        &shared.admin,
        &run,
        "team@example.com",
        SETTLE,
        |d| d["state"] == "delivered",
    );
    assert_eq!(sent["channel"], "email", "{sent}");

    // A server that trusts another CA: nothing is sent, and the run's record says why.
    let other = shared.dir.path().join("other-ca");
    std::fs::create_dir_all(&other).expect("mkdir");
    let (wrong_ca, _, _) = private_ca(&other).expect("openssl");
    let smtp = format!("smtp://127.0.0.1:{}?tls=required", shared._sink.port);
    let wary = Server::start(&[
        "--smtp",
        &smtp,
        "--smtp-ca",
        &wrong_ca,
        "--mail-from",
        "pummel@example.com",
    ]);
    let _agent = wary.agent("d2", &[], &[]);
    wary.wait_agents(&["d2"], "idle");
    let wary_admin = admin_token(&wary);
    register(
        &wary,
        &wary_admin,
        &shared.dir.path().join("wary"),
        "mailed",
        yml,
        &shared.target.base(),
    );
    let refused = run_test(&wary, &wary_admin, "mailed", "mailed");
    let failed = wait_delivery(
        &wary,
        &wary_admin,
        &refused,
        "team@example.com",
        SETTLE,
        |d| d["state"] == "failed",
    );
    let error = failed["error"].as_str().unwrap_or("");
    assert!(error.contains("invalid peer certificate"), "{failed}");
    assert!(
        !mails(&shared.maildir).iter().any(|m| m.contains(&refused)),
        "a mail went out without a verified certificate"
    );
    assert!(Path::new(&shared.ca).exists());
}

#[test]
fn a_scheduled_repository_test_runs_at_its_time_and_notifies() {
    let _busy = crate::util::busy();
    let Some(shared) = shared_or_skip("a_scheduled_repository_test_runs_at_its_time_and_notifies")
    else {
        return;
    };
    let server = &shared.server;
    let (hook_port, received) = receiver();
    // Once a day, at a second a few seconds from now (UTC): it fires once, at that second.
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 6;
    let (h, m, s) = ((at / 3600) % 24, (at / 60) % 60, at % 60);
    let yml = format!(
        "tests:\n  - name: nightly\n    scenario: s.yaml\n    schedule: \"{s} {m} {h} * * *\"\n    notify:\n      email: [night@example.com]\n      webhooks: [\"http://127.0.0.1:{hook_port}/hook\"]\n"
    );
    let head = register(
        server,
        &shared.admin,
        shared.dir.path(),
        "scheduled",
        &yml,
        &shared.target.base(),
    );
    let registered = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        registered < at,
        "registering took until {registered}, past the schedule's second {at}: the test cannot \
         tell a scheduled run"
    );
    // Nothing was started by hand: the run appears by the schedule alone.
    let run = wait_repo_run(server, &shared.admin, "scheduled", &head, "schedule");
    let info = server.wait_run_as(&shared.admin, &run, &["finished"], SETTLE);
    assert_eq!(info["exit_code"], 0, "{info}");
    let created = info["created_at"].as_i64().unwrap_or(0);
    assert!(
        created >= i64::try_from(at).unwrap_or(i64::MAX),
        "started at {created}, before its time {at}: {info}"
    );
    // Its notifications arrive: the webhook and the email.
    let mut hook = None;
    poll(SETTLE, || {
        hook = received.lock().expect("lock").iter().find_map(|(_, b)| {
            let v: Value = serde_json::from_slice(b).ok()?;
            (v["run"] == run).then_some(v)
        });
        hook.is_some()
    });
    let hook = hook.unwrap_or_else(|| panic!("no webhook about the scheduled run {run}"));
    assert_eq!(hook["repository"]["test"], "nightly", "{hook}");
    assert_eq!(hook["verdict"], "passed", "{hook}");
    let mailed = poll(SETTLE, || {
        mails(&shared.maildir)
            .iter()
            .any(|m| m.contains(&run) && m.contains("To: night@example.com"))
    });
    assert!(mailed, "no email about the scheduled run {run}");
    // Once: the next one is tomorrow.
    let runs = crate::repos::repo_info(server, &shared.admin, "scheduled")["runs"].clone();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
}

#[test]
fn mail_is_retried_while_the_relay_is_down_and_sent_once_when_it_is_up() {
    let _busy = crate::util::busy();
    let Some(shared) =
        shared_or_skip("mail_is_retried_while_the_relay_is_down_and_sent_once_when_it_is_up")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let maildir = dir.path().join("mail");
    let trigger = dir.path().join("relay-up");
    let port = util::closed_port();
    // The relay is down: aiosmtpd is loaded but not listening until `trigger` exists.
    let _relay = SmtpSink::start_when(&maildir, port, &trigger).expect("aiosmtpd");
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = Server::start(&["--smtp", &smtp, "--mail-from", "pummel@example.com"]);
    let _agent = server.agent("m1", &[], &[]);
    server.wait_agents(&["m1"], "idle");
    let admin = admin_token(&server);
    let yml = "tests:\n  - name: later\n    scenario: s.yaml\n    notify:\n      email: [team@example.com]\n";
    register(
        &server,
        &admin,
        &dir.path().join("repo"),
        "later",
        yml,
        &shared.target.base(),
    );
    let run = run_test(&server, &admin, "later", "later");
    // The first attempt finds nobody: recorded, and it will be tried again.
    let waiting = wait_delivery(&server, &admin, &run, "team@example.com", SETTLE, |d| {
        d["state"] == "sending"
    });
    assert_eq!(waiting["channel"], "email", "{waiting}");
    assert!(
        waiting["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{waiting}"
    );
    // The relay comes up: a later attempt delivers, and the mail arrives once.
    std::fs::write(&trigger, b"").expect("the trigger");
    let sent = wait_delivery(&server, &admin, &run, "team@example.com", SETTLE, |d| {
        d["state"] == "delivered"
    });
    assert!(
        sent["attempts"].as_u64().is_some_and(|n| n >= 2),
        "delivered on a later attempt: {sent}"
    );
    let mut arrived = Vec::new();
    poll(SETTLE, || {
        arrived = mails(&maildir)
            .into_iter()
            .filter(|m| m.contains(&run))
            .collect();
        !arrived.is_empty()
    });
    assert_eq!(arrived.len(), 1, "one mail about run {run}: {arrived:?}");
}
