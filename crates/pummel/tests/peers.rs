//! Peers and an environment that misbehave on purpose: every request is still counted exactly
//! once against what the server saw, failures are named, and nothing passes silently.

use crate::servers::{Behaviour, Server};
use std::time::Duration;

use crate::util::{self, brief, pummel, pummel_to, u, Running};

/// A server that answers each request twice: the second answer is not a response to the next
/// request (which it would be if the connection were reused with it still buffered), so every
/// request pummel counts is one the server saw.
#[test]
fn an_answer_nobody_asked_for_is_not_the_next_requests_response() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::AnswerTwice);
    let r = pummel(&[
        "bench",
        "-n",
        "50",
        "-c",
        "1",
        "--json",
        &format!("{}/", server.base()),
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 50, "{}", brief(&r));
    assert_eq!(server.heads().len(), 50, "{}", brief(&r));
}

/// `--json` into a pipe whose reader is gone: the result reached nobody, so it is saved in the
/// working directory and the run fails, as with any other stdout that cannot be written. (A
/// text summary cut by `| head` is the reader's choice and stays a success.)
#[test]
fn json_into_a_closed_pipe_is_saved_and_fails() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Answer { extra: "" });
    let dir = tempfile::tempdir().expect("tempdir");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = pummel_to(
        std::fs::File::from(std::os::fd::OwnedFd::from(writer)),
        dir.path(),
        &[
            "bench",
            "-n",
            "20",
            "-c",
            "2",
            "--json",
            &format!("{}/", server.base()),
        ],
    )
    .expect_code(1);
    assert!(out.stderr.contains("stdout"), "{}", out.context());
    let saved: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read the working directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(saved.len(), 1, "one saved result\n{}", out.context());
    let text = std::fs::read_to_string(&saved[0]).expect("read the saved result");
    let result: serde_json::Value = serde_json::from_str(&text).expect("the saved result is JSON");
    assert_eq!(u(&result, "/requests"), 20, "{}", brief(&result));
}

/// The text summary into a closed pipe (`| head` that stopped reading) is not a failure.
#[test]
fn a_summary_into_a_closed_pipe_is_not_a_failure() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Answer { extra: "" });
    let dir = tempfile::tempdir().expect("tempdir");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = pummel_to(
        std::fs::File::from(std::os::fd::OwnedFd::from(writer)),
        dir.path(),
        &[
            "bench",
            "-n",
            "20",
            "-c",
            "2",
            &format!("{}/", server.base()),
        ],
    )
    .expect_code(0);
    assert!(!out.stderr.contains("panicked"), "{}", out.context());
}

/// SIGTERM (what `kill`, `timeout` and CI runners send) and SIGHUP (a closed terminal) stop a
/// run as Ctrl-C does: the partial result is printed and written, and the exit code is 130.
#[test]
fn sigterm_and_sighup_write_the_partial_result_like_ctrl_c() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Answer { extra: "" });
    for signal in ["-TERM", "-HUP"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("stopped.json");
        let run = Running::spawn(&[
            "bench",
            "-z",
            "30s",
            "-c",
            "2",
            "--json",
            "--out",
            file.to_str().expect("utf-8"),
            &format!("{}/", server.base()),
        ]);
        // The stimulus, not a synchronisation: let the run measure before stopping it.
        std::thread::sleep(Duration::from_millis(700));
        let status = std::process::Command::new("kill")
            .args([signal, &run.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal}: {status}");
        let out = run.finish(Duration::from_secs(20)).expect_code(130);
        let printed = out.json();
        assert_eq!(printed["partial"], true, "{signal}: {}", brief(&printed));
        assert!(
            u(&printed, "/requests") > 0,
            "{signal}: {}",
            brief(&printed)
        );
        let written: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&file).expect("the --out file is written"),
        )
        .expect("--out is JSON");
        assert_eq!(
            written, printed,
            "{signal}: stdout and --out hold one result"
        );
    }
}

/// Runs pummel with its stderr a pipe whose reader is gone (`2>&1 | consumer` that exited, a
/// closed log collector): messages cannot be written, and the exit code must still be the
/// documented one, not 101 (a panic from a failed print).
fn exit_code_with_stderr_closed(args: &[&str], dir: &std::path::Path) -> Option<i32> {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = std::process::Command::new(util::pummel_bin())
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(writer)
        .spawn()
        .expect("spawn pummel");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for pummel") {
            return status.code();
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("pummel {args:?} did not end in 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_closed_stderr_keeps_the_exit_code() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Answer { extra: "" });
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("{}/", server.base());
    let missing = dir.path().join("missing.yaml");
    let cases: [(&[&str], i32); 3] = [
        (&["run", missing.to_str().expect("utf-8")], 2),
        (
            &["bench", "-n", "5", "-c", "1", "--out", "/dev/full", &url],
            1,
        ),
        (&["validate", missing.to_str().expect("utf-8")], 2),
    ];
    for (args, code) in cases {
        assert_eq!(
            exit_code_with_stderr_closed(args, dir.path()),
            Some(code),
            "pummel {args:?}"
        );
    }
}

/// `pummel target` stops gracefully (exit 0) on SIGTERM (`kill`, `docker stop`, a cancelled CI
/// job) and SIGHUP as on Ctrl-C, instead of dying by the signal with its sockets unclosed.
#[test]
fn the_target_stops_gracefully_on_sigterm_and_sighup() {
    use std::io::BufRead;
    for signal in ["-INT", "-TERM", "-HUP"] {
        let mut child = std::process::Command::new(util::pummel_bin())
            .args(["target", "--port", "0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn pummel target");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let ready = rx.recv_timeout(Duration::from_secs(20));
        assert!(
            matches!(&ready, Ok(Some(Ok(line))) if line.contains("listening")),
            "{ready:?}"
        );
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal}: {status}");
        let started = std::time::Instant::now();
        let code = loop {
            if let Some(status) = child.try_wait().expect("wait for the target") {
                break status.code();
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("the target did not stop within 20 s of {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(code, Some(0), "exit code of the target after kill {signal}");
    }
}

/// `--out` a FIFO that nobody reads: writing it would wait for a reader for ever (and a first
/// SIGTERM, finding the run already over, would not end the wait). The write fails at once
/// instead, so the result is saved and the run exits 1.
#[test]
fn a_fifo_nobody_reads_is_a_failed_write_not_a_hang() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Answer { extra: "" });
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("result.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo: {made}");
    let out = util::pummel_in(
        dir.path(),
        &[
            "bench",
            "-n",
            "5",
            "-c",
            "1",
            "--out",
            fifo.to_str().expect("utf-8"),
            &format!("{}/", server.base()),
        ],
    )
    .expect_code(1);
    assert!(out.stderr.contains("nobody reads"), "{}", out.context());
    assert!(out.stderr.contains("saved in"), "{}", out.context());
}

/// Out of file descriptors, a worker cannot build its runtime: the bench fails (exit 1) and says
/// why, instead of a worker thread panicking and the other workers' share passing for the whole
/// bench with exit 0.
#[test]
fn a_worker_that_cannot_start_fails_the_bench() {
    let _machine = util::busy();
    let target = util::Target::start();
    let url = target.url("/");
    let script = format!(
        "ulimit -n 16 && exec {} bench -n 200 -c 64 --threads 64 --json {url}",
        util::pummel_bin()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot start worker thread"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
