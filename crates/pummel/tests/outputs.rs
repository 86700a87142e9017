//! Where results go, and that none is lost: every output path (`--out`, `--report`, `--junit`,
//! `--markdown`, `--csv`) is checked before the first request, a write that still fails at the end
//! saves the result elsewhere and says where, a full stdout is a failure, two outputs into one
//! file are refused, and `--out -` is stdout.
//!
//! The refusals are checked against a port that accepts and never answers: once pummel has
//! exited, any connection it made waits in the port's backlog, so "no connection" is exact.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{self, brief, pummel, pummel_in, pummel_to, u, SilentPort, Target};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A one-request scenario against `base`, `extra` lines before its scenarios.
fn scenario(dir: &Path, base: &str, extra: &str) -> PathBuf {
    let file = dir.join("one.yaml");
    std::fs::write(
        &file,
        format!(
            "target: {base}\nload: {{ vus: 1, iterations: 1 }}\n{extra}scenarios:\n  - name: one\n    steps:\n      - request: GET /delay/5\n"
        ),
    )
    .expect("write scenario");
    file
}

/// Paths no output can be written to, whoever runs the test (root writes into a mode-555
/// directory, so read-only directories are no test): a directory that does not exist, a path
/// under a regular file, and a directory where a file is wanted.
fn unwritable(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let file = dir.join("a-file");
    std::fs::write(&file, "x").expect("write a file");
    let existing_dir = dir.join("a-dir");
    std::fs::create_dir_all(&existing_dir).expect("mkdir");
    vec![
        ("missing directory", dir.join("no-such-dir").join("r.out")),
        ("under a file", file.join("r.out")),
        ("a directory", existing_dir),
    ]
}

#[test]
fn every_unwritable_output_is_refused_before_the_first_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = SilentPort::bind();
    let url = format!("{}/", port.base());
    let file = scenario(dir.path(), &port.base(), "");
    let commands: [Vec<&str>; 2] = [
        vec!["bench", "-n", "1", "-c", "1", "--timeout", "1s", &url],
        vec!["run", s(&file)],
    ];
    for (kind, path) in unwritable(dir.path()) {
        for flag in ["--out", "--report", "--junit", "--markdown"] {
            for command in &commands {
                let mut args = command.clone();
                args.extend([flag, s(&path)]);
                let out = pummel(&args).expect_usage_error(&[flag, s(&path)]);
                assert_eq!(
                    port.connections(),
                    0,
                    "{flag} to {kind}: refused before any connection\n{}",
                    out.context()
                );
            }
        }
    }
    // --csv takes a directory, which it creates: one under a file cannot be.
    let under_file = dir.path().join("a-file").join("csv");
    for command in &commands {
        let mut args = command.clone();
        args.extend(["--csv", s(&under_file)]);
        let out = pummel(&args).expect_usage_error(&["--csv", s(&under_file)]);
        assert_eq!(port.connections(), 0, "{}", out.context());
    }
    assert!(
        !dir.path().join("a-file").join("csv").exists() && std::fs::read_dir(dir.path()).is_ok(),
        "nothing created"
    );
}

#[test]
fn two_outputs_into_one_file_are_refused_before_the_first_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = SilentPort::bind();
    let url = format!("{}/", port.base());
    let same = dir.path().join("same");
    let also_same = dir.path().join(".").join("same");
    let pairs: [[&str; 4]; 5] = [
        ["--out", s(&same), "--report", s(&same)],
        ["--junit", s(&same), "--markdown", s(&also_same)],
        ["--out", "-", "--report", "-"],
        ["--json", "--junit", "-", ""],
        [
            "--out",
            &format!("{}/steps.csv", s(dir.path())),
            "--csv",
            s(dir.path()),
        ],
    ];
    for pair in pairs {
        let mut args = vec!["bench", "-n", "1", "-c", "1", "--timeout", "1s", &url];
        args.extend(pair.iter().filter(|a| !a.is_empty()));
        let flags: Vec<&str> = pair
            .iter()
            .copied()
            .filter(|a| a.starts_with("--"))
            .collect();
        let out = pummel(&args).expect_usage_error(&flags);
        assert_eq!(port.connections(), 0, "{}", out.context());
    }
    assert!(!same.exists(), "nothing written to {}", same.display());
}

/// The line that says where a result that could not be written went; the file it names.
#[track_caller]
fn saved_result(stderr: &str) -> (PathBuf, Value) {
    let path = stderr
        .lines()
        .find_map(|l| l.strip_prefix("pummel: the result is saved in "))
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("no saved-result line in stderr:\n{stderr}"));
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read the saved result {}: {e}", path.display()));
    let result = serde_json::from_str(&text).expect("the saved result is JSON");
    (path, result)
}

fn dev_full() -> File {
    File::options()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full")
}

#[test]
fn a_result_that_cannot_be_written_at_the_end_is_saved_and_its_path_printed() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    // /dev/full opens like any file and fails only when written: the check before the run
    // cannot see it coming.
    let out = pummel_in(
        dir.path(),
        &[
            "bench",
            "-n",
            "20",
            "-c",
            "2",
            "--out",
            "/dev/full",
            &target.url("/"),
        ],
    )
    .expect_code(1);
    assert!(out.stderr.contains("/dev/full"), "{}", out.context());
    let (path, saved) = saved_result(&out.stderr);
    assert_eq!(
        path.parent(),
        Some(dir.path().canonicalize().expect("canonical").as_path()),
        "saved in the working directory\n{}",
        out.context()
    );
    assert_eq!(u(&saved, "/requests"), 20, "{}", brief(&saved));
    // What was measured still reached stdout.
    assert!(out.stdout.contains("Requests"), "{}", out.context());
}

#[test]
fn a_failed_threshold_keeps_exit_99_when_a_report_cannot_be_written() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let base = target.url("/");
    let file = scenario(
        dir.path(),
        base.trim_end_matches('/'),
        // The one request takes 5 ms: the threshold fails.
        "thresholds:\n  - p99 < 1ms\n",
    );
    let out = pummel_in(dir.path(), &["run", s(&file), "--report", "/dev/full"]).expect_code(99);
    assert!(out.stderr.contains("/dev/full"), "{}", out.context());
    let (_, saved) = saved_result(&out.stderr);
    assert_eq!(u(&saved, "/requests"), 1, "{}", brief(&saved));
}

#[test]
fn json_on_a_full_stdout_is_a_failure_and_the_result_is_saved() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = pummel_to(
        dev_full(),
        dir.path(),
        &["bench", "-n", "10", "-c", "1", "--json", &target.url("/")],
    )
    .expect_code(1);
    assert!(out.stderr.contains("stdout"), "{}", out.context());
    let (_, saved) = saved_result(&out.stderr);
    assert_eq!(u(&saved, "/requests"), 10, "{}", brief(&saved));

    // With --out written, nothing is lost: no copy, but still a failure.
    let kept = dir.path().join("kept.json");
    let out = pummel_to(
        dev_full(),
        dir.path(),
        &[
            "bench",
            "-n",
            "10",
            "-c",
            "1",
            "--out",
            s(&kept),
            &target.url("/"),
        ],
    )
    .expect_code(1);
    assert!(out.stderr.contains("stdout"), "{}", out.context());
    assert!(!out.stderr.contains("saved in"), "{}", out.context());
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&kept).expect("--out written"))
            .expect("--out is JSON");
    assert_eq!(u(&written, "/requests"), 10, "{}", brief(&written));
}

#[test]
fn out_dash_writes_the_json_on_stdout() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = target.url("/");
    for extra in [&[][..], &["--json"][..]] {
        let mut args = vec!["bench", "-n", "10", "-c", "1", "--out", "-", &url];
        args.extend(extra);
        let out = pummel_in(dir.path(), &args).expect_code(0);
        let r = out.json();
        assert_eq!(u(&r, "/requests"), 10, "{}", brief(&r));
        assert!(
            !dir.path().join("-").exists(),
            "no file named '-'\n{}",
            out.context()
        );
    }
}

/// An output onto one of the command's own inputs is refused before
/// anything is read or sent: `report r.json --markdown r.json` replaced the
/// result with its own summary; `run s.yaml --out s.yaml` the scenario with
/// its result. The inputs are left as they were.
#[test]
fn an_output_onto_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = SilentPort::bind();
    let file = scenario(dir.path(), &port.base(), "");
    let same_file = dir.path().join(".").join("one.yaml");
    let result = dir.path().join("r.json");
    std::fs::write(&result, "{\"schema\": 1}").expect("write result");
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"schema\": 1}").expect("write result");
    let before = |p: &Path| std::fs::read(p).expect("read");
    let (scenario_text, result_text) = (before(&file), before(&result));
    let cases: [Vec<&str>; 6] = [
        vec!["run", s(&file), "--out", s(&same_file)],
        vec!["run", s(&file), "--report", s(&file)],
        vec!["report", s(&result), "--markdown", s(&result)],
        vec!["compare", s(&result), s(&other), "--html", s(&result)],
        vec!["compare", s(&other), s(&result), "--markdown", s(&result)],
        vec!["trend", s(&other), s(&result), "--html", s(&result)],
    ];
    for args in cases {
        let out = pummel(&args).expect_code(2);
        assert!(
            out.stderr.contains("writing it would destroy what is read"),
            "{}",
            out.context()
        );
    }
    assert_eq!(port.connections(), 0);
    assert_eq!(before(&file), scenario_text);
    assert_eq!(before(&result), result_text);
}
