//! Loader tests for `tags`: inheritance and located errors.

use super::test_support::{self, Located};
use super::*;
use crate::scenario::model::StepKind;

fn load(text: &str) -> Result<Plan, Vec<Located>> {
    test_support::load(text, &LoadOptions::default())
}

#[track_caller]
fn assert_error(text: &str, line: u32, column: u32, needle: &str) {
    let all = test_support::errors(text, &LoadOptions::default());
    test_support::assert_error(&all, line, column, needle);
}

#[test]
fn tags_are_inherited_from_scenario_and_groups_inner_values_winning() {
    let plan = load(
        "target: http://127.0.0.1:1\nsetup:\n  - request: /s\n    tags: { phase: setup }\nscenarios:\n  - name: shop\n    tags: { area: shop, kind: read }\n    steps:\n      - request: /a\n      - group: buy\n        tags: { kind: write }\n        steps:\n          - request: /b\n            tags: { step: b, n: 1 }\n          - request: /c\n            tags: { kind: admin }\n",
    )
    .unwrap();
    let s = &plan.scenarios[0];
    assert_eq!(s.tags.to_string(), "area=shop,kind=read");
    assert_eq!(s.steps[0].tags.to_string(), "area=shop,kind=read");
    assert_eq!(s.steps[1].tags.to_string(), "area=shop,kind=write");
    let StepKind::Group(g) = &s.steps[1].kind else {
        panic!("expected a group")
    };
    assert_eq!(
        g.steps[0].tags.to_string(),
        "area=shop,kind=write,n=1,step=b"
    );
    assert_eq!(g.steps[1].tags.to_string(), "area=shop,kind=admin");
    assert_eq!(plan.setup[0].tags.to_string(), "phase=setup");
}

#[test]
fn tag_values_are_static_text_and_errors_are_located() {
    let head = "target: http://127.0.0.1:1\nscenarios:\n  - name: s\n";
    assert_error(
        &format!("{head}    tags: {{ user: \"{{{{ vu }}}}\" }}\n    steps:\n      - request: /\n"),
        4,
        19,
        "tag `user` is a template: tag values are static text",
    );
    assert_error(
        &format!("{head}    steps:\n      - request: /\n        tags: [a, b]\n"),
        6,
        15,
        "`tags` must be a mapping of names to values",
    );
    assert_error(
        &format!("{head}    steps:\n      - request: /\n        tags: {{ kind: [a] }}\n"),
        6,
        23,
        "tag `kind` must be a single value, found a list",
    );
    assert_error(
        &format!("{head}    steps:\n      - request: /\n        tags: {{ \"a b\": x }}\n"),
        6,
        17,
        "`a b` is not a valid tag name",
    );
    assert_error(
        &format!("{head}    steps:\n      - request: /\n        tgas: {{ a: x }}\n"),
        6,
        9,
        "unknown key `tgas` in a step (did you mean `tags`?)",
    );
    assert_error(
        &format!("{head}    steps:\n      - think: 1s\n        tags: {{ a: x }}\n"),
        6,
        9,
        "`tags` does not belong in a think step",
    );
    // Numbers and booleans are text.
    let plan = load(&format!(
        "{head}    steps:\n      - request: /\n        tags: {{ n: 1, ok: true }}\n"
    ))
    .unwrap();
    assert_eq!(plan.scenarios[0].steps[0].tags.to_string(), "n=1,ok=true");
}

#[test]
fn thresholds_scoped_by_group_and_tag_must_match_something() {
    let file = |thresholds: &str| {
        format!(
            "target: http://127.0.0.1:1\nthresholds:\n{thresholds}scenarios:\n  - name: s\n    steps:\n      - group: checkout\n        tags: {{ kind: write }}\n        steps:\n          - request: /pay\n"
        )
    };
    let plan = load(&file(
        "  - condition: p95 < 1s\n    group: checkout\n    tag: { kind: write }\n",
    ))
    .unwrap();
    assert_eq!(plan.thresholds[0].filter.group.as_deref(), Some("checkout"));
    assert_eq!(plan.thresholds[0].filter.tags.to_string(), "kind=write");
    assert_error(
        &file("  - condition: p95 < 1s\n    group: chekout\n"),
        4,
        12,
        "no group is named `chekout` (did you mean `checkout`?)",
    );
    assert_error(
        &file("  - condition: p95 < 1s\n    tag: { kind: read }\n"),
        4,
        10,
        "no request or WebSocket step is tagged kind=read",
    );
    assert_error(
        &file("  - condition: p95 < 1s\n    tag: { kind: \"{{ vu }}\" }\n"),
        4,
        18,
        "tag `kind` is a template",
    );
    assert_error(
        &file("  - condition: iterations > 1\n    tag: { kind: write }\n"),
        4,
        5,
        "`iterations` counts a scenario's iterations",
    );
    assert_error(
        &file("  - condition: p95 < 1s\n    tags: { kind: write }\n"),
        4,
        5,
        "unknown key `tags` in a threshold (did you mean `tag`?)",
    );
}
