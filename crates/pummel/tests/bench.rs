//! `pummel bench` in the closed model (as fast as the connections go): counts, the JSON result,
//! the text summary, the result file, methods, bodies, headers, HTTP/2.

use crate::util::{
    self, assert_consistent, assert_latencies_ordered, brief, errors, f, pummel, u, Target,
};

#[test]
fn closed_model_counts_every_request() {
    let _machine = util::busy();
    let target = Target::start();
    let url = target.url("/");
    let r = pummel(&["bench", "-n", "2000", "-c", "10", "--json", &url]).json_ok();

    assert_consistent(&r);
    assert_eq!(u(&r, "/requests"), 2000, "{}", brief(&r));
    assert_eq!(u(&r, "/responses"), 2000, "{}", brief(&r));
    assert_eq!(u(&r, "/status/200"), 2000, "{}", brief(&r));
    assert_eq!(
        r["status"].as_object().map(|s| s.len()),
        Some(1),
        "only 200s\n{}",
        brief(&r)
    );
    assert_eq!(errors(&r), vec![], "no errors\n{}", brief(&r));
    assert_eq!(u(&r, "/aborted"), 0, "{}", brief(&r));
    assert_eq!(r["partial"], false, "{}", brief(&r));
    assert!(
        r.get("open_model").is_none(),
        "a closed-model run has no open_model\n{}",
        brief(&r)
    );
    assert!(
        u(&r, "/bytes_received") > 2000 * 20,
        "every response has a status line and a body\n{}",
        brief(&r)
    );
    assert!(
        u(&r, "/bytes_sent") > 2000 * 14,
        "every request has a request line\n{}",
        brief(&r)
    );
    assert!(f(&r, "/rps") > 0.0, "{}", brief(&r));
    assert!(
        !r["timeline"].as_array().expect("timeline").is_empty(),
        "{}",
        brief(&r)
    );
    assert_latencies_ordered(&r, "/latency_ms");
    assert_eq!(r["kind"], "bench");
    assert_eq!(r["config"]["url"], url.as_str());
    assert_eq!(u(&r, "/config/connections"), 10);
    assert_eq!(r["config"]["method"], "GET");
}

#[test]
fn out_file_holds_the_same_result_as_stdout() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("result.json");
    let out = pummel(&[
        "bench",
        "-n",
        "300",
        "-c",
        "4",
        "--json",
        "--out",
        file.to_str().expect("utf-8 path"),
        &target.url("/json"),
    ]);
    let printed = out.json_ok();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the --out file exists"))
            .expect("--out is JSON");
    assert_eq!(printed, written, "stdout and --out hold the same result");
    assert_consistent(&written);
    assert_eq!(u(&written, "/status/200"), 300);
}

#[test]
fn text_summary_shows_the_key_figures_and_out_still_writes_json() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("text-run.json");
    let url = target.url("/");
    let out = pummel(&[
        "bench",
        "-n",
        "200",
        "-c",
        "2",
        "--out",
        file.to_str().expect("utf-8 path"),
        &url,
    ])
    .expect_code(0);

    for needle in ["Requests", "Latency", "200", "p99", &url] {
        assert!(
            out.stdout.contains(needle),
            "summary should show {needle:?}\n{}",
            out.context()
        );
    }
    assert!(
        !out.stdout.trim_start().starts_with('{'),
        "text mode is not JSON\n{}",
        out.context()
    );
    assert!(!out.stdout.contains("INTERRUPTED"), "{}", out.context());

    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the --out file exists"))
            .expect("--out is JSON");
    assert_consistent(&written);
    assert_eq!(u(&written, "/requests"), 200);
}

#[test]
fn status_codes_are_counted_as_responses() {
    let _machine = util::busy();
    let target = Target::start();
    let r = pummel(&[
        "bench",
        "-n",
        "50",
        "-c",
        "5",
        "--json",
        &target.url("/status/503"),
    ])
    .json_ok();
    assert_consistent(&r);
    assert_eq!(u(&r, "/status/503"), 50, "{}", brief(&r));
    assert_eq!(
        u(&r, "/responses"),
        50,
        "a 503 is a response, not an error\n{}",
        brief(&r)
    );
    assert_eq!(errors(&r), vec![], "{}", brief(&r));

    let r = pummel(&[
        "bench",
        "-n",
        "20",
        "-c",
        "2",
        "--json",
        &target.url("/no/such/path"),
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/404"), 20, "{}", brief(&r));
}

#[test]
fn head_gets_headers_and_no_body() {
    let _machine = util::busy();
    let target = Target::start();
    // A body large enough that its absence is unmistakable.
    let url = target.url("/bytes/4096");
    let get = pummel(&["bench", "-n", "50", "-c", "2", "--json", &url]).json_ok();
    let head = pummel(&["bench", "-n", "50", "-c", "2", "-m", "HEAD", "--json", &url]).json_ok();
    assert_consistent(&head);
    assert_eq!(u(&head, "/status/200"), 50, "{}", brief(&head));
    assert_eq!(
        errors(&head),
        vec![],
        "HEAD responses carry Content-Length but no body\n{}",
        brief(&head)
    );
    assert_eq!(head["config"]["method"], "HEAD");
    assert!(u(&get, "/bytes_received") >= 50 * 4096, "{}", brief(&get));
    assert!(
        u(&head, "/bytes_received") < 50 * 1024,
        "HEAD received no bodies: {} bytes\n{}",
        u(&head, "/bytes_received"),
        brief(&head)
    );
    // Lower-case methods are accepted.
    let lower = pummel(&["bench", "-n", "5", "-c", "1", "-m", "head", "--json", &url]).json_ok();
    assert_eq!(lower["config"]["method"], "HEAD");
}

#[test]
fn post_bodies_are_sent_and_echoed_back() {
    let _machine = util::busy();
    let target = Target::start();
    let url = target.url("/echo");
    let n = 20u64;
    let small = pummel(&[
        "bench", "-n", "20", "-c", "2", "-m", "POST", "-d", "hello", "--json", &url,
    ])
    .json_ok();
    let big_body = "x".repeat(1000);
    let big = pummel(&[
        "bench", "-n", "20", "-c", "2", "-m", "POST", "-d", &big_body, "--json", &url,
    ])
    .json_ok();
    for r in [&small, &big] {
        assert_consistent(r);
        assert_eq!(u(r, "/status/200"), n, "{}", brief(r));
        assert_eq!(r["config"]["method"], "POST");
    }
    assert_eq!(u(&small, "/config/body_bytes"), 5);
    // /echo sends the body back: 995 more bytes each way per request (plus the longer
    // Content-Length value).
    let more_received = u(&big, "/bytes_received") - u(&small, "/bytes_received");
    let more_sent = u(&big, "/bytes_sent") - u(&small, "/bytes_sent");
    assert!(
        (n * 995..=n * 1010).contains(&more_sent),
        "sent {more_sent} more bytes\n{}\n{}",
        brief(&small),
        brief(&big)
    );
    assert!(
        (n * 995..=n * 1010).contains(&more_received),
        "received {more_received} more bytes\n{}\n{}",
        brief(&small),
        brief(&big)
    );
    assert!(u(&small, "/bytes_received") >= n * 5, "{}", brief(&small));
}

#[test]
fn body_file_is_sent() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("body.bin");
    std::fs::write(&body, vec![b'z'; 2048]).expect("write body file");
    let r = pummel(&[
        "bench",
        "-n",
        "10",
        "-c",
        "1",
        "-m",
        "PUT",
        "--body-file",
        body.to_str().expect("utf-8"),
        "--json",
        &target.url("/echo"),
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 10, "{}", brief(&r));
    assert_eq!(u(&r, "/config/body_bytes"), 2048);
    assert!(u(&r, "/bytes_sent") >= 10 * 2048, "{}", brief(&r));
    assert!(u(&r, "/bytes_received") >= 10 * 2048, "{}", brief(&r));
}

#[test]
fn custom_headers_are_sent() {
    let _machine = util::busy();
    let target = Target::start();
    let r = pummel(&[
        "bench",
        "-n",
        "10",
        "-c",
        "1",
        "-H",
        "X-Test: 1",
        "-H",
        "X-Other: two words",
        "--json",
        &target.url("/headers"),
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 10, "{}", brief(&r));
    assert_eq!(errors(&r), vec![], "{}", brief(&r));
    let headers: Vec<String> = r["config"]["headers"]
        .as_array()
        .expect("config.headers")
        .iter()
        .filter_map(|h| h.as_str())
        .map(str::to_ascii_lowercase)
        .collect();
    assert_eq!(
        headers,
        ["x-test: 1", "x-other: two words"],
        "{}",
        brief(&r)
    );
}

#[test]
fn http2_prior_knowledge_multiplexes_streams() {
    let _machine = util::busy();
    let target = Target::start();
    let r = pummel(&[
        "bench",
        "--http2",
        "-n",
        "500",
        "-c",
        "4",
        "--h2-streams",
        "4",
        "--json",
        &target.url("/"),
    ])
    .json_ok();
    assert_consistent(&r);
    assert_eq!(u(&r, "/responses"), 500, "{}", brief(&r));
    assert_eq!(u(&r, "/status/200"), 500, "{}", brief(&r));
    assert_eq!(errors(&r), vec![], "{}", brief(&r));
    assert_eq!(r["config"]["http2"], true);
    assert_eq!(u(&r, "/config/h2_streams"), 4);
    assert!(u(&r, "/bytes_received") > 0, "{}", brief(&r));
}
