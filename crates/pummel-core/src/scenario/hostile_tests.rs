//! Hostile values the loader must refuse where they are written, because
//! at run time they would fail every request they are in (or send nothing
//! and pass).

use super::test_support::{self, assert_error, errors as errors_with, Located};
use super::*;

fn errors(text: &str) -> Vec<Located> {
    test_support::errors(text, &LoadOptions::default())
}

fn with_request(request: &str) -> String {
    format!(
        "target: http://127.0.0.1:8080\nscenarios:\n  - name: s\n    steps:\n      - request: {request}\n"
    )
}

#[test]
fn a_bearer_token_no_header_can_carry_is_refused() {
    let e = errors(&with_request(r#"{ url: /, auth: { bearer: "a\nb" } }"#));
    assert_error(
        &e,
        5,
        44,
        "`bearer`: the token has characters a header cannot carry",
    );
    let ok = with_request(r#"{ url: /, auth: { bearer: "abc.def" } }"#);
    assert!(load_str_with("t.yaml", &ok, &LoadOptions::default()).is_ok());
}

/// A socket URL that could only fail is refused where it is written, as a
/// request URL is: a port out of range, a scheme no socket speaks.
#[test]
fn a_socket_url_that_cannot_connect_is_refused() {
    let with = |url: &str| {
        format!(
            "target: http://127.0.0.1:8080\nscenarios:\n  - name: s\n    steps:\n      - ws_connect: \"{url}\"\n"
        )
    };
    let e = errors(&with("ws://127.0.0.1:99999/"));
    assert_error(&e, 5, 21, "invalid port \"99999\"");
    let e = errors(&with("ftp://x/"));
    assert!(
        e.iter()
            .any(|(_, _, m)| m.contains("`ws_connect` must start with /")),
        "{e:?}"
    );
    let e = errors(&with("http://127.0.0.1:65536/ws"));
    assert!(
        e.iter().any(|(_, _, m)| m.contains("invalid port")),
        "{e:?}"
    );
    for ok in [
        "/ws/echo",
        "ws://127.0.0.1:8080/ws",
        "{{ 'ws://127.0.0.1:1/' }}",
    ] {
        assert!(
            load_str_with("t.yaml", &with(ok), &LoadOptions::default()).is_ok(),
            "{ok}"
        );
    }
}

/// An environment variable is fixed when the file loads: a header it makes
/// that no request can carry is an error there, at the variable.
#[test]
fn a_header_an_environment_value_breaks_is_refused() {
    let text = "target: http://127.0.0.1:8080\ndefaults:\n  headers: { x-d: \"{{ env.BAD }}\" }\nscenarios:\n  - name: s\n    steps:\n      - request: { url: /, headers: { x-a: \"t {{ env.BAD }}\" } }\n";
    let with_env = |value: &str| LoadOptions::default().with_env("BAD", value);
    let e = errors_with(text, &with_env("a\r\nX-Injected: 1"));
    for (line, column, name) in [(7, 50, "x-a"), (3, 23, "x-d")] {
        let needle = format!("header `{name}`: the environment variable's value");
        assert_error(&e, line, column, &needle);
    }
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(load_str_with("t.yaml", text, &with_env("fine")).is_ok());
}

/// A URL made by environment variables alone is fixed when the file loads:
/// a port out of range is refused there, not sent nowhere at run time.
#[test]
fn a_url_an_environment_value_breaks_is_refused() {
    let text = "target: http://127.0.0.1:8080\nscenarios:\n  - name: s\n    steps:\n      - request: \"http://127.0.0.1:{{ env.PORT }}/x\"\n";
    let with_port = |port: &str| LoadOptions::default().with_env("PORT", port);
    let e = errors_with(text, &with_port("99999"));
    assert_error(&e, 5, 39, "invalid port \"99999\"");
    assert!(load_str_with("t.yaml", text, &with_port("8080")).is_ok());
}

/// Variables doubled from one to the next would ask each VU for 2^40
/// bytes: their sizes are bounded when the file loads, and the one past
/// the limit is named.
#[test]
fn variables_that_grow_past_the_limit_are_refused() {
    let mut text = String::from("target: http://127.0.0.1:8080\nvariables:\n  v0: ab\n");
    for i in 1..40 {
        text.push_str(&format!(
            "  v{i}: \"{{{{ v{} }}}}{{{{ v{} }}}}\"\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str("scenarios: [{ name: a, steps: [{ request: \"/{{ v39 }}\" }] }]\n");
    let e = errors(&text);
    // v0 is 2 bytes, v19 2^20 = 1 MiB (the limit), v20 2 MiB: line 23.
    assert!(
        e.iter()
            .any(|(l, _, m)| *l == 23 && m.contains("variable `v20` can hold up to 2097152 bytes")),
        "{e:?}"
    );
    assert_eq!(e.len(), 1, "{e:?}");
    // Bounded by what they can be: a base64 of a 64 KiB random string is fine.
    let ok = "target: http://127.0.0.1:8080\nvariables:\n  a: \"{{ base64(urlencode(random_string(65536))) }}\"\n  b: \"{{ a }}-{{ vu }}-{{ uuid() }}\"\nscenarios: [{ name: a, steps: [{ request: \"/{{ b }}\" }] }]\n";
    assert!(load_str_with("t.yaml", ok, &LoadOptions::default()).is_ok());
}

/// A file past the YAML limits is told which limit, with its number, not
/// the parser's debug form (`limits breached: Nodes { nodes: 250001 }`).
#[test]
fn yaml_limits_are_named_with_their_numbers() {
    let mut text =
        String::from("target: http://127.0.0.1:8080\nscenarios:\n  - name: a\n    steps:\n");
    for i in 0..50_000 {
        text.push_str(&format!("      - {{ name: s{i}, request: GET /x }}\n"));
    }
    let e = errors(&text);
    assert!(
        e.iter().any(|(_, _, m)| m
            == "the file is too large or too complex: more than 250000 values (mappings, lists and scalars) (see docs/limits.md)"),
        "{:?}",
        &e[..1]
    );
}

/// Names are printed as they are, in the summary on a terminal: one with a
/// control character (an escape sequence) is refused where it is written.
#[test]
fn a_name_with_a_control_character_is_refused() {
    for (text, line, column) in [
        (
            "scenarios:\n  - name: \"a\\e[2J\"\n    steps: [{ request: / }]\n",
            3,
            11,
        ),
        (
            "scenarios:\n  - name: a\n    steps: [{ name: \"s\\r\", request: / }]\n",
            4,
            21,
        ),
        (
            "scenarios:\n  - name: a\n    steps: [{ group: \"g\\t\", steps: [{ request: / }] }]\n",
            4,
            22,
        ),
    ] {
        let e = errors(&format!("target: http://127.0.0.1:8080\n{text}"));
        assert_error(&e, line, column, "has a control character");
    }
}
