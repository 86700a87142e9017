//! Tags, groups and custom metrics in scenario files, end to end: the real binary against a real
//! `pummel target` on 127.0.0.1.
//!
//! - tags inherited from scenario and group, thresholds scoped by `tag:` and `group:` judging
//!   their subset only (one that passes over the whole run fails on its tag), groups rolled up;
//! - custom metrics fed from captures of `/echo`: a counter exact over several threads, a gauge
//!   keeping each thread's last value (summed), a trend's percentiles from known values, and
//!   thresholds on them (exit 99 when one fails);
//! - load per scenario: each scenario's own `load` (closed and open side by side, the open one
//!   from its `start_after`, as the server sees the requests arrive), `iterations_per_vu` exact,
//!   `--vus`/`--iterations` replacing the file's `load` only, per-scenario timelines adding up to
//!   the totals, and the mistakes `validate` reports at their line and column.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;

use crate::util::{f, pummel, u, Target};

/// Writes `text` (with `@TARGET@` standing for the target's base URL) into `dir/name`.
fn write(dir: &Path, name: &str, target: &Target, text: &str) -> String {
    let base = target.url("/").trim_end_matches('/').to_owned();
    let path = dir.join(name);
    std::fs::write(&path, text.replace("@TARGET@", &base)).expect("write scenario file");
    path.to_str().expect("utf-8 path").to_owned()
}

/// The entry of `list` (a JSON array) whose `key` is `value`.
fn entry<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|e| e[key] == value))
        .unwrap_or_else(|| panic!("no entry with {key} = {value:?} in {list}"))
}

const TAGGED: &str = r#"
target: @TARGET@
load: { vus: 2, iterations: 20 }
thresholds:
  # Over every request a third fail: this passes...
  - error_rate < 50%
  # ...but half of the `kind: write` requests fail: this fails.
  - condition: error_rate < 50%
    tag: { kind: write }
  - condition: error_rate < 1%
    tag: { kind: read, area: shop }
  - condition: requests >= 40
    group: checkout
scenarios:
  - name: shop
    tags: { area: shop, kind: read }
    steps:
      - name: list
        request: GET /json
      - group: checkout
        tags: { kind: write }
        steps:
          - name: basket
            request: GET /json
          - name: pay
            request: GET /status/500
"#;

#[test]
fn tag_and_group_thresholds_judge_their_steps_only_and_groups_add_up() {
    let _busy = crate::util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "tagged.yaml", &target, TAGGED);
    let saved = dir.path().join("r.json");
    let saved = saved.to_str().expect("utf-8 path");
    let html = dir.path().join("r.html");
    let html = html.to_str().expect("utf-8 path");
    let md = dir.path().join("r.md");
    let md = md.to_str().expect("utf-8 path");
    let out = pummel(&[
        "run",
        &file,
        "--threads",
        "2",
        "--out",
        saved,
        "--html",
        html,
        "--markdown",
        md,
    ])
    .expect_code(99);
    let markdown = std::fs::read_to_string(md).expect("markdown report");
    assert!(
        markdown.contains("#### Groups") && markdown.contains("| shop | checkout | 40 | 20 |"),
        "{markdown}"
    );
    // The summary shows the group, rolled up.
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("shop/checkout") && l.contains("40")),
        "{}",
        out.stdout
    );
    let page = std::fs::read_to_string(html).expect("html report");
    assert!(
        page.contains(r#"<section id="groups">"#),
        "no groups section"
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(saved).expect("result")).expect("json");
    let thresholds = r["thresholds"].as_array().expect("thresholds");
    let verdicts: Vec<(&str, bool, f64)> = thresholds
        .iter()
        .map(|t| {
            (
                t["scope"].as_str().unwrap_or(""),
                t["passed"].as_bool().unwrap_or(false),
                t["observed"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(verdicts[0], ("run", true, 20.0 / 60.0), "{verdicts:?}");
    assert_eq!(verdicts[1], ("tag kind=write", false, 0.5), "{verdicts:?}");
    assert_eq!(
        verdicts[2],
        ("tag area=shop,kind=read", true, 0.0),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[3], ("group checkout", true, 40.0), "{verdicts:?}");

    // Tags are inherited, the innermost value winning; steps name their group.
    let pay = entry(&r["steps"], "name", "pay");
    assert_eq!(pay["tags"]["kind"], "write");
    assert_eq!(pay["tags"]["area"], "shop");
    assert_eq!(pay["group"], "checkout");
    let shop = entry(&r["config"]["scenarios"], "name", "shop");
    assert_eq!(shop["tags"]["area"], "shop");
    let list = entry(&r["steps"], "name", "list");
    assert_eq!(list["tags"]["kind"], "read");
    assert!(list.get("group").is_none(), "{list}");

    // The group is the sum of its steps.
    let group = entry(&r["groups"], "name", "checkout");
    let basket = entry(&r["steps"], "name", "basket");
    assert_eq!(u(group, "/steps"), 2);
    assert_eq!(
        u(group, "/requests"),
        u(basket, "/requests") + u(pay, "/requests")
    );
    assert_eq!(u(group, "/requests"), 40);
    assert_eq!(u(group, "/failed"), u(pay, "/failed"));
    assert_eq!(u(group, "/failed"), 20);
    assert!(f(group, "/latency_ms/max") >= f(basket, "/latency_ms/max"));
}

const METRICS: &str = r#"
target: @TARGET@
load: { vus: 4, iterations: 40 }
thresholds:
  - orders.count >= 100
  - orders.count <= 100
  - level.value >= 7
scenarios:
  - name: order
    steps:
      - request:
          method: POST
          url: /echo
          json: { total: 2.5 }
        capture:
          total: { jsonpath: $.total }
      - metric: { name: orders, value: "{{ total }}", kind: counter }
      - metric: { name: level, value: "100", kind: gauge }
      - metric: { name: level, value: "7", kind: gauge }
      - metric: { name: hits, kind: counter }
"#;

#[test]
fn counters_are_exact_over_threads_and_gauges_keep_each_threads_last_value() {
    let _busy = crate::util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "metrics.yaml", &target, METRICS);
    let out = pummel(&["run", &file, "--json", "--threads", "2"]);
    let r = out.json_ok();
    assert_eq!(u(&r, "/config/threads"), 2);
    let orders = entry(&r["metrics"], "name", "orders");
    assert_eq!(orders["kind"], "counter");
    assert_eq!(f(orders, "/value"), 100.0, "40 iterations × 2.5");
    assert_eq!(f(entry(&r["metrics"], "name", "hits"), "/value"), 40.0);
    // Each of the two threads last set 7: the run's gauge is their sum.
    let level = entry(&r["metrics"], "name", "level");
    assert_eq!(f(level, "/value"), 14.0, "{level}");
    assert_eq!(r["verdict"], "pass");
}

#[test]
fn trend_percentiles_come_from_the_values_and_thresholds_on_them_fail_the_run() {
    let _busy = crate::util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let rows: String = (1..=100).map(|v| format!("{v}\n")).collect();
    std::fs::write(dir.path().join("values.csv"), format!("v\n{rows}")).expect("write csv");
    let file = write(
        dir.path(),
        "trend.yaml",
        &target,
        r#"
target: @TARGET@
data:
  values: values.csv
load: { vus: 1, iterations: 100 }
thresholds:
  - basket.p50 < 60
  - basket.p95 < 90
  - basket.count >= 100
scenarios:
  - name: basket
    steps:
      - request:
          method: POST
          url: /echo
          json: { amount: "{{ values.v }}" }
        capture:
          amount: { jsonpath: $.amount }
      - metric: { name: basket, value: "{{ amount }}", kind: trend }
"#,
    );
    let out = pummel(&["run", &file, "--json", "--threads", "1"]).expect_code(99);
    let r = out.json();
    let basket = entry(&r["metrics"], "name", "basket");
    assert_eq!(u(basket, "/count"), 100);
    let close = |pointer: &str, want: f64| {
        let got = f(basket, pointer);
        // Three significant figures: within 0.1%.
        assert!(
            (got - want).abs() <= want * 0.001,
            "{pointer}: {got}, want {want}"
        );
    };
    close("/trend/min", 1.0);
    close("/trend/p50", 50.0);
    close("/trend/p95", 95.0);
    close("/trend/max", 100.0);
    close("/value", 50.5);
    let passed: Vec<bool> = r["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .map(|t| t["passed"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(passed, [true, false, true]);
}

/// Runs an example of `examples/` against `target`: the file and its data copied into a
/// temporary directory, its `target:` pointed at the started server.
fn run_example(target: &Target, name: &str) -> (Value, String) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir data");
    for entry in std::fs::read_dir(examples.join("data")).expect("examples/data") {
        let path = entry.expect("dir entry").path();
        let copy = dir
            .path()
            .join("data")
            .join(path.file_name().expect("file name"));
        std::fs::copy(&path, copy).expect("copy data file");
    }
    let text = std::fs::read_to_string(examples.join(name)).expect("read example");
    assert!(text.contains("target: http://127.0.0.1:8080"), "{text}");
    let file = write(
        dir.path(),
        name,
        target,
        &text.replace("target: http://127.0.0.1:8080", "target: @TARGET@"),
    );
    let md = dir.path().join("report.md");
    let md = md.to_str().expect("utf-8 path");
    let r = pummel(&["run", &file, "--json", "--markdown", md]).json_ok();
    (r, std::fs::read_to_string(md).expect("markdown report"))
}

#[test]
fn example_tags_groups_passes() {
    let _busy = crate::util::busy();
    let target = Target::start();
    let (r, _) = run_example(&target, "tags-groups.yaml");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(u(entry(&r["groups"], "name", "checkout"), "/requests"), 40);
}

#[test]
fn example_custom_metrics_passes() {
    let _busy = crate::util::busy();
    let target = Target::start();
    let (r, markdown) = run_example(&target, "custom-metrics.yaml");
    assert!(
        markdown.contains("#### Custom metrics")
            && markdown.contains("| revenue | counter | 550 |"),
        "{markdown}"
    );
    assert_eq!(r["verdict"], "pass");
    let metrics = &r["metrics"];
    // 10 + 20 + … + 100.
    assert_eq!(f(entry(metrics, "name", "revenue"), "/value"), 550.0);
    assert_eq!(f(entry(metrics, "name", "orders"), "/value"), 10.0);
    assert_eq!(f(entry(metrics, "name", "cart_items"), "/value"), 3.0);
    let basket = entry(metrics, "name", "basket_total");
    assert_eq!(u(basket, "/count"), 10);
    assert_eq!(f(basket, "/trend/min"), 10.0);
    assert!((f(basket, "/trend/max") - 100.0).abs() <= 0.1, "{basket}");
}

// ---- Load per scenario: each scenario's own `load`, `start_after` and `iterations_per_vu` ----

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `200 ok` on a kept-alive connection
/// and records when each request arrived and for which path: what each scenario's own load model
/// sent, and when, as the server saw it.
struct PathRecorder {
    port: u16,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl PathRecorder {
    fn start() -> PathRecorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let shared = arrivals.clone();
        // The accepting thread ends with the test process; it only ever serves loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let arrivals = shared.clone();
                std::thread::spawn(move || serve_recording(stream, &arrivals));
            }
        });
        PathRecorder { port, arrivals }
    }

    /// Milliseconds from the first request of all to each request for `path`, in order.
    fn times_ms(&self, path: &str) -> Vec<f64> {
        let all = self
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let first = all
            .iter()
            .map(|(t, _)| *t)
            .min()
            .expect("some request arrived");
        let mut times: Vec<f64> = all
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(t, _)| (*t - first).as_secs_f64() * 1000.0)
            .collect();
        times.sort_by(f64::total_cmp);
        times
    }
}

/// Serves one connection: request line and headers (the tests send no body), answered `200 ok`.
fn serve_recording(stream: TcpStream, arrivals: &Mutex<Vec<(Instant, String)>>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => {}
        }
        let arrived = Instant::now();
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((arrived, path));
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line.trim().is_empty() => break,
                Ok(_) => {}
            }
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
        if out.write_all(answer).is_err() {
            return;
        }
    }
}

/// A closed model from the start and an open one from 1.5 s: the server sees the VU scenario's
/// requests from the start to its end (3 s), and the arrival-rate scenario's exactly 10, none
/// before its offset, over two worker threads sharing its one schedule.
const SIDE_BY_SIDE: &str = r#"
target: @TARGET@
scenarios:
  - name: browse
    load: { vus: 2, duration: 3s }
    pacing: 100ms
    steps:
      - request: GET /browse
  - name: order
    start_after: 1500ms
    load: { rate: 10, duration: 1s, max_vus: 10 }
    steps:
      - request: GET /order
"#;

#[test]
fn each_scenario_runs_its_own_load_model_from_its_own_start() {
    let _busy = crate::util::busy();
    let server = PathRecorder::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("side-by-side.yaml");
    let base = format!("http://127.0.0.1:{}", server.port);
    std::fs::write(&path, SIDE_BY_SIDE.replace("@TARGET@", &base)).expect("write scenario");
    let file = path.to_str().expect("utf-8 path");
    let r = pummel(&["run", file, "--threads", "2", "--json"]).json_ok();

    let orders = server.times_ms("/order");
    let browses = server.times_ms("/browse");
    // 10/s for 1 s: exactly 10 slots, shared by the two threads, none lost or doubled.
    assert_eq!(orders.len(), 10, "order arrivals {orders:?}");
    // None before the offset (the first request of all, a browse, is at the run's start).
    assert!(orders[0] >= 1450.0, "first order at {} ms", orders[0]);
    // Spaced as 10/s: the last 900 ms after the first (a scheduling hiccup allowed for).
    let span = orders[9] - orders[0];
    assert!(
        (700.0..1300.0).contains(&span),
        "orders span {span} ms: {orders:?}"
    );
    // The VU scenario ran before the open one began and after it ended, to its own 3 s.
    assert!(
        browses.iter().filter(|&&t| t < 1400.0).count() >= 10,
        "{browses:?}"
    );
    assert!(browses.last().is_some_and(|&t| t > 2600.0), "{browses:?}");
    // The run lasted as long as its longest load.
    let duration = f(&r, "/duration_s");
    assert!((2.9..4.5).contains(&duration), "duration {duration}");

    // Per-scenario figures and timelines, consistent with the totals.
    let order = entry(&r["scenarios"], "name", "order");
    assert_eq!(u(order, "/iteration_counts/scheduled"), 10, "{order}");
    assert_eq!(u(order, "/iterations"), 10, "{order}");
    let timeline = order["timeline"].as_array().expect("order timeline");
    let started: u64 = timeline.iter().map(|p| u(p, "/started")).sum();
    assert_eq!(started, 10, "{timeline:?}");
    assert_eq!(
        u(&timeline[0], "/started"),
        0,
        "no order in the first second"
    );
    assert!(timeline.iter().any(|p| u(p, "/vus") > 0), "{timeline:?}");
    let browse = entry(&r["scenarios"], "name", "browse");
    let timeline = browse["timeline"].as_array().expect("browse timeline");
    let started: u64 = timeline.iter().map(|p| u(p, "/started")).sum();
    assert_eq!(started, u(browse, "/iterations"), "{timeline:?}");
    assert_eq!(u(&timeline[0], "/vus"), 2, "{timeline:?}");
    assert_eq!(u(&r, "/requests"), (browses.len() + orders.len()) as u64);
    let config = entry(&r["config"]["scenarios"], "name", "order");
    assert_eq!(f(config, "/start_after_s"), 1.5);
}

/// `iterations_per_vu` exact over threads, beside a scenario on the file's `load`, which
/// `--vus` and `--iterations` replace while the scenario's own load keeps its figures.
const PER_VU: &str = r#"
target: @TARGET@
load: { vus: 1, iterations: 2 }
scenarios:
  - name: shared
    steps:
      - request: POST /api/hit?key=shared
  - name: onboarding
    load: { vus: 3, iterations_per_vu: 4 }
    steps:
      - request: POST /api/hit?key=onboarding
"#;

#[test]
fn iterations_per_vu_is_exact_and_overrides_change_the_file_load_only() {
    let _busy = crate::util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "per-vu.yaml", &target, PER_VU);
    let r = pummel(&[
        "run",
        &file,
        "--threads",
        "2",
        "--vus",
        "4",
        "--iterations",
        "9",
        "--json",
    ])
    .json_ok();
    let counts: Value =
        serde_json::from_str(&reqwest_free_get(&target.url("/api/hits"))).expect("counts json");
    // Each of the 3 VUs ran 4 iterations; the command line did not touch that model.
    assert_eq!(counts["counts"]["onboarding"], 12, "{counts}");
    // The file's `load` became 4 VUs sharing 9 iterations.
    assert_eq!(counts["counts"]["shared"], 9, "{counts}");
    let onboarding = entry(&r["scenarios"], "name", "onboarding");
    assert_eq!(u(onboarding, "/iterations"), 12);
    let peak = onboarding["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|p| u(p, "/vus"))
        .max();
    assert!(peak.is_some_and(|p| p <= 3), "{onboarding}");
    assert_eq!(r["config"]["load"]["vus"], 4, "{}", r["config"]);
    assert_eq!(
        entry(&r["config"]["scenarios"], "name", "onboarding")["iterations_per_vu"],
        4
    );
}

/// A GET over a plain TCP connection (the target's `/api/hits` answers a small JSON body).
fn reqwest_free_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host).expect("connect to the target");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).expect("read");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    // A chunked body: its chunk sizes around the JSON.
    match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => body[a..=b].to_owned(),
        _ => body,
    }
}

#[test]
fn scenario_load_mistakes_are_reported_where_they_are() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "weight.yaml",
            "target: http://127.0.0.1:1\nscenarios:\n  - name: a\n    weight: 3\n    load: { vus: 1, duration: 1s }\n    steps:\n      - request: GET /\n",
            &[":4:5: ", "`weight` does not apply to scenario `a`: it has its own `load`"],
        ),
        (
            "offset.yaml",
            "target: http://127.0.0.1:1\nscenarios:\n  - name: a\n    start_after: 2s\n    steps:\n      - request: GET /\n",
            &[":4:5: ", "`start_after` needs the scenario's own `load`"],
        ),
        (
            "per-vu.yaml",
            "target: http://127.0.0.1:1\nload: { vus: 1, iterations_per_vu: 2 }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
            &[":2:17: ", "`iterations_per_vu` belongs in a scenario's own `load`"],
        ),
        (
            "unknown.yaml",
            "target: http://127.0.0.1:1\nscenarios:\n  - name: a\n    load: { rate: 5, duration: 1s, iterations_per_vu: 2 }\n    steps:\n      - request: GET /\n",
            &[":4:36: ", "`iterations_per_vu` does not apply to a `rate` load model"],
        ),
        (
            "type.yaml",
            "target: http://127.0.0.1:1\nscenarios:\n  - name: a\n    start_after: soon\n    load: { vus: 1, duration: 1s }\n    steps:\n      - request: GET /\n",
            &[":4:18: ", "`start_after`"],
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write scenario");
        let file = path.to_str().expect("utf-8 path");
        let out = pummel(&["validate", file]).expect_code(2);
        for needle in expected {
            assert!(
                out.stderr.contains(*needle),
                "{name}: expected {needle:?}\n{}",
                out.context()
            );
        }
    }
}

#[test]
fn load_flags_are_refused_when_every_scenario_has_its_own_load() {
    let _busy = crate::util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("own-loads.yaml");
    std::fs::write(
        &path,
        format!(
            "target: http://127.0.0.1:{}\nscenarios:\n  - name: a\n    load: {{ vus: 1, duration: 1s }}\n    steps:\n      - request: GET /\n  - name: b\n    load: {{ rate: 2, duration: 1s }}\n    steps:\n      - request: GET /\n",
            crate::util::closed_port()
        ),
    )
    .expect("write scenario");
    let file = path.to_str().expect("utf-8 path");
    // Ignored in silence, they would run another load than the one asked for.
    pummel(&["run", file, "--vus", "5"]).expect_usage_error(&[
        "--vus would change the top-level load model, which no scenario runs under",
        "every scenario has its own `load:`",
    ]);
    pummel(&["run", file, "--rate", "3", "--duration", "2s"])
        .expect_usage_error(&["--rate and --duration would change the top-level load model"]);
    // A scenario without its own load shares the top-level one: there the flags apply.
    let shared = dir.path().join("one-shared.yaml");
    std::fs::write(
        &shared,
        std::fs::read_to_string(&path)
            .expect("read")
            .replace("    load: { rate: 2, duration: 1s }\n", ""),
    )
    .expect("write scenario");
    pummel(&["validate", shared.to_str().expect("utf-8")]).expect_code(0);
    let out = pummel(&[
        "run",
        shared.to_str().expect("utf-8"),
        "--vus",
        "1",
        "--iterations",
        "1",
        "--json",
    ]);
    assert_ne!(out.code, Some(2), "{}", out.context());
}
