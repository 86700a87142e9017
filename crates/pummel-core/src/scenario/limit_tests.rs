//! The documented limits (`crate::limits`, docs/limits.md), as a file and
//! as the command line meet them: each refused with its place, none
//! reaching a worker.

use super::test_support::{self, assert_error, Located};
use super::*;
use crate::limits::{MAX_RATE, MAX_TEMPLATE_DEPTH, MAX_VUS};

fn errors(text: &str) -> Vec<Located> {
    test_support::errors(text, &LoadOptions::default())
}

fn with_load(load: &str) -> String {
    format!(
        "target: http://127.0.0.1:8080\nload: {load}\nscenarios:\n  - name: s\n    steps:\n      - think: 1s\n"
    )
}

fn with_path(path: &str) -> String {
    format!(
        "target: http://127.0.0.1:8080\nload: {{ vus: 1, iterations: 1 }}\nscenarios:\n  - name: s\n    steps:\n      - request: {{ method: GET, url: \"{path}\" }}\n"
    )
}

#[test]
fn a_rate_above_the_limit_is_refused_where_it_is_written() {
    let all = errors(&with_load("{ rate: 1e12, duration: 1s }"));
    assert_error(&all, 2, 15, "at most 10000000 per second");
    let all = errors(&with_load(
        "{ rate_stages: [{ duration: 1s, target: 2e7 }], start_rate: 1e9 }",
    ));
    assert_error(&all, 2, 47, "`target` must be at most");
    assert_error(&all, 2, 67, "`start_rate` must be at most");
    assert!(load_str_with(
        "t",
        &with_load(&format!("{{ rate: {MAX_RATE}, duration: 1s }}")),
        &LoadOptions::default()
    )
    .is_ok());
}

#[test]
fn vus_above_the_limit_are_refused_in_files_and_flags_alike() {
    let all = errors(&with_load("{ vus: 2000000, duration: 1s }"));
    assert_error(&all, 2, 14, &format!("at most {MAX_VUS}"));
    let all = errors(&with_load("{ cycles: [1, 100001], cycle_duration: 1s }"));
    assert_error(&all, 2, 21, &format!("at most {MAX_VUS}"));
    let mut plan = load_str_with(
        "t",
        &with_load("{ vus: 1, duration: 1s }"),
        &LoadOptions::default(),
    )
    .unwrap();
    let flags = |vus, rate| Overrides {
        vus,
        rate,
        ..Overrides::default()
    };
    assert_eq!(
        plan.apply_overrides(&flags(Some(2_000_000), None)),
        Err(OverrideError::TooManyVus(2_000_000))
    );
    assert_eq!(
        plan.apply_overrides(&flags(None, Some(1e12))),
        Err(OverrideError::RateTooHigh)
    );
    assert_eq!(plan.apply_overrides(&flags(Some(MAX_VUS), None)), Ok(()));
}

#[test]
fn nested_template_calls_are_refused_before_they_can_overflow_a_stack() {
    for depth in [MAX_TEMPLATE_DEPTH + 1, 7_000, 100_000] {
        let call = format!("{}x{}", "base64(".repeat(depth), ")".repeat(depth));
        let all = errors(&with_path(&format!("/{{{{ {call} }}}}")));
        let (line, column, message) = &all[0];
        assert_eq!(all.len(), 1, "{all:?}");
        // At the call one too deep: after `url: "/{{ ` and 32 calls.
        let url = r#"      - request: { method: GET, url: ""#.len();
        assert_eq!(
            (*line, *column as usize),
            (6, url + 5 + 7 * MAX_TEMPLATE_DEPTH)
        );
        assert!(message.contains("nested more than 32 deep"), "{message}");
    }
    let fine = format!(
        "{}x{}",
        "base64(".repeat(MAX_TEMPLATE_DEPTH),
        ")".repeat(MAX_TEMPLATE_DEPTH)
    );
    let text = format!(
        "target: http://127.0.0.1:8080\nload: {{ vus: 1, iterations: 1 }}\nvariables:\n  x: a\nscenarios:\n  - name: s\n    steps:\n      - request: {{ method: GET, url: \"/{{{{ {fine} }}}}\" }}\n"
    );
    if let Err(d) = load_str_with("t", &text, &LoadOptions::default()) {
        panic!("{d}");
    }
}

#[test]
fn deep_yaml_is_an_error_not_a_stack_overflow() {
    for text in [
        "[".repeat(100_000),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        "- ".repeat(100_000),
        "{a: ".repeat(100_000),
    ] {
        let all = errors(&text);
        assert!(
            all.iter().any(|(l, c, _)| *l >= 1 && *c >= 1),
            "no located error: {all:?}"
        );
    }
}

#[test]
fn endless_and_blocking_files_are_refused() {
    let all = match load_with(std::path::Path::new("/dev/zero"), &LoadOptions::default()) {
        Ok(_) => panic!("/dev/zero loaded"),
        Err(d) => d.iter().map(|d| d.message.clone()).collect::<Vec<_>>(),
    };
    assert!(all[0].contains("not a regular file"), "{all:?}");
    let text = "target: http://127.0.0.1:8080\nload: { vus: 1, iterations: 1 }\ndata:\n  rows: { file: /dev/urandom, format: csv }\nscenarios:\n  - name: s\n    steps:\n      - request: { method: POST, url: /x, file: /dev/zero }\n";
    let all = errors(text);
    assert_error(&all, 4, 17, "not a regular file");
    assert_error(&all, 8, 49, "not a regular file");
}
