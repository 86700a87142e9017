//! Repository fetches under the owner's network policy, with real git: a non-admin's repository
//! served over HTTP (git's dumb protocol, by Python's `http.server`) and by `git daemon` on
//! 127.0.0.2 is refused until an admin opens 127.0.0.2 for them, then fetched; 127.0.0.1 and
//! names that resolve to it stay refused, and a redirect to 127.0.0.1 is not followed. Over SSH,
//! a real sshd (started here, on a free port of 127.0.0.2, with `git-shell` as the deploy key's
//! only command) serves a repository fetched with a deploy key: the host key is learned on the
//! first fetch and required after, or given at registration; a wrong key fails by name.
//!
//! One shared server (a shared service's policy: no `--trust-clients`), one test at a time.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde_json::Value;

use crate::cluster::{poll, Server, SETTLE};
use crate::repos::{commit, git, new_repo, repos, scenario};
use crate::util::{self, Output};

struct Shared {
    server: Server,
}

fn shared() -> MutexGuard<'static, Shared> {
    static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let server = Server::start_shared(&[]);
            Mutex::new(Shared { server })
        })
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `pummel server ARGS --data-dir DATA` (an admin's command on the store).
fn server_cmd(server: &Server, args: &[&str]) -> Output {
    let mut all = vec!["server"];
    all.extend_from_slice(args);
    let data = server.data.to_str().expect("utf-8").to_owned();
    all.extend(["--data-dir", &data]);
    util::pummel(&all)
}

/// A client token for a user of its own (no networks opened).
fn user(server: &Server, name: &str) -> String {
    server_cmd(
        server,
        &["token", "create", "--name", name, "--role", "client"],
    )
    .expect_code(0)
    .stdout
    .trim()
    .to_owned()
}

/// A repository with one test, cloned bare into `served/NAME.git` and made servable by git's
/// dumb HTTP protocol; the commit.
fn served_repo(dir: &Path, name: &str) -> String {
    let src = dir.join(format!("{name}-src"));
    new_repo(&src);
    let head = commit(
        &src,
        &[
            (
                "pummel.yml",
                "tests:\n  - name: smoke\n    scenario: smoke.yaml\n".to_owned(),
            ),
            ("smoke.yaml", scenario("http://127.0.0.2:9")),
        ],
        "first",
    );
    let bare = dir.join("served").join(format!("{name}.git"));
    std::fs::create_dir_all(dir.join("served")).expect("mkdir");
    git(
        dir,
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().expect("utf-8"),
            bare.to_str().expect("utf-8"),
        ],
    );
    git(&bare, &["update-server-info"]);
    head
}

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Python's `http.server` serving `dir` on `host` (git's dumb HTTP protocol).
fn static_http(dir: &Path, host: &str) -> (Killed, u16) {
    let port = util::closed_port();
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", host, &port.to_string()])
        .arg("--directory")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let served = Killed(child);
    assert!(
        poll(SETTLE, || TcpStream::connect((host, port)).is_ok()),
        "http.server on {host}:{port} did not start"
    );
    (served, port)
}

/// A server on `host` answering every request with a redirect to `to`.
fn redirector(host: &str, to: String) -> u16 {
    let listener = TcpListener::bind((host, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    port
}

/// A listener on `host` that only counts the connections it gets.
fn counter(host: &str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((host, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    std::thread::spawn(move || {
        for _ in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, hits)
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", out.context()))
}

#[test]
fn a_non_admins_repository_is_fetched_only_where_their_network_policy_allows() {
    let _busy = crate::util::busy();
    let shared = shared();
    let server = &shared.server;
    let token = user(server, "fetcher");
    let dir = tempfile::tempdir().expect("tmp");
    let head = served_repo(dir.path(), "web");
    let (_http, port) = static_http(&dir.path().join("served"), "127.0.0.2");
    let url = format!("http://127.0.0.2:{port}/web.git");

    // No network opened for this user: loopback is refused, naming the policy and the way out.
    for refused_url in [
        url.clone(),
        format!("http://localhost:{port}/web.git"),
        format!("git://127.0.0.2:{port}/web.git"),
        format!("ssh://git@127.0.0.2:{port}/web.git"),
    ] {
        let out = repos(server, &token, &["add", "web", &refused_url]);
        assert_eq!(out.code, Some(2), "{}", out.context());
        assert!(
            out.stderr
                .contains("is a loopback address and is not in a network the admin allowed")
                && out.stderr.contains("pummel server network allow"),
            "{}",
            out.context()
        );
    }

    // Opened for 127.0.0.2 only: the repository there is fetched by real git.
    server_cmd(
        server,
        &["network", "allow", "127.0.0.2", "--user", "fetcher"],
    )
    .expect_code(0);
    let out = repos(server, &token, &["add", "web", &url, "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.context());
    let added = json(&out);
    assert_eq!(added["repository"]["commit"], head, "{added}");
    assert_eq!(added["repository"]["tests"][0]["name"], "smoke", "{added}");
    assert_eq!(added["repository"]["owner"], "fetcher");

    // 127.0.0.1 stays closed, by address or by a name that resolves to it; nothing is dialled.
    let (inside, hits) = counter("127.0.0.1");
    for refused_url in [
        format!("http://127.0.0.1:{inside}/web.git"),
        format!("http://localhost:{inside}/web.git"),
        format!("http://[::ffff:127.0.0.1]:{inside}/web.git"),
    ] {
        let out = repos(server, &token, &["add", "inside", &refused_url]);
        assert_eq!(out.code, Some(2), "{}", out.context());
        assert!(
            out.stderr.contains("is a loopback address"),
            "{}",
            out.context()
        );
    }

    // A redirect from 127.0.0.2 to 127.0.0.1 is not followed.
    let to = format!("http://127.0.0.1:{inside}/web.git/info/refs?service=git-upload-pack");
    let bouncing = redirector("127.0.0.2", to);
    let out = repos(
        server,
        &token,
        &[
            "add",
            "bouncing",
            &format!("http://127.0.0.2:{bouncing}/web.git"),
            "--json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.context());
    let bounced = json(&out);
    let error = bounced["repository"]["pull_error"].as_str().unwrap_or("");
    assert!(error.contains("git clone failed"), "{bounced}");
    assert_eq!(bounced["repository"]["commit"], Value::Null, "{bounced}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "127.0.0.1 was dialled");

    // Served by `git daemon` on 127.0.0.2: the git:// transport under the same policy.
    let daemon = GitDaemonOn::start(&dir.path().join("served"), "127.0.0.2");
    let out = repos(
        server,
        &token,
        &[
            "add",
            "daemon",
            &format!("git://127.0.0.2:{}/web.git", daemon.port),
            "--json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.context());
    assert_eq!(json(&out)["repository"]["commit"], head);

    // The admin takes 127.0.0.2 back: the next pull is refused, and the refusal recorded.
    server_cmd(
        server,
        &["network", "deny", "127.0.0.2", "--user", "fetcher"],
    )
    .expect_code(0);
    let out = repos(server, &token, &["pull", "web", "--json"]);
    assert_eq!(out.code, Some(2), "{}", out.context());
    let pulled = json(&out);
    let error = pulled["pull_error"].as_str().unwrap_or("");
    assert!(
        error.contains("the repository URL is refused") && error.contains("127.0.0.2"),
        "{pulled}"
    );
    assert_eq!(pulled["commit"], head, "the last good pull is kept");
}

/// `git daemon` serving `base` on `host`, killed on drop.
struct GitDaemonOn {
    _child: Killed,
    port: u16,
}

impl GitDaemonOn {
    fn start(base: &Path, host: &str) -> GitDaemonOn {
        let port = util::closed_port();
        let child = Command::new("git")
            .args(["daemon", "--reuseaddr", "--export-all"])
            .arg(format!("--listen={host}"))
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = GitDaemonOn {
            _child: Killed(child),
            port,
        };
        assert!(
            poll(SETTLE, || TcpStream::connect((host, port)).is_ok()),
            "git daemon did not start"
        );
        daemon
    }
}

/// `ssh-keygen` of an ed25519 key at `path` (and `path.pub`); the public line.
fn keygen(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(path.with_extension("pub")).expect("public key")
}

/// `TYPE BASE64` of a public key line.
fn key_of(public: &str) -> String {
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A real sshd on a free port of 127.0.0.2 with its own configuration in `dir`, letting in the
/// current user with the keys in `authorized_keys` only; killed on drop.
struct Sshd {
    _child: Killed,
    port: u16,
}

impl Sshd {
    /// On `port` (a free one when None).
    fn start(dir: &Path, host_key: &Path, authorized_keys: &Path, port: Option<u16>) -> Sshd {
        let port = port.unwrap_or_else(util::closed_port);
        let config = dir.join(format!("sshd_config-{port}"));
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.2\nHostKey {}\nPidFile {}\n\
                 AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
                host_key.display(),
                dir.join(format!("sshd-{port}.pid")).display(),
                authorized_keys.display(),
            ),
        )
        .expect("sshd_config");
        // As root, sshd wants its privilege separation directory (made by the service's unit,
        // which these tests do not run).
        if Path::new("/run").is_dir() && !Path::new("/run/sshd").exists() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let mut child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sshd");
        let stderr = child.stderr.take().expect("stderr");
        let sshd = Sshd {
            _child: Killed(child),
            port,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            let mut said = Vec::new();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.contains("Server listening on") {
                    let _ = tx.send(Ok(()));
                    break;
                }
                said.push(line);
            }
            let _ = tx.send(Err(said.join("\n")));
            for line in lines.map_while(Result::ok) {
                if std::env::var_os("PUMMEL_TEST_SSHD_LOG").is_some() {
                    eprintln!("sshd: {line}");
                }
            }
        });
        match rx.recv_timeout(SETTLE) {
            Ok(Ok(())) => sshd,
            other => panic!("sshd did not start: {other:?}"),
        }
    }
}

/// Whether sshd is installed; without it the test is skipped (failed under CI).
fn have_sshd(test: &str) -> bool {
    let present = Path::new("/usr/sbin/sshd").exists();
    if !present {
        util::skip_without(
            test,
            "sshd (openssh-server: scripts/test-deps.d/61-repos-ssh.sh)",
        );
    }
    present
}

/// Asserts that no file in `dir` holds a line of the private key at `key`.
fn assert_not_in_files(key: &Path, dir: &Path) {
    let private = std::fs::read_to_string(key).expect("key");
    let secret_line = private.lines().nth(1).expect("a key line");
    for entry in std::fs::read_dir(dir).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes
                    .windows(secret_line.len())
                    .any(|w| w == secret_line.as_bytes()),
                "the deploy key is readable in {}",
                path.display()
            );
        }
    }
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn an_ssh_repository_is_fetched_with_its_deploy_key_and_its_host_key_checked() {
    let _busy = crate::util::busy();
    if !have_sshd("an_ssh_repository_is_fetched_with_its_deploy_key_and_its_host_key_checked") {
        return;
    }
    let shared = shared();
    let server = &shared.server;
    let token = user(server, "sshuser");
    server_cmd(
        server,
        &["network", "allow", "127.0.0.2", "--user", "sshuser"],
    )
    .expect_code(0);
    let dir = tempfile::tempdir().expect("tmp");
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    let host = keygen(&keys.join("host"));
    let other_host = keygen(&keys.join("other_host"));
    let deploy = keygen(&keys.join("deploy"));
    keygen(&keys.join("stranger"));
    // The deploy key may run git-shell only: fetches, nothing else.
    let authorized = keys.join("authorized_keys");
    std::fs::write(
        &authorized,
        format!("restrict,command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\" {deploy}"),
    )
    .expect("authorized_keys");
    let head = served_repo(dir.path(), "app");
    let bare: PathBuf = dir.path().join("served").join("app.git");
    let sshd = Sshd::start(dir.path(), &keys.join("host"), &authorized, None);
    let port = sshd.port;
    let url = format!(
        "ssh://{}@127.0.0.2:{}{}",
        current_user(),
        sshd.port,
        bare.display()
    );
    let add = |name: &str, key: &str, extra: &[&str]| {
        let key = keys.join(key);
        let mut args = vec![
            "add",
            name,
            &url,
            "--deploy-key",
            key.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        args.push("--json");
        let out = repos(server, &token, &args);
        assert_eq!(out.code, Some(0), "{}", out.context());
        json(&out)["repository"].clone()
    };

    // Registered with its deploy key and no host key: fetched, the host key learned and shown.
    let first = add("app", "deploy", &[]);
    assert_eq!(first["commit"], head, "{first}");
    assert_eq!(first["credential"], "deploy_key");
    assert_eq!(first["host_key"], key_of(&host), "{first}");
    assert_eq!(first["host_key_origin"], "first fetch", "{first}");
    // The key is stored sealed: not readable in the store's files.
    assert_not_in_files(&keys.join("deploy"), &server.data);

    // A stranger's key is refused by the ssh server, and the message says so.
    let stranger = add("stranger", "stranger", &[]);
    let error = stranger["pull_error"].as_str().unwrap_or("");
    assert!(
        error.contains("the ssh server refused the deploy key"),
        "{stranger}"
    );

    // The same address answers with another host key: the learned one is required.
    drop(sshd);
    let _imposter = Sshd::start(
        dir.path(),
        &keys.join("other_host"),
        &authorized,
        Some(port),
    );
    let out = repos(server, &token, &["pull", "app", "--json"]);
    assert_eq!(out.code, Some(2), "{}", out.context());
    let pulled = json(&out);
    let error = pulled["pull_error"].as_str().unwrap_or("");
    assert!(
        error.contains("the ssh host key is not the one recorded"),
        "{pulled}"
    );
    assert_eq!(pulled["host_key"], key_of(&host), "the learned key is kept");

    // A key given at registration is the one required from the first fetch on: the old one
    // fails there, the host's real one is fetched.
    let given = keys.join("given_known_hosts");
    for (name, key, fetched) in [("old", &host, false), ("real", &other_host, true)] {
        std::fs::write(&given, format!("[127.0.0.2]:{port} {key}")).expect("write");
        let repo = add(
            name,
            "deploy",
            &["--host-key", given.to_str().expect("utf-8")],
        );
        assert_eq!(repo["host_key_origin"], "given", "{repo}");
        assert_eq!(repo["host_key"], key_of(key), "{repo}");
        if fetched {
            assert_eq!(repo["commit"], head, "{repo}");
        } else {
            assert_eq!(repo["commit"], Value::Null, "{repo}");
            let error = repo["pull_error"].as_str().unwrap_or("");
            assert!(
                error.contains("the ssh host key is not the one recorded"),
                "{repo}"
            );
        }
    }
}
