//! End-to-end tests of the target server: each test starts its own server on `127.0.0.1:0` and
//! talks to it over real TCP, with the raw HTTP/1.1 client in `raw.rs` or hyper's HTTP/2 client.
//! Every test runs under [`bounded`], so a hang fails the test instead of stalling the suite, and
//! no test uses a sleep to wait for something: they wait on responses or on the request counter.
//!
//! The demo marketplace (`/api`) and the WebSocket endpoints (`/ws`) have their own files.

mod marketplace;
mod raw;
mod websocket;

use std::future::Future;
use std::io::Read as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode, Version};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use pummel_target::{serve_blocking, StallPlan, Target, TargetConfig};
use tokio::net::TcpStream;

use raw::RawClient;

/// Upper bound for any single test.
const BOUND: Duration = Duration::from_secs(30);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(BOUND, test)
        .await
        .expect("test exceeded its time bound")
}

async fn start() -> Target {
    Target::start(TargetConfig::default())
        .await
        .expect("start target")
}

/// Waits (yielding, not sleeping) until `condition` holds; bounded by the caller's [`bounded`].
async fn wait_until(condition: impl Fn() -> bool) {
    while !condition() {
        tokio::task::yield_now().await;
    }
}

/// The `/bytes` pattern, as documented.
fn pattern(len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len).map(|i| ALPHABET[i % ALPHABET.len()]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_returns_small_constant_text_for_any_method() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let response = client.request(method, "/", &[], &[]).await;
            assert_eq!(response.status, 200, "{method}");
            assert_eq!(response.text(), "Hello from pummel target\n");
            assert_eq!(response.header("content-length"), Some("25"));
            assert_eq!(
                response.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            assert!(response.header("date").is_some());
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_returns_fixed_object() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        let response = client.get("/json").await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(
            response.header("content-length"),
            Some(response.body.len().to_string().as_str())
        );
        let json = response.json();
        assert_eq!(json["ok"], true);
        assert_eq!(json["items"], serde_json::json!([1, 2, 3]));
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_returns_headers_and_length_without_body() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;

        let head = client.request("HEAD", "/", &[], &[]).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some("25"));
        assert!(head.body.is_empty());

        let head = client.request("HEAD", "/bytes/1000", &[], &[]).await;
        assert_eq!(head.header("content-length"), Some("1000"));

        let head = client.request("HEAD", "/bytes/104857600", &[], &[]).await;
        assert_eq!(head.header("content-length"), Some("104857600"));

        let head = client
            .request("HEAD", "/bytes/1000?chunked=1", &[], &[])
            .await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), None);

        let head = client.request("HEAD", "/nope", &[], &[]).await;
        assert_eq!(head.status, 404);

        // Had any body byte been sent, this response would be misparsed.
        let get = client.get("/").await;
        assert_eq!(get.text(), "Hello from pummel target\n");
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_and_pipelining_serve_many_requests_on_one_connection() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for i in 0..20 {
            let path = ["/", "/json", "/bytes/10", "/status/201"][i % 4];
            let response = client.get(path).await;
            assert!(response.status == 200 || response.status == 201, "{path}");
        }

        // A request body the endpoint ignores must not desynchronise the connection.
        let ignored = pattern(20_000);
        let response = client.request("POST", "/json", &[], &ignored).await;
        assert_eq!(response.status, 200);
        assert_eq!(client.get("/").await.status, 200);

        // Five requests in one write, five responses back in order.
        let host = target.local_addr().to_string();
        let one = format!("GET /bytes/3 HTTP/1.1\r\nHost: {host}\r\n\r\n");
        client.send_raw(one.repeat(5).as_bytes()).await;
        for _ in 0..5 {
            let response = client.read_response(false).await;
            assert_eq!(response.body, b"ABC");
        }

        assert_eq!(target.requests_served(), 27);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_waits_the_requested_time_plus_bounded_jitter() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;

        let started = Instant::now();
        let response = client.get("/delay/150").await;
        assert_eq!(response.status, 200);
        assert!(started.elapsed() >= Duration::from_millis(150));

        for _ in 0..5 {
            let started = Instant::now();
            let response = client.get("/delay/20?jitter=30").await;
            let took = started.elapsed();
            assert_eq!(response.status, 200);
            assert!(took >= Duration::from_millis(20), "{took:?}");
            assert!(took < Duration::from_secs(2), "{took:?}");
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_numbers_and_out_of_range_values_are_400() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for path in [
            "/delay/abc",
            "/delay/-5",
            "/delay/+5",
            "/delay/",
            "/delay/600001",
            "/delay/599999?jitter=5",
            "/delay/10?jitter=x",
            "/delay/99999999999999999999999999",
            "/status/100",
            "/status/199",
            "/status/600",
            "/status/9999",
            "/status/abc",
            "/status/",
            "/bytes/17179869185",
            "/bytes/18446744073709551616",
            "/bytes/x",
            "/bytes/10?chunked=maybe",
            "/redirect/0",
            "/redirect/abc",
            "/stall/600001",
            "/stall/abc",
            "/cookies/set?=1",
            "/cookies/set?a,b=1",
            "/cookies/set?a=b;c",
        ] {
            let response = client.get(path).await;
            assert_eq!(response.status, 400, "{path}");
            assert!(!response.body.is_empty(), "{path}: 400 without a message");
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_404() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for path in [
            "/nope",
            "/json/",
            "/delay",
            "/delay/1/2",
            "/bytes/1/2",
            "//",
            "/basic-auth/user",
            "/basic-auth/u/p/x",
            "/cookies/set/x",
            "/cookies/other",
            "/stall",
            "/%00",
            "/ws",
            "/ws/nope",
            "/ws/echo/x",
            "/api",
            "/api/nope",
        ] {
            let response = client.get(path).await;
            assert_eq!(response.status, 404, "{path}");
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_do_not_take_the_server_down() {
    bounded(async {
        let target = start().await;
        for garbage in [
            &b"NOT HTTP AT ALL\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
            b"GET /\x01\x02 HTTP/1.1\r\n\r\n",
            b"\x00\x01\x02\x03\r\n\r\n",
        ] {
            let mut client = RawClient::connect(target.local_addr()).await;
            client.send_raw(garbage).await;
            // hyper answers 400 (or just closes); either way the connection ends.
            let reply = client.read_until_closed().await;
            assert!(
                reply.is_empty() || reply.starts_with(b"HTTP/1.1 400 "),
                "{:?}",
                String::from_utf8_lossy(&reply)
            );
        }
        let mut client = RawClient::connect(target.local_addr()).await;
        assert_eq!(client.get("/").await.status, 200);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_returns_the_requested_code() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for code in [200u16, 201, 302, 404, 418, 500, 503, 599] {
            let response = client.get(&format!("/status/{code}")).await;
            assert_eq!(response.status, code);
        }
        assert_eq!(client.get("/status/418").await.text(), "I'm a teapot");
        for code in [204u16, 304] {
            let response = client.get(&format!("/status/{code}")).await;
            assert_eq!(response.status, code);
            assert_eq!(response.header("content-length"), None);
        }
        // The connection is still in sync after the bodiless statuses.
        assert_eq!(client.get("/").await.status, 200);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_sends_the_pattern_with_content_length() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for len in [0usize, 1, 64, 65_537, 300_000] {
            let response = client.get(&format!("/bytes/{len}")).await;
            assert_eq!(response.status, 200);
            assert_eq!(
                response.header("content-length"),
                Some(len.to_string().as_str())
            );
            assert_eq!(response.header("transfer-encoding"), None);
            assert_eq!(response.body, pattern(len), "len {len}");
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_chunked_streams_several_chunks() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for len in [100usize, 100_000] {
            let response = client.get(&format!("/bytes/{len}?chunked=1")).await;
            assert_eq!(response.status, 200);
            assert_eq!(response.header("transfer-encoding"), Some("chunked"));
            assert_eq!(response.header("content-length"), None);
            assert!(response.chunks >= 4, "{} chunks", response.chunks);
            assert_eq!(response.body, pattern(len));
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_returns_the_body_with_its_content_type() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;

        let response = client
            .request(
                "POST",
                "/echo",
                &[("Content-Type", "text/csv")],
                b"a,b\n1,2\n",
            )
            .await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/csv"));
        assert_eq!(response.header("content-length"), Some("8"));
        assert_eq!(response.body, b"a,b\n1,2\n");

        let big = pattern(200_000);
        let response = client.request("PUT", "/echo", &[], &big).await;
        assert_eq!(
            response.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(response.body, big);

        // A chunked upload comes back chunked.
        client
            .send_raw(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            )
            .await;
        let response = client.read_response(false).await;
        assert_eq!(response.header("transfer-encoding"), Some("chunked"));
        assert_eq!(response.text(), "hello world");

        let response = client.get("/echo").await;
        assert_eq!(response.status, 200);
        assert!(response.body.is_empty());
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_lists_the_request_headers_as_json() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        let response = client
            .request(
                "GET",
                "/headers",
                &[("X-Test", "one"), ("X-Multi", "a"), ("X-Multi", "b")],
                &[],
            )
            .await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let headers = &response.json()["headers"];
        assert_eq!(headers["x-test"], "one");
        assert_eq!(headers["x-multi"], "a, b");
        assert_eq!(headers["host"], target.local_addr().to_string());
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_chain_takes_n_hops_to_root() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        let mut path = "/redirect/3".to_owned();
        let mut hops = 0;
        while path != "/" {
            let response = client.get(&path).await;
            assert_eq!(response.status, 302, "{path}");
            path = response.header("location").expect("location").to_owned();
            hops += 1;
        }
        assert_eq!(hops, 3);
        assert_eq!(client.get(&path).await.status, 200);

        let response = client.get("/redirect/18446744073709551615").await;
        assert_eq!(
            response.header("location"),
            Some("/redirect/18446744073709551614")
        );
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_set_then_reported() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        let response = client.get("/cookies/set?session=abc123&theme=dark").await;
        assert_eq!(response.status, 302);
        assert_eq!(response.header("location"), Some("/cookies"));
        assert_eq!(
            response.header_all("set-cookie"),
            ["session=abc123; Path=/", "theme=dark; Path=/"]
        );

        let response = client
            .request(
                "GET",
                "/cookies",
                &[("Cookie", "session=abc123; theme=dark")],
                &[],
            )
            .await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.json(),
            serde_json::json!({"cookies": {"session": "abc123", "theme": "dark"}})
        );

        let response = client.get("/cookies").await;
        assert_eq!(response.json(), serde_json::json!({"cookies": {}}));
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_accepts_matching_credentials_only() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;

        // base64("alice:s3cret") = YWxpY2U6czNjcmV0
        let response = client
            .request(
                "GET",
                "/basic-auth/alice/s3cret",
                &[("Authorization", "Basic YWxpY2U6czNjcmV0")],
                &[],
            )
            .await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.json(),
            serde_json::json!({"authenticated": true, "user": "alice"})
        );

        for authorization in [
            Some("Basic YWxpY2U6d3Jvbmc="), // alice:wrong
            Some("Bearer YWxpY2U6czNjcmV0"),
            Some("Basic !!!"),
            None,
        ] {
            let headers: Vec<_> = authorization
                .map(|a| ("Authorization", a))
                .into_iter()
                .collect();
            let response = client
                .request("GET", "/basic-auth/alice/s3cret", &headers, &[])
                .await;
            assert_eq!(response.status, 401, "{authorization:?}");
            assert!(response
                .header("www-authenticate")
                .is_some_and(|v| v.starts_with("Basic ")));
            assert_eq!(response.json()["authenticated"], false);
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_body_decodes_to_json() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        let response = client.get("/gzip").await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("content-type"), Some("application/json"));
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&response.body[..])
            .read_to_string(&mut decoded)
            .expect("valid gzip");
        let json: serde_json::Value = serde_json::from_str(&decoded).expect("JSON inside");
        assert_eq!(json["gzipped"], true);
        target.shutdown().await;
    })
    .await;
}

/// An HTTP/2 connection with prior knowledge (h2c), as `pummel bench --http2` opens.
async fn h2_client(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    sender
}

fn h2_request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: &'static [u8],
) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::from_static(body)))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_is_served_on_the_same_port() {
    bounded(async {
        let target = start().await;
        let addr = target.local_addr();
        let mut sender = h2_client(addr).await;

        let response = sender
            .send_request(h2_request(addr, Method::GET, "/", b""))
            .await
            .expect("response");
        assert_eq!(response.version(), Version::HTTP_2);
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"Hello from pummel target\n");

        let response = sender
            .send_request(h2_request(addr, Method::HEAD, "/bytes/1000", b""))
            .await
            .expect("response");
        assert_eq!(response.headers()["content-length"], "1000");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());

        let response = sender
            .send_request(h2_request(
                addr,
                Method::GET,
                "/bytes/200000?chunked=1",
                b"",
            ))
            .await
            .expect("response");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], &pattern(200_000)[..]);

        let response = sender
            .send_request(h2_request(addr, Method::POST, "/echo", b"over h2"))
            .await
            .expect("response");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"over h2");

        // Concurrent streams on the one connection: ten 200 ms delays overlap.
        let started = Instant::now();
        let mut streams = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let mut sender = sender.clone();
            streams.spawn(async move {
                let response = sender
                    .send_request(h2_request(addr, Method::GET, "/delay/200", b""))
                    .await
                    .expect("response");
                response.status()
            });
        }
        while let Some(status) = streams.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
        assert!(started.elapsed() < Duration::from_millis(1500));
        assert_eq!(target.requests_served(), 14);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_holds_in_flight_and_new_requests_until_it_ends() {
    bounded(async {
        let target = start().await;
        let addr = target.local_addr();
        let mut in_flight = RawClient::connect(addr).await;
        let mut staller = RawClient::connect(addr).await;
        let mut newcomer = RawClient::connect(addr).await;

        // A request already being handled when the stall starts...
        in_flight.send("GET", "/delay/200", &[], &[]).await;
        wait_until(|| target.requests_served() >= 1).await;

        let started = Instant::now();
        let response = staller.get("/stall/400").await;
        assert_eq!(response.status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(400),
            "the /stall request itself is not held"
        );

        // ...and one arriving during it both wait for its end.
        let response = newcomer.get("/").await;
        assert_eq!(response.status, 200);
        let newcomer_done = started.elapsed();
        let response = in_flight.read_response(false).await;
        assert_eq!(response.status, 200);
        let in_flight_done = started.elapsed();

        assert!(
            newcomer_done >= Duration::from_millis(400),
            "{newcomer_done:?}"
        );
        assert!(
            in_flight_done >= Duration::from_millis(400),
            "{in_flight_done:?}"
        );
        assert!(newcomer_done < Duration::from_secs(5), "{newcomer_done:?}");

        // Once over, requests are fast again.
        let again = Instant::now();
        assert_eq!(newcomer.get("/").await.status, 200);
        assert!(again.elapsed() < Duration::from_millis(200));
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_plan_pauses_the_server_after_the_first_request() {
    bounded(async {
        let plan = StallPlan {
            after: Duration::from_millis(200),
            duration: Duration::from_millis(300),
        };
        let target = Target::start(TargetConfig {
            stall: Some(plan),
            ..TargetConfig::default()
        })
        .await
        .expect("start");
        let mut client = RawClient::connect(target.local_addr()).await;

        let started = Instant::now();
        assert_eq!(client.get("/").await.status, 200);

        // Back-to-back requests until one is held by the stall.
        let held_until = loop {
            let sent = Instant::now();
            assert_eq!(client.get("/").await.status, 200);
            if sent.elapsed() >= Duration::from_millis(150) {
                break started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the planned stall never happened"
            );
        };
        // The pause started `after` the first request and lasted `duration`.
        assert!(held_until >= plan.after + plan.duration, "{held_until:?}");

        let again = Instant::now();
        assert_eq!(client.get("/").await.status, 200);
        assert!(again.elapsed() < Duration::from_millis(150));
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests_then_closes() {
    bounded(async {
        let target = start().await;
        let addr = target.local_addr();

        let mut idle = RawClient::connect(addr).await;
        assert_eq!(idle.get("/").await.status, 200);
        let mut busy = RawClient::connect(addr).await;
        busy.send("GET", "/delay/300", &[], &[]).await;
        wait_until(|| target.requests_served() >= 2).await;

        let started = Instant::now();
        let shutdown = tokio::spawn(target.shutdown());

        let response = busy.read_response(false).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), "delayed\n");
        shutdown.await.expect("shutdown task");
        assert!(started.elapsed() < Duration::from_secs(4));

        assert!(
            idle.is_closed_by_server().await,
            "idle keep-alive connection closed"
        );
        assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_target_stops_the_server() {
    bounded(async {
        let target = start().await;
        let addr = target.local_addr();
        drop(target);
        while TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_blocking_refuses_to_run_inside_a_runtime() {
    let result = serve_blocking(TargetConfig::default(), |_| {
        panic!("must not start");
    });
    assert!(result.is_err());
}
