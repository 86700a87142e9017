//! `pummel convert`: a HAR that headless Chromium records while browsing the target's `/shop`
//! flow, and a Postman collection of the marketplace API that newman has run, become scenario
//! files that validate and pass every check under 10 virtual users. The shop refuses another
//! session's CSRF token and ids, so passing proves the values were correlated.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, pummel, u, Target};

const CHROMIUM: &str = "/usr/bin/chromium";

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs an npm harness's locked dependencies if they are missing.
fn npm_ci(dir: &Path, package: &str) {
    if dir.join("node_modules").join(package).exists() {
        return;
    }
    let status = Command::new("npm")
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(dir)
        .status()
        .expect("run npm ci");
    assert!(status.success(), "npm ci --prefix {} failed", dir.display());
}

fn harness(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// Runs `node SCRIPT ARGS`, asserting success; returns stdout.
fn node(script: &Path, args: &[&str]) -> String {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .env("CHROMIUM", CHROMIUM)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "node {} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Asserts that a run's checks all passed, every request got a response and every iteration
/// completed; returns the result.
#[track_caller]
fn assert_clean_run(v: &Value, iterations: u64) {
    let brief = util::brief(v);
    assert_eq!(u(v, "/checks/failed"), 0, "{brief}");
    assert!(u(v, "/checks/passed") > 0, "{brief}");
    assert!(util::errors(v).is_empty(), "{brief}");
    assert_eq!(u(v, "/iteration_counts/completed"), iterations, "{brief}");
}

#[test]
fn a_browser_recording_converts_to_a_journey_that_passes_with_10_vus() {
    if !Path::new(CHROMIUM).exists() || !have("node") {
        util::skip_without(
            "a_browser_recording_converts_to_a_journey_that_passes_with_10_vus",
            &format!("needs {CHROMIUM} and node"),
        );
        return;
    }
    let browser = harness("browser");
    npm_ci(&browser, "playwright-core");
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("shop.har");
    let base = target.url("/").trim_end_matches('/').to_owned();
    node(&browser.join("record-har.mjs"), &[&base, s(&har)]);
    let recorded = std::fs::read_to_string(&har).expect("read the HAR");
    let recorded: Value = serde_json::from_str(&recorded).expect("the HAR is JSON");
    assert_eq!(recorded["log"]["version"], "1.2");

    let journey = dir.path().join("journey.yaml");
    // A tenth of the recorded pauses keeps the replay quick; they stay in the file.
    let out = pummel(&[
        "convert",
        s(&har),
        "-o",
        s(&journey),
        "--think-scale",
        "0.1",
    ])
    .expect_code(0);
    let yaml = std::fs::read_to_string(&journey).expect("read the scenario");
    assert!(yaml.contains("think: "), "{yaml}");
    // Secrets never reach the file; the user is told which variable to set.
    assert!(!yaml.contains("s3cret"), "{yaml}");
    assert!(yaml.contains("password: \"{{ env.PASSWORD }}\""), "{yaml}");
    assert!(out.stderr.contains("PASSWORD"), "{}", out.context());
    // The CSRF tokens (a form field, then a header after the login rotated it), the item id
    // (a path segment, then a JSON number), the cart and the order were all correlated.
    for needle in [
        "csrf: { regex:",
        "csrf: \"{{ csrf }}\"",
        "x-csrf-token: \"{{ csrf_token }}\"",
        "\"item_id\": \"{{ number(item_id) }}\"",
        "url: \"/shop/items/{{ item_id }}\"",
        "cart_id: { jsonpath: \"$.cart_id\" }",
        "order_id: { jsonpath: \"$.order_id\" }",
        "url: \"/shop/orders/{{ order_id }}\"",
    ] {
        assert!(
            yaml.contains(needle),
            "no {needle:?} in\n{yaml}\n{}",
            out.context()
        );
    }
    assert!(out.stderr.contains("correlated"), "{}", out.context());

    pummel(&["validate", s(&journey), "--env", "PASSWORD=s3cret"]).expect_code(0);
    let iterations = 30;
    let v = pummel(&[
        "run",
        s(&journey),
        "--json",
        "--vus",
        "10",
        "--iterations",
        "30",
        "--env",
        "PASSWORD=s3cret",
    ])
    .expect_code(0)
    .json();
    assert_clean_run(&v, iterations);

    assert_refused_without_correlation(dir.path(), &yaml, &recorded);
}

/// The controls: the same journey with the recorded CSRF token, or the recorded item id, in
/// place of its capture is refused by the target (403, 404), so a pass is the correlation's doing.
fn assert_refused_without_correlation(dir: &Path, yaml: &str, recorded: &Value) {
    let token = recorded_form_field(recorded, "csrf");
    let item = recorded_item_id(recorded);
    for (template, recorded_value, refused) in [
        ("{{ csrf }}", token.as_str(), "recorded/POST /shop/login"),
        ("{{ item_id }}", item.as_str(), "recorded/GET /shop/items/"),
    ] {
        let uncorrelated = dir.join("uncorrelated.yaml");
        std::fs::write(&uncorrelated, yaml.replace(template, recorded_value)).expect("write");
        let v = pummel(&[
            "run",
            s(&uncorrelated),
            "--json",
            "--iterations",
            "1",
            "--env",
            "PASSWORD=s3cret",
        ])
        .json();
        assert!(
            u(&v, "/checks/failed") > 0,
            "{template}: {}",
            util::brief(&v)
        );
        let failed_step = v["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|step| {
                step["checks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["failed"].as_u64().unwrap_or(0) > 0)
            })
            .map(|step| {
                format!(
                    "{}/{}",
                    step["scenario"].as_str().unwrap_or(""),
                    step["name"].as_str().unwrap_or("")
                )
            })
            .unwrap_or_default();
        assert!(
            failed_step.starts_with(refused),
            "{template}: {failed_step}\n{}",
            util::brief(&v)
        );
    }
}

/// The item id the recording opened (`GET /shop/items/{id}`).
fn recorded_item_id(har: &Value) -> String {
    har["log"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["request"]["url"].as_str())
        .find_map(|url| url.split_once("/shop/items/").map(|(_, id)| id.to_owned()))
        .expect("a recorded item page")
}

/// The value a recorded form post sent in `field`.
fn recorded_form_field(har: &Value, field: &str) -> String {
    let prefix = format!("{field}=");
    har["log"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["request"]["postData"]["text"].as_str())
        .flat_map(|t| t.split('&'))
        .find_map(|pair| pair.strip_prefix(&prefix))
        .map(str::to_owned)
        .expect("a recorded form post with that field")
}

#[test]
fn a_postman_collection_that_newman_ran_converts_and_passes() {
    if !have("node") {
        util::skip_without(
            "a_postman_collection_that_newman_ran_converts_and_passes",
            "needs node",
        );
        return;
    }
    let postman = harness("postman");
    npm_ci(&postman, "newman");
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let collection = dir.path().join("marketplace.postman.json");
    let base = target.url("/").trim_end_matches('/').to_owned();
    let ran = node(
        &postman.join("build-collection.mjs"),
        &[&base, s(&collection)],
    );
    let ran: Value = serde_json::from_str(ran.trim()).expect("newman's summary");
    assert_eq!(ran["requests"], 8, "{ran}");
    assert_eq!(ran["assertions"], 8, "{ran}");
    assert_eq!(ran["failedAssertions"], 0, "{ran}");

    let scenario = dir.path().join("marketplace.yaml");
    let out = pummel(&["convert", s(&collection), "-o", s(&scenario)]).expect_code(0);
    let yaml = std::fs::read_to_string(&scenario).expect("read the scenario");
    assert!(!yaml.contains("pm-Secret-42"), "{yaml}");
    assert!(out.stderr.contains("PASSWORD"), "{}", out.context());
    for needle in [
        &format!("target: \"{base}\"") as &str,
        "- group: account",
        "- group: apps",
        "auth: { bearer: \"{{ token }}\" }",
        "token: { jsonpath: \"$.token\" }",
        "url: \"/api/apps/{{ appId }}\"",
        "status: 204",
        "\"pm-{{ uuid() }}\"",
    ] {
        assert!(yaml.contains(needle), "no {needle:?} in\n{yaml}");
    }
    // The file has no `load:`, so the flags replace its one-pass smoke test: ten VUs for two
    // seconds, each going round the journey many times.
    let v = pummel(&[
        "run",
        s(&scenario),
        "--json",
        "--vus",
        "10",
        "--duration",
        "2s",
        "--env",
        "PASSWORD=pm-Secret-42",
    ])
    .expect_code(0)
    .json();
    let brief = util::brief(&v);
    let completed = u(&v, "/iteration_counts/completed");
    assert!(completed >= 20, "{completed} iterations: {brief}");
    assert_clean_run(&v, completed);
}

#[test]
fn bad_input_is_a_usage_error_that_says_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let cases = [
        (write("a.txt", "hello"), vec!["not a HAR file nor a Postman collection", "not JSON"]),
        (write("b.json", "{\"x\": 1}"), vec!["not a HAR file nor a Postman collection", "\"log\""]),
        (write("c.har", "{\"log\": {\"version\": \"2.0\", \"entries\": []}}"), vec!["HAR version \"2.0\" is not supported"]),
        (write("d.har", "{\"log\": {\"version\": \"1.2\", \"entries\": [{}]}}"), vec!["not a valid HAR file", "startedDateTime"]),
        (write("e.har", "{\"log\": {\"version\": \"1.2\", \"entries\": []}}"), vec!["no request left to convert"]),
        (
            write("f.json", "{\"info\": {\"name\": \"x\", \"schema\": \"https://schema.getpostman.com/json/collection/v2.0.0/collection.json\"}, \"item\": []}"),
            vec!["Postman collection version \"v2.0.0\" is not supported", "v2.1"],
        ),
    ];
    for (path, what) in &cases {
        pummel(&["convert", s(path)]).expect_usage_error(what);
    }
    pummel(&["convert", "/no/such/file.har"])
        .expect_usage_error(&["cannot read /no/such/file.har"]);
    pummel(&["convert", s(&cases[0].0), "--think-scale=-1"]).expect_usage_error(&["think-scale"]);
    // A file over the size limit is refused (sparse: nothing is written), and a FIFO is not
    // opened at all.
    let huge = dir.path().join("huge.har");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(256 * 1024 * 1024 + 1))
        .expect("a sparse file");
    pummel(&["convert", s(&huge)]).expect_usage_error(&["larger than 256 MiB"]);
    let fifo = dir.path().join("pipe.har");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    pummel(&["convert", s(&fifo)]).expect_usage_error(&["not a regular file"]);
}
