//! Flow control in scenarios, end to end: `retry`, `loop`, `if`/`else`, `on_error` and
//! expressions, run by the real binary against a real `pummel target`, judged by the counts the
//! target keeps itself (`/api/hits`), so a feature that did nothing could not pass.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::util::{self, brief, closed_port, pummel, u, Target};

/// A scenario file in a temporary directory, `@TARGET@` replaced by the target's base URL.
fn write(dir: &tempfile::TempDir, name: &str, target: &Target, text: &str) -> PathBuf {
    let base = target.url("/").trim_end_matches('/').to_owned();
    let path = dir.path().join(name);
    std::fs::write(&path, text.replace("@TARGET@", &base)).expect("write scenario");
    path
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs the file to its end and returns the JSON result.
#[track_caller]
fn run(file: &Path) -> Value {
    pummel(&["run", s(file), "--json"]).json_ok()
}

/// The count the target keeps for `key` (`/api/hits`), read on a fresh connection.
fn hits(target: &Target, key: &str) -> u64 {
    let mut stream = TcpStream::connect(("127.0.0.1", target.port())).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /api/hits?key={key} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"));
    u(&v, "/count")
}

#[track_caller]
fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no step {name:?} in {}", brief(v)))
}

#[track_caller]
fn check_counts(step: &Value) -> (u64, u64) {
    let c = &step["checks"][0];
    (u(c, "/passed"), u(c, "/failed"))
}

#[test]
fn retry_sends_again_and_counts_each_attempt() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        "retry.yaml",
        &target,
        "target: @TARGET@
load: { vus: 1, iterations: 3 }
scenarios:
  - name: s
    steps:
      - name: retried
        request: GET /api/flaky?every=3&key=retried
        retry: { attempts: 3, on: [5xx], backoff: 1ms..5ms }
        check: { status: 200 }
      - name: plain
        request: GET /api/flaky?every=3&key=plain
        check: { status: 200 }
      - name: exhausted
        request: GET /api/flaky?every=1&key=exhausted
        retry: { attempts: 4, on: [503], backoff: 1ms }
        check: { status: 200 }
      - name: not retried on 4xx
        request: GET /api/flaky?every=1&key=other
        retry: { attempts: 4, on: [4xx, timeout] }
        check: { status: 200 }
",
    );
    let (html, md, csv, junit) = (
        dir.path().join("r.html"),
        dir.path().join("r.md"),
        dir.path().join("csv"),
        dir.path().join("r.xml"),
    );
    let v = pummel(&[
        "run",
        s(&file),
        "--json",
        "--report",
        s(&html),
        "--markdown",
        s(&md),
        "--csv",
        s(&csv),
        "--junit",
        s(&junit),
    ])
    .json_ok();
    retries_in_every_report(&html, &md, &csv, &junit);
    // Iterations 1 and 3 meet a 503 (requests 1 and 4 of the key) and retry once each.
    assert_eq!(hits(&target, "retried"), 5);
    let retried = step(&v, "retried");
    assert_eq!(
        (u(retried, "/requests"), u(retried, "/retries")),
        (5, 2),
        "{}",
        brief(retried)
    );
    assert_eq!(
        (u(retried, "/status/503"), u(retried, "/status/200")),
        (2, 3)
    );
    // The check judged the last attempt of each iteration.
    assert_eq!(check_counts(retried), (3, 0));
    // Without retry, the same endpoint's failure reaches the check.
    assert_eq!(hits(&target, "plain"), 3);
    let plain = step(&v, "plain");
    assert_eq!(check_counts(plain), (2, 1));
    assert!(plain.get("retries").is_none(), "{}", brief(plain));
    // Always failing: every attempt made, and the last one judged.
    assert_eq!(hits(&target, "exhausted"), 12);
    let exhausted = step(&v, "exhausted");
    assert_eq!(
        (u(exhausted, "/retries"), check_counts(exhausted)),
        (9, (0, 3))
    );
    // A 503 is not a 4xx: no retry.
    assert_eq!(hits(&target, "other"), 3);
    assert_eq!(u(step(&v, "not retried on 4xx"), "/retries"), 0);
    assert_eq!(u(&v, "/retries"), 2 + 9);
    assert_eq!(u(&v, "/requests"), 5 + 3 + 12 + 3);
}

/// The retries of `retry_sends_again_and_counts_each_attempt` (2 of `retried`'s 5 requests, 9 of
/// `exhausted`'s 12, 11 in all) in the HTML, Markdown, CSV and JUnit reports.
fn retries_in_every_report(html: &Path, md: &Path, csv: &Path, junit: &Path) {
    let read = |p: &Path| std::fs::read_to_string(p).expect("read a report");
    let html = read(html);
    for cell in ["5 (2 retries)", "12 (9 retries)", "23 (11 retries)"] {
        assert!(html.contains(cell), "HTML: {cell:?}");
    }
    let md = read(md);
    assert!(md.contains("| retried | 5 (2 retries) |"), "{md}");
    assert!(md.contains("| plain | 3 |"), "{md}");
    let csv = read(&csv.join("steps.csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].ends_with(",retries"), "{csv}");
    let row = |prefix: &str| {
        rows.iter()
            .find(|r| r.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} row: {csv}"))
            .to_owned()
    };
    assert!(row("run,").ends_with(",11"), "{csv}");
    assert!(row("step,s,retried,").ends_with(",2"), "{csv}");
    assert!(row("step,s,exhausted,").ends_with(",9"), "{csv}");
    // No `retry:`: nothing could retry, so no figure (0 would say it could and did not).
    assert!(row("step,s,plain,").ends_with(','), "{csv}");
    let junit = read(junit);
    for property in [
        r#"<property name="retries" value="11"/>"#,
        r#"<property name="retries.s/retried" value="2"/>"#,
        r#"<property name="retries.s/exhausted" value="9"/>"#,
    ] {
        assert!(junit.contains(property), "{property}\n{junit}");
    }
}

#[test]
fn loops_make_as_many_passes_as_they_say() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keys.csv"), "key\nrow-a\nrow-b\nrow-c\n").expect("csv");
    let file = write(
        &dir,
        "loops.yaml",
        &target,
        "target: @TARGET@
load: { vus: 1, iterations: 2 }
data:
  keys: { file: keys.csv }
scenarios:
  - name: s
    steps:
      - loop: { count: 4 }
        steps:
          - request: GET /api/hit?key=count
      - name: start
        request: GET /api/hit?key=while-{{ iteration }}
        capture: { n: { jsonpath: $.count } }
      - loop:
          while: n < 5
          steps:
            - request: GET /api/hit?key=while-{{ iteration }}
              capture: { n: { jsonpath: $.count } }
      - loop: { while: 'true', max: 7 }
        steps:
          - request: GET /api/hit?key=capped
      - loop: { over: [x, y, '{{ iteration * 10 }}'], as: item }
        steps:
          - request: GET /api/hit?key=item-{{ item }}
      - loop: { over: keys }
        steps:
          - request: GET /api/hit?key={{ keys.key }}
      - loop: { count: 0 }
        steps:
          - request: GET /api/hit?key=never
",
    );
    run(&file);
    assert_eq!(
        hits(&target, "count"),
        8,
        "4 passes in each of 2 iterations"
    );
    assert_eq!(hits(&target, "while-0"), 5, "until the count reached 5");
    assert_eq!(hits(&target, "while-1"), 5);
    assert_eq!(
        hits(&target, "capped"),
        14,
        "a condition always true stops at max"
    );
    for key in ["item-x", "item-y"] {
        assert_eq!(hits(&target, key), 2, "{key}");
    }
    assert_eq!((hits(&target, "item-0"), hits(&target, "item-10")), (1, 1));
    for key in ["row-a", "row-b", "row-c"] {
        assert_eq!(hits(&target, key), 2, "every row of the feeder: {key}");
    }
    assert_eq!(hits(&target, "never"), 0);
}

#[test]
fn conditions_pick_the_branch_they_say() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        "if.yaml",
        &target,
        "target: @TARGET@
load: { vus: 2, iterations: 400 }
scenarios:
  - name: s
    steps:
      - request: GET /api/flaky?every=2&key=alternate
      - if: status == 503
        steps:
          - request: GET /api/hit?key=was-503
        else:
          - request: GET /api/hit?key=was-200
      - if: random() < 0.25
        steps:
          - request: GET /api/hit?key=heads
        else:
          - request: GET /api/hit?key=tails
      - if: iteration % 2 == 0 and not (vu > 2)
        steps:
          - request: GET /api/hit?key=even
",
    );
    run(&file);
    assert_eq!(
        (hits(&target, "was-503"), hits(&target, "was-200")),
        (200, 200),
        "every other response of the flaky key is a 503"
    );
    let (heads, tails) = (hits(&target, "heads"), hits(&target, "tails"));
    assert_eq!(heads + tails, 400);
    // 100 expected; both branches taken, in about the proportion asked.
    assert!((50..160).contains(&heads), "heads {heads} of 400");
    assert_eq!(hits(&target, "even"), 200);
}

/// What runs after a request that gets no response, for each `on_error`.
#[test]
fn on_error_decides_what_runs_after_a_failure() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let scenario = |mode: &str, defaults: &str| {
        format!(
            "target: @TARGET@
load: {{ vus: 1, iterations: 3 }}
{defaults}
scenarios:
  - name: s
    setup:
      - request: GET /api/hit?key={mode}-setup
    steps:
      - request: GET /api/hit?key={mode}-before
      - name: down
        request: GET {dead}
        {on_error}
      - request: GET /api/hit?key={mode}-after
",
            on_error = if defaults.is_empty() && mode != "default" {
                format!("on_error: {mode}")
            } else {
                String::new()
            }
        )
    };
    let mut results = Vec::new();
    for (mode, defaults) in [
        ("continue", ""),
        ("default", ""),
        ("abort_iteration", ""),
        ("abort_vu", ""),
        ("from-defaults", "defaults: { on_error: continue }"),
    ] {
        let file = write(
            &dir,
            &format!("{mode}.yaml"),
            &target,
            &scenario(mode, defaults),
        );
        let v = run(&file);
        let it = &v["scenarios"][0];
        results.push((
            mode,
            hits(&target, &format!("{mode}-setup")),
            hits(&target, &format!("{mode}-before")),
            hits(&target, &format!("{mode}-after")),
            u(it, "/iteration_counts/completed"),
            u(it, "/iteration_counts/failed"),
            u(step(&v, "down"), "/errors/connect_refused"),
        ));
    }
    assert_eq!(
        results,
        [
            // (mode, setups, before, after, completed, failed, refused)
            ("continue", 1, 3, 3, 3, 0, 3),
            ("default", 1, 3, 0, 0, 3, 3),
            ("abort_iteration", 1, 3, 0, 0, 3, 3),
            // The VU ends; a fresh one takes its place and runs the setup again.
            ("abort_vu", 3, 3, 0, 0, 3, 3),
            ("from-defaults", 1, 3, 3, 3, 0, 3),
        ]
    );
}

#[test]
fn validate_locates_flow_mistakes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = "http://127.0.0.1:1";
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        format!(
            "target: {target}
scenarios:
  - name: s
    steps:
      - if: status = 200
        steps: [ {{ request: /a }} ]
      - loop: {{ count: 2, whille: x }}
        steps: [ {{ request: /a }} ]
      - request: /b
        retry: {{ attempts: 3, on: [timout] }}
        on_error: ignore
      - ws_connect: ws://127.0.0.1:1/ws
        on_error: continue
      - metric: {{ name: m, value: \"1\", kind: counter }}
        on_error: continue
"
        ),
    )
    .expect("write");
    let out = pummel(&["validate", s(&path)]).expect_code(2);
    let file = s(&path);
    for needle in [
        format!("{file}:5:20"),
        "compare with `==`".into(),
        format!("{file}:7:27"),
        "unknown key `whille` in `loop` (did you mean `while`?)".into(),
        format!("{file}:10:36"),
        "did you mean `timeout`?".into(),
        format!("{file}:11:19"),
        "continue, abort_iteration or abort_vu".into(),
        format!("{file}:13:9"),
        "`on_error` applies to request steps only: a ws_connect step that fails ends the iteration"
            .into(),
        format!("{file}:15:9"),
        "`on_error` does not apply to a metric step".into(),
    ] {
        assert!(
            out.stderr.contains(&needle),
            "{needle:?} in\n{}",
            out.stderr
        );
    }
}
