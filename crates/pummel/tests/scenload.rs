//! Tags, groups and custom metrics in scenario files, end to end: the real binary against a real
//! `pummel target` on 127.0.0.1.
//!
//! - tags inherited from scenario and group, thresholds scoped by `tag:` and `group:` judging
//!   their subset only (one that passes over the whole run fails on its tag), groups rolled up;
//! - custom metrics fed from captures of `/echo`: a counter exact over several threads, a gauge
//!   keeping each thread's last value (summed), a trend's percentiles from known values, and
//!   thresholds on them (exit 99 when one fails).

use std::path::Path;

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
    let target = Target::start();
    let (r, _) = run_example(&target, "tags-groups.yaml");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(u(entry(&r["groups"], "name", "checkout"), "/requests"), 40);
}

#[test]
fn example_custom_metrics_passes() {
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
