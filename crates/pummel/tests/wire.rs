//! What pummel puts on the wire, judged at the server rather than from the configuration it
//! echoes: headers that arrive, connections opened, errors of servers that misbehave on purpose
//! counted exactly, cookies not sent, a threshold with nothing to judge, thousands of sockets.

use std::path::PathBuf;
use std::time::Duration;

use crate::servers::{Behaviour, CountingRelay, Server};
use crate::util::{self, assert_consistent, brief, errors, pummel, u, Running, Target};

/// Writes a scenario file (`@TARGET@` replaced by `base`) in a fresh directory.
fn scenario_file(base: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wire.yaml");
    std::fs::write(&path, text.replace("@TARGET@", base)).expect("write scenario file");
    (dir, path)
}

/// The value of header `name` in a request head, if present (names compared without case).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

#[test]
fn bench_headers_arrive_at_the_server() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Answer { extra: "" });
    let r = pummel(&[
        "bench",
        "-n",
        "10",
        "-c",
        "2",
        "-H",
        "X-Test: 1",
        "-H",
        "X-Other: two words",
        "--json",
        &format!("{}/headers", server.base()),
    ])
    .json_ok();
    assert_eq!(u(&r, "/status/200"), 10, "{}", brief(&r));
    let heads = server.heads();
    assert_eq!(heads.len(), 10, "{heads:#?}");
    for head in &heads {
        assert_eq!(header(head, "x-test"), Some("1"), "{head}");
        assert_eq!(header(head, "x-other"), Some("two words"), "{head}");
    }
}

/// `--http2 -c 4 --h2-streams 4`: 4 connections, counted at a relay in front of the target, each
/// carrying 4 requests at once. 160 requests of 100 ms take 10 rounds (1 s) with 16 in flight;
/// one stream per connection would take 40 rounds.
#[test]
fn http2_opens_exactly_its_connections_and_multiplexes() {
    let _machine = util::busy();
    let target = Target::start();
    let to = format!("127.0.0.1:{}", target.port())
        .parse()
        .expect("socket address");
    let relay = CountingRelay::start(to);
    let r = pummel(&[
        "bench",
        "--http2",
        "-c",
        "4",
        "--h2-streams",
        "4",
        "-n",
        "160",
        "--json",
        &format!("{}/delay/100", relay.base()),
    ])
    .json_ok();
    assert_consistent(&r);
    assert_eq!(u(&r, "/status/200"), 160, "{}", brief(&r));
    assert_eq!(relay.connections(), 4, "connections at the server");
    assert!(
        util::f(&r, "/duration_s") < 2.5,
        "160 requests of 100 ms, 16 at a time, take about 1 s\n{}",
        brief(&r)
    );
}

/// One connection at a time against a server that resets every other connection and answers
/// one request on the others: of 10 requests, 5 are reset and 5 answered, exactly.
#[test]
fn resets_are_counted_exactly() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::ResetEveryOther);
    let r = pummel(&["bench", "-n", "10", "-c", "1", "--json", &server.base()]).json_ok();
    assert_consistent(&r);
    assert_eq!(u(&r, "/requests"), 10, "{}", brief(&r));
    assert_eq!(errors(&r), vec![("reset".to_owned(), 5)], "{}", brief(&r));
    assert_eq!(u(&r, "/status/200"), 5, "{}", brief(&r));
    assert_eq!(server.connections(), 10, "{}", brief(&r));
}

#[test]
fn malformed_responses_are_counted_exactly() {
    let _machine = util::busy();
    let server = Server::start(Behaviour::Malformed);
    let r = pummel(&["bench", "-n", "12", "-c", "2", "--json", &server.base()]).json_ok();
    assert_consistent(&r);
    assert_eq!(u(&r, "/requests"), 12, "{}", brief(&r));
    assert_eq!(
        errors(&r),
        vec![("malformed_response".to_owned(), 12)],
        "{}",
        brief(&r)
    );
    assert_eq!(server.heads().len(), 12, "{}", brief(&r));
}

/// The same misbehaving servers under `pummel run`: each iteration's one request is reset or
/// answered, or gets a malformed answer, and each is counted once, of its kind.
#[test]
fn a_scenario_counts_resets_and_malformed_responses_exactly() {
    let _machine = util::busy();
    let text = r#"
target: @TARGET@
load: { vus: 1, iterations: 10 }
scenarios:
  - name: s
    steps:
      - name: get
        request: GET /
"#;
    for (behaviour, expected, ok) in [
        (Behaviour::ResetEveryOther, ("reset", 5), 5),
        (Behaviour::Malformed, ("malformed_response", 10), 0),
    ] {
        let server = Server::start(behaviour);
        let (_dir, file) = scenario_file(&server.base(), text);
        let r = pummel(&["run", file.to_str().expect("utf-8"), "--json"]).json_ok();
        assert_eq!(u(&r, "/requests"), 10, "{}", brief(&r));
        assert_eq!(
            errors(&r),
            vec![(expected.0.to_owned(), expected.1)],
            "{}",
            brief(&r)
        );
        let answered = r["status"]["200"].as_u64().unwrap_or(0);
        assert_eq!(answered, ok, "{}", brief(&r));
    }
}

/// A server that sets a cookie on the first request: with the default cookie jar the second
/// request carries it back; with `cookies: false` no request carries a cookie.
#[test]
fn cookies_false_sends_no_cookie() {
    let _machine = util::busy();
    for (cookies, expected) in [("true", Some("session=abc")), ("false", None)] {
        let server = Server::start(Behaviour::Answer {
            extra: "set-cookie: session=abc; Path=/\r\n",
        });
        let (_dir, file) = scenario_file(
            &server.base(),
            &format!(
                r#"
target: @TARGET@
defaults: {{ cookies: {cookies} }}
scenarios:
  - name: s
    steps:
      - request: GET /login
      - request: GET /account
"#
            ),
        );
        let r = pummel(&["run", file.to_str().expect("utf-8"), "--json"]).json_ok();
        let heads = server.heads();
        assert_eq!(heads.len(), 2, "{}", brief(&r));
        assert_eq!(header(&heads[0], "cookie"), None, "{}", heads[0]);
        assert_eq!(
            header(&heads[1], "cookie"),
            expected,
            "cookies: {cookies}\n{}",
            heads[1]
        );
    }
}

/// One iteration runs one of three scenarios: the other two measured nothing, so their latency
/// and rate thresholds fail — nothing proves they hold, and nothing is shown as observed — while
/// the same thresholds on the scenario that ran pass. The run exits 99.
#[test]
fn thresholds_on_a_scope_that_measured_nothing_fail() {
    let _machine = util::busy();
    let target = Target::start();
    let mut text = String::from("target: @TARGET@\nload: { vus: 1, iterations: 1 }\nthresholds:\n");
    for name in ["a", "b", "c"] {
        text.push_str(&format!(
            "  - {{ condition: p95 < 10s, scenario: {name} }}\n"
        ));
        text.push_str(&format!(
            "  - {{ condition: rps < 100000, scenario: {name} }}\n"
        ));
    }
    text.push_str("scenarios:\n");
    for name in ["a", "b", "c"] {
        text.push_str(&format!(
            "  - name: {name}\n    steps:\n      - request: GET /\n"
        ));
    }
    let (_dir, file) = scenario_file(&target.url("/"), &text);
    let out = pummel(&["run", file.to_str().expect("utf-8"), "--json"]).expect_code(99);
    let r = out.json();
    let ran: Vec<&str> = r["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| u(s, "/iterations") > 0)
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(ran.len(), 1, "one iteration ran\n{}", brief(&r));
    let mut wrong = Vec::new();
    for t in r["thresholds"].as_array().expect("thresholds") {
        let measured = t["scope"] == format!("scenario {}", ran[0]).as_str();
        let (passed, observed) = (t["passed"] == true, !t["observed"].is_null());
        if passed != measured || observed != measured {
            wrong.push(format!(
                "{} on {} (measured: {measured}): passed {passed}, observed {}",
                t["condition"], t["scope"], t["observed"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), brief(&r));
    assert_eq!(r["verdict"], "fail", "{}", brief(&r));
}

/// 2,000 WebSockets opened at 1,000 connections a second and held: every one connects, all are
/// open at once, and none is lost (the suite raises `ulimit -n` to 20,000; pummel and the target
/// raise their own soft limit).
#[test]
fn two_thousand_websockets_are_held_at_a_rate() {
    let _machine = util::busy();
    let target = Target::start();
    let url = target.url("/ws/echo").replacen("http://", "ws://", 1);
    let out = Running::spawn(&[
        "bench", "-c", "2000", "-q", "1000", "-z", "3s", "--json", &url,
    ])
    .finish(Duration::from_secs(30));
    let r = out.json_ok();
    let ws = &r["websocket"];
    assert_eq!(u(ws, "/connected"), 2000, "{}", brief(&r));
    assert_eq!(u(ws, "/open_max"), 2000, "{}", brief(&r));
    assert_eq!(errors(&r), vec![], "{}", brief(&r));
    assert!(u(&r, "/responses") >= 2000, "{}", brief(&r));
}
