//! What the result says is what happened: a step that cannot be built is a counted failure, the
//! figures report what ran (not what was asked), and errors name their cause.

use std::path::PathBuf;

use crate::util::{brief, pummel, u, Target};

/// A scenario file in a temporary directory.
struct File {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl File {
    /// `text` with `@TARGET@` replaced by the target's base URL.
    fn new(target: Option<&Target>, text: &str) -> File {
        let base = target.map_or_else(String::new, |t| t.url("/").trim_end_matches('/').to_owned());
        File::bytes("scenario.yaml", text.replace("@TARGET@", &base).as_bytes())
    }

    /// `bytes` as they are (a file need not be UTF-8).
    fn bytes(name: &str, bytes: &[u8]) -> File {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write scenario");
        File { _dir: dir, path }
    }

    fn s(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }
}

// ---------------------------------------------------------------------------------------------
// A step that cannot be built or sent is a failed request
// ---------------------------------------------------------------------------------------------

#[test]
fn a_step_that_cannot_be_built_is_a_counted_invalid_request() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 3 }
variables:
  p: "a b"
thresholds:
  - error_rate < 1%
scenarios:
  - name: broken
    steps:
      - name: space
        request: GET /{{ p }}
"#,
    );
    let out = pummel(&["run", file.s(), "--json"]).expect_code(99);
    let r = out.json();
    assert_eq!(u(&r, "/errors/invalid_request"), 3, "{}", brief(&r));
    assert_eq!(u(&r, "/requests"), 3, "{}", brief(&r));
    assert_eq!(r["thresholds"][0]["passed"], false, "{}", brief(&r));
    assert_eq!(r["thresholds"][0]["observed"], 1.0, "{}", brief(&r));

    // The summary counts them too, and says why.
    let text = pummel(&["run", file.s()]).expect_code(99);
    assert!(text.stdout.contains("errors 3"), "{}", text.context());
    assert!(
        text.stdout.contains("invalid_request"),
        "{}",
        text.context()
    );
    assert!(
        text.stdout.contains("invalid uri character"),
        "{}",
        text.context()
    );
}

#[test]
fn a_one_megabyte_url_is_a_counted_invalid_request_named_by_its_start() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        &format!(
            "target: @TARGET@\nload: {{ vus: 1, iterations: 2 }}\nvariables:\n  p: \"{}\"\nscenarios:\n  - name: big\n    steps:\n      - request: GET /{{{{ p }}}}\n",
            "a".repeat(1 << 20)
        ),
    );
    let r = pummel(&["run", file.s(), "--json"]).expect_code(0).json();
    assert_eq!(u(&r, "/errors/invalid_request"), 2, "{}", brief(&r));
    let failures = r["failures"].to_string();
    assert!(
        failures.len() < 5_000,
        "{} bytes of failure examples",
        failures.len()
    );
    assert!(
        failures.contains("bytes in all"),
        "{}",
        &failures[..200.min(failures.len())]
    );
}

/// A header value with a line break: refused when the file loads if the
/// environment alone makes it (its value is fixed then), and counted as an
/// `invalid_request` when a per-VU value makes it at run time.
#[test]
fn a_header_with_a_line_break_is_refused_at_load_or_a_counted_invalid_request() {
    let target = Target::start();
    let text = r#"
target: @TARGET@
load: { vus: 1, iterations: 2 }
scenarios:
  - name: crlf
    steps:
      - name: injected
        request:
          method: GET
          url: /
          headers: { X-Token: "{{ env.TOKEN }}@PER_VU@" }
"#;
    let evil = "TOKEN=a\r\nX-Evil: 1";
    let fixed = File::new(Some(&target), &text.replace("@PER_VU@", ""));
    let out = pummel(&["validate", fixed.s(), "--env", evil]).expect_code(2);
    assert!(
        out.stderr.contains("scenario.yaml:11:35")
            && out
                .stderr
                .contains("header `x-token`: the environment variable's value"),
        "{}",
        out.context()
    );
    let per_vu = File::new(Some(&target), &text.replace("@PER_VU@", "-{{ vu }}"));
    let r = pummel(&["run", per_vu.s(), "--json", "--env", evil])
        .expect_code(0)
        .json();
    assert_eq!(u(&r, "/errors/invalid_request"), 2, "{}", brief(&r));
    assert_eq!(u(&r, "/responses"), 0, "{}", brief(&r));
}

#[test]
fn a_websocket_step_on_a_socket_never_opened_is_refused_at_load_time() {
    let file = File::new(
        None,
        r#"
target: http://127.0.0.1:9
load: { vus: 1, iterations: 1 }
scenarios:
  - name: ws
    steps:
      - ws_connect: /ws/echo
      - ws_send: { text: hi }
        socket: other
"#,
    );
    let out = pummel(&["validate", file.s()]).expect_code(2);
    assert!(
        out.stderr.contains("scenario.yaml:8:9")
            && out.stderr.contains("`ws_send` on socket `other`"),
        "{}",
        out.context()
    );
}

// ---------------------------------------------------------------------------------------------
// What ran, not what was asked
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bench_reports_the_threads_that_ran() {
    let target = Target::start();
    let r = pummel(&[
        "bench",
        "-n",
        "4",
        "-c",
        "2",
        "--threads",
        "64",
        "--json",
        &target.url("/"),
    ])
    .json_ok();
    assert_eq!(u(&r, "/config/threads"), 2, "{}", brief(&r));
    assert_eq!(u(&r, "/config/requested_threads"), 64, "{}", brief(&r));
}

#[test]
fn a_websocket_bench_counts_no_message_sent_on_sockets_that_never_connected() {
    let url = format!("ws://127.0.0.1:{}/", crate::util::closed_port());
    let r = pummel(&["bench", "-n", "6", "-c", "2", "--json", &url]).json_ok();
    assert_eq!(u(&r, "/websocket/connected"), 0, "{}", brief(&r));
    assert_eq!(u(&r, "/websocket/messages_sent"), 0, "{}", brief(&r));
}

#[test]
fn a_switching_protocols_answer_is_recorded_as_101() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 3 }
scenarios:
  - name: upgrade
    steps:
      - name: plain request, upgrade answer
        request:
          method: GET
          url: /ws/echo
          headers:
            Upgrade: websocket
            Connection: Upgrade
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
            Sec-WebSocket-Version: "13"
"#,
    );
    let r = pummel(&["run", file.s(), "--json"]).expect_code(0).json();
    // Each answer is a 101 (not status 0), and each request has a connection of its own: one
    // that switched protocols is not HTTP any more.
    assert_eq!(u(&r, "/status/101"), 3, "{}", brief(&r));
    assert_eq!(u(&r, "/responses"), 3, "{}", brief(&r));
    assert!(
        r["errors"].as_object().is_none_or(|e| e.is_empty()),
        "{}",
        brief(&r)
    );
}

#[test]
fn a_check_that_never_ran_is_not_evaluated() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 2 }
variables:
  p: "a b"
scenarios:
  - name: never
    steps:
      - name: broken
        request: GET /{{ p }}
        check: { status: 200 }
"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let (md, html, xml) = (at("r.md"), at("r.html"), at("r.xml"));
    let out = pummel(&[
        "run",
        file.s(),
        "--markdown",
        &md,
        "--report",
        &html,
        "--junit",
        &xml,
    ])
    .expect_code(0);
    assert!(out.stdout.contains("not evaluated"), "{}", out.context());
    assert!(
        !out.stdout.contains("100.00%  (0 of 0 failed)"),
        "{}",
        out.context()
    );
    let read = |p: &str| std::fs::read_to_string(p).expect("report written");
    assert!(read(&md).contains("not evaluated"), "{}", read(&md));
    assert!(read(&html).contains("not evaluated"), "html");
    let xml = read(&xml);
    assert!(xml.contains("<skipped message=\"not evaluated"), "{xml}");
}

// ---------------------------------------------------------------------------------------------
// Errors that say their cause
// ---------------------------------------------------------------------------------------------

#[test]
fn a_duration_flag_without_a_unit_is_refused_naming_the_unit() {
    let target = Target::start();
    let url = target.url("/");
    pummel(&["bench", "-z", "5", &url]).expect_usage_error(&["\"5\" has no unit", "5s"]);
    pummel(&["bench", "-n", "1", "--timeout", "2", &url])
        .expect_usage_error(&["\"2\" has no unit", "2s"]);
    let file = File::new(
        Some(&target),
        "target: @TARGET@\nload: { vus: 1, iterations: 1 }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
    );
    pummel(&["run", file.s(), "-z", "5"]).expect_usage_error(&["\"5\" has no unit", "5s"]);
}

#[test]
fn a_rate_above_the_highest_says_the_highest() {
    pummel(&["bench", "-q", "1e9", "http://127.0.0.1:9/"]).expect_usage_error(&[
        "1e9",
        "highest rate",
        "10000000 per second",
    ]);
}

#[test]
fn a_result_whose_schema_is_a_string_says_so() {
    let file = File::bytes("r.json", br#"{"schema": "1", "kind": "bench"}"#);
    pummel(&["report", file.s()]).expect_usage_error(&["the string \"1\"", "not a version number"]);
}

#[test]
fn load_model_errors_say_what_is_wrong() {
    let file = File::new(
        None,
        "target: http://127.0.0.1:9\nload: { cycles: [0], cycle_duration: 1s }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
    );
    let out = pummel(&["validate", file.s()]).expect_usage_error(&["VU count must be at least 1"]);
    assert!(!out.stderr.contains("is empty"), "{}", out.context());

    let file = File::new(
        None,
        "target: http://127.0.0.1:9\nload: { rate: 0, duration: 1s }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
    );
    let out = pummel(&["validate", file.s()]).expect_usage_error(&["`rate` must be more than 0"]);
    assert!(!out.stderr.contains("0.0000"), "{}", out.context());
}

#[test]
fn a_file_that_is_not_utf8_is_located_by_line_and_column() {
    let file = File::bytes(
        "bad.yaml",
        b"target: http://127.0.0.1:9\nname: caf\xe9 \xff\nscenarios: []\n",
    );
    pummel(&["validate", file.s()]).expect_usage_error(&["bad.yaml:2:10:", "not UTF-8", "0xe9"]);
}

#[test]
fn an_excerpt_of_a_huge_line_is_capped_around_the_caret() {
    let line = format!("name: [{}\n", "1, ".repeat(350_000));
    let text = format!("target: http://127.0.0.1:9\nwieght: 1\n{line}scenarios: []\n");
    let file = File::bytes("big.yaml", text.as_bytes());
    let out = pummel(&["validate", file.s()]).expect_code(2);
    assert!(
        out.stderr.len() < 4_000,
        "{} bytes of errors",
        out.stderr.len()
    );
    assert!(out.stderr.contains("big.yaml:3:"), "{}", out.context());
}

// ---------------------------------------------------------------------------------------------
// Reports that read as a person would write them
// ---------------------------------------------------------------------------------------------

#[test]
fn reports_say_units_teardown_and_the_load_model_in_words() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 2, iterations: 4 }
thresholds:
  - p95 < 0.001ms
setup:
  - name: before
    request: GET /
teardown:
  - name: after
    request: GET /
scenarios:
  - name: browse
    steps:
      - request: GET /
"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("r.html");
    let html = html.to_str().expect("utf-8");
    let out = pummel(&["run", file.s(), "--report", html]).expect_code(99);
    assert!(out.stdout.contains("(setup)/before"), "{}", out.context());
    assert!(out.stdout.contains("(teardown)/after"), "{}", out.context());
    assert!(!out.stdout.contains("(setup)/after"), "{}", out.context());
    let threshold = out
        .stdout
        .lines()
        .find(|l| l.contains("p95 < 0.001ms"))
        .unwrap_or_default();
    assert!(
        threshold.contains("observed")
            && ["ms", "µs", " s"]
                .iter()
                .any(|unit| threshold.trim_end().ends_with(unit)),
        "the observed value has its unit: {threshold:?}\n{}",
        out.context()
    );
    let page = std::fs::read_to_string(html).expect("report written");
    assert!(page.contains("2 VUs, 4 iterations in all"), "load in words");
    assert!(!page.contains("duration_s"), "no raw JSON for the load");
    assert!(page.contains("(teardown)"), "teardown labelled");
}

/// A server on 127.0.0.1 that answers each of `connections` connections with `answer` and closes.
fn raw_server(answer: &'static [u8], connections: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut socket, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request);
            let _ = socket.write_all(answer);
        }
    });
    (base, server)
}

#[test]
fn failure_examples_name_the_cause() {
    // Not HTTP: the example says what is wrong with the head.
    let (base, server) = raw_server(b"HTTP/1.1 abc\r\n\r\n", 2);
    let file = File::new(
        None,
        &format!(
            "target: {base}\nload: {{ vus: 1, iterations: 2 }}\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n"
        ),
    );
    let r = pummel(&["run", file.s(), "--json"]).expect_code(0).json();
    server.join().expect("server");
    assert_eq!(u(&r, "/errors/malformed_response"), 2, "{}", brief(&r));
    let failures = r["failures"].to_string();
    assert!(
        failures.contains("malformed response: the status code is not three digits"),
        "{failures}"
    );

    // https to a plain HTTP server (which answers the TLS hello with a 400): the example says the
    // server did not answer in TLS.
    let (base, server) = raw_server(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", 1);
    let file = File::new(
        None,
        &format!(
            "target: {}\nload: {{ vus: 1, iterations: 1 }}\nscenarios:\n  - name: a\n    steps:\n      - request: GET /\n",
            base.replace("http://", "https://")
        ),
    );
    let r = pummel(&["run", file.s(), "--json"]).expect_code(0).json();
    server.join().expect("server");
    assert_eq!(u(&r, "/errors/tls"), 1, "{}", brief(&r));
    let failures = r["failures"].to_string();
    assert!(failures.contains("did not answer in TLS"), "{failures}");
}

#[test]
fn a_websocket_protocol_violation_says_which() {
    let target = Target::start();
    let file = File::new(
        Some(&target),
        r#"
target: @TARGET@
load: { vus: 1, iterations: 1 }
scenarios:
  - name: ws
    steps:
      - ws_connect: /ws/garbage
      - ws_receive: 1
"#,
    );
    let r = pummel(&["run", file.s(), "--json"]).expect_code(0).json();
    let failures = r["failures"].to_string();
    assert!(
        failures.contains("WebSocket protocol violation: a "),
        "the reason follows the kind: {failures}\n{}",
        brief(&r)
    );
    assert!(!failures.contains(": : "), "no empty reason: {failures}");
}

#[test]
fn a_fixed_url_that_is_not_a_url_is_refused_at_load_time() {
    let file = File::new(
        None,
        "target: http://127.0.0.1:9\nload: { vus: 1, iterations: 1 }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /a b\n",
    );
    pummel(&["validate", file.s()])
        .expect_usage_error(&["scenario.yaml:6:", "\"/a b\" is not a URL path"]);
}
