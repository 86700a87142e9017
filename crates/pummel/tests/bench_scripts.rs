//! The benchmark scripts in `bench/` judge their own goals: each ends by handing its result to
//! `finish_with_goals` (bench/lib.sh), which exits 1 when the result records a missed goal. The
//! benchmarks themselves take minutes and are not run here; their shell is checked with `bash -n`
//! and the verdict with results that met or missed each kind of goal.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench")
}

/// The scripts in `bench/` that measure something (all but the shared `lib.sh`).
fn scripts() -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(bench_dir())
        .expect("read bench/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sh") && !p.ends_with("lib.sh"))
        .collect();
    scripts.sort();
    scripts
}

/// The exit code of `finish_with_goals RESULT` and what it printed on stderr.
fn finish(result: &str) -> (Option<i32>, String) {
    let lib = bench_dir().join("lib.sh");
    let out = Command::new("bash")
        .args(["-c", r#"source "$1"; finish_with_goals "$2""#, "bash"])
        .arg(&lib)
        .arg(result)
        .output()
        .expect("run bash");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bench_script_parses_and_ends_on_its_goals() {
    let _machine = util::busy();
    let scripts = scripts();
    assert!(scripts.len() >= 7, "{scripts:?}");
    for script in scripts.iter().chain([&bench_dir().join("lib.sh")]) {
        let status = Command::new("bash")
            .arg("-n")
            .arg(script)
            .status()
            .expect("run bash -n");
        assert!(status.success(), "bash -n {}", script.display());
    }
    for script in &scripts {
        let text = std::fs::read_to_string(script).expect("read script");
        assert_eq!(
            text.trim_end().lines().last(),
            Some(r#"finish_with_goals "$result""#),
            "{} must end by judging its goals",
            script.display()
        );
    }
}

#[test]
fn a_missed_goal_exits_non_zero() {
    let _machine = util::busy();
    if Command::new("jq").arg("--version").output().is_err() {
        util::skip_without("a_missed_goal_exits_non_zero", "jq is not installed");
        return;
    }
    let met = [
        r#"{"bench":"peers","goals_met":{"rps":true,"cpu_per_request":true}}"#,
        r#"{"bench":"memory","goal_met":true}"#,
        r#"{"bench":"latency-truth","checks":[],"off":0}"#,
        r#"{"bench":"ws-peers","hold":{"goals_met":{"rss_le_100mb":true}}}"#,
        r#"{"bench":"ws-peers","hold":null}"#,
    ];
    for result in met {
        let (code, stderr) = finish(result);
        assert_eq!(code, Some(0), "{result}\n{stderr}");
    }
    let missed = [
        (
            r#"{"bench":"peers","goals_met":{"rps":false,"cpu_per_request":true}}"#,
            "goals_met.rps",
        ),
        (r#"{"bench":"memory","goal_met":false}"#, "goal_met"),
        (r#"{"bench":"latency-truth","checks":[],"off":2}"#, "off: 2"),
        (
            r#"{"bench":"ws-peers","hold":{"goals_met":{"every_socket_accounted_for":false}}}"#,
            "hold.goals_met.every_socket_accounted_for",
        ),
        ("not json", "not JSON"),
    ];
    for (result, named) in missed {
        let (code, stderr) = finish(result);
        assert_eq!(code, Some(1), "{result}\n{stderr}");
        assert!(stderr.contains(named), "{result}: names {named}\n{stderr}");
    }
}
