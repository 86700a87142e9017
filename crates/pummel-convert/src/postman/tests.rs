//! A whole Postman conversion: variables, auth inheritance, bodies, versions.

use crate::{convert, ConvertError, Options};

const COLLECTION: &str = r#"{
  "info": {"name": "shop", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
  "variable": [
    {"key": "baseUrl", "value": "http://127.0.0.1:8080"},
    {"key": "apiSecret", "value": "s-9f8e7d"},
    {"key": "page", "value": "2"}
  ],
  "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "X-Api-Key"}, {"key": "value", "value": "{{apiSecret}}"}, {"key": "in", "value": "header"}]},
  "item": [
    {"name": "login", "auth": {"type": "basic", "basic": [{"key": "username", "value": "demo"}, {"key": "password", "value": "hunter2"}]},
     "request": {"method": "POST", "url": "{{baseUrl}}/login",
                 "body": {"mode": "urlencoded", "urlencoded": [{"key": "remember", "value": "yes"}, {"key": "skip", "value": "x", "disabled": true}]}},
     "event": [{"listen": "test", "script": {"exec": ["pm.environment.set(\"sid\", pm.response.json().session.id);"]}}]},
    {"name": "folder", "item": [
      {"name": "list", "request": {"method": "GET", "url": {"raw": "{{baseUrl}}/items?page={{page}}&tenant={{tenant}}",
                                   "host": ["{{baseUrl}}"], "path": ["items"],
                                   "query": [{"key": "page", "value": "{{page}}"}, {"key": "tenant", "value": "{{tenant}}"}]}}},
      {"name": "upload", "request": {"method": "POST", "url": "{{baseUrl}}/upload/{{sid}}",
                                     "body": {"mode": "formdata", "formdata": [{"key": "title", "value": "t", "type": "text"}, {"key": "f", "type": "file", "src": "/x"}]}}}
    ]}
  ]
}"#;

#[test]
fn variables_auth_and_bodies() {
    let c = convert(COLLECTION, &Options::default()).unwrap();
    let yaml = &c.yaml;
    assert_eq!(c.steps, 3);
    assert!(yaml.contains("target: \"http://127.0.0.1:8080\""), "{yaml}");
    // Secrets from the collection and its auth are environment variables, never text.
    assert!(
        !yaml.contains("s-9f8e7d") && !yaml.contains("hunter2"),
        "{yaml}"
    );
    assert!(
        yaml.contains("apiSecret: \"{{ env.APISECRET }}\""),
        "{yaml}"
    );
    assert!(
        yaml.contains("auth: { basic: { username: \"demo\", password: \"{{ env.PASSWORD }}\" } }"),
        "{yaml}"
    );
    // The collection's API key reaches requests that do not set their own auth.
    assert!(yaml.contains("x-api-key: \"{{ apiSecret }}\""), "{yaml}");
    // Undefined variables come from the environment; script values are captures.
    assert!(yaml.contains("tenant: \"{{ env.TENANT }}\""), "{yaml}");
    assert!(
        yaml.contains("sid: { jsonpath: \"$.session.id\" }"),
        "{yaml}"
    );
    assert!(yaml.contains("url: \"/upload/{{ sid }}\""), "{yaml}");
    assert!(yaml.contains("- group: folder"), "{yaml}");
    assert!(
        yaml.contains("remember: \"yes\"") && !yaml.contains("skip"),
        "{yaml}"
    );
    assert!(yaml.contains("multipart/form-data; boundary="), "{yaml}");
    assert!(
        yaml.contains("file field(s) of the form data are not converted"),
        "{yaml}"
    );
    let names: Vec<&str> = c.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["PASSWORD", "APISECRET", "TENANT"], "{yaml}");
}

#[test]
fn only_version_2_1_is_read() {
    let old = COLLECTION.replace("v2.1.0", "v2.0.0");
    let e = convert(&old, &Options::default()).unwrap_err();
    assert!(
        matches!(&e, ConvertError::Version { found, .. } if found == "v2.0.0"),
        "{e}"
    );
    let e = convert(
        r#"{"info": {"name": "x"}, "item": "nope"}"#,
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("not a valid Postman collection"),
        "{e}"
    );
}

/// A v2.1 collection of `items` (JSON, without the brackets) and collection `variables`.
fn collection(items: &str, variables: &str) -> String {
    format!(
        r#"{{"info": {{"name": "c", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}},
            "variable": [{variables}], "item": [{items}]}}"#
    )
}

fn yaml_of(text: &str) -> crate::Conversion {
    match convert(text, &Options::default()) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{text}"),
    }
}

#[test]
fn a_base_url_only_an_environment_defines_is_an_environment_target() {
    let c = yaml_of(&collection(
        r#"{"name": "one", "request": {"method": "GET", "url": {"raw": "{{baseUrl}}/api/stats", "host": ["{{baseUrl}}"], "path": ["api", "stats"]}}},
           {"name": "two", "request": "{{baseUrl}}/api/apps"},
           {"name": "token", "request": {"method": "POST", "url": "{{authUrl}}/token"}}"#,
        "",
    ));
    let yaml = &c.yaml;
    assert!(yaml.contains("target: \"{{ env.BASEURL }}\""), "{yaml}");
    assert!(yaml.contains("url: /api/stats"), "{yaml}");
    assert!(yaml.contains("url: /api/apps"), "{yaml}");
    // Another base an environment sets starts its URLs.
    assert!(yaml.contains("url: \"{{ env.AUTHURL }}/token\""), "{yaml}");
    let names: Vec<(&str, bool)> = c.env.iter().map(|e| (e.name.as_str(), e.is_url)).collect();
    assert_eq!(names, [("BASEURL", true), ("AUTHURL", true)], "{yaml}");
    assert!(c.env[0].used_for.starts_with("the base URL"), "{yaml}");
}

#[test]
fn an_empty_base_url_is_read_from_the_environment() {
    let c = yaml_of(&collection(
        r#"{"name": "a", "request": "{{baseUrl}}/x"}"#,
        r#"{"key": "baseUrl", "value": ""}"#,
    ));
    let yaml = &c.yaml;
    assert!(yaml.contains("target: \"{{ env.BASEURL }}\""), "{yaml}");
    assert!(yaml.contains("url: /x"), "{yaml}");
    assert!(!yaml.contains("baseUrl: \"\""), "{yaml}");
}

#[test]
fn a_base_url_without_a_scheme_is_http_as_in_postman() {
    let c = yaml_of(&collection(
        r#"{"name": "b", "request": "{{baseUrl}}/status/200"},
           {"name": "b2", "request": "{{baseUrl}}/status/201"},
           {"name": "c", "request": "{{login}}/token"},
           {"name": "d", "request": "{{host}}:8080/other"}"#,
        r#"{"key": "baseUrl", "value": "127.0.0.1:32831"}, {"key": "login", "value": "login.example.com"},
           {"key": "host", "value": "localhost"}"#,
    ));
    let yaml = &c.yaml;
    assert!(
        yaml.contains("target: \"http://127.0.0.1:32831\""),
        "{yaml}"
    );
    assert!(yaml.contains("url: /status/200"), "{yaml}");
    // Another base variable is not the target: its URLs get the scheme Postman would add.
    assert!(yaml.contains("url: \"http://{{ login }}/token\""), "{yaml}");
    // `{{host}}:8080` is a host and a port, not a base URL, but gets the scheme as well.
    assert!(
        yaml.contains("url: \"http://{{ host }}:8080/other\""),
        "{yaml}"
    );
}

#[test]
fn inherited_auth_is_the_parents() {
    let c = yaml_of(&collection(
        r#"{"name": "folder", "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}"}]},
            "item": [
              {"name": "me", "request": {"method": "GET", "url": "http://127.0.0.1:9/me", "auth": {"type": "inherit"}}},
              {"name": "inner", "auth": {"type": "inherit"}, "item": [
                {"name": "deep", "request": {"method": "GET", "url": "http://127.0.0.1:9/deep"}}
              ]}
            ]}"#,
        "",
    ));
    let yaml = &c.yaml;
    assert!(!yaml.contains("not converted"), "{yaml}");
    assert_eq!(
        yaml.matches("auth: { bearer: \"{{ env.TOKEN }}\" }")
            .count(),
        2,
        "{yaml}"
    );
}

#[test]
fn query_values_are_decoded_once() {
    let c = yaml_of(&collection(
        r#"{"name": "search", "request": "http://127.0.0.1:9/echo?q=a%20b&t=2024-01-01T00%3A00%3A00Z"},
           {"name": "parts", "request": {"method": "GET", "url": {"raw": "http://127.0.0.1:9/p?name=caf%C3%A9&page={{page}}",
              "protocol": "http", "host": ["127", "0", "0", "1"], "port": "9", "path": ["p"],
              "query": [{"key": "name", "value": "caf%C3%A9"}, {"key": "page", "value": "{{page}}"}]}}},
           {"name": "plus", "request": "http://127.0.0.1:9/plus?q=a+b&r=1"}"#,
        r#"{"key": "page", "value": "2"}"#,
    ));
    let yaml = &c.yaml;
    assert!(yaml.contains("q: a b"), "{yaml}");
    assert!(yaml.contains("t: \"2024-01-01T00:00:00Z\""), "{yaml}");
    assert!(yaml.contains("name: \"café\""), "{yaml}");
    assert!(yaml.contains("page: \"{{ page }}\""), "{yaml}");
    assert!(!yaml.contains("%20") && !yaml.contains("%3A"), "{yaml}");
    // A `+` means a space to some servers and a plus to others: the query is kept as sent.
    assert!(
        yaml.contains("url: \"http://127.0.0.1:9/plus?q=a+b&r=1\""),
        "{yaml}"
    );
}
#[test]
fn redirects_postman_does_not_follow_are_not_followed() {
    let c = yaml_of(&collection(
        r#"{"name": "login", "request": "http://127.0.0.1:9/redirect/1",
            "protocolProfileBehavior": {"followRedirects": false},
            "event": [{"listen": "test", "script": {"exec": ["pm.response.to.have.status(302);"]}}]},
           {"name": "few", "request": "http://127.0.0.1:9/redirect/5", "protocolProfileBehavior": {"maxRedirects": 3}},
           {"name": "folder", "protocolProfileBehavior": {"followRedirects": false}, "item": [
             {"name": "inside", "request": "http://127.0.0.1:9/redirect/2"}
           ]}"#,
        "",
    ));
    let yaml = &c.yaml;
    assert_eq!(yaml.matches("follow_redirects: false").count(), 2, "{yaml}");
    assert!(yaml.contains("follow_redirects: 3"), "{yaml}");
    assert!(yaml.contains("status: 302"), "{yaml}");
}
#[test]
fn graphql_variables_with_a_template_are_sent_filled_in() {
    let c = yaml_of(&collection(
        r#"{"name": "gql", "request": {"method": "POST", "url": "http://127.0.0.1:9/echo",
            "body": {"mode": "graphql", "graphql": {"query": "query($id: ID!) { app(id: $id) { name } }", "variables": "{\"id\": {{appId}}}"}}}}"#,
        r#"{"key": "appId", "value": "5"}"#,
    ));
    let yaml = &c.yaml;
    assert!(!yaml.contains("null"), "{yaml}");
    assert!(
        yaml.contains(
            r#"body: "{\"query\":\"query($id: ID!) { app(id: $id) { name } }\",\"variables\":{\"id\": {{ appId }}}}""#
        ),
        "{yaml}"
    );
    assert!(yaml.contains("content-type: application/json"), "{yaml}");
    // Empty variables are left out, as Postman leaves them out.
    let empty = yaml_of(&collection(
        r#"{"name": "gql", "request": {"method": "POST", "url": "http://127.0.0.1:9/echo",
            "body": {"mode": "graphql", "graphql": {"query": "{ apps { name } }", "variables": ""}}}}"#,
        "",
    ));
    assert!(
        empty
            .yaml
            .contains(r#"json: {"query": "{ apps { name } }"}"#),
        "{}",
        empty.yaml
    );
}
#[test]
fn a_file_from_the_exporting_machine_and_a_request_without_url_are_reported() {
    let c = yaml_of(&collection(
        r#"{"name": "file", "request": {"method": "POST", "url": "http://127.0.0.1:9/echo",
            "body": {"mode": "file", "file": {"src": "/abs/path/data.bin"}}}},
           {"name": "noneurl", "request": {"method": "GET", "header": [], "url": null}},
           {"name": "blank", "request": {"method": "GET", "url": ""}}"#,
        "",
    ));
    let yaml = &c.yaml;
    assert_eq!(c.steps, 1, "{yaml}");
    // A `file:` naming a path of another machine would stop the file from loading.
    assert!(
        !yaml.lines().any(|l| l.trim_start().starts_with("file:")),
        "{yaml}"
    );
    assert!(
        yaml.contains("# not converted: the body is the file /abs/path/data.bin"),
        "{yaml}"
    );
    assert!(!yaml.contains("url: \"http://\""), "{yaml}");
    assert!(
        yaml.contains("Left out, for want of a URL: \"noneurl\", \"blank\"."),
        "{yaml}"
    );
}
#[test]
fn raw_bodies_are_sent_with_postmans_content_type() {
    let raw = |name: &str, language: &str, header: &str| {
        format!(
            r#"{{"name": "{name}", "request": {{"method": "POST", "url": "http://127.0.0.1:9/echo", "header": [{header}],
                "body": {{"mode": "raw", "raw": "<a>1</a>", "options": {{"raw": {{"language": "{language}"}}}}}}}}}}"#
        )
    };
    let items = [
        raw("xml", "xml", ""),
        raw("text", "text", ""),
        raw("html", "html", ""),
        raw("js", "javascript", ""),
        raw(
            "own",
            "xml",
            r#"{"key": "Content-Type", "value": "text/xml"}"#,
        ),
        // No language: Postman's default, text.
        r#"{"name": "plain", "request": {"method": "POST", "url": "http://127.0.0.1:9/echo",
            "body": {"mode": "raw", "raw": "hello"}}}"#
            .to_owned(),
    ];
    let c = yaml_of(&collection(&items.join(","), ""));
    let yaml = &c.yaml;
    for (content_type, count) in [
        ("application/xml", 1),
        ("text/plain", 2),
        ("text/html", 1),
        ("application/javascript", 1),
        ("text/xml", 1),
    ] {
        assert_eq!(
            yaml.matches(&format!("content-type: {content_type}\n"))
                .count(),
            count,
            "{content_type}: {yaml}"
        );
    }
}
#[test]
fn variables_used_as_secrets_are_read_from_the_environment() {
    let c = yaml_of(&collection(
        r#"{"name": "login", "request": {"method": "POST", "url": "http://127.0.0.1:9/login",
            "body": {"mode": "raw", "raw": "{\"username\": \"bob\", \"password\": \"{{pw}}\"}", "options": {"raw": {"language": "json"}}}}},
           {"name": "me", "request": {"method": "GET", "url": "http://127.0.0.1:9/me?api_key={{qkey}}",
            "header": [{"key": "X-API-Key", "value": "{{myKey}}"}],
            "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{jwt}}"}]}}},
           {"name": "basic", "request": {"method": "GET", "url": "http://127.0.0.1:9/b",
            "auth": {"type": "basic", "basic": [{"key": "username", "value": "bob"}, {"key": "password", "value": "{{basicPw}}"}]}}}"#,
        r#"{"key": "pw", "value": "Hunter2-Pass"}, {"key": "jwt", "value": "eyJhbGciOiJIUzI1NiJ9.e30.abc123"},
           {"key": "myKey", "value": "live_4f8a9b7c6d"}, {"key": "qkey", "value": "q-77aa"},
           {"key": "basicPw", "value": "b-pass-1"}, {"key": "plain", "value": "visible"}"#,
    ));
    let yaml = &c.yaml;
    for secret in [
        "Hunter2-Pass",
        "eyJhbGciOiJIUzI1NiJ9",
        "live_4f8a9b7c6d",
        "q-77aa",
        "b-pass-1",
    ] {
        assert!(!yaml.contains(secret), "{secret}: {yaml}");
    }
    for line in [
        "pw: \"{{ env.PW }}\"",
        "jwt: \"{{ env.JWT }}\"",
        "myKey: \"{{ env.MYKEY }}\"",
        "qkey: \"{{ env.QKEY }}\"",
        "basicPw: \"{{ env.BASICPW }}\"",
        "plain: visible",
    ] {
        assert!(yaml.contains(line), "{line}: {yaml}");
    }
}
#[test]
fn variables_named_like_expression_keywords_are_renamed() {
    let c = yaml_of(&collection(
        r#"{"name": "k", "request": "http://127.0.0.1:9/k?a={{and}}&b={{true}}&c={{not}}"}"#,
        r#"{"key": "and", "value": "1"}, {"key": "true", "value": "2"}, {"key": "not", "value": "3"}"#,
    ));
    let yaml = &c.yaml;
    for line in [
        "and_var: \"1\"",
        "true_var: \"2\"",
        "not_var: \"3\"",
        "a: \"{{ and_var }}\"",
        "b: \"{{ true_var }}\"",
        "c: \"{{ not_var }}\"",
    ] {
        assert!(yaml.contains(line), "{line}: {yaml}");
    }
}
#[test]
fn a_version_1_collection_is_named_as_such() {
    let v1 = r#"{"id": "abc", "name": "v1 coll", "order": ["r1"], "folders": [],
                 "requests": [{"id": "r1", "url": "http://127.0.0.1:9/x", "method": "GET", "headers": "", "collectionId": "abc"}]}"#;
    let e = convert(v1, &Options::default()).unwrap_err();
    assert!(
        matches!(&e, ConvertError::Version { found, .. } if found == "v1"),
        "{e}"
    );
    assert!(e.to_string().contains("Collection v2.1"), "{e}");
}
#[test]
fn legacy_test_script_forms_are_read() {
    let c = yaml_of(&collection(
        r#"{"name": "login", "request": "http://127.0.0.1:9/login",
            "event": [{"listen": "test", "script": {"exec": [
              "var data = JSON.parse(responseBody);",
              "postman.setEnvironmentVariable(\"token\", data.token);",
              "postman.setGlobalVariable('sid', JSON.parse(responseBody).session.id);",
              "postman.setEnvironmentVariable(\"etag\", postman.getResponseHeader(\"ETag\"));",
              "tests[\"Status code is 201\"] = responseCode.code === 201;"
            ]}}]},
           {"name": "me", "request": "http://127.0.0.1:9/me/{{sid}}?t={{token}}&e={{etag}}"}"#,
        "",
    ));
    let yaml = &c.yaml;
    for line in [
        "token: { jsonpath: \"$.token\" }",
        "sid: { jsonpath: \"$.session.id\" }",
        "etag: { header: ETag }",
        "status: 201",
    ] {
        assert!(yaml.contains(line), "{line}: {yaml}");
    }
    assert!(!yaml.contains("not converted"), "{yaml}");
    assert!(c.env.is_empty(), "{yaml}");
}
