//! Helpers for the end-to-end tests: run the real `pummel` binary, start a real `pummel target`,
//! read JSON results.
//!
//! Every child process is bounded: a run that outlives its time limit is killed and the test fails
//! with what the process printed so far, and a target is killed when its guard drops (also when a
//! test panics), so no process outlives the test that started it.
//!
//! Synchronisation is by events, never by sleeping: a target is ready when it prints its address, a
//! run is over when both its output pipes close.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest an ordinary run may take before it counts as hung.
pub(crate) const RUN_LIMIT: Duration = Duration::from_secs(60);

/// How long a target may take to print its address.
const START_LIMIT: Duration = Duration::from_secs(20);

/// Tests that check timing figures (latency percentiles, rates, the stall) hold this lock
/// exclusively; tests that put load on the machine hold it shared. On a small shared machine a
/// flood from one test would otherwise show up in another test's percentiles.
static MACHINE: RwLock<()> = RwLock::new(());

/// The guard of a test that checks timing: no load-generating test runs beside it.
pub(crate) type Quiet = RwLockWriteGuard<'static, ()>;
/// The guard of a test that generates load: others like it may run beside it.
pub(crate) type Busy = RwLockReadGuard<'static, ()>;

/// Takes the machine for a timing-sensitive test. Take it once per test, before starting anything.
pub(crate) fn quiet() -> Quiet {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Shares the machine with other load-generating tests. Take it once per test (a second shared
/// guard in the same test could deadlock behind a waiting [`quiet`]).
pub(crate) fn busy() -> Busy {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}

/// The binary under test.
pub(crate) fn pummel_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pummel")
}

/// A `pummel target --port 0` process, killed on drop.
pub(crate) struct Target {
    child: Child,
    /// `http://127.0.0.1:PORT`, without the trailing slash.
    base: String,
    port: u16,
}

impl Target {
    /// Starts a plain target.
    pub(crate) fn start() -> Target {
        Target::start_with(&[])
    }

    /// Starts a target with extra flags (e.g. `--stall-after 3s --stall-for 2s`) and waits for the
    /// line announcing its address.
    pub(crate) fn start_with(extra: &[&str]) -> Target {
        let mut child = Command::new(pummel_bin())
            .args(["target", "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pummel target");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // The reader keeps draining stdout after the first line so the target never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let stderr = drain(stderr);
        match rx.recv_timeout(START_LIMIT) {
            Ok(line) => {
                let Some((base, port)) = parse_listening_line(&line) else {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("unexpected first line from pummel target: {line:?}");
                };
                // The target's stderr is not needed any more; its reader drains it to the end.
                drop(stderr);
                Target { child, base, port }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                let err = stderr.join().unwrap_or_default();
                panic!("pummel target did not announce its address ({status:?}); stderr:\n{err}");
            }
        }
    }

    /// The URL of `path` (which starts with `/`) on this target.
    pub(crate) fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "paths start with /: {path}");
        format!("{}{path}", self.base)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses `pummel target listening on http://127.0.0.1:PORT/` into the base URL and port (any
/// loopback address: the safety tests serve on 127.0.0.2).
pub(crate) fn parse_listening_line(line: &str) -> Option<(String, u16)> {
    let url = line
        .trim_end()
        .strip_prefix("pummel target listening on ")?;
    let authority = url.strip_prefix("http://")?.strip_suffix('/')?;
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    (host.starts_with("127.") && port != 0).then(|| (format!("http://{authority}"), port))
}

/// A port on 127.0.0.1 with nothing listening on it (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// What a finished `pummel` process left behind.
pub(crate) struct Output {
    pub args: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// Asserts the exit code, showing everything the process printed when it differs.
    #[track_caller]
    pub(crate) fn expect_code(self, code: i32) -> Output {
        assert_eq!(
            self.code,
            Some(code),
            "exit code of pummel {:?}\n{}",
            self.args,
            self.context()
        );
        self
    }

    /// Asserts success and returns the JSON result printed on stdout.
    #[track_caller]
    pub(crate) fn json_ok(self) -> Value {
        self.expect_code(0).json()
    }

    /// The JSON result printed on stdout.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of pummel {:?} is not JSON ({e})\n{}",
                self.args,
                self.context()
            )
        })
    }

    /// Asserts a usage error (exit 2) whose message names `what`, printed on stderr only.
    #[track_caller]
    pub(crate) fn expect_usage_error(self, what: &[&str]) -> Output {
        let out = self.expect_code(2);
        for needle in what {
            assert!(
                out.stderr.contains(needle),
                "stderr of pummel {:?} should name {needle:?}\n{}",
                out.args,
                out.context()
            );
        }
        assert!(
            !out.stderr.contains("panicked"),
            "pummel panicked\n{}",
            out.context()
        );
        assert!(
            out.stdout.trim().is_empty(),
            "a usage error prints nothing on stdout\n{}",
            out.context()
        );
        out
    }

    pub(crate) fn context(&self) -> String {
        format!(
            "--- after {:?}, exit {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.elapsed,
            self.code,
            brief_text(&self.stdout),
            self.stderr
        )
    }
}

/// Runs `pummel ARGS` to completion within [`RUN_LIMIT`].
pub(crate) fn pummel(args: &[&str]) -> Output {
    Running::spawn(args).finish(RUN_LIMIT)
}

/// Runs `pummel ARGS` in the working directory `dir`, to completion within [`RUN_LIMIT`].
pub(crate) fn pummel_in(dir: &Path, args: &[&str]) -> Output {
    Running::spawn_with(args, dir, None).finish(RUN_LIMIT)
}

/// Runs `pummel ARGS` in `dir` with its stdout going to `stdout` (not a pipe: the output's
/// `stdout` is then empty), to completion within [`RUN_LIMIT`].
pub(crate) fn pummel_to(stdout: File, dir: &Path, args: &[&str]) -> Output {
    Running::spawn_with(args, dir, Some(stdout)).finish(RUN_LIMIT)
}

/// A `pummel` process still running; killed on drop if not finished.
pub(crate) struct Running {
    args: Vec<String>,
    child: Option<Child>,
    started: Instant,
    closed: mpsc::Receiver<()>,
    /// The output pipes: stderr, and stdout unless it goes to a file.
    pipes: usize,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    pub(crate) fn spawn(args: &[&str]) -> Running {
        let mut command = Command::new(pummel_bin());
        command.stdout(Stdio::piped());
        Running::start(command, args)
    }

    /// Spawns in the working directory `dir`, stdout to `stdout` if given, else a pipe.
    pub(crate) fn spawn_with(args: &[&str], dir: &Path, stdout: Option<File>) -> Running {
        let mut command = Command::new(pummel_bin());
        command
            .current_dir(dir)
            .stdout(stdout.map_or_else(Stdio::piped, Stdio::from));
        Running::start(command, args)
    }

    /// Spawns in `dir` with extra environment variables (a runner's interpreter, say).
    pub(crate) fn spawn_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Running {
        let mut command = Command::new(pummel_bin());
        command
            .current_dir(dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped());
        Running::start(command, args)
    }

    fn start(mut command: Command, args: &[&str]) -> Running {
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pummel");
        let (tx, closed) = mpsc::channel();
        let stdout = child.stdout.take().map(|out| read_to_end(out, tx.clone()));
        let stderr = read_to_end(child.stderr.take().expect("piped stderr"), tx);
        Running {
            args: args.iter().map(|a| a.to_string()).collect(),
            child: Some(child),
            started: Instant::now(),
            closed,
            pipes: 1 + usize::from(stdout.is_some()),
            stdout,
            stderr: Some(stderr),
        }
    }

    /// The process id (the process is not reaped before `finish`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("still running").id()
    }

    /// Sends SIGINT (what Ctrl-C sends) to the process.
    pub(crate) fn interrupt(&self) {
        let child = self.child.as_ref().expect("still running");
        // The child is not reaped until `finish`, so its pid cannot have been reused.
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed: {status}");
    }

    /// Waits for the process to end (both output pipes closed), at most `limit`; on overrun kills
    /// it and fails the test with what it printed.
    #[track_caller]
    pub(crate) fn finish(mut self, limit: Duration) -> Output {
        let deadline = self.started + limit;
        let mut open_pipes = self.pipes;
        let mut overran = false;
        while open_pipes > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.closed.recv_timeout(left) {
                Ok(()) => open_pipes -= 1,
                Err(_) => {
                    overran = true;
                    break;
                }
            }
        }
        let mut child = self.child.take().expect("finish once");
        if overran {
            let _ = child.kill();
        }
        let status = child.wait().expect("wait for pummel");
        let output = Output {
            args: std::mem::take(&mut self.args),
            code: status.code(),
            stdout: self.stdout.take().map(join).unwrap_or_default(),
            stderr: self.stderr.take().map(join).unwrap_or_default(),
            elapsed: self.started.elapsed(),
        };
        assert!(
            !overran,
            "pummel {:?} ran past {limit:?} and was killed\n{}",
            output.args,
            output.context()
        );
        output
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_to_end(
    mut pipe: impl Read + Send + 'static,
    closed: mpsc::Sender<()>,
) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = closed.send(());
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn drain(pipe: ChildStderr) -> JoinHandle<String> {
    let (tx, _rx) = mpsc::channel();
    read_to_end(pipe, tx)
}

fn join(handle: JoinHandle<String>) -> String {
    handle
        .join()
        .unwrap_or_else(|_| "<reader thread panicked>".to_owned())
}

/// A JSON result without its bulky parts (histograms, timeline), for failure messages.
pub(crate) fn brief(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("histogram");
        if let Some(t) = o.get_mut("timeline").and_then(Value::as_array_mut) {
            let n = t.len();
            *o.get_mut("timeline").expect("present") = Value::String(format!("<{n} points>"));
        }
        if let Some(open) = o.get_mut("open_model").and_then(Value::as_object_mut) {
            open.remove("uncorrected_histogram");
        }
    }
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// [`brief`] for text that may or may not be a JSON result.
fn brief_text(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => brief(&v),
        Err(_) => text.to_owned(),
    }
}

/// The unsigned integer at a JSON pointer (`/status/200`), failing the test if absent.
#[track_caller]
pub(crate) fn u(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no unsigned integer at {pointer} in\n{}", brief(v)))
}

/// The number at a JSON pointer (`/latency_ms/p99`), failing the test if absent.
#[track_caller]
pub(crate) fn f(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in\n{}", brief(v)))
}

/// Asserts `lo <= value <= hi` for the number at `pointer`, showing the result otherwise.
#[track_caller]
pub(crate) fn assert_within(v: &Value, pointer: &str, lo: f64, hi: f64) {
    let x = f(v, pointer);
    assert!(
        (lo..=hi).contains(&x),
        "{pointer} = {x}, expected within {lo}..={hi}\n{}",
        brief(v)
    );
}

/// The error counts of a result, as `(kind, count)` pairs.
pub(crate) fn errors(v: &Value) -> Vec<(String, u64)> {
    v["errors"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the invariants every result holds, whatever the run: the schema, the counts adding
/// up, latencies ordered, the timeline covering every finished request.
#[track_caller]
pub(crate) fn assert_consistent(v: &Value) {
    assert_eq!(u(v, "/schema"), 1, "schema version\n{}", brief(v));
    let requests = u(v, "/requests");
    let responses = u(v, "/responses");
    let error_total: u64 = errors(v).iter().map(|(_, n)| n).sum();
    assert_eq!(
        requests,
        responses + error_total,
        "requests = responses + errors\n{}",
        brief(v)
    );
    let status_total: u64 = v["status"]
        .as_object()
        .expect("status is an object")
        .values()
        .map(|n| n.as_u64().expect("status counts are integers"))
        .sum();
    assert_eq!(
        status_total,
        responses,
        "status counts add up to responses\n{}",
        brief(v)
    );
    assert!(
        v["partial"].is_boolean(),
        "partial is a boolean\n{}",
        brief(v)
    );
    assert!(f(v, "/duration_s") > 0.0, "duration_s > 0\n{}", brief(v));
    assert!(
        v["histogram"].as_str().is_some_and(|h| !h.is_empty()),
        "histogram present"
    );
    if responses > 0 {
        assert_latencies_ordered(v, "/latency_ms");
    }
    let timeline = v["timeline"].as_array().expect("timeline is an array");
    let in_timeline: u64 = timeline.iter().map(|p| u(p, "/requests")).sum();
    assert_eq!(
        in_timeline,
        requests,
        "timeline points add up to requests\n{}",
        brief(v)
    );
}

/// Asserts `0 < min <= p50 <= p90 <= p95 <= p99 <= p999 <= max` and `min <= mean <= max`.
#[track_caller]
pub(crate) fn assert_latencies_ordered(v: &Value, at: &str) {
    let get = |k: &str| f(v, &format!("{at}/{k}"));
    let chain = ["min", "p50", "p90", "p95", "p99", "p999", "max"];
    assert!(get("min") > 0.0, "{at}/min > 0\n{}", brief(v));
    for pair in chain.windows(2) {
        assert!(
            get(pair[0]) <= get(pair[1]),
            "{at}: {} <= {}\n{}",
            pair[0],
            pair[1],
            brief(v)
        );
    }
    let mean = get("mean");
    assert!(
        get("min") <= mean && mean <= get("max"),
        "{at}: min <= mean <= max\n{}",
        brief(v)
    );
    assert!(get("stdev") >= 0.0, "{at}/stdev >= 0\n{}", brief(v));
}

/// A test that needs a tool the machine lacks (nginx, Chromium, Node.js, openssl) calls this and
/// returns. Under CI (`CI` set, as `.ci/run` runs) a missing tool is a failure, never a silent
/// pass: the project's scripts install every tool the suite needs. Elsewhere the skip is written
/// to `skipped.txt` in the test's scratch directory, which `scripts/test` prints after the run, so
/// it shows in the suite's summary instead of vanishing into captured output.
pub(crate) fn skip_without(test: &str, missing: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: {missing} (under CI every tool the tests need must be installed: scripts/install-test-deps)");
    }
    let line = format!("{test}: skipped, {missing}\n");
    eprint!("SKIPPED {line}");
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt");
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    if let Err(e) = appended {
        eprintln!("cannot record the skip in {}: {e}", log.display());
    }
}

/// A port on 127.0.0.1 that accepts connections (the kernel completes them) and never answers:
/// after a run, [`Self::connections`] tells whether the run sent anything at all.
pub(crate) struct SilentPort {
    listener: TcpListener,
}

impl SilentPort {
    pub(crate) fn bind() -> SilentPort {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        SilentPort { listener }
    }

    /// `http://127.0.0.1:PORT`, without the trailing slash.
    pub(crate) fn base(&self) -> String {
        let port = self.listener.local_addr().expect("local addr").port();
        format!("http://127.0.0.1:{port}")
    }

    /// The connections made to the port so far. Call it once the process that might have
    /// connected has ended: every connection it made is then waiting in the backlog.
    pub(crate) fn connections(&self) -> usize {
        std::iter::from_fn(|| self.listener.accept().ok()).count()
    }
}
