//! The command line itself: usage errors (exit 2, a message naming the problem), Ctrl-C (exit 130
//! with the partial result written), `pummel demo`, and output hygiene when not on a terminal.

use std::time::{Duration, Instant};

use crate::util::{self, assert_consistent, brief, errors, pummel, u, Running, Target};

#[test]
fn bad_urls_are_usage_errors() {
    pummel(&["bench", "-n", "1", "ftp://x"]).expect_usage_error(&["ftp"]);
    pummel(&["bench", "-n", "1", "not a url"]).expect_usage_error(&["not a url"]);
    pummel(&["bench", "-n", "1", "http://"]).expect_usage_error(&["http://"]);
}

#[test]
fn a_port_that_is_not_a_port_is_refused_with_its_column() {
    // `http::Uri` reads these as "no port": they used to send the load to port 80.
    for (url, port) in [
        ("http://127.0.0.1:99999/", "99999"),
        ("http://127.0.0.1:65536/", "65536"),
        ("http://127.0.0.1:19100x/", "19100x"),
        ("ws://127.0.0.1:70000/", "70000"),
    ] {
        pummel(&["bench", "-n", "1", url]).expect_usage_error(&[port, "column"]);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let target_file = dir.path().join("target.yaml");
    std::fs::write(
        &target_file,
        "target: http://127.0.0.1:99999\nscenarios:\n  - name: a\n    steps:\n      - request: /x\n",
    )
    .expect("write");
    let step_file = dir.path().join("step.yaml");
    std::fs::write(
        &step_file,
        "target: http://127.0.0.1:8080\nscenarios:\n  - name: a\n    steps:\n      - request: http://127.0.0.1:65536/x\n",
    )
    .expect("write");
    for (file, at) in [(&target_file, ":1:9"), (&step_file, ":5:")] {
        let file = file.to_str().expect("utf-8 path");
        for command in ["validate", "run"] {
            let out = pummel(&[command, file]).expect_code(2);
            assert!(
                out.stderr.contains(at) && out.stderr.contains("invalid port"),
                "{command} names the port and where\n{}",
                out.context()
            );
        }
    }
}

#[test]
fn a_bad_scheme_is_told_what_bench_accepts() {
    let out = pummel(&["bench", "-n", "1", "gopher://x/"]).expect_usage_error(&["gopher"]);
    for scheme in ["http", "https", "ws", "wss"] {
        assert!(
            out.stderr.contains(&format!(" {scheme}")),
            "the message lists {scheme}\n{}",
            out.context()
        );
    }
}

#[test]
fn init_names_the_file_it_wrote_in_its_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.yaml");
    let file = file.to_str().expect("utf-8");
    pummel(&["init", file]).expect_code(0);
    let written = std::fs::read_to_string(file).expect("init wrote the file");
    let header: Vec<&str> = written.lines().take_while(|l| l.starts_with('#')).collect();
    assert!(
        header
            .iter()
            .any(|l| l.contains(&format!("pummel run {file}")))
            && header
                .iter()
                .any(|l| l.contains(&format!("pummel validate {file}"))),
        "{header:#?}"
    );
    assert!(!written.contains("pummel.yaml"), "{written}");
}

#[test]
fn an_unknown_host_is_a_usage_error() {
    // `.invalid` never resolves (RFC 2606).
    let out = pummel(&["bench", "-n", "1", "http://nonexistent.invalid/"])
        .expect_usage_error(&["nonexistent.invalid"]);
    assert!(out.elapsed < Duration::from_secs(30), "{}", out.context());
}

#[test]
fn bad_flags_are_usage_errors() {
    let url = format!("http://127.0.0.1:{}/", util::closed_port());
    pummel(&["bench", "-n", "1", "-H", "NoColon", &url]).expect_usage_error(&["NoColon"]);
    pummel(&["bench", "-z", "ten", &url]).expect_usage_error(&["ten", "duration"]);
    pummel(&["bench", "-z", "0s", &url]).expect_usage_error(&["0s"]);
    pummel(&["bench", "-q", "0", &url]).expect_usage_error(&["rate"]);
    pummel(&["bench", "-q", "-5", &url]).expect_usage_error(&["-5"]);
    pummel(&["bench", "-c", "0", &url]).expect_usage_error(&["--connections"]);
    pummel(&["bench", "-n", "0", &url]).expect_usage_error(&["--requests"]);
    pummel(&["bench", "-m", "NOT A METHOD", "-n", "1", &url]).expect_usage_error(&["NOT A METHOD"]);
    pummel(&["bench", "--h2-streams", "4", "-n", "1", &url]).expect_usage_error(&["--http2"]);
    pummel(&["bench", "--no-such-flag", &url]).expect_usage_error(&["--no-such-flag"]);
    pummel(&["bench"]).expect_usage_error(&["URL"]);
    pummel(&["no-such-command"]).expect_usage_error(&["no-such-command"]);
}

#[test]
fn body_flag_errors_are_usage_errors() {
    let url = format!("http://127.0.0.1:{}/", util::closed_port());
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing-body.txt");
    let missing = missing.to_str().expect("utf-8");
    pummel(&["bench", "-n", "1", "--body-file", missing, &url])
        .expect_usage_error(&["missing-body.txt"]);

    let present = dir.path().join("body.txt");
    std::fs::write(&present, "hi").expect("write body");
    pummel(&[
        "bench",
        "-n",
        "1",
        "-d",
        "hello",
        "--body-file",
        present.to_str().expect("utf-8"),
        &url,
    ])
    .expect_usage_error(&["--body-file", "--body"]);
}

#[test]
fn help_and_version_succeed() {
    let out = pummel(&["--help"]).expect_code(0);
    assert!(
        out.stdout.contains("bench") && out.stdout.contains("Exit codes"),
        "{}",
        out.context()
    );
    let out = pummel(&["bench", "--help"]).expect_code(0);
    for flag in [
        "--connections",
        "--requests",
        "--duration",
        "--rate",
        "--json",
        "--out",
        "--http2",
    ] {
        assert!(
            out.stdout.contains(flag),
            "bench --help lists {flag}\n{}",
            out.context()
        );
    }
    let out = pummel(&["--version"]).expect_code(0);
    assert!(out.stdout.starts_with("pummel "), "{}", out.context());
}

/// Ctrl-C stops the run, prints and writes what it measured, marked partial, and exits 130.
#[test]
fn ctrl_c_writes_a_partial_result_and_exits_130() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("interrupted.json");
    let run = Running::spawn(&[
        "bench",
        "-z",
        "30s",
        "-c",
        "4",
        "--json",
        "--out",
        file.to_str().expect("utf-8"),
        &target.url("/delay/5"),
    ]);
    // The stimulus, not a synchronisation: let the run measure for a while before interrupting.
    std::thread::sleep(Duration::from_millis(1500));
    let interrupted_at = Instant::now();
    run.interrupt();
    let out = run.finish(Duration::from_secs(45)).expect_code(130);
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(10),
        "the run stops promptly after Ctrl-C\n{}",
        out.context()
    );

    let printed = out.json();
    assert_consistent(&printed);
    assert_eq!(printed["partial"], true, "{}", brief(&printed));
    assert!(u(&printed, "/requests") > 0, "{}", brief(&printed));
    assert_eq!(errors(&printed), vec![], "{}", brief(&printed));
    assert!(
        util::f(&printed, "/duration_s") < 20.0,
        "the duration covers the part that ran\n{}",
        brief(&printed)
    );

    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&file).expect("the --out file is written on Ctrl-C"),
    )
    .expect("--out is JSON");
    assert_eq!(written["partial"], true, "{}", brief(&written));
    assert_eq!(
        written, printed,
        "stdout and --out hold the same partial result"
    );
}

#[test]
fn ctrl_c_in_text_mode_says_the_result_is_partial() {
    let _machine = util::busy();
    let target = Target::start();
    let run = Running::spawn(&["bench", "-z", "30s", "-c", "2", &target.url("/delay/5")]);
    std::thread::sleep(Duration::from_millis(1000));
    run.interrupt();
    let out = run.finish(Duration::from_secs(45)).expect_code(130);
    assert!(out.stdout.contains("INTERRUPTED"), "{}", out.context());
    assert!(out.stdout.contains("Requests"), "{}", out.context());
}

#[test]
fn demo_runs_a_bench_against_the_built_in_target() {
    let _machine = util::busy();
    let r = pummel(&["demo", "-z", "1s", "--json"]).json_ok();
    assert_consistent(&r);
    assert!(u(&r, "/requests") > 0, "{}", brief(&r));
    assert_eq!(errors(&r), vec![], "{}", brief(&r));
    assert_eq!(r["partial"], false, "{}", brief(&r));
    assert!(u(&r, "/status/200") > 0, "{}", brief(&r));

    let out = pummel(&["demo", "-z", "1s"]).expect_code(0);
    assert!(out.stdout.contains("Requests"), "{}", out.context());
    assert!(out.stdout.contains("Latency"), "{}", out.context());
}

/// Under the test harness stdout and stderr are pipes: no progress line, no carriage return, no
/// terminal escape may end up in them (they would corrupt logs and `--json | jq`).
#[test]
fn no_progress_line_or_escapes_when_not_on_a_terminal() {
    let _machine = util::busy();
    let target = Target::start();
    let url = target.url("/delay/5");
    // Long enough for the once-a-second progress callback to fire.
    for json in [false, true] {
        let mut args = vec!["bench", "-z", "1500ms", "-c", "2", &url];
        if json {
            args.push("--json");
        }
        let out = pummel(&args).expect_code(0);
        for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains('\r'),
                "carriage return in {name}\n{}",
                out.context()
            );
            assert!(
                !text.contains('\x1b'),
                "terminal escape in {name}\n{}",
                out.context()
            );
        }
        assert!(
            out.stderr.trim().is_empty(),
            "a successful run is quiet on stderr\n{}",
            out.context()
        );
        if json {
            // -z is honoured, and the run lasted long enough for a progress tick.
            let r = out.json();
            util::assert_within(&r, "/duration_s", 1.4, 4.0);
            assert!(
                r["timeline"].as_array().is_some_and(|t| t.len() >= 2),
                "{}",
                brief(&r)
            );
        }
    }
}
