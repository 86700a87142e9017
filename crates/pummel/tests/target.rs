//! `pummel target`: the built-in test server, as scripts and the other tests use it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::util::{self, brief, f, parse_listening_line, pummel, u, Running, Target};

/// Sends one HTTP/1.1 request on a fresh connection and returns the whole response.
fn raw_request(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the target");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response
}

#[test]
fn the_listening_line_gives_a_usable_address() {
    assert_eq!(
        parse_listening_line("pummel target listening on http://127.0.0.1:8080/"),
        Some(("http://127.0.0.1:8080".to_owned(), 8080))
    );
    let target = Target::start();
    let response = raw_request(target.port(), "/");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let response = raw_request(target.port(), "/status/418");
    assert!(response.starts_with("HTTP/1.1 418"), "{response}");
}

#[test]
fn a_busy_port_is_a_runtime_failure() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = Running::spawn(&["target", "--port", &port])
        .finish(Duration::from_secs(20))
        .expect_code(1);
    assert!(
        out.stderr.contains(&port),
        "the message names the address\n{}",
        out.context()
    );
    drop(taken);
}

#[test]
fn stall_flags_go_together() {
    pummel(&["target", "--port", "0", "--stall-after", "3s"]).expect_usage_error(&["--stall-for"]);
    pummel(&["target", "--port", "0", "--stall-for", "2s"]).expect_usage_error(&["--stall-after"]);
    pummel(&[
        "target",
        "--port",
        "0",
        "--stall-after",
        "soon",
        "--stall-for",
        "2s",
    ])
    .expect_usage_error(&["soon"]);
}

#[test]
fn bytes_endpoint_sends_the_size_asked_for() {
    let _machine = util::busy();
    let target = Target::start();
    for path in ["/bytes/10000", "/bytes/10000?chunked=1"] {
        let r = pummel(&["bench", "-n", "50", "-c", "2", "--json", &target.url(path)]).json_ok();
        util::assert_consistent(&r);
        assert_eq!(u(&r, "/status/200"), 50, "{path}\n{}", brief(&r));
        let received = u(&r, "/bytes_received");
        assert!(
            (50 * 10_000..=50 * 11_000).contains(&received),
            "{path}: {received} bytes for 50 × 10000\n{}",
            brief(&r)
        );
    }
}

/// `/stall/{ms}` freezes the whole server: a bench started right after sees its first requests
/// held until the pause ends.
#[test]
fn stall_endpoint_pauses_the_whole_server() {
    let _machine = util::busy();
    let target = Target::start();
    // Answered at once: the request that starts the pause is the one it does not hold.
    let response = raw_request(target.port(), "/stall/700");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let r = pummel(&["bench", "-n", "20", "-c", "2", "--json", &target.url("/")]).json_ok();
    assert_eq!(u(&r, "/status/200"), 20, "{}", brief(&r));
    let max = f(&r, "/latency_ms/max");
    assert!(
        (300.0..2000.0).contains(&max),
        "the first requests waited for the pause: max {max} ms\n{}",
        brief(&r)
    );
}
