//! WebSocket: `pummel bench ws://…` and scenario steps against `pummel target`'s echo and its
//! misbehaving peers (a server that closes at once, sends garbage frames, or never answers):
//! each failure is a counted error of a named kind, and the run goes on.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{self, brief, pummel, u, Target};

/// A WebSocket result's counts add up: round trips are requests, replies are
/// responses (without an HTTP status), failures are errors of named kinds.
#[track_caller]
fn assert_adds_up(r: &Value) {
    let errors: u64 = util::errors(r).iter().map(|(_, n)| n).sum();
    assert_eq!(
        u(r, "/requests"),
        u(r, "/responses") + errors,
        "{}",
        brief(r)
    );
    let in_timeline: u64 = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u(p, "/requests"))
        .sum();
    assert_eq!(in_timeline, u(r, "/requests"), "{}", brief(r));
    let ws = &r["websocket"];
    let connect_errors: u64 = ws["connect_errors"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(
        u(ws, "/connects"),
        u(ws, "/connected") + connect_errors,
        "{}",
        brief(r)
    );
}

fn ws_url(target: &Target, path: &str) -> String {
    target.url(path).replacen("http://", "ws://", 1)
}

#[test]
fn echo_bench_counts_round_trips_and_sockets() {
    let _machine = util::busy();
    let target = Target::start();
    let r = pummel(&[
        "bench",
        "-c",
        "8",
        "-n",
        "2000",
        "--json",
        &ws_url(&target, "/ws/echo"),
    ])
    .json_ok();
    assert_adds_up(&r);
    assert_eq!(u(&r, "/requests"), 2000, "{}", brief(&r));
    assert_eq!(
        u(&r, "/responses"),
        2000,
        "every message got its echo\n{}",
        brief(&r)
    );
    let ws = &r["websocket"];
    assert_eq!(u(ws, "/connected"), 8, "{}", brief(&r));
    assert_eq!(u(ws, "/connects"), 8, "{}", brief(&r));
    assert_eq!(u(ws, "/messages_received"), 2000, "{}", brief(&r));
    assert_eq!(
        u(ws, "/open_at_end"),
        8,
        "sockets stay open to the end\n{}",
        brief(&r)
    );
    // The echo carries the default message back: bytes in both directions.
    assert!(u(&r, "/bytes_received") >= 2000 * 10, "{}", brief(&r));
    assert!(u(&r, "/bytes_sent") >= 2000 * 10, "{}", brief(&r));
}

#[test]
fn misbehaving_servers_are_named_errors_and_the_run_goes_on() {
    let _machine = util::busy();
    let target = Target::start();
    for (path, kind) in [
        ("/ws/garbage", "ws_protocol"),
        ("/ws/close", "ws_closed"),
        ("/ws/nope", "ws_handshake"),
    ] {
        let out = pummel(&[
            "bench",
            "-c",
            "2",
            "-n",
            "10",
            "--timeout",
            "2s",
            "--json",
            &ws_url(&target, path),
        ]);
        let r = out.json_ok();
        assert_adds_up(&r);
        assert_eq!(
            u(&r, "/requests"),
            10,
            "{path}: every message accounted for\n{}",
            brief(&r)
        );
        assert_eq!(u(&r, "/responses"), 0, "{path}\n{}", brief(&r));
        assert_eq!(
            u(&r, &format!("/errors/{kind}")),
            10,
            "{path}: all {kind}\n{}",
            brief(&r)
        );
    }
    // A server that never answers: the timeout names it.
    let r = pummel(&[
        "bench",
        "-c",
        "1",
        "-n",
        "2",
        "--timeout",
        "300ms",
        "--json",
        &ws_url(&target, "/ws/silent"),
    ])
    .json_ok();
    assert_eq!(u(&r, "/errors/timeout"), 2, "{}", brief(&r));
    // Nothing listening at all.
    let url = format!("ws://127.0.0.1:{}/", util::closed_port());
    let r = pummel(&["bench", "-c", "1", "-n", "3", "--json", &url]).json_ok();
    assert_eq!(u(&r, "/errors/connect_refused"), 3, "{}", brief(&r));
    assert_eq!(u(&r["websocket"], "/connected"), 0, "{}", brief(&r));
}

#[test]
fn bad_websocket_urls_are_usage_errors() {
    pummel(&["bench", "-n", "1", "ws://"]).expect_usage_error(&["ws://"]);
    pummel(&["bench", "-n", "1", "--http2", "ws://127.0.0.1:1/"]).expect_usage_error(&["--http2"]);
}

fn scenario(dir: &tempfile::TempDir, target: &Target, steps: &str) -> PathBuf {
    let path = dir.path().join("ws.yaml");
    let text = format!(
        "target: {}\nload: {{ vus: 2, iterations: 4 }}\nscenarios:\n  - name: ws\n    steps:\n{steps}",
        target.url("/").trim_end_matches('/')
    );
    std::fs::write(&path, text).expect("write the scenario");
    path
}

#[test]
fn scenario_steps_send_expect_capture_ping_and_close() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = scenario(
        &dir,
        &target,
        r#"      - { name: open, ws_connect: /ws/echo }
      - { name: say, ws_send: { json: { vu: "{{ vu }}", n: "{{ iteration }}" } } }
      - name: echoed
        ws_expect: { jsonpath: { "$.vu": "{{ vu }}" }, timeout: 2s }
        capture: { n: { jsonpath: "$.n" } }
      - { name: again, ws_send: "n was {{ n }}" }
      - name: echoed again
        ws_expect: { body: { contains: "n was" }, timeout: 2s }
      - { name: ping, ws_ping: 2s }
      - { name: bye, ws_close: { code: 1000, reason: done } }
"#,
    );
    let out = pummel(&["run", "--json", file.to_str().unwrap()]);
    let r = out.json_ok();
    assert_eq!(u(&r, "/checks/failed"), 0, "{}", brief(&r));
    assert_eq!(
        u(&r, "/checks/passed"),
        8,
        "one check per expect, 2 expects × 4 iterations\n{}",
        brief(&r)
    );
    let step = |name: &str| {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}\n{}", brief(&r)))
            .clone()
    };
    assert_eq!(u(&step("open"), "/responses"), 4, "{}", brief(&r));
    assert_eq!(step("open")["status"]["101"], 4, "{}", brief(&r));
    assert_eq!(u(&step("echoed"), "/responses"), 4, "{}", brief(&r));
    assert_eq!(u(&step("ping"), "/responses"), 4, "{}", brief(&r));
    assert_eq!(u(&r, "/scenarios/0/aborted"), 0, "{}", brief(&r));
}

#[test]
fn scenario_steps_name_misbehaving_peers_and_abort_the_iteration() {
    let _machine = util::busy();
    let target = Target::start();
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, kind) in [
        ("/ws/garbage", "ws_protocol"),
        ("/ws/close", "ws_closed"),
        ("/ws/silent", "timeout"),
    ] {
        let file = scenario(
            &dir,
            &target,
            &format!(
                "      - {{ name: open, ws_connect: {path} }}\n      - {{ name: wait, ws_expect: {{ body: {{ contains: x }}, timeout: 300ms }} }}\n      - {{ name: after, request: GET /json }}\n"
            ),
        );
        let out = pummel(&["run", "--json", file.to_str().unwrap()]);
        let r = out.json_ok();
        let wait = r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "wait")
            .cloned()
            .expect("wait step");
        assert_eq!(
            u(&wait, &format!("/errors/{kind}")),
            4,
            "{path}\n{}",
            brief(&r)
        );
        assert_eq!(
            u(&r, "/scenarios/0/aborted"),
            4,
            "{path}: iterations stop at the failed step\n{}",
            brief(&r)
        );
        let after = r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "after");
        assert!(
            after.is_none_or(|s| u(s, "/requests") == 0),
            "{path}: nothing after the failure\n{}",
            brief(&r)
        );
    }
}
