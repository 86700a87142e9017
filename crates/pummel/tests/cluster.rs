//! A pummel cluster on loopback for the `distributed` tests: a `pummel server` with its own data
//! directory and tokens, `pummel agent` processes, and a TCP proxy whose forwarding can be frozen
//! (a link cut that sends no reset, as a pulled cable does) and resumed.
//!
//! Tests synchronise on what the server says (`pummel agents --json`, `pummel runs --json`),
//! polled until a deadline, never on sleeps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{pummel_bin, Output};

/// How long a server or agent may take to come up, and a state to be reached.
pub(crate) const SETTLE: Duration = Duration::from_secs(30);

/// Runs `pummel ARGS` under a small `sh` guard: when this test process ends, however it ends,
/// the guard's stdin closes and it kills the pummel process, so a server or agent shared by many
/// tests (kept in a static, which is never dropped) does not outlive the test run. The guard
/// exits with pummel's exit code.
const GUARD: &str = r#"exec 3<&0
"$@" </dev/null & p=$!
echo "$p"
( read _ <&3; kill -9 "$p" 2>/dev/null ) & w=$!
wait "$p"; code=$?
kill "$w" 2>/dev/null
exit "$code""#;

/// A pummel process under its guard.
pub(crate) struct Guarded {
    guard: Child,
    /// Closing it makes the guard kill pummel.
    stdin: Option<std::process::ChildStdin>,
    /// pummel's own pid (for a SIGKILL of pummel itself).
    pid: u32,
}

impl Guarded {
    fn spawn(
        args: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> (Guarded, Option<std::process::ChildStderr>) {
        Guarded::spawn_in(None, args, env, stderr)
    }

    /// As `spawn`, in working directory `dir` when given.
    fn spawn_in(
        dir: Option<&Path>,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> (Guarded, Option<std::process::ChildStderr>) {
        Guarded::spawn_program(dir, pummel_bin(), args, env, stderr)
    }

    /// Any program under the guard (a mail sink shared by a file's tests, say): it ends with
    /// this test process as a pummel server does.
    pub(crate) fn spawn_program(
        dir: Option<&Path>,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> (Guarded, Option<std::process::ChildStderr>) {
        let mut command = Command::new("sh");
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut guard = command
            .args(["-c", GUARD, "sh", program])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn sh");
        let stdin = guard.stdin.take();
        let stdout = guard.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let pid = lines
            .next()
            .and_then(Result::ok)
            .and_then(|l| l.trim().parse().ok())
            .expect("the guard prints its program's pid");
        // The program's own stdout, drained so it never blocks.
        std::thread::spawn(move || for _ in lines {});
        let stderr = guard.stderr.take();
        (Guarded { guard, stdin, pid }, stderr)
    }

    /// SIGKILL to pummel itself; waits for it.
    fn kill(&mut self) {
        // Already gone (it exited by itself) is fine.
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.guard.wait();
    }

    /// How pummel exited, once it has (None until then).
    fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.guard.try_wait().ok().flatten()
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.guard.wait();
    }
}

/// A `pummel server` on 127.0.0.1 with a fresh store, killed on drop.
pub(crate) struct Server {
    child: Option<Guarded>,
    pub(crate) url: String,
    listen: String,
    pub(crate) data: PathBuf,
    /// A PostgreSQL URL when the store is there rather than in `data`.
    pub(crate) database: Option<String>,
    _dir: Option<tempfile::TempDir>,
    pub(crate) client_token: String,
    pub(crate) agent_token: String,
    extra: Vec<String>,
}

fn output_of(mut command: Command) -> std::process::Output {
    command.stdin(Stdio::null()).output().expect("run pummel")
}

impl Server {
    /// Initialises a store in a fresh directory, makes a client and an agent token, and starts
    /// the server on a free port with `extra` flags, trusting its client tokens with loopback
    /// targets (`--trust-clients`: these tests are about distribution, not the safety policy).
    pub(crate) fn start(extra: &[&str]) -> Server {
        Server::start_on(None, extra)
    }

    /// As [`Server::start`], with the store in the PostgreSQL database at `database` when given.
    pub(crate) fn start_on(database: Option<&str>, extra: &[&str]) -> Server {
        let mut all = vec!["--trust-clients"];
        all.extend_from_slice(extra);
        Server::start_shared_on(database, &all)
    }

    /// As [`Server::start`], with the safety policy of a shared server in force for non-admins.
    pub(crate) fn start_shared(extra: &[&str]) -> Server {
        Server::start_shared_on(None, extra)
    }

    /// As [`Server::start_shared`], with the store in PostgreSQL at `database` when given.
    pub(crate) fn start_shared_on(database: Option<&str>, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let store_flags = |c: &mut Command| match database {
            Some(url) => {
                c.args(["--database", url]);
            }
            None => {
                c.arg("--data-dir").arg(&data);
            }
        };
        let init = output_of({
            let mut c = Command::new(pummel_bin());
            c.args(["server", "init"]);
            store_flags(&mut c);
            c
        });
        assert!(
            init.status.success(),
            "server init: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let token = |name: &str, role: &str| {
            let out = output_of({
                let mut c = Command::new(pummel_bin());
                c.args(["server", "token", "create", "--name", name, "--role", role]);
                store_flags(&mut c);
                c
            });
            assert!(
                out.status.success(),
                "token create: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let client_token = token("ci", "client");
        let agent_token = token("pool", "agent");
        let mut server = Server {
            child: None,
            url: String::new(),
            listen: "127.0.0.1:0".to_owned(),
            data,
            database: database.map(str::to_owned),
            _dir: Some(dir),
            client_token,
            agent_token,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let data = self.data.to_str().expect("utf-8 path").to_owned();
        let mut args = vec!["server", "--listen", &self.listen];
        match &self.database {
            Some(url) => args.extend(["--database", url.as_str()]),
            None => args.extend(["--data-dir", &data]),
        }
        args.extend(self.extra.iter().map(String::as_str));
        let (mut child, stderr) = Guarded::spawn(&args, &[], Stdio::piped());
        let stderr = stderr.expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("pummel server listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                    break;
                }
            }
            for _ in lines {}
        });
        let url = rx.recv_timeout(SETTLE).unwrap_or_else(|_| {
            child.kill();
            panic!("pummel server did not announce its address")
        });
        // A restart keeps the same port, so agents redial the same address.
        self.listen = url.trim_start_matches("http://").to_owned();
        self.url = url;
        self.child = Some(child);
    }

    /// Kills the server (SIGKILL: no goodbye to anyone) and starts it again on the same port
    /// and store.
    pub(crate) fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
        self.launch();
    }

    /// Starts an agent named `name` with extra flags and environment.
    pub(crate) fn agent(&self, name: &str, extra: &[&str], env: &[(&str, &str)]) -> Agent {
        self.agent_via(&self.url, name, extra, env)
    }

    /// Starts an agent whose working directory is `dir` (one that holds none of the client's
    /// files, as on another machine).
    pub(crate) fn agent_in(
        &self,
        dir: &Path,
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Agent {
        let mut args = vec![
            "agent",
            "--server",
            &self.url,
            "--token",
            &self.agent_token,
            "--name",
            name,
        ];
        args.extend_from_slice(extra);
        let (child, _) = Guarded::spawn_in(Some(dir), &args, env, Stdio::null());
        Agent { child }
    }

    /// Starts an agent that dials `url` (a proxy in front of the server, say).
    pub(crate) fn agent_via(
        &self,
        url: &str,
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Agent {
        let mut args = vec![
            "agent",
            "--server",
            url,
            "--token",
            &self.agent_token,
            "--name",
            name,
        ];
        args.extend_from_slice(extra);
        let (child, _) = Guarded::spawn(&args, env, Stdio::null());
        Agent { child }
    }

    /// `pummel ARGS --server URL --token CLIENT` (the client side).
    pub(crate) fn client(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--server", &self.url, "--token", &self.client_token]);
        crate::util::pummel(&all)
    }

    /// What `pummel agents --json` says.
    pub(crate) fn agents(&self) -> Vec<Value> {
        let out = self.client(&["agents", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_default()
    }

    /// What `pummel runs --json` says of `run`.
    pub(crate) fn run_info(&self, run: &str) -> Option<Value> {
        self.run_info_as(&self.client_token, run)
    }

    /// As [`Server::run_info`], seen with `token` (a user lists only their own runs).
    pub(crate) fn run_info_as(&self, token: &str, run: &str) -> Option<Value> {
        let out = crate::util::pummel(&["runs", "--json", "--server", &self.url, "--token", token]);
        let runs: Vec<Value> = serde_json::from_str(&out.stdout).unwrap_or_default();
        runs.into_iter().find(|r| r["id"] == run)
    }

    /// Waits until every agent in `names` has `state` on the server.
    #[track_caller]
    pub(crate) fn wait_agents(&self, names: &[&str], state: &str) {
        let reached = poll(SETTLE, || {
            let agents = self.agents();
            names.iter().all(|n| {
                agents
                    .iter()
                    .any(|a| a["name"] == *n && a["state"] == state)
            })
        });
        assert!(
            reached,
            "agents {names:?} not {state} within {SETTLE:?}: {:?}",
            self.agents()
        );
    }

    /// Waits until the run's state is one of `states`; returns its info.
    #[track_caller]
    pub(crate) fn wait_run(&self, run: &str, states: &[&str], limit: Duration) -> Value {
        self.wait_run_as(&self.client_token, run, states, limit)
    }

    /// Waits (up to `limit`) until the queue has started job `job` (as `token` sees it with
    /// `pummel jobs show --json`); its run's id.
    #[track_caller]
    pub(crate) fn job_run_as(&self, token: &str, job: &str, limit: Duration) -> String {
        let mut last = Value::Null;
        let started = poll(limit, || {
            let out = crate::util::pummel(&[
                "jobs", "show", job, "--json", "--server", &self.url, "--token", token,
            ]);
            last = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
            last["run"].as_str().is_some_and(|r| !r.is_empty())
        });
        assert!(started, "job {job} has no run within {limit:?}: {last}");
        last["run"].as_str().unwrap_or_default().to_owned()
    }

    /// As [`Server::wait_run`], seen with `token` (a user lists only their own runs).
    #[track_caller]
    pub(crate) fn wait_run_as(
        &self,
        token: &str,
        run: &str,
        states: &[&str],
        limit: Duration,
    ) -> Value {
        let mut info = None;
        let reached = poll(limit, || {
            info = self.run_info_as(token, run);
            info.as_ref()
                .is_some_and(|i| states.iter().any(|s| i["state"] == *s))
        });
        assert!(
            reached,
            "run {run} not in {states:?} within {limit:?}: {info:?}"
        );
        info.unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }
}

/// A `pummel agent` process, killed on drop.
pub(crate) struct Agent {
    child: Guarded,
}

impl Agent {
    /// SIGKILL: the agent vanishes without a word.
    pub(crate) fn kill(&mut self) {
        self.child.kill();
    }

    /// Waits for the agent to exit by itself; its exit code.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_status() {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `done` every 100 ms until it is true or `limit` passes.
pub(crate) fn poll(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP proxy on 127.0.0.1 to `to`, whose forwarding can be frozen: while frozen, bytes stay
/// unread in both directions (no reset, no close), as on a cut link; resumed, they flow again.
pub(crate) struct FreezableProxy {
    pub(crate) port: u16,
    frozen: Arc<(Mutex<bool>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl FreezableProxy {
    pub(crate) fn start(to: &str) -> FreezableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let frozen = Arc::new((Mutex::new(false), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let to = to.trim_start_matches("http://").to_owned();
        let (frozen2, stop2) = (frozen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let Ok(upstream) = TcpStream::connect(&to) else {
                    continue;
                };
                for (from, into) in [
                    (client.try_clone(), upstream.try_clone()),
                    (upstream.try_clone(), client.try_clone()),
                ] {
                    let (Ok(from), Ok(into)) = (from, into) else {
                        continue;
                    };
                    let frozen = frozen2.clone();
                    std::thread::spawn(move || pump(from, into, &frozen));
                }
            }
        });
        FreezableProxy { port, frozen, stop }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn freeze(&self) {
        *self.frozen.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }

    pub(crate) fn resume(&self) {
        *self.frozen.0.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.frozen.1.notify_all();
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.resume();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `into`, holding each chunk while the proxy is frozen.
fn pump(mut from: TcpStream, mut into: TcpStream, frozen: &(Mutex<bool>, Condvar)) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        {
            let mut is = frozen.0.lock().unwrap_or_else(PoisonError::into_inner);
            while *is {
                is = frozen.1.wait(is).unwrap_or_else(PoisonError::into_inner);
            }
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            // A chunk read just before a freeze waits for the resume too.
            let mut is = frozen.0.lock().unwrap_or_else(PoisonError::into_inner);
            while *is {
                is = frozen.1.wait(is).unwrap_or_else(PoisonError::into_inner);
            }
        }
        if into.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = into.shutdown(std::net::Shutdown::Write);
}

/// Writes `text` to `dir/name`; returns the path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("make the file's directory");
    }
    std::fs::write(&path, text).expect("write file");
    path
}
