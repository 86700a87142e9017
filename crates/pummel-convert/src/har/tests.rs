//! A whole HAR conversion on a hand-written recording: what is left out, what is kept, what is
//! hidden.

use crate::{convert, ConvertError, Options};

/// An entry of a recording: method, URL, request headers, response MIME type and body, start (ms
/// after 10:00:00) and duration.
fn entry(
    method: &str,
    url: &str,
    headers: &str,
    mime: &str,
    body: &str,
    start_ms: u32,
    time: u32,
) -> String {
    format!(
        r#"{{"startedDateTime": "2026-01-01T10:00:{:02}.{:03}Z", "time": {time},
            "request": {{"method": "{method}", "url": "{url}", "httpVersion": "HTTP/1.1", "cookies": [],
                        "headers": [{headers}], "queryString": [], "headersSize": -1, "bodySize": 0}},
            "response": {{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
                         "content": {{"size": 0, "mimeType": "{mime}", "text": {}}}, "redirectURL": "", "headersSize": -1, "bodySize": 0}},
            "cache": {{}}, "timings": {{"send": 0, "wait": 0, "receive": 0}}}}"#,
        start_ms / 1000,
        start_ms % 1000,
        serde_json::to_string(body).unwrap_or_default()
    )
}

fn har(entries: &[String]) -> String {
    format!(
        r#"{{"log": {{"version": "1.2", "creator": {{"name": "test", "version": "1"}}, "entries": [{}]}}}}"#,
        entries.join(",")
    )
}

fn recording() -> String {
    har(&[
        entry(
            "GET",
            "http://127.0.0.1:8080/",
            r#"{"name": "User-Agent", "value": "Mozilla/5.0"}, {"name": "Cookie", "value": "sid=abc"}"#,
            "text/html",
            "<p>hi</p>",
            0,
            100,
        ),
        entry(
            "GET",
            "http://127.0.0.1:8080/app.css",
            "",
            "text/css",
            "p{}",
            120,
            10,
        ),
        entry(
            "GET",
            "https://cdn.example.com/logo.png",
            "",
            "image/png",
            "",
            130,
            10,
        ),
        entry(
            "GET",
            "data:image/png;base64,AAAA",
            "",
            "image/png",
            "",
            140,
            0,
        ),
        entry(
            "GET",
            "http://127.0.0.1:8080/api/me?api_key=k-123456",
            r#"{"name": "Authorization", "value": "Basic ZGVtbzpodW50ZXIy"}, {"name": "X-Trace", "value": "t1"}, {"name": "Accept", "value": "application/json"}"#,
            "application/json",
            "{}",
            2100,
            20,
        ),
        entry(
            "GET",
            "https://api.example.com/v1/ping",
            "",
            "application/json",
            "{}",
            2200,
            20,
        ),
    ])
}

#[test]
fn assets_other_schemes_and_hosts_are_left_out_as_asked() {
    let c = convert(&recording(), &Options::default()).unwrap();
    assert_eq!(c.steps, 3, "{}", c.yaml);
    assert_eq!((c.skipped.assets, c.skipped.other), (2, 1));
    assert!(
        !c.yaml.contains("app.css") && !c.yaml.contains("logo.png"),
        "{}",
        c.yaml
    );
    assert!(
        c.yaml.contains("target: \"http://127.0.0.1:8080\""),
        "{}",
        c.yaml
    );
    assert!(
        c.yaml.contains("url: \"https://api.example.com/v1/ping\""),
        "{}",
        c.yaml
    );

    let keep = Options {
        keep_assets: true,
        ..Options::default()
    };
    let c = convert(&recording(), &keep).unwrap();
    assert_eq!(c.steps, 5, "{}", c.yaml);
    assert!(c.yaml.contains("url: /app.css"), "{}", c.yaml);
    // The page's style sheet and image, fetched back to back, are sent together as the
    // browser did; the pause before the API call (1.96 s after the image) follows the batch.
    let batch = c
        .yaml
        .split_once("- name: assets of GET /\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no batch in\n{}", c.yaml));
    let (inside, after) = batch
        .split_once("- think: 1960ms")
        .expect("the batch's pause");
    assert!(inside.starts_with("        parallel:\n"), "{}", c.yaml);
    assert!(
        inside.contains("url: /app.css") && inside.contains("logo.png"),
        "{}",
        c.yaml
    );
    assert!(!inside.contains("think"), "{}", c.yaml);
    assert!(after.contains("url: /api/me"), "{}", c.yaml);

    let only_local = Options {
        include_hosts: vec!["127.0.0.1:8080".to_owned()],
        ..Options::default()
    };
    let c = convert(&recording(), &only_local).unwrap();
    // The CDN image counts as another host's, whatever it is.
    assert_eq!((c.steps, c.skipped.hosts), (2, 2), "{}", c.yaml);
    let no_api = Options {
        exclude_hosts: vec!["*.example.com".to_owned()],
        ..Options::default()
    };
    assert_eq!(convert(&recording(), &no_api).unwrap().skipped.hosts, 2);
}

#[test]
fn headers_secrets_and_think_times() {
    let c = convert(&recording(), &Options::default()).unwrap();
    let yaml = &c.yaml;
    // Browser noise and cookies go; the application's headers stay.
    assert!(
        !yaml.contains("Mozilla") && !yaml.contains("sid=abc"),
        "{yaml}"
    );
    assert!(
        yaml.contains("x-trace: t1") && yaml.contains("accept: application/json"),
        "{yaml}"
    );
    // Secrets: the Basic password and the API key, never their values.
    assert!(
        !yaml.contains("hunter2")
            && !yaml.contains("ZGVtbzpodW50ZXIy")
            && !yaml.contains("k-123456"),
        "{yaml}"
    );
    assert!(
        yaml.contains("auth: { basic: { username: \"demo\", password: \"{{ env.PASSWORD }}\" } }"),
        "{yaml}"
    );
    assert!(yaml.contains("api_key: \"{{ env.API_KEY }}\""), "{yaml}");
    let names: Vec<&str> = c.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["PASSWORD", "API_KEY"]);
    // 100 ms page, then 2 s until the API call: the pause after the first step.
    assert!(yaml.contains("think: 2s"), "{yaml}");
    let fast = Options {
        think_scale: 0.5,
        ..Options::default()
    };
    assert!(convert(&recording(), &fast)
        .unwrap()
        .yaml
        .contains("think: 1s"));
    let none = Options {
        think_scale: 0.0,
        ..Options::default()
    };
    assert!(!convert(&recording(), &none)
        .unwrap()
        .yaml
        .contains("think:"));
}

#[test]
fn bad_input_names_the_problem() {
    let err = |text: &str| convert(text, &Options::default()).unwrap_err().to_string();
    assert!(err("<html>").contains("not JSON"));
    assert!(err(r#"{"log": {"version": "1.2"}}"#).contains("missing field `entries`"));
    let e = convert(
        r#"{"log": {"version": "0.9", "entries": []}}"#,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ConvertError::Version { .. }), "{e}");
    assert!(err(&har(&[entry(
        "GET",
        "http://h/",
        "",
        "text/html",
        "",
        0,
        1
    )
    .replace("2026-01-01T", "yesterday ")]))
    .contains("entry 1: startedDateTime"));
    assert!(err(&har(&[entry(
        "GET",
        "http://h/a.js",
        "",
        "text/javascript",
        "",
        0,
        1
    )]))
    .contains("no request left"));
}

/// `entry` answered with `status` and a `Location` header.
fn redirected(entry: &str, status: u16, location: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(entry).unwrap();
    v["response"]["status"] = status.into();
    v["response"]["headers"] = serde_json::json!([{"name": "Location", "value": location}]);
    v.to_string()
}

#[test]
fn a_followed_redirect_is_one_step_and_an_unfollowed_one_stops_the_replay_there() {
    let login = redirected(
        &entry(
            "POST",
            "http://127.0.0.1:8080/login",
            "",
            "text/html",
            "",
            0,
            10,
        ),
        303,
        "/home",
    );
    let home = entry(
        "GET",
        "http://127.0.0.1:8080/home",
        "",
        "text/html",
        "<p>hi</p>",
        20,
        10,
    );
    // The browser went on to another host, which the conversion leaves out.
    let out = redirected(
        &entry(
            "GET",
            "http://127.0.0.1:8080/out",
            "",
            "text/html",
            "",
            40,
            10,
        ),
        302,
        "https://elsewhere.example/",
    );
    let away = entry(
        "GET",
        "https://elsewhere.example/",
        "",
        "text/html",
        "",
        60,
        10,
    );
    let options = Options {
        include_hosts: vec!["127.0.0.1".to_owned()],
        ..Options::default()
    };
    let c = convert(&har(&[login, home, out, away]), &options).unwrap();
    assert_eq!(c.steps, 2, "{}", c.yaml);
    let (first, second) = c.yaml.split_once("url: /out").unwrap();
    // Folded: pummel follows the 303 as the browser did, and checks where it landed.
    assert!(first.contains("a redirect to /home"), "{}", c.yaml);
    assert!(
        first.contains("status: 200") && !first.contains("follow_redirects"),
        "{}",
        c.yaml
    );
    // Not followed in what was kept: the replay stops at the 302 and its check holds.
    assert!(second.contains("follow_redirects: false"), "{}", c.yaml);
    assert!(second.contains("status: 302"), "{}", c.yaml);
}

#[test]
fn a_repeated_query_parameter_is_a_list_whose_items_keep_their_commas() {
    let search = entry(
        "GET",
        "http://127.0.0.1:8080/search?tag=a,b&tag=c&x=1",
        "",
        "application/json",
        "{}",
        0,
        10,
    );
    let c = convert(&har(&[search]), &Options::default()).unwrap();
    assert!(c.yaml.contains("tag: [\"a,b\", \"c\"]"), "{}", c.yaml);
}

#[test]
fn cors_preflights_and_cache_hits_are_the_browsers_own_and_left_out() {
    let with = |entry: String, extra: serde_json::Value| {
        let mut v: serde_json::Value = serde_json::from_str(&entry).unwrap();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v.to_string()
    };
    let preflight = entry(
        "OPTIONS",
        "http://127.0.0.1:8080/api/items",
        r#"{"name": "Access-Control-Request-Method", "value": "PUT"}, {"name": "Origin", "value": "http://127.0.0.1:3000"}"#,
        "text/plain",
        "",
        0,
        5,
    );
    let put = entry(
        "PUT",
        "http://127.0.0.1:8080/api/items",
        "",
        "application/json",
        "{}",
        10,
        5,
    );
    let cached = with(
        entry(
            "GET",
            "http://127.0.0.1:8080/api/config",
            "",
            "application/json",
            "{}",
            20,
            0,
        ),
        serde_json::json!({"_fromCache": "disk"}),
    );
    // An OPTIONS the application itself sends is kept.
    let options = entry(
        "OPTIONS",
        "http://127.0.0.1:8080/api/items",
        "",
        "text/plain",
        "",
        30,
        5,
    );
    let c = convert(
        &har(&[preflight, put, cached, options]),
        &Options::default(),
    )
    .unwrap();
    assert_eq!((c.steps, c.skipped.browser), (2, 2), "{}", c.yaml);
    assert!(!c.yaml.contains("/api/config"), "{}", c.yaml);
    assert!(
        c.yaml.contains("method: PUT") && c.yaml.contains("method: OPTIONS"),
        "{}",
        c.yaml
    );
    assert!(
        c.yaml
            .contains("2 CORS preflights and answers from the browser's cache"),
        "{}",
        c.yaml
    );
}

/// `entry` sending `body` as `mime`.
fn posting(entry: &str, mime: &str, body: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(entry).unwrap();
    v["request"]["postData"] = serde_json::json!({"mimeType": mime, "text": body});
    v.to_string()
}

#[test]
fn secrets_are_hidden_wherever_they_were_sent_and_text_bodies_are_correlated_too() {
    let form_page = entry(
        "GET",
        "http://127.0.0.1:8080/signup",
        "",
        "text/html",
        r#"<input type="hidden" name="csrf" value="Zk3q9xWc0aLp7TbRqq">"#,
        0,
        10,
    );
    let signup = posting(
        &entry(
            "POST",
            "http://127.0.0.1:8080/signup",
            "",
            "text/html",
            "",
            100,
            10,
        ),
        "application/x-www-form-urlencoded",
        "csrf=Zk3q9xWc0aLp7TbRqq&user%5Bpassword%5D=hunter2-x&confirm=hunter2-x",
    );
    let boundary = "----WebKitFormBoundaryABC";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nZk3q9xWc0aLp7TbRqq\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"passphrase\"\r\n\r\nopen-sesame-9\r\n--{boundary}--\r\n"
    );
    let upload = posting(
        &entry(
            "POST",
            "http://127.0.0.1:8080/upload",
            "",
            "text/html",
            "",
            200,
            10,
        ),
        &format!("multipart/form-data; boundary={boundary}"),
        &multipart,
    );
    let login = posting(
        &entry(
            "POST",
            "http://127.0.0.1:8080/api/login",
            "",
            "application/json",
            "{}",
            300,
            10,
        ),
        "text/plain;charset=UTF-8",
        r#"{"username":"bob","password":"s3cret-pw","pin":4321}"#,
    );
    let c = convert(
        &har(&[form_page, signup, upload, login]),
        &Options::default(),
    )
    .unwrap();
    for secret in ["hunter2-x", "open-sesame-9", "s3cret-pw", "4321"] {
        assert!(!c.yaml.contains(secret), "{secret} in\n{}", c.yaml);
    }
    // Typed twice, one variable.
    assert!(
        c.yaml.contains("confirm: \"{{ env.USER_PASSWORD }}\""),
        "{}",
        c.yaml
    );
    // The CSRF token in the multipart body is the page's, captured.
    assert!(
        c.yaml.contains("name=\\\"csrf\\\"\\r\\n\\r\\n{{ csrf }}"),
        "{}",
        c.yaml
    );
    let names: Vec<&str> = c.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["USER_PASSWORD", "PASSPHRASE", "PASSWORD", "PIN"],
        "{}",
        c.yaml
    );
}

#[test]
fn a_multipart_form_recorded_as_its_fields_is_a_multipart_body() {
    let mut upload: serde_json::Value = serde_json::from_str(&entry(
        "POST",
        "http://127.0.0.1:8080/upload",
        r#"{"name": "Content-Type", "value": "multipart/form-data; boundary=----x"}"#,
        "text/html",
        "",
        0,
        10,
    ))
    .unwrap();
    upload["request"]["postData"] = serde_json::json!({
        "mimeType": "multipart/form-data; boundary=----x",
        "params": [{"name": "title", "value": "hello"}, {"name": "icon", "fileName": "icon.png"}]
    });
    let c = convert(&har(&[upload.to_string()]), &Options::default()).unwrap();
    assert!(
        c.yaml
            .contains("multipart:\n            title: hello\n            icon: \"\""),
        "{}",
        c.yaml
    );
    // `multipart:` writes its own boundary; the recorded one would not match it.
    assert!(!c.yaml.contains("boundary"), "{}", c.yaml);
    assert!(
        c.yaml.contains("write `icon: { file: PATH }`"),
        "{}",
        c.yaml
    );
}

#[test]
fn a_recording_saved_with_a_byte_order_mark_reads() {
    let page = entry(
        "GET",
        "http://127.0.0.1:8080/",
        "",
        "text/html",
        "<p>hi</p>",
        0,
        10,
    );
    let c = convert(&format!("\u{feff}{}", har(&[page])), &Options::default()).unwrap();
    assert_eq!(c.steps, 1, "{}", c.yaml);
}

#[test]
fn a_secret_is_hidden_as_a_whole_value_not_inside_other_words() {
    let login = posting(
        &entry(
            "POST",
            "http://127.0.0.1:8080/login",
            "",
            "text/html",
            "",
            0,
            10,
        ),
        "application/x-www-form-urlencoded",
        "user=root&password=admin",
    );
    let page = entry(
        "GET",
        "http://127.0.0.1:8080/admin/users?role=admin",
        "",
        "text/html",
        "",
        100,
        10,
    );
    let c = convert(&har(&[login, page]), &Options::default()).unwrap();
    assert!(c.yaml.contains("url: /admin/users"), "{}", c.yaml);
    assert!(c.yaml.contains("role: admin"), "{}", c.yaml);
    assert!(
        c.yaml.contains("password: \"{{ env.PASSWORD }}\""),
        "{}",
        c.yaml
    );
}

#[test]
fn a_pause_between_assets_ends_their_batch() {
    let page = entry(
        "GET",
        "http://127.0.0.1:8080/",
        "",
        "text/html",
        "<p>hi</p>",
        0,
        10,
    );
    let a = entry(
        "GET",
        "http://127.0.0.1:8080/a.png",
        "",
        "image/png",
        "",
        20,
        5,
    );
    let b = entry(
        "GET",
        "http://127.0.0.1:8080/b.png",
        "",
        "image/png",
        "",
        30,
        5,
    );
    // Thirty seconds later, the person scrolled.
    let c_ = entry(
        "GET",
        "http://127.0.0.1:8080/c.png",
        "",
        "image/png",
        "",
        30_000,
        5,
    );
    let d = entry(
        "GET",
        "http://127.0.0.1:8080/d.png",
        "",
        "image/png",
        "",
        30_010,
        5,
    );
    let keep = Options {
        keep_assets: true,
        ..Options::default()
    };
    let c = convert(&har(&[page, a, b, c_, d]), &keep).unwrap();
    assert_eq!(c.yaml.matches("parallel:").count(), 2, "{}", c.yaml);
    let (first, second) = c.yaml.split_once("- think: 29965ms").expect("the pause");
    assert!(
        first.contains("a.png") && first.contains("b.png"),
        "{}",
        c.yaml
    );
    assert!(
        second.contains("c.png") && second.contains("d.png"),
        "{}",
        c.yaml
    );
}
