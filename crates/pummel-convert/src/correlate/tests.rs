//! Correlation on hand-made exchanges: what is taken, from where, and what is left.

use regex::Regex;

use super::producer::text_capture;
use super::*;

fn get(url: &str) -> RequestStep {
    RequestStep {
        method: "GET".to_owned(),
        url: Text::lit(url),
        ..RequestStep::default()
    }
}

fn exchange(step: RequestStep, body: &str) -> Exchange {
    Exchange {
        label: format!("{} {}", step.method, step.url.render()),
        step,
        response: Recorded {
            json: serde_json::from_str(body).ok(),
            body: body.to_owned(),
            ..Recorded::default()
        },
    }
}

#[test]
fn html_input_value_and_link_become_captures() {
    let page = "<form>\n<input type=\"hidden\" name=\"csrf\" value=\"Zk3q9xWc0aLp7TbR\">\n</form>\n<a href=\"/items/48213\">one</a>\n";
    let mut post = get("/login");
    post.method = "POST".to_owned();
    post.body = Some(Body::Form(vec![
        ("csrf".to_owned(), Text::lit("Zk3q9xWc0aLp7TbR")),
        ("username".to_owned(), Text::lit("demo")),
    ]));
    let mut exchanges = vec![
        exchange(get("/login"), page),
        exchange(post, ""),
        exchange(get("/items/48213"), ""),
    ];
    let made = correlate(&mut exchanges, &mut Vec::new());
    assert_eq!(made.len(), 2, "{made:?}");
    let captures = &exchanges[0].step.captures;
    assert_eq!(
        captures[0],
        (
            "csrf".to_owned(),
            Capture::Regex("<input type=\"hidden\" name=\"csrf\" value=\"([^\"]+)".to_owned())
        )
    );
    assert_eq!(captures[1].0, "item_id");
    let Some(Body::Form(fields)) = &exchanges[1].step.body else {
        panic!()
    };
    assert_eq!(fields[0].1.render(), "{{ csrf }}");
    assert_eq!(
        fields[1].1.render(),
        "demo",
        "a typed value is not correlated"
    );
    assert_eq!(exchanges[2].step.url.render(), "/items/{{ item_id }}");
}

#[test]
fn json_value_under_the_same_key_wins_and_numbers_stay_numbers() {
    let mut post = get("/orders");
    post.body = Some(Body::Json(Json::from_value(
        &serde_json::json!({"cart_id": 7, "item": 123456}),
    )));
    let mut exchanges = vec![
        exchange(
            get("/cart"),
            r#"{"id": 7, "cart_id": 7, "items": [{"id": 123456}]}"#,
        ),
        exchange(post, ""),
    ];
    let made = correlate(&mut exchanges, &mut Vec::new());
    let hows: Vec<&str> = made.iter().map(|c| c.how.as_str()).collect();
    assert_eq!(hows, ["jsonpath $.items[0].id", "jsonpath $.cart_id"]);
    let Some(Body::Json(Json::Object(fields))) = &exchanges[1].step.body else {
        panic!()
    };
    let Json::String(t) = &fields[0].1 else {
        panic!()
    };
    assert_eq!(t.render(), "{{ number(cart_id) }}");
}

#[test]
fn trivial_values_are_not_correlated_without_a_matching_key() {
    let mut exchanges = vec![
        exchange(get("/a"), r#"{"n": 1, "word": "shop"}"#),
        exchange(get("/shop/1"), ""),
    ];
    assert!(correlate(&mut exchanges, &mut Vec::new()).is_empty());
    assert_eq!(exchanges[1].step.url.render(), "/shop/1");
}

#[test]
fn a_value_sent_before_any_response_had_it_is_not_a_correlation() {
    let mut exchanges = vec![
        exchange(get("/search/x2024"), "you searched x2024"),
        exchange(get("/search/x2024/more"), ""),
    ];
    assert!(correlate(&mut exchanges, &mut Vec::new()).is_empty());
}

#[test]
fn a_value_whose_producer_lost_its_body_is_pointed_out() {
    let mut exchanges = vec![
        exchange(get("/orders"), ""),
        exchange(get("/orders/ord-8f3a2c"), ""),
    ];
    assert!(correlate(&mut exchanges, &mut Vec::new()).is_empty());
    let comments = &exchanges[1].step.comments;
    assert!(
        comments
            .iter()
            .any(|c| c.contains("not correlated") && c.contains("step 1")),
        "{comments:?}"
    );
}

#[test]
fn header_producers_and_cookie_double_submit() {
    let mut step = get("/api/thing");
    step.headers = vec![
        ("x-csrf-token".to_owned(), Text::lit("tok-98765")),
        ("x-request".to_owned(), Text::lit("req-55555")),
    ];
    let mut first = exchange(get("/"), "");
    first.response.cookies = vec![("csrftoken".to_owned(), "tok-98765".to_owned())];
    first.response.headers = vec![("X-Request".to_owned(), "req-55555".to_owned())];
    let mut exchanges = vec![first, exchange(step, "")];
    correlate(&mut exchanges, &mut Vec::new());
    let captures = &exchanges[0].step.captures;
    assert!(
        captures.contains(&(
            "csrf_token".to_owned(),
            Capture::Cookie("csrftoken".to_owned())
        )),
        "{captures:?}"
    );
    assert!(
        captures.contains(&(
            "request".to_owned(),
            Capture::Header("X-Request".to_owned())
        )),
        "{captures:?}"
    );
}

#[test]
fn first_match_note_when_the_recording_used_another() {
    let page = "<a href=\"/items/1111\">a</a>\n<a href=\"/items/2222\">b</a>\n";
    let (re, note) = text_capture(page, "2222").unwrap();
    assert_eq!(re, "<a href=\"/items/([^\"]+)");
    assert!(note.is_some());
}

#[test]
fn a_text_capture_stops_where_the_value_stopped_and_skips_other_sessions_ids() {
    let page = r#"<a href="/carts/c-5512/items/8812">lamp</a>"#;
    let (cart, _) = text_capture(page, "c-5512").unwrap();
    let (item, _) = text_capture(page, "8812").unwrap();
    // Another session's page: other cart, other item.
    let other = r#"<a href="/carts/c-9001/items/4242">lamp</a>"#;
    let first = |pattern: &str| Regex::new(pattern).unwrap().captures(other).unwrap()[1].to_owned();
    assert_eq!(first(&cart), "c-9001", "{cart}");
    assert_eq!(first(&item), "4242", "{item}");
}

#[test]
fn variables_never_take_a_name_the_expression_language_has() {
    for word in [
        "and",
        "or",
        "not",
        "true",
        "false",
        "env",
        "vu",
        "iteration",
    ] {
        let name = variable_name(Some(word), &Capture::JsonPath(format!("$.{word}")));
        assert_eq!(name, format!("{word}_value"));
    }
    let status = variable_name(None, &Capture::JsonPath("$.status".into()));
    assert_eq!(status, "status_value");
    assert_eq!(
        variable_name(Some("cart"), &Capture::JsonPath("$.cart".into())),
        "cart"
    );
}

#[test]
fn a_short_id_is_taken_from_the_id_that_made_it_and_only_where_it_is_sent_as_that_id() {
    let mut order = get("/api/orders");
    order.method = "POST".to_owned();
    order.body = Some(Body::Json(Json::from_value(
        &serde_json::json!({"product_id": 2, "quantity": 2}),
    )));
    let mut exchanges = vec![
        exchange(get("/api/products"), r#"{"items": [{"product_id": 2}]}"#),
        exchange(order, r#"{"id": 7, "total": 2}"#),
        exchange(get("/api/orders/7"), ""),
    ];
    let made = correlate(&mut exchanges, &mut Vec::new());
    let Some(Body::Json(json)) = &exchanges[1].step.body else {
        panic!("the body")
    };
    let Json::Object(fields) = json else {
        panic!("{json:?}")
    };
    let rendered: Vec<String> = fields
        .iter()
        .map(|(k, v)| match v {
            Json::String(t) => format!("{k}={}", t.render()),
            Json::Number(n) => format!("{k}={n}"),
            other => format!("{k}={other:?}"),
        })
        .collect();
    // The quantity that happens to equal the product id stays a number.
    assert_eq!(
        rendered,
        ["product_id={{ number(product_id) }}", "quantity=2"],
        "{made:?}"
    );
    // `/orders/7` after a response with `"id": 7`.
    assert_eq!(exchanges[2].step.url.render(), "/api/orders/{{ order_id }}");
    assert!(
        exchanges[1]
            .step
            .captures
            .iter()
            .any(|(n, c)| n == "order_id" && *c == Capture::JsonPath("$.id".into())),
        "{:?}",
        exchanges[1].step.captures
    );
}

#[test]
fn a_cookie_set_url_encoded_and_sent_decoded_is_decoded_where_it_is_sent() {
    let token = "eyJpdiI6Ik1rZz09IiwidmFsdWUiOiJ4In0=";
    let mut step = get("/login");
    step.headers = vec![("x-xsrf-token".to_owned(), Text::lit(token))];
    let mut first = exchange(get("/"), "");
    first.response.cookies = vec![("XSRF-TOKEN".to_owned(), token.replace('=', "%3D"))];
    let mut exchanges = vec![first, exchange(step, "")];
    correlate(&mut exchanges, &mut Vec::new());
    assert_eq!(
        exchanges[0].step.captures,
        [(
            "xsrf_token".to_owned(),
            Capture::Cookie("XSRF-TOKEN".to_owned())
        )]
    );
    assert_eq!(
        exchanges[1].step.headers[0].1.render(),
        "{{ urldecode(xsrf_token) }}"
    );
}
