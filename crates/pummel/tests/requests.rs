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

/// The gaps between the arrivals a server saw, in order.
fn gaps(arrivals: &mut [std::time::Instant]) -> Vec<f64> {
    arrivals.sort();
    arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect()
}

fn coefficient_of_variation(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() / mean
}

/// The variance of the arrival counts per 25 ms window over their mean (1 for Poisson).
fn dispersion(gaps: &[f64]) -> f64 {
    let mut counts = vec![0.0f64; 80];
    let mut t = 0.0;
    for g in gaps {
        t += g;
        if let Some(c) = counts.get_mut((t / 0.025) as usize) {
            *c += 1.0;
        }
    }
    let n = counts.len() as f64;
    let mean = counts.iter().sum::<f64>() / n;
    counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n / mean
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn poisson_arrivals_have_exponential_gaps_and_the_seed_fixes_the_schedule() {
    use crate::servers::{Behaviour, Server};
    let _quiet = crate::util::quiet();
    let dir = Dir::new();
    let open = |arrivals: &str| {
        format!(
            "load: {{ rate: 200, duration: 2s, max_vus: 50{arrivals} }}\n\
             scenarios:\n  - name: a\n    steps:\n      - request: @URL@/\n"
        )
    };
    // Each run against a server of its own: its arrivals are that run's alone.
    let seen = |text: &str, args: &[&str]| {
        let server = Server::start(Behaviour::Answer { extra: "" });
        let path = dir.0.path().join("open.yaml");
        std::fs::write(&path, text.replace("@URL@", &server.base())).expect("write");
        let v = run(&path, &[&["--threads", "2"], args].concat())
            .expect_code(0)
            .json();
        (v, gaps(&mut server.arrivals()))
    };
    let (even_result, even) = seen(&open(""), &[]);
    let (v, first) = seen(&open(", arrivals: poisson"), &["--seed", "7"]);
    let (_, again) = seen(&open(", arrivals: poisson"), &["--seed", "7"]);
    let (_, other) = seen(&open(", arrivals: poisson"), &["--seed", "8"]);

    assert_eq!(v["config"]["arrivals"], "poisson", "{}", brief(&v));
    assert_eq!(v["config"]["seed"], 7);
    assert_eq!(even_result["config"]["arrivals"], "even");
    // A Poisson process over 2 s at 200/s: about 400 arrivals (the count varies, sd 20).
    assert!(
        (300..500).contains(&first.len()),
        "{} arrivals",
        first.len()
    );
    assert_eq!(u(&v, "/requests"), first.len() as u64 + 1);
    // Gaps: exponential ones vary as much as their mean (cv 1), even ones hardly at all (the
    // server's thread wake-ups blur them on a busy machine, hence the margin).
    let (cv_even, cv_poisson) = (
        coefficient_of_variation(&even),
        coefficient_of_variation(&first),
    );
    assert!(
        (0.75..1.5).contains(&cv_poisson) && cv_poisson > cv_even + 0.3,
        "gaps' coefficient of variation: poisson {cv_poisson}, even {cv_even}"
    );
    // Counts per 25 ms: a Poisson count's variance equals its mean; an even schedule's counts
    // hardly vary. Jitter moves an arrival across a window's edge now and then, no more.
    let (d_even, d_poisson) = (dispersion(&even), dispersion(&first));
    assert!(d_even < 0.45, "even counts vary: dispersion {d_even}");
    assert!(
        (0.6..1.5).contains(&d_poisson),
        "poisson counts: dispersion {d_poisson} (even: {d_even})"
    );
    // The same seed, the same schedule (up to the machine's jitter, which blurs gaps of well
    // under a millisecond; unrelated gaps correlate near 0); another seed, another.
    assert_eq!(first.len(), again.len());
    let same = correlation(&first, &again);
    let different = correlation(&first, &other);
    assert!(same > 0.7, "same seed: correlation {same}");
    assert!(different < 0.3, "other seed: correlation {different}");
}

#[test]
fn hosts_send_a_made_up_name_to_loopback_with_its_host_header() {
    let target = Target::start();
    let dir = Dir::new();
    let with_hosts = format!(
        r#"
target: http://shop.pummel.test:{port}
defaults:
  hosts: {{ shop.pummel.test: 127.0.0.1 }}
scenarios:
  - name: a
    steps:
      - name: headers
        request: /headers
        check:
          status: 200
          body: "shop.pummel.test:{port}"
"#,
        port = target.port()
    );
    let file = dir.write("hosts.yaml", &target, &with_hosts);
    let v = run(&file, &[]).expect_code(0).json();
    assert_eq!(checks(&v), (2, 0), "{}", brief(&v));
    // Without the override the name is looked up, and `.test` names never resolve.
    let without = with_hosts.replace(
        "  hosts: { shop.pummel.test: 127.0.0.1 }\n",
        "  timeout: 5s\n",
    );
    let file = dir.write("nohosts.yaml", &target, &without);
    let out = run(&file, &[]);
    assert_eq!(out.code, Some(2), "{}", out.context());
    assert!(out.stderr.contains("shop.pummel.test"), "{}", out.context());
}
