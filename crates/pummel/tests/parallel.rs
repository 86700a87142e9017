//! `parallel:` batches and `http2:` in scenario files, end to end: the real binary against a
//! `pummel target` in this process (its own counts of requests and of `/delay` requests held at
//! once) behind a relay that counts connections, and against nginx (HTTP/2 over TLS by ALPN, and
//! h2c with prior knowledge).
//!
//! A batch is judged from both sides: its latency in the result (about one request's, not the
//! sum), the target holding the requests at the same time, and the connections it took — as many
//! as `connections` allows, reused across iterations, and one for HTTP/2, its requests streams.

use std::path::Path;

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::scenarios::nginx::Nginx;
use crate::servers::CountingRelay;
use crate::util::{self, brief, f, pummel, u};

/// Writes `text` (with `@TARGET@` standing for `base`) into `dir/name`.
fn write(dir: &Path, name: &str, base: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text.replace("@TARGET@", base)).expect("write scenario file");
    path.to_str().expect("utf-8 path").to_owned()
}

#[track_caller]
fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no step {name:?} in\n{}", brief(v)))
}

#[track_caller]
fn group<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["groups"]
        .as_array()
        .and_then(|a| a.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("no group {name:?} in\n{}", v["groups"]))
}

/// A page and its four assets of 300 ms each, three times over; the step after the batch reads
/// what the batch captured.
const PAGE: &str = r#"
target: @TARGET@
load: { vus: 1, iterations: 3 }
scenarios:
  - name: page
    steps:
      - name: assets
        connections: @CONNECTIONS@
        parallel:
          - name: a1
            request: GET /delay/300?a=1
            check: { status: 200 }
          - name: a2
            request: GET /delay/300?a=2
            check: { status: 200 }
          - name: a3
            request: GET /delay/300?a=3
            check: { status: 200 }
          - name: a4
            request: { url: /headers, headers: { X-Asset: four } }
            check: { status: 200 }
            capture:
              asset: { jsonpath: "$.headers['x-asset']" }
      - name: after
        request: { url: /headers, headers: { X-Seen: "{{ asset }}" } }
        check:
          jsonpath: { "$.headers['x-seen']": four }
"#;

#[test]
fn a_batch_overlaps_its_requests_within_its_connections() {
    let _machine = util::busy();
    let dir = tempfile::tempdir().expect("tempdir");

    // Six connections allowed: the four requests at once, on four connections kept for the next
    // iterations; the batch lasts one 300 ms request, not three.
    let target = CountingTarget::start();
    let relay = CountingRelay::start(target.addr());
    let file = write(
        dir.path(),
        "page.yaml",
        &relay.base(),
        &PAGE.replace("@CONNECTIONS@", "6"),
    );
    let v = pummel(&["run", &file, "--json"]).json_ok();
    assert_eq!(u(&v, "/checks/failed"), 0, "{}", brief(&v));
    for name in ["a1", "a2", "a3", "a4", "after"] {
        assert_eq!(u(step(&v, name), "/requests"), 3, "{name}\n{}", brief(&v));
    }
    assert_eq!(target.served(), 15, "the target's own count");
    assert_eq!(u(&v, "/requests"), 15);
    assert!(
        target.peak_delayed() >= 3,
        "the target held the batch's /delay requests at once: peak {}",
        target.peak_delayed()
    );
    let assets = group(&v, "assets");
    assert_eq!(
        (u(assets, "/steps"), u(assets, "/requests")),
        (4, 12),
        "{assets}"
    );
    assert_eq!(u(assets, "/batch/batches"), 3, "{assets}");
    let slowest = f(assets, "/batch/latency_ms/max");
    assert!(
        (300.0..600.0).contains(&slowest),
        "a batch lasts its slowest request (300 ms), not the sum: {slowest} ms\n{assets}"
    );
    assert_eq!(
        relay.connections(),
        4,
        "one connection per request of the batch, reused by every iteration (and the step after)"
    );

    // Two connections: the three delayed requests wait for a free one; the batch takes two
    // rounds, and two connections in all.
    let target = CountingTarget::start();
    let relay = CountingRelay::start(target.addr());
    let file = write(
        dir.path(),
        "two.yaml",
        &relay.base(),
        &PAGE.replace("@CONNECTIONS@", "2"),
    );
    let v = pummel(&["run", &file, "--json"]).json_ok();
    assert_eq!(u(&v, "/checks/failed"), 0, "{}", brief(&v));
    assert_eq!(target.served(), 15);
    assert_eq!(
        target.peak_delayed(),
        2,
        "never more than `connections` at once"
    );
    let fastest = f(group(&v, "assets"), "/batch/latency_ms/min");
    assert!(fastest >= 600.0, "two rounds of 300 ms: {fastest} ms");
    assert_eq!(relay.connections(), 2);
}

const FAILING: &str = r#"
target: @TARGET@
load: { vus: 1, iterations: 2 }
scenarios:
  - name: s
    steps:
      - name: batch
        parallel:
          - name: slow
            request: GET /delay/200
            check: { status: 200 }
          - name: refused
            request: GET @CLOSED@/x
            @ON_ERROR@
          - name: missing
            request: GET /json
            capture:
              nothing: { header: x-not-there }
      - name: after
        request: GET /json
"#;

#[test]
fn a_failure_in_a_batch_cancels_no_other_request_and_on_error_decides_what_follows() {
    let _machine = util::busy();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = CountingTarget::start();
    let closed = format!("http://127.0.0.1:{}", util::closed_port());
    let failing = FAILING.replace("@CLOSED@", &closed);

    // By default a failure ends the iteration, once the batch ended: every request of the batch
    // was sent and counted, the step after was not.
    let file = write(
        dir.path(),
        "fail.yaml",
        &target.base(),
        &failing.replace("@ON_ERROR@", ""),
    );
    let v = pummel(&["run", &file, "--json"]).json_ok();
    assert_eq!(u(step(&v, "slow"), "/requests"), 2, "{}", brief(&v));
    assert_eq!(u(step(&v, "slow"), "/checks/0/passed"), 2);
    assert_eq!(u(step(&v, "refused"), "/errors/connect_refused"), 2);
    assert_eq!(u(step(&v, "missing"), "/requests"), 2);
    assert!(
        v["steps"].as_array().is_some_and(|s| s
            .iter()
            .all(|s| s["name"] != "after" || u(s, "/requests") == 0)),
        "the iteration ended after the batch\n{}",
        brief(&v)
    );
    assert_eq!(u(&v, "/iteration_counts/failed"), 2, "{}", brief(&v));
    assert_eq!(target.served(), 4);

    // `on_error: continue` on both failing requests (the batch's own for one, the request's for
    // the other): the iteration goes on.
    let file = write(
        dir.path(),
        "continue.yaml",
        &target.base(),
        &failing.replace("@ON_ERROR@", "on_error: continue").replace(
            "      - name: batch\n",
            "      - name: batch\n        on_error: continue\n",
        ),
    );
    let v = pummel(&["run", &file, "--json"]).json_ok();
    assert_eq!(u(step(&v, "after"), "/requests"), 2, "{}", brief(&v));
    assert_eq!(u(&v, "/iteration_counts/completed"), 2, "{}", brief(&v));
    assert_eq!(u(step(&v, "refused"), "/errors/connect_refused"), 2);
}

/// HTTP/2 by default, one request in HTTP/1.1; a batch of HTTP/2 requests in flight at once.
const HTTP2: &str = r#"
target: @TARGET@
load: { vus: 1, iterations: 3 }
defaults:
  http2: true
scenarios:
  - name: s
    steps:
      - name: version
        request: @VERSION@
        check: { body: "HTTP/2.0" }
      - name: batch
        connections: 1
        parallel:
          - name: b1
            request: GET @SLOW@
          - name: b2
            request: GET @SLOW@
          - name: b3
            request: GET @SLOW@
          - name: b4
            request: GET @SLOW@
      - name: old
        request:
          method: GET
          url: @VERSION_URL@
          http2: false
        check: { body: "HTTP/1.1" }
"#;

fn http2_file(dir: &Path, name: &str, base: &str, version: &str, slow: &str) -> String {
    write(
        dir,
        name,
        base,
        &HTTP2
            .replace("@VERSION@", &format!("GET {version}"))
            .replace("@VERSION_URL@", version)
            .replace("@SLOW@", slow),
    )
}

#[test]
fn http2_in_scenarios_over_tls_and_h2c_multiplexes_one_connection_per_origin() {
    let _machine = util::busy();
    let dir = tempfile::tempdir().expect("tempdir");

    // pummel target speaks h2c with prior knowledge on its HTTP/1.1 port: `/headers` says which
    // version it received. The batch's four streams share one connection (`connections: 1`
    // limits HTTP/1.1 connections, not streams) and are held by the target at once.
    let target = CountingTarget::start();
    let relay = CountingRelay::start(target.addr());
    let file = http2_file(
        dir.path(),
        "h2c.yaml",
        &relay.base(),
        "/headers",
        "/delay/300",
    );
    let v = pummel(&["run", &file, "--json"]).json_ok();
    assert_eq!(
        (u(&v, "/checks/passed"), u(&v, "/checks/failed")),
        (6, 0),
        "{}",
        brief(&v)
    );
    assert_eq!(u(&v, "/requests"), 18);
    assert_eq!(target.served(), 18);
    assert!(target.peak_delayed() >= 4, "peak {}", target.peak_delayed());
    assert!(
        f(group(&v, "batch"), "/batch/latency_ms/max") < 600.0,
        "four streams at once\n{}",
        group(&v, "batch")
    );
    assert_eq!(
        relay.connections(),
        2,
        "one HTTP/2 connection for every HTTP/2 request, one HTTP/1.1 connection"
    );

    // nginx, h2c with prior knowledge: `$server_protocol` echoed.
    let echo = "    location /proto { return 200 \"$server_protocol\\n\"; }\n    location /slow { return 200 \"slow\\n\"; }\n";
    let Some(h2c) = Nginx::start_or_skip(&format!("@H2C@\n{echo}"), &[], &[]) else {
        return;
    };
    // nginx serves h2c only on that port: the HTTP/1.1 request goes to another nginx.
    let Some(h1) = Nginx::start_or_skip(echo, &[], &[]) else {
        return;
    };
    let port = |base: &str| {
        base.rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .expect("port")
    };
    let relay = CountingRelay::start(([127, 0, 0, 1], port(h2c.base())).into());
    let file = http2_file(
        dir.path(),
        "nginx-h2c.yaml",
        &relay.base(),
        "/proto",
        "/slow",
    );
    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replace("url: /proto", &format!("url: {}/proto", h1.base()));
    std::fs::write(&file, text).expect("write");
    let v = pummel(&["run", &file, "--json"]).json_ok();
    assert_eq!(
        (u(&v, "/checks/passed"), u(&v, "/checks/failed")),
        (6, 0),
        "{}\n{}",
        brief(&v),
        h2c.log()
    );
    assert_eq!(
        relay.connections(),
        1,
        "every HTTP/2 request on one connection"
    );

    // nginx over TLS: HTTP/2 agreed by ALPN, HTTP/1.1 when a request says `http2: false`.
    let Some((cert, key)) = crate::tls::self_signed(dir.path()) else {
        return;
    };
    let tls = format!(
        "    ssl_certificate @DIR@/cert.pem;\n    ssl_certificate_key @DIR@/key.pem;\n{echo}"
    );
    let Some(nginx) = Nginx::start_or_skip(&tls, &[], &[("cert.pem", &cert), ("key.pem", &key)])
    else {
        return;
    };
    let relay = CountingRelay::start(([127, 0, 0, 1], port(nginx.base())).into());
    let base = relay.base().replacen("http://", "https://", 1);
    let file = http2_file(dir.path(), "nginx-tls.yaml", &base, "/proto", "/slow");
    let v = pummel(&["run", "-k", &file, "--json"]).json_ok();
    assert_eq!(
        (u(&v, "/checks/passed"), u(&v, "/checks/failed")),
        (6, 0),
        "{}\n{}",
        brief(&v),
        nginx.log()
    );
    assert_eq!(
        relay.connections(),
        2,
        "one HTTP/2 connection (ALPN h2), one HTTP/1.1 connection"
    );
}
