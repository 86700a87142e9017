//! The demo marketplace under `/api`, over real TCP with the raw client.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::raw::{RawClient, RawResponse};
use crate::{bounded, start};

/// A keep-alive connection speaking JSON, with an optional credential header for every call.
struct Api {
    client: RawClient,
}

impl Api {
    async fn connect(target: &pummel_target::Target) -> Api {
        Api {
            client: RawClient::connect(target.local_addr()).await,
        }
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        auth: &[(&str, &str)],
        body: Option<Value>,
    ) -> RawResponse {
        let mut headers = auth.to_vec();
        let bytes = match body {
            Some(body) => {
                headers.push(("Content-Type", "application/json"));
                serde_json::to_vec(&body).unwrap()
            }
            None => Vec::new(),
        };
        self.client.request(method, path, &headers, &bytes).await
    }

    async fn get(&mut self, path: &str) -> RawResponse {
        self.call("GET", path, &[], None).await
    }

    async fn register(&mut self, username: &str, password: &str) -> RawResponse {
        let body = json!({"username": username, "password": password});
        self.call("POST", "/api/register", &[], Some(body)).await
    }

    /// Logs in with Basic auth; returns the response.
    async fn login(&mut self, username: &str, password: &str) -> RawResponse {
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{username}:{password}"))
        );
        self.call("POST", "/api/login", &[("Authorization", &basic)], None)
            .await
    }
}

/// Asserts a JSON error response with a message.
fn assert_error(response: &RawResponse, status: u16, context: &str) {
    assert_eq!(response.status, status, "{context}: {}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{context}"
    );
    let json = response.json();
    assert!(
        json["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{context}: {json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_apps_are_there_from_the_first_request() {
    bounded(async {
        let target = start().await;
        let mut api = Api::connect(&target).await;
        let list = api.get("/api/apps").await;
        assert_eq!(list.status, 200);
        let json = list.json();
        assert_eq!(json["total"], 5);
        let categories: Vec<&str> = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|app| app["category"].as_str().unwrap())
            .collect();
        assert_eq!(categories, ["games", "games", "tools", "tools", "music"]);
        let stats = api.get("/api/stats").await.json();
        assert_eq!(
            stats,
            json!({"users": 1, "apps": 5, "reviews": 3, "sessions": 0})
        );
        // The seeded user can log in.
        assert_eq!(api.login("demo", "demo").await.status, 200);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one user journey told in order: each step uses the sessions and ids earlier steps \
              created, and split into helpers the story would be lost in the state passed between them"
)]
async fn full_marketplace_journey() {
    bounded(async {
        let target = start().await;
        let mut api = Api::connect(&target).await;

        // Register; the name is then taken.
        let alice = api.register("alice", "s3cret").await;
        assert_eq!(alice.status, 201, "{}", alice.text());
        assert_eq!(alice.json(), json!({"id": 2, "username": "alice"}));
        assert_error(&api.register("alice", "other").await, 409, "taken");

        // Log in by Basic auth: a token and the same token as an HttpOnly cookie.
        assert_error(&api.login("alice", "wrong").await, 401, "wrong password");
        assert!(api
            .login("alice", "wrong")
            .await
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic")));
        assert_error(&api.login("nobody", "s3cret").await, 401, "unknown user");
        let login = api.login("alice", "s3cret").await;
        assert_eq!(login.status, 200);
        let token = login.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 32);
        assert_eq!(
            login.header("set-cookie"),
            Some(format!("session={token}; Path=/; HttpOnly").as_str())
        );
        let cookie = format!("session={token}");
        let alice_session = [("Cookie", cookie.as_str())];

        let me = api.call("GET", "/api/me", &alice_session, None).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.json(), json!({"id": 2, "username": "alice"}));
        assert_error(&api.get("/api/me").await, 401, "me without session");

        // Submit an app.
        let new_app =
            json!({"name": "Rocket Notes", "category": "tools", "description": "Notes at ROCKET speed"});
        assert_error(
            &api.call("POST", "/api/apps", &[], Some(new_app.clone())).await,
            401,
            "create without session",
        );
        let created = api
            .call("POST", "/api/apps", &alice_session, Some(new_app))
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        let app = created.json();
        let id = app["id"].as_u64().unwrap();
        assert_eq!(id, 6, "ids are sequential after the 5 seeded apps");
        assert_eq!(created.header("location"), Some("/api/apps/6"));
        assert_eq!(app["name"], "Rocket Notes");
        assert_eq!(app["category"], "tools");
        assert_eq!(app["description"], "Notes at ROCKET speed");
        assert_eq!(app["owner"], "alice");
        assert_eq!(app["rating"], Value::Null);
        assert_eq!(app["reviews"], 0);
        let created_at = app["created_at"].as_str().unwrap();
        assert!(
            created_at.len() == 20 && created_at.ends_with('Z') && created_at.as_bytes()[10] == b'T',
            "{created_at}"
        );
        for (bad, why) in [
            (json!({"category": "tools"}), "missing name"),
            (json!({"name": "  ", "category": "tools"}), "blank name"),
            (json!({"name": "x", "category": 5}), "category not a string"),
            (json!({"name": "x".repeat(101), "category": "tools"}), "name too long"),
            (json!([1, 2]), "not an object"),
        ] {
            let response = api.call("POST", "/api/apps", &alice_session, Some(bad)).await;
            assert_error(&response, 400, why);
        }

        // Search finds it, by text (case-insensitive, URL-encoded) and by category.
        let found = api.get("/api/apps?q=rocket").await.json();
        assert_eq!(found["total"], 1);
        assert_eq!(found["items"][0]["id"], id);
        let found = api.get("/api/apps?q=rocket+SPEED").await.json();
        assert_eq!(found["total"], 1);
        let found = api.get("/api/apps?q=notes%20at").await.json();
        assert_eq!(found["total"], 1);
        let tools = api.get("/api/apps?category=tools").await.json();
        assert_eq!(tools["total"], 3);
        let page = api.get("/api/apps?limit=2&offset=4").await.json();
        assert_eq!(page["total"], 6);
        let ids: Vec<u64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [5, 6]);
        assert_eq!(api.get("/api/apps?q=nothing-like-this").await.json()["total"], 0);
        assert_error(&api.get("/api/apps?limit=x").await, 400, "bad limit");

        // Read it back; unknown and malformed ids.
        let fetched = api.get(&format!("/api/apps/{id}")).await;
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.json(), app);
        assert_error(&api.get("/api/apps/999").await, 404, "unknown app");
        assert_error(&api.get("/api/apps/0").await, 404, "app 0");
        assert_error(&api.get("/api/apps/abc").await, 400, "bad id");
        assert_error(
            &api.get("/api/apps/99999999999999999999999").await,
            400,
            "overflowing id",
        );

        // Bob registers and reviews with a bearer token.
        assert_eq!(api.register("bob", "hunter2").await.status, 201);
        let bob_token = api.login("bob", "hunter2").await.json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let bearer = format!("Bearer {bob_token}");
        let bob_session = [("Authorization", bearer.as_str())];
        assert_eq!(
            api.call("GET", "/api/me", &bob_session, None).await.json()["username"],
            "bob"
        );
        let reviews_path = format!("/api/apps/{id}/reviews");
        let review = api
            .call(
                "POST",
                &reviews_path,
                &bob_session,
                Some(json!({"rating": 4, "text": "Fast indeed"})),
            )
            .await;
        assert_eq!(review.status, 201, "{}", review.text());
        let review = review.json();
        assert_eq!(review["app_id"], id);
        assert_eq!(review["author"], "bob");
        assert_eq!(review["rating"], 4);
        assert_eq!(review["text"], "Fast indeed");
        assert!(review["id"].as_u64().is_some());
        assert!(review["created_at"].as_str().is_some());
        for (bad, why) in [
            (json!({"rating": 6}), "rating 6"),
            (json!({"rating": 0}), "rating 0"),
            (json!({"rating": -1}), "rating -1"),
            (json!({"rating": 3.5}), "fractional rating"),
            (json!({"rating": "5"}), "rating as a string"),
            (json!({"rating": 1e300}), "huge rating"),
            (json!({"text": "no rating"}), "missing rating"),
        ] {
            let response = api.call("POST", &reviews_path, &bob_session, Some(bad)).await;
            assert_error(&response, 400, why);
        }
        assert_error(
            &api.call("POST", "/api/apps/999/reviews", &bob_session, Some(json!({"rating": 3})))
                .await,
            404,
            "review of an unknown app",
        );
        assert_error(
            &api.call("POST", &reviews_path, &[], Some(json!({"rating": 3}))).await,
            401,
            "review without session",
        );
        let second = api
            .call("POST", &reviews_path, &alice_session, Some(json!({"rating": 5})))
            .await;
        assert_eq!(second.status, 201);
        assert_eq!(second.json()["text"], "");

        // The app's rating and count follow.
        let rated = api.get(&format!("/api/apps/{id}")).await.json();
        assert_eq!(rated["rating"], 4.5);
        assert_eq!(rated["reviews"], 2);

        let reviews = api.get(&reviews_path).await;
        assert_eq!(reviews.status, 200);
        let reviews = reviews.json();
        assert_eq!(reviews["total"], 2);
        let authors: Vec<&str> = reviews["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["author"].as_str().unwrap())
            .collect();
        assert_eq!(authors, ["bob", "alice"]);
        assert_eq!(api.get(&format!("{reviews_path}?limit=1&offset=1")).await.json()["items"][0]["author"], "alice");
        assert_error(&api.get("/api/apps/999/reviews").await, 404, "reviews of unknown app");

        // Only the owner may delete.
        let app_path = format!("/api/apps/{id}");
        assert_error(&api.call("DELETE", &app_path, &bob_session, None).await, 403, "not owner");
        assert_error(&api.call("DELETE", &app_path, &[], None).await, 401, "delete without session");
        let deleted = api.call("DELETE", &app_path, &alice_session, None).await;
        assert_eq!(deleted.status, 204);
        assert!(deleted.body.is_empty());
        assert_error(&api.get(&app_path).await, 404, "deleted app");
        assert_error(&api.call("DELETE", &app_path, &alice_session, None).await, 404, "deleted twice");

        // Logging out ends the session (the cookie is cleared too).
        let logout = api.call("POST", "/api/logout", &alice_session, None).await;
        assert_eq!(logout.status, 204);
        assert!(logout.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
        assert_error(&api.call("GET", "/api/me", &alice_session, None).await, 401, "after logout");
        assert_error(&api.call("POST", "/api/logout", &alice_session, None).await, 401, "logout twice");

        let stats = api.get("/api/stats").await.json();
        assert_eq!(
            stats,
            json!({"users": 3, "apps": 5, "reviews": 3, "sessions": 1})
        );
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_also_takes_json_credentials() {
    bounded(async {
        let target = start().await;
        let mut api = Api::connect(&target).await;
        let body = json!({"username": "demo", "password": "demo"});
        let login = api.call("POST", "/api/login", &[], Some(body)).await;
        assert_eq!(login.status, 200);
        assert!(login.header("set-cookie").is_some());
        let body = json!({"username": "demo", "password": "nope"});
        assert_error(
            &api.call("POST", "/api/login", &[], Some(body)).await,
            401,
            "bad JSON login",
        );
        assert_error(
            &api.call("POST", "/api/login", &[], None).await,
            401,
            "no credentials",
        );
        assert_error(
            &api.call(
                "POST",
                "/api/login",
                &[("Authorization", "Basic !!!")],
                None,
            )
            .await,
            401,
            "malformed basic",
        );
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_and_the_server_survives() {
    bounded(async {
        let target = start().await;
        let mut api = Api::connect(&target).await;
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for (method, path, body, status) in [
            ("POST", "/api/register", &b"{not json"[..], 400),
            ("POST", "/api/register", b"", 400),
            ("POST", "/api/register", b"{\"username\": \"x\"}", 400),
            (
                "POST",
                "/api/register",
                b"{\"username\": 1, \"password\": \"p\"}",
                400,
            ),
            (
                "POST",
                "/api/register",
                b"{\"username\": \"\", \"password\": \"p\"}",
                400,
            ),
            (
                "POST",
                "/api/register",
                b"{\"username\": \"a:b\", \"password\": \"p\"}",
                400,
            ),
            (
                "POST",
                "/api/register",
                b"{\"username\": \"x\", \"password\": \"\"}",
                400,
            ),
            ("POST", "/api/register", b"\xff\xfe\x00garbage", 400),
            ("POST", "/api/register", deep.as_bytes(), 400),
            ("PUT", "/api/apps", b"", 405),
            ("GET", "/api/register", b"", 405),
            ("DELETE", "/api/apps/1/reviews", b"", 405),
            ("POST", "/api/apps/1", b"", 405),
            ("GET", "/api/apps/1/reviews/2", b"", 404),
            ("GET", "/api/apps/", b"", 400),
            ("GET", "/api/", b"", 404),
            ("GET", "/api/apps?q=%zz", b"", 400),
            ("GET", "/api/apps/1/reviews?offset=-3", b"", 400),
        ] {
            let response = api.client.request(method, path, &[], body).await;
            assert_error(&response, status, &format!("{method} {path}"));
        }
        let not_allowed = api.client.request("PUT", "/api/apps", &[], b"").await;
        assert_eq!(not_allowed.header("allow"), Some("GET, HEAD, POST"));

        // HEAD works like GET without a body.
        let head = api.client.request("HEAD", "/api/apps", &[], b"").await;
        assert_eq!(head.status, 200);
        assert!(head.header("content-length").is_some());

        assert_eq!(api.get("/json").await.status, 200);
        assert_eq!(api.get("/api/stats").await.json()["users"], 1);
        target.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_one_mebibyte_are_413() {
    bounded(async {
        let target = start().await;

        // Declared too large: refused before the body is sent.
        let mut client = RawClient::connect(target.local_addr()).await;
        client
            .send_raw(b"POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n")
            .await;
        let response = client.read_response(false).await;
        assert_error(&response, 413, "declared length");

        // Chunked, so only reading finds out.
        let mut client = RawClient::connect(target.local_addr()).await;
        let chunk = vec![b' '; 64 * 1024];
        let mut request =
            b"POST /api/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        for _ in 0..17 {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(&chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        client.send_raw(&request).await;
        let response = client.read_response(false).await;
        assert_error(&response, 413, "chunked");

        // Exactly at the limit is read (and fails only as JSON).
        let mut client = RawClient::connect(target.local_addr()).await;
        let body = vec![b' '; 1024 * 1024];
        let response = client.request("POST", "/api/register", &[], &body).await;
        assert_error(&response, 400, "at the limit");
        target.shutdown().await;
    })
    .await;
}
