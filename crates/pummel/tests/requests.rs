//! Request options, selection, debugging and arrivals, end to end: the real binary against a real
//! `pummel target` on 127.0.0.1 — redirects not followed, multipart uploads, `hosts:` overrides,
//! `--scenario`/`--target`/env targets, `--once`/`--http-debug`, and Poisson arrivals.
//!
//! Scenario files are written with `@TARGET@` standing for the server's base URL.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{brief, pummel, u, Output, Target};

/// A temporary directory of scenario files.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("tempdir"))
    }

    /// Writes `text` to `name`, `@TARGET@` replaced by the target's base URL.
    fn write(&self, name: &str, target: &Target, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text.replace("@TARGET@", &base(target))).expect("write file");
        path
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn base(target: &Target) -> String {
    target.url("/").trim_end_matches('/').to_owned()
}

/// `pummel run FILE --json ARGS`.
fn run(file: &Path, args: &[&str]) -> Output {
    let mut all = vec!["run", s(file), "--json"];
    all.extend_from_slice(args);
    pummel(&all)
}

/// The step of that name.
#[track_caller]
fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no step {name:?} in\n{}", brief(v)))
}

/// Checks passed and failed over the whole run.
fn checks(v: &Value) -> (u64, u64) {
    (u(v, "/checks/passed"), u(v, "/checks/failed"))
}

#[test]
fn follow_redirects_false_sees_the_302_and_captures_its_location() {
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write(
        "login.yaml",
        &target,
        r#"
target: @TARGET@
scenarios:
  - name: browser
    steps:
      - name: form login, not followed
        request:
          method: POST
          url: /api/web/login
          form: { username: demo, password: demo }
          follow_redirects: false
        check:
          status: 302
          headers: { location: /api/me }
        capture:
          next: { header: Location }
      - name: where it pointed
        request: { url: "{{ next }}" }
        check: { status: 200, jsonpath: { "$.username": demo } }
      - name: form login, followed
        request:
          method: POST
          url: /api/web/login
          form: { username: demo, password: demo }
        check: { status: 200, jsonpath: { "$.username": demo } }
"#,
    );
    let v = run(&file, &[]).expect_code(0).json();
    assert_eq!(checks(&v), (6, 0), "{}", brief(&v));
    assert_eq!(
        u(&step(&v, "form login, not followed")["status"], "/302"),
        1
    );
    assert_eq!(u(&step(&v, "form login, followed")["status"], "/200"), 1);
}

/// Two scenarios and a target from the environment.
const TWO_SCENARIOS: &str = r#"
target: "{{ env.BASE_URL }}"
load: { vus: 1, iterations: 4 }
scenarios:
  - name: browse
    steps:
      - name: list
        request: /api/apps
        check: { status: 200 }
  - name: me
    steps:
      - name: who
        request: /api/me
        check: { status: 401 }
"#;

#[test]
fn the_target_comes_from_env_or_the_command_line_and_scenarios_are_selected() {
    let target = Target::start();
    let dir = Dir::new();
    let file = dir.write("two.yaml", &target, TWO_SCENARIOS);
    let env = format!("BASE_URL={}", base(&target));

    // From the environment, only `me`: every iteration is `me`'s.
    let v = run(&file, &["--env", &env, "--scenario", "me"])
        .expect_code(0)
        .json();
    assert_eq!(u(&step(&v, "who")["status"], "/401"), 4, "{}", brief(&v));
    assert!(
        v["steps"]
            .as_array()
            .is_some_and(|a| a.iter().all(|s| s["name"] != "list")),
        "{}",
        brief(&v)
    );

    // From the command line, which needs no BASE_URL; both scenarios by name.
    let v = run(
        &file,
        &[
            "--target",
            &base(&target),
            "--scenario",
            "browse",
            "--scenario",
            "me",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        u(&step(&v, "who")["status"], "/401") + u(&step(&v, "list")["status"], "/200"),
        4
    );

    // An unknown scenario names the ones there are; an unset variable is located.
    run(&file, &["--env", &env, "--scenario", "nope"]).expect_usage_error(&[
        "--scenario",
        "`nope`",
        "`browse`, `me`",
    ]);
    pummel(&["run", s(&file), "--env", "BASE_URL=", "--json"])
        .expect_usage_error(&["two.yaml:2:13", "`target`"]);
    let out = pummel(&[
        "run",
        s(&dir.write(
            "plain.yaml",
            &target,
            "scenarios:\n  - name: a\n    steps:\n      - request: /x\n",
        )),
        "--json",
    ]);
    out.expect_usage_error(&["no `target`"]);
}
