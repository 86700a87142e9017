//! Test repositories and notifications end to end: a real `pummel server` with one agent, git
//! repositories made in temporary directories (registered by path, and served over git:// by
//! `git daemon` on loopback), forge push webhooks signed as GitHub, Gitea and GitLab sign them,
//! and the notifications of finished runs received by a real SMTP sink (aiosmtpd) and by a
//! webhook receiver in this process.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::accounting::CountingTarget;
use crate::cluster::{poll, Guarded, Server, SETTLE};
use crate::util::{self, pummel_bin};

/// An admin token for `server` (registering a local path, or a loopback URL, is an admin's).
pub(crate) fn admin_token(server: &Server) -> String {
    let out = Command::new(pummel_bin())
        .args([
            "server",
            "token",
            "create",
            "--name",
            "root",
            "--role",
            "admin",
            "--data-dir",
        ])
        .arg(&server.data)
        .output()
        .expect("token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `pummel repos ARGS --server … --token TOKEN`.
pub(crate) fn repos(server: &Server, token: &str, args: &[&str]) -> util::Output {
    let mut all = vec!["repos"];
    all.extend_from_slice(args);
    all.extend(["--server", &server.url, "--token", token]);
    util::pummel(&all)
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Writes `files` into the repository and commits them; the new commit.
pub(crate) fn commit(dir: &Path, files: &[(&str, String)], message: &str) -> String {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

pub(crate) fn new_repo(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    git(dir, &["init", "-q", "-b", "main"]);
}

/// A scenario of a few requests against `base`.
pub(crate) fn scenario(base: &str) -> String {
    format!(
        "target: {base}\nload: {{ vus: 1, iterations: 3 }}\nscenarios:\n  - name: hit\n    steps:\n      - request: GET /\n"
    )
}

pub(crate) fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POSTs `body` to the server's `path` with `headers`; the status.
fn post(server: &Server, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let authority = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).expect("connect");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status")
}

/// The repository as `pummel repos tests NAME --json` shows it.
pub(crate) fn repo_info(server: &Server, token: &str, name: &str) -> Value {
    let out = repos(server, token, &["tests", name, "--json"]);
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

/// Waits for a run of the repository at `commit` started by `trigger`; its id.
#[track_caller]
pub(crate) fn wait_repo_run(
    server: &Server,
    token: &str,
    name: &str,
    commit: &str,
    trigger: &str,
) -> String {
    let mut found = None;
    let seen = poll(SETTLE, || {
        let info = repo_info(server, token, name);
        found = info["runs"].as_array().and_then(|runs| {
            runs.iter()
                .find(|r| r["commit"] == commit && r["trigger"] == trigger)
                .and_then(|r| r["run"].as_str().filter(|r| !r.is_empty()))
                .map(str::to_owned)
        });
        found.is_some()
    });
    assert!(
        seen,
        "no {trigger} run at {commit}: {}",
        repo_info(server, token, name)
    );
    found.unwrap_or_default()
}

/// Signs a push body as one forge does: its headers.
type Signer = fn(&str, &[u8]) -> Vec<(&'static str, String)>;

/// For GitHub, Gitea and GitLab: a commit, a push hook with a bad signature (refused, nothing
/// runs) and with the right one (a pull, then one run of the pushed commit).
fn pushes_signed_by_each_forge_run_the_pushed_commit(
    server: &Server,
    admin: &str,
    repo: &Path,
    target: &CountingTarget,
    pummel_yml: &str,
    secret: &str,
    hook: &str,
) {
    // Pushes signed as each forge signs them: a pull, then a run of the pushed commit.
    let forges: [(&str, Signer); 3] = [
        ("github", |s, b| {
            vec![
                ("X-GitHub-Event", "push".into()),
                ("X-Hub-Signature-256", format!("sha256={}", hmac_hex(s, b))),
            ]
        }),
        ("gitea", |s, b| {
            vec![
                ("X-Gitea-Event", "push".into()),
                ("X-Gitea-Signature", hmac_hex(s, b)),
            ]
        }),
        ("gitlab", |s, _| {
            vec![
                ("X-Gitlab-Event", "Push Hook".into()),
                ("X-Gitlab-Token", s.to_owned()),
            ]
        }),
    ];
    for (i, (forge, sign)) in forges.iter().enumerate() {
        let served = target.served();
        let head = commit(
            repo,
            &[
                ("pummel.yml", pummel_yml.to_owned()),
                ("scenarios/smoke.yaml", scenario(&target.base())),
                ("pushes.txt", format!("{i}\n")),
            ],
            forge,
        );
        let body = json!({ "ref": "refs/heads/main", "after": head }).to_string();
        // A wrong signature (or token) is refused, and starts nothing.
        let status = post(
            server,
            hook,
            &sign("not-the-secret", body.as_bytes()),
            body.as_bytes(),
        );
        assert_eq!(status, 401, "{forge}: a bad signature");
        let status = post(
            server,
            hook,
            &sign(secret, body.as_bytes()),
            body.as_bytes(),
        );
        assert_eq!(status, 202, "{forge}: a good signature");
        let run = wait_repo_run(server, admin, "web", &head, "push");
        let info = server.wait_run_as(admin, &run, &["finished"], SETTLE);
        assert_eq!(info["exit_code"], 0, "{forge}: {info}");
        assert_eq!(
            target.served(),
            served + 4,
            "{forge}: one run of the pushed commit"
        );
    }
}

#[test]
fn repositories_are_discovered_checked_and_run_on_signed_pushes() {
    let _busy = crate::util::busy();
    let target = CountingTarget::start();
    let server = Server::start(&[]);
    let _agent = server.agent("r1", &[], &[]);
    server.wait_agents(&["r1"], "idle");
    let admin = admin_token(&server);
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("web");
    new_repo(&repo);
    let pummel_yml = "tests:\n  - name: smoke\n    scenario: scenarios/smoke.yaml\n    load: { iterations: 4 }\n    thresholds: [\"error_rate < 50%\"]\n";
    let first = commit(
        &repo,
        &[
            ("pummel.yml", pummel_yml.to_owned()),
            ("scenarios/smoke.yaml", scenario(&target.base())),
        ],
        "first",
    );
    let path = repo.to_str().expect("utf-8");

    // A user who is not an admin may not register a path on the server.
    let refused = repos(&server, &server.client_token, &["add", "web", path]);
    assert_eq!(refused.code, Some(2), "{}", refused.context());
    assert!(
        refused.stderr.contains("only an admin"),
        "{}",
        refused.context()
    );

    // Registered by path (an admin): pulled at once, its test discovered.
    let added = repos(&server, &admin, &["add", "web", path, "--json"]);
    assert_eq!(added.code, Some(0), "{}", added.context());
    let added: Value = serde_json::from_str(&added.stdout).expect("json");
    assert_eq!(added["repository"]["commit"], first);
    assert_eq!(added["repository"]["tests"][0]["name"], "smoke");
    assert_eq!(added["repository"]["problems"], json!([]));
    let secret = added["webhook"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let hook = added["webhook"]["path"].as_str().expect("path").to_owned();

    // A run on demand is queued as a job, which goes to the agent and hits the target.
    let started = repos(&server, &admin, &["run", "web", "smoke"]);
    assert_eq!(started.code, Some(0), "{}", started.context());
    let job = started.stdout.trim().to_owned();
    let run = server.job_run_as(&admin, &job, SETTLE);
    let listed = repo_info(&server, &admin, "web");
    assert!(
        listed["runs"].as_array().is_some_and(|r| r
            .iter()
            .any(|r| r["job"] == job.as_str() && r["run"] == run.as_str())),
        "the repository lists the test's job with its run: {listed}"
    );
    // The admin ran it: a client token lists only its own runs.
    let info = server.wait_run_as(&admin, &run, &["finished"], SETTLE);
    assert_eq!(info["exit_code"], 0, "{info}");
    assert_eq!(
        target.served(),
        4,
        "the load override of pummel.yml (4 iterations)"
    );

    // A mistake in a scenario is reported with file:line:col, and the pull says so (exit 2).
    let broken = scenario(&target.base()).replace(
        "      - request: GET /\n",
        "      - request: GET /\n        chek: { status: 200 }\n",
    );
    let bad = commit(&repo, &[("scenarios/smoke.yaml", broken)], "typo");
    let pulled = repos(&server, &admin, &["pull", "web"]);
    assert_eq!(pulled.code, Some(2), "{}", pulled.context());
    assert!(
        pulled
            .stdout
            .contains("scenarios/smoke.yaml:7:9: unknown key `chek`"),
        "{}",
        pulled.context()
    );
    let info = repo_info(&server, &admin, "web");
    assert_eq!(info["commit"], bad);
    assert_eq!(info["tests"], json!([]));
    // A mistake in pummel.yml itself is located in pummel.yml.
    commit(
        &repo,
        &[("pummel.yml", pummel_yml.replace("scenario:", "scenari:"))],
        "typo",
    );
    let pulled = repos(&server, &admin, &["pull", "web"]);
    assert!(
        pulled.stdout.contains("pummel.yml:3:5:"),
        "{}",
        pulled.context()
    );

    pushes_signed_by_each_forge_run_the_pushed_commit(
        &server, &admin, &repo, &target, pummel_yml, &secret, &hook,
    );
    // A body changed after signing is refused.
    let body = json!({ "ref": "refs/heads/main" }).to_string();
    let headers = vec![(
        "X-Hub-Signature-256",
        format!("sha256={}", hmac_hex(&secret, b"{}")),
    )];
    assert_eq!(post(&server, &hook, &headers, body.as_bytes()), 401);
}

/// `git daemon` serving `base` on a free loopback port, killed on drop.
pub(crate) struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> Option<GitDaemon> {
        let port = util::closed_port();
        let child = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let daemon = GitDaemon { child, port };
        // Ready when it accepts connections.
        poll(SETTLE, || TcpStream::connect(("127.0.0.1", port)).is_ok()).then_some(daemon)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_repository_over_git_url_with_a_token_stored_encrypted() {
    let _busy = crate::util::busy();
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("served");
    new_repo(&repo);
    let head = commit(
        &repo,
        &[
            (
                "pummel.yml",
                "tests:\n  - name: api\n    scenario: api.yaml\n".to_owned(),
            ),
            ("api.yaml", scenario(&target.base())),
        ],
        "first",
    );
    let Some(daemon) = GitDaemon::start(dir.path()) else {
        util::skip_without(
            "a_repository_over_git_url_with_a_token_stored_encrypted",
            "git daemon did not start",
        );
        return;
    };
    let server = Server::start(&[]);
    let admin = admin_token(&server);
    let url = format!("git://127.0.0.1:{}/served", daemon.port);
    // Not an admin: a loopback URL is refused (the server is no way into its own network).
    let refused = repos(&server, &server.client_token, &["add", "served", &url]);
    assert_eq!(refused.code, Some(2), "{}", refused.context());
    assert!(refused.stderr.contains("loopback"), "{}", refused.context());
    // A credential given by environment variable is stored sealed: not in the store's files.
    let token = "glpat-ThisIsTheTokenThatMustNotLeak42";
    let mut command = Command::new(pummel_bin());
    command
        .args([
            "repos",
            "add",
            "served",
            &url,
            "--token-env",
            "REPO_TOKEN",
            "--json",
        ])
        .args(["--server", &server.url, "--token", &admin])
        .env("REPO_TOKEN", token);
    let out = command.output().expect("pummel");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(added["repository"]["commit"], head);
    assert_eq!(added["repository"]["credential"], "token");
    assert_eq!(added["repository"]["tests"][0]["name"], "api");
    for entry in std::fs::read_dir(&server.data).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "the token is readable in {}",
                path.display()
            );
        }
    }
    let listed = repos(&server, &admin, &["list"]);
    assert!(
        listed.stdout.contains("served") && listed.stdout.contains(&head[..12]),
        "{}",
        listed.context()
    );
}

/// What a webhook receiver got: each request's headers (lowercased names) and body.
pub(crate) type Received = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// A webhook receiver on loopback answering 200 to every POST.
pub(crate) fn receiver() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got: Received = Arc::default();
    let store = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream);
            let mut headers = Vec::new();
            let mut line = String::new();
            let mut length = 0usize;
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    let k = k.trim().to_ascii_lowercase();
                    if k == "content-length" {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    headers.push((k, v.trim().to_owned()));
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            store.lock().expect("lock").push((headers, body));
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

/// aiosmtpd writing every message it receives into a maildir, killed on drop, and with this
/// test process when it is kept in a static (under the same guard as a shared server).
pub(crate) struct SmtpSink {
    _child: Guarded,
    pub(crate) port: u16,
}

const PYTHON: &str = "/usr/bin/python3";

impl SmtpSink {
    fn start(maildir: &Path) -> Option<SmtpSink> {
        SmtpSink::start_with(maildir, &[])
    }

    /// With aiosmtpd's `extra` flags (`--tlscert F --tlskey F`: STARTTLS offered and required).
    pub(crate) fn start_with(maildir: &Path, extra: &[&str]) -> Option<SmtpSink> {
        let has = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !has {
            return None;
        }
        let port = util::closed_port();
        let listen = format!("127.0.0.1:{port}");
        let maildir = maildir.to_str().expect("a UTF-8 maildir");
        let mut args = vec!["-m", "aiosmtpd", "-n", "-l", &listen];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-c", "aiosmtpd.handlers.Mailbox", maildir]);
        let (child, _) = Guarded::spawn_program(None, PYTHON, &args, &[], Stdio::null());
        let sink = SmtpSink {
            _child: child,
            port,
        };
        poll(SETTLE, || TcpStream::connect(("127.0.0.1", port)).is_ok()).then_some(sink)
    }
}

impl SmtpSink {
    /// aiosmtpd loaded now but listening on `port` only once `trigger` exists: a relay that is
    /// down until the test says so, then up at once (no interpreter start in between).
    pub(crate) fn start_when(maildir: &Path, port: u16, trigger: &Path) -> Option<SmtpSink> {
        let script = "import os, sys, time, runpy\n\
                      import aiosmtpd.handlers, aiosmtpd.main\n\
                      trigger, port, maildir = sys.argv[1:4]\n\
                      while not os.path.exists(trigger):\n    time.sleep(0.01)\n\
                      sys.argv = ['aiosmtpd', '-n', '-l', '127.0.0.1:' + port, '-c', \
                      'aiosmtpd.handlers.Mailbox', maildir]\n\
                      runpy.run_module('aiosmtpd', run_name='__main__')\n";
        let port_text = port.to_string();
        let args = [
            "-c",
            script,
            trigger.to_str().expect("a UTF-8 path"),
            &port_text,
            maildir.to_str().expect("a UTF-8 maildir"),
        ];
        let (child, _) = Guarded::spawn_program(None, PYTHON, &args, &[], Stdio::null());
        Some(SmtpSink {
            _child: child,
            port,
        })
    }
}

/// The messages in the maildir, as text.
pub(crate) fn mails(maildir: &Path) -> Vec<String> {
    std::fs::read_dir(maildir.join("new"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn passing_and_failing_runs_are_mailed_and_posted_signed() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tmp");
    let maildir = dir.path().join("mail");
    let Some(sink) = SmtpSink::start(&maildir) else {
        util::skip_without(
            "passing_and_failing_runs_are_mailed_and_posted_signed",
            "aiosmtpd (python3-aiosmtpd)",
        );
        return;
    };
    let (hook_port, received) = receiver();
    let target = CountingTarget::start();
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let server = Server::start(&[
        "--smtp",
        &smtp,
        "--mail-from",
        "pummel@example.com",
        "--public-url",
        "https://pummel.example.com",
    ]);
    let _agent = server.agent("n1", &[], &[]);
    server.wait_agents(&["n1"], "idle");
    let admin = admin_token(&server);
    let repo = dir.path().join("notify");
    new_repo(&repo);
    let yml = format!(
        "tests:\n  - name: good\n    scenario: s.yaml\n    notify:\n      email: [team@example.com]\n      webhooks: [\"http://127.0.0.1:{hook_port}/hook\"]\n  - name: strict\n    scenario: s.yaml\n    thresholds: [\"p95 < 0ms\"]\n    notify:\n      email: [team@example.com]\n      webhooks: [\"http://127.0.0.1:{hook_port}/hook\"]\n"
    );
    commit(
        &repo,
        &[("pummel.yml", yml), ("s.yaml", scenario(&target.base()))],
        "first",
    );
    let added = repos(
        &server,
        &admin,
        &["add", "notify", repo.to_str().expect("utf-8"), "--json"],
    );
    assert_eq!(added.code, Some(0), "{}", added.context());
    let added: Value = serde_json::from_str(&added.stdout).expect("json");
    assert_eq!(added["repository"]["problems"], json!([]), "{added}");
    let secret = added["webhook"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();

    for (test, verdict, code) in [("good", "passed", 0), ("strict", "failed", 99)] {
        let out = repos(&server, &admin, &["run", "notify", test]);
        assert_eq!(out.code, Some(0), "{}", out.context());
        let run = server.job_run_as(&admin, out.stdout.trim(), SETTLE);
        let info = server.wait_run_as(&admin, &run, &["finished"], SETTLE);
        assert_eq!(info["exit_code"], code, "{info}");
        // The email, with the verdict in its subject and the figures in its text.
        let mut mail = None;
        poll(SETTLE, || {
            mail = mails(&maildir).into_iter().find(|m| m.contains(&run));
            mail.is_some()
        });
        let mail =
            mail.unwrap_or_else(|| panic!("no email about run {run}: {:?}", mails(&maildir)));
        let subject = format!(
            "Subject: [pummel] {} run {run} (notify/{test})",
            verdict.to_uppercase()
        );
        assert!(mail.contains(&subject), "{mail}");
        assert!(mail.contains("To: team@example.com"), "{mail}");
        assert!(mail.contains("Requests: 3"), "{mail}");
        assert!(
            mail.contains(&format!("https://pummel.example.com/runs/{run}")),
            "{mail}"
        );
        // The webhook, signed with the repository's secret.
        let mut hook = None;
        poll(SETTLE, || {
            hook = received.lock().expect("lock").iter().find_map(|(h, b)| {
                let v: Value = serde_json::from_slice(b).ok()?;
                (v["run"] == run).then(|| (h.clone(), b.clone(), v))
            });
            hook.is_some()
        });
        let (headers, body, value) = hook.unwrap_or_else(|| panic!("no webhook about run {run}"));
        let signature = headers
            .iter()
            .find(|(k, _)| k == "x-pummel-signature-256")
            .map(|(_, v)| v.clone())
            .expect("signature header");
        assert_eq!(signature, format!("sha256={}", hmac_hex(&secret, &body)));
        assert_eq!(value["verdict"], verdict, "{value}");
        assert_eq!(value["figures"]["requests"], 3, "{value}");
        assert!(value["figures"]["p95_ms"].is_number(), "{value}");
        assert_eq!(value["repository"]["test"], test);
        if test == "strict" {
            assert_eq!(value["thresholds"][0]["condition"], "p95 < 0ms", "{value}");
            assert_eq!(value["thresholds"][0]["passed"], false, "{value}");
        }
    }
}
