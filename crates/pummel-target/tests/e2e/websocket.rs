//! The `/ws/` endpoints, over real TCP with tokio-tungstenite's client.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{Method, StatusCode};
use http_body_util::Full;
use pummel_target::Target;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use crate::raw::RawClient;
use crate::{bounded, h2_client, start, wait_until};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(target: &Target, path: &str) -> Client {
    let (ws, response) = connect_async(format!("ws://{}{path}", target.local_addr()))
        .await
        .unwrap_or_else(|e| panic!("connect {path}: {e}"));
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws
}

/// The next data or close message, skipping pongs.
async fn next_message<S>(ws: &mut WebSocketStream<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(Message::Pong(_))) => {}
            Some(Ok(message)) => return message,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn text(message: Message) -> String {
    match message {
        Message::Text(text) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_returns_messages_answers_pings_and_honours_close() {
    bounded(async {
        let target = start().await;
        let mut ws = connect(&target, "/ws/echo").await;
        assert_eq!(target.open_websockets(), 1);

        ws.send(Message::text("hello")).await.unwrap();
        assert_eq!(text(next_message(&mut ws).await), "hello");
        ws.send(Message::binary(vec![0u8, 1, 2, 255]))
            .await
            .unwrap();
        assert_eq!(
            next_message(&mut ws).await,
            Message::binary(vec![0u8, 1, 2, 255])
        );
        let big = "x".repeat(200_000);
        ws.send(Message::text(big.clone())).await.unwrap();
        assert_eq!(text(next_message(&mut ws).await), big);

        ws.send(Message::Ping(b"are you there".to_vec().into()))
            .await
            .unwrap();
        match ws.next().await {
            Some(Ok(Message::Pong(payload))) => assert_eq!(&payload[..], b"are you there"),
            other => panic!("expected a pong, got {other:?}"),
        }

        ws.close(None).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => {}
                None | Some(Err(Error::ConnectionClosed)) => break,
                other => panic!("expected the close handshake to finish, got {other:?}"),
            }
        }
        wait_until(|| target.open_websockets() == 0).await;
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_subscriber_including_the_sender() {
    bounded(async {
        let target = start().await;
        let mut a = connect(&target, "/ws/broadcast").await;
        let mut b = connect(&target, "/ws/broadcast").await;

        a.send(Message::text("from a")).await.unwrap();
        assert_eq!(text(next_message(&mut a).await), "from a");
        assert_eq!(text(next_message(&mut b).await), "from a");

        b.send(Message::binary(vec![7u8; 3])).await.unwrap();
        assert_eq!(next_message(&mut a).await, Message::binary(vec![7u8; 3]));
        assert_eq!(next_message(&mut b).await, Message::binary(vec![7u8; 3]));
        assert_eq!(target.websocket_messages_skipped(), 0);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_broadcast_subscribers_skip_messages_and_stay_connected() {
    // 40 MiB: far more than the channel (1024 messages) plus what TCP buffers hold on loopback.
    const FLOOD: usize = 2500;
    bounded(async {
        let target = start().await;
        let (mut sender, mut sender_inbox) = connect(&target, "/ws/broadcast").await.split();
        // The sender reads its own copies as they come.
        let drain =
            tokio::spawn(async move { while let Some(Ok(_)) = sender_inbox.next().await {} });
        // The slow subscriber reads nothing during the flood: its server side blocks once the TCP
        // buffers are full, and its channel position falls behind.
        let mut slow = connect(&target, "/ws/broadcast").await;

        let payload = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
        for _ in 0..FLOOD {
            sender.send(Message::Binary(payload.clone())).await.unwrap();
        }
        sender.send(Message::text("marker")).await.unwrap();

        // Now it reads: the part of the flood it kept, then (past the skipped part) the marker.
        let mut received = 0;
        loop {
            match next_message(&mut slow).await {
                Message::Binary(_) => received += 1,
                message => {
                    assert_eq!(text(message), "marker");
                    break;
                }
            }
        }
        assert!(received < FLOOD, "received all {received}");
        // The sender's own subscription may have skipped some too.
        assert!(target.websocket_messages_skipped() >= (FLOOD - received) as u64);
        assert_eq!(target.open_websockets(), 2, "nobody was disconnected");

        // And it still takes part: its own message reaches it.
        slow.send(Message::text("still here")).await.unwrap();
        assert_eq!(text(next_message(&mut slow).await), "still here");

        drain.abort();
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_pushes_new_apps_and_reviews() {
    bounded(async {
        let target = start().await;
        let mut feed = connect(&target, "/ws/feed").await;
        let mut other = connect(&target, "/ws/feed").await;

        let mut http = RawClient::connect(target.local_addr()).await;
        let basic = format!("Basic {}", STANDARD.encode("demo:demo"));
        let login = http
            .request("POST", "/api/login", &[("Authorization", &basic)], b"")
            .await;
        let bearer = format!("Bearer {}", login.json()["token"].as_str().unwrap());
        let auth = [("Authorization", bearer.as_str())];
        let app = json!({"name": "Feed Me", "category": "music", "description": "d"});
        let created = http
            .request("POST", "/api/apps", &auth, app.to_string().as_bytes())
            .await;
        assert_eq!(created.status, 201);
        let app = created.json();
        let path = format!("/api/apps/{}/reviews", app["id"]);
        let reviewed = http
            .request("POST", &path, &auth, br#"{"rating": 2, "text": "meh"}"#)
            .await;
        assert_eq!(reviewed.status, 201);

        for ws in [&mut feed, &mut other] {
            let event: Value = serde_json::from_str(&text(next_message(ws).await)).unwrap();
            assert_eq!(event, json!({"type": "app", "app": app}));
            let event: Value = serde_json::from_str(&text(next_message(ws).await)).unwrap();
            assert_eq!(event["type"], "review");
            assert_eq!(event["review"], reviewed.json());
            assert_eq!(event["review"]["app_id"], app["id"]);
        }
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_offered_subprotocol_is_selected() {
    bounded(async {
        let target = start().await;
        let url = format!("ws://{}/ws/echo", target.local_addr());
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "chat.v2, chat.v1".parse().unwrap(),
        );
        let (mut ws, response) = connect_async(request).await.expect("connect");
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
        ws.send(Message::text("still echoes")).await.unwrap();
        assert_eq!(text(next_message(&mut ws).await), "still echoes");

        // Without an offer, none is selected.
        let (_ws, response) = connect_async(url.as_str()).await.expect("connect");
        assert!(response.headers().get("sec-websocket-protocol").is_none());
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_endpoint_closes_at_once_with_1011() {
    bounded(async {
        let target = start().await;
        let mut ws = connect(&target, "/ws/close").await;
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Error);
                assert_eq!(u16::from(frame.code), 1011);
                assert_eq!(frame.reason, "going away for a test");
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
        // The client's reply completes the closing handshake and the server lets go.
        assert!(matches!(
            ws.next().await,
            None | Some(Err(Error::ConnectionClosed))
        ));
        wait_until(|| target.open_websockets() == 0).await;
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_endpoint_sends_bytes_that_are_not_frames() {
    bounded(async {
        let target = start().await;
        let mut ws = connect(&target, "/ws/garbage").await;
        match ws.next().await {
            Some(Err(Error::Protocol(_))) => {}
            other => panic!("expected a protocol error, got {other:?}"),
        }
        wait_until(|| target.open_websockets() == 0).await;

        // Seen raw: the 101, then the garbage, then end of stream.
        let mut raw = RawClient::connect(target.local_addr()).await;
        let key = STANDARD.encode([7u8; 16]);
        raw.send(
            "GET",
            "/ws/garbage",
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", &key),
            ],
            b"",
        )
        .await;
        let head = raw.read_response(true).await;
        assert_eq!(head.status, 101);
        let bytes = raw.read_until_closed().await;
        assert_eq!(bytes[0], 0xff, "reserved bits and opcode set");
        assert!(!bytes.is_empty());
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_endpoint_never_answers() {
    bounded(async {
        let target = start().await;
        let mut ws = connect(&target, "/ws/silent").await;
        ws.send(Message::text("anyone?")).await.unwrap();
        ws.send(Message::Ping(b"ping".to_vec().into()))
            .await
            .unwrap();
        // Proving a negative needs a deadline: nothing at all (not even a pong) within it.
        let waited = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
        assert!(waited.is_err(), "silent endpoint sent {waited:?}");
        assert_eq!(target.open_websockets(), 1);
        drop(ws);
        wait_until(|| target.open_websockets() == 0).await;
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_requests_to_ws_paths_are_426() {
    bounded(async {
        let target = start().await;
        let mut client = RawClient::connect(target.local_addr()).await;
        for path in [
            "/ws/echo",
            "/ws/broadcast",
            "/ws/feed",
            "/ws/close",
            "/ws/garbage",
            "/ws/silent",
        ] {
            let response = client.get(path).await;
            assert_eq!(response.status, 426, "{path}");
            assert_eq!(response.header("upgrade"), Some("websocket"));
            assert_eq!(response.header("sec-websocket-version"), Some("13"));
        }
        // A handshake with a bad key or the wrong method.
        let handshake = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "not-a-key"),
        ];
        let response = client.request("GET", "/ws/echo", &handshake, b"").await;
        assert_eq!(response.status, 400);
        let response = client.request("POST", "/ws/echo", &handshake, b"").await;
        assert_eq!(response.status, 405);
        assert_eq!(client.get("/ws/nope").await.status, 404);

        // HTTP/2 cannot upgrade.
        let mut h2 = h2_client(target.local_addr()).await;
        let request = http::Request::builder()
            .method(Method::GET)
            .uri(format!("http://{}/ws/echo", target.local_addr()))
            .body(Full::new(bytes::Bytes::new()))
            .unwrap();
        let response = h2.send_request(request).await.expect("h2 response");
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(target.open_websockets(), 0);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_five_hundred_sockets_at_once() {
    const SOCKETS: usize = 500;
    bounded(async {
        let target = start().await;
        let mut sockets = Vec::with_capacity(SOCKETS);
        for i in 0..SOCKETS {
            let path = if i % 2 == 0 { "/ws/echo" } else { "/ws/silent" };
            sockets.push(connect(&target, path).await);
        }
        // Counted from the 101 on, so no waiting is needed.
        assert_eq!(target.open_websockets(), SOCKETS as u64);

        // They all still work.
        for (i, ws) in sockets.iter_mut().enumerate().step_by(50) {
            ws.send(Message::text(format!("{i}"))).await.unwrap();
            assert_eq!(text(next_message(ws).await), format!("{i}"));
        }

        sockets.truncate(SOCKETS / 2);
        wait_until(|| target.open_websockets() == (SOCKETS / 2) as u64).await;
        sockets.clear();
        wait_until(|| target.open_websockets() == 0).await;
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_websockets_with_1001() {
    bounded(async {
        let target = start().await;
        let mut ws = connect(&target, "/ws/echo").await;
        let mut feed = connect(&target, "/ws/feed").await;
        let silent = connect(&target, "/ws/silent").await;
        let shutdown = tokio::spawn(target.shutdown());
        for ws in [&mut ws, &mut feed] {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
                other => panic!("expected a 1001 close, got {other:?}"),
            }
        }
        shutdown.await.unwrap();
        drop(silent);
    })
    .await;
}
