//! The limits of docs/limits.md: refused with their place when asked for, and memory bounded when
//! a server or a file never ends.

use std::path::PathBuf;
use std::time::Duration;

use crate::util::{busy, pummel, Running, Target, RUN_LIMIT};

fn scenario(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("limits.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// The peak resident memory of process `pid` in KiB, followed until the process is gone: the
/// kernel's high-water mark (`VmHWM`), read until `/proc/PID` disappears.
fn follow_peak_rss(pid: u32) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) else {
                break; // A zombie: the memory is gone.
            };
            let kib = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak = peak.max(kib);
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    })
}

#[test]
fn an_endless_body_is_counted_but_not_kept() {
    let _machine = busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    // 1.2 GB, chunked: the size is not announced, as with an endless stream.
    const SIZE: u64 = 1_200_000_000;
    let file = scenario(
        &dir,
        &format!(
            "target: {}\nload: {{ vus: 1, iterations: 1 }}\nscenarios:\n  - name: big\n    steps:\n      - request: /bytes/{SIZE}?chunked=1\n        check:\n          status: 200\n          body: {{ contains: ABCDEF }}\n      - request: {{ url: /bytes/100?chunked=1, max_body: 10 }}\n        check: {{ body: {{ contains: xyz }} }}\n",
            target.url("/")
        ),
    );
    let run = Running::spawn(&["run", file.to_str().unwrap(), "--json"]);
    let peak = follow_peak_rss(run.pid());
    let out = run.finish(RUN_LIMIT * 2).expect_code(0);
    let peak_mib = peak.join().expect("rss follower") / 1024;
    let v = out.json();
    assert!(
        peak_mib < 200,
        "peak RSS {peak_mib} MiB while receiving {SIZE} bytes"
    );
    // Every byte read is counted, the kept part and the drained rest alike.
    let received = crate::util::u(&v, "/bytes_received");
    assert!(received > SIZE, "received {received}: {}", out.context());
    assert_eq!(crate::util::u(&v, "/requests"), 2, "{}", out.context());
    assert!(crate::util::errors(&v).is_empty(), "{}", out.context());
    // The check that found its text in the kept start passes; the one that needed the cut part
    // fails as body_truncated.
    let text = out.stdout.clone() + &out.stderr;
    assert!(text.contains("body_truncated"), "{}", out.context());
}

#[test]
fn a_rate_too_high_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(
        &dir,
        "target: http://127.0.0.1:9\nload: { rate: 1e12, duration: 1s }\nscenarios:\n  - name: s\n    steps:\n      - request: /\n",
    );
    let out = pummel(&["validate", file.to_str().unwrap()]).expect_code(2);
    assert!(
        out.stderr.contains("limits.yaml:2:15") && out.stderr.contains("at most 10000000"),
        "{}",
        out.context()
    );
}

#[test]
fn nested_templates_are_refused_by_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    for depth in [40, 7_000, 100_000] {
        let call = format!("{}1{}", "base64(".repeat(depth), ")".repeat(depth));
        let file = scenario(
            &dir,
            &format!("target: http://127.0.0.1:9\nload: {{ vus: 1, iterations: 1 }}\nscenarios:\n  - name: s\n    steps:\n      - request: \"/{{{{ {call} }}}}\"\n"),
        );
        let out = pummel(&["validate", file.to_str().unwrap()]).expect_code(2);
        assert!(
            out.stderr.contains("limits.yaml:6:")
                && out.stderr.contains("nested more than 32 deep"),
            "{}",
            out.context()
        );
    }
}

#[test]
fn too_many_vus_on_the_command_line_are_refused_like_in_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(
        &dir,
        "target: http://127.0.0.1:9\nload: { vus: 1, duration: 1s }\nscenarios:\n  - name: s\n    steps:\n      - request: /\n",
    );
    let out = pummel(&["run", file.to_str().unwrap(), "--vus", "2000000"]).expect_code(2);
    assert!(out.stderr.contains("at most 100000"), "{}", out.context());
    let out =
        pummel(&["bench", "-c", "1000000", "-n", "100", "http://127.0.0.1:9/"]).expect_code(2);
    assert!(out.stderr.contains("100000"), "{}", out.context());
}

#[test]
fn endless_and_blocking_files_are_refused_quickly() {
    let out = pummel(&["validate", "/dev/zero"]).expect_code(2);
    assert!(
        out.stderr.contains("not a regular file"),
        "{}",
        out.context()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // Opening the FIFO for reading would wait for a writer that never comes.
    let out = pummel(&["validate", fifo.to_str().unwrap()]).expect_code(2);
    assert!(out.stderr.contains("a FIFO"), "{}", out.context());
    let out = pummel(&[
        "bench",
        "-n",
        "1",
        "--body-file",
        "/dev/urandom",
        "http://127.0.0.1:9/",
    ])
    .expect_code(2);
    assert!(
        out.stderr.contains("not a regular file"),
        "{}",
        out.context()
    );
}

#[test]
fn connections_that_could_never_be_used_are_not_set_up() {
    let _machine = busy();
    let target = Target::start();
    let url = target.url("/");
    let run = Running::spawn(&["bench", "-c", "100000", "-n", "100", "--json", &url]);
    let peak = follow_peak_rss(run.pid());
    let out = run.finish(RUN_LIMIT).expect_code(0);
    let peak_mib = peak.join().expect("rss follower") / 1024;
    let v = out.json();
    assert_eq!(crate::util::u(&v, "/requests"), 100, "{}", out.context());
    // What ran is reported, not what was asked.
    assert_eq!(
        crate::util::u(&v, "/config/connections"),
        100,
        "{}",
        out.context()
    );
    assert!(peak_mib < 100, "peak RSS {peak_mib} MiB for 100 requests");
}

#[test]
fn the_highest_rate_runs_sends_and_ends_on_time() {
    let _machine = busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(
        &dir,
        &format!(
            "target: {}\nload: {{ rate: 10000000, duration: 2s, max_vus: 20 }}\nscenarios:\n  - name: s\n    steps:\n      - request: /\n",
            target.url("/")
        ),
    );
    let out = pummel(&["run", file.to_str().unwrap(), "--json", "--threads", "2"]).expect_code(0);
    let v = out.json();
    // Far more is scheduled than one process sends: what it could not send is dropped, and the
    // requests it could send went out (a pacer that never yields would send none).
    assert!(crate::util::u(&v, "/requests") > 0, "{}", out.context());
    assert!(
        out.elapsed < Duration::from_secs(15),
        "took {:?}",
        out.elapsed
    );
}
