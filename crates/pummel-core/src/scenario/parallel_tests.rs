//! Loader tests of `parallel:` batches: what loads, what the batch's
//! requests may see, and every mistake at its line:column.

use super::test_support;
use super::*;
use crate::scenario::flow::OnError;
use crate::scenario::model::StepKind;
use crate::scenario::parallel::DEFAULT_CONNECTIONS;

/// A file with one scenario whose steps are `steps` (indented by 6).
fn file(steps: &str) -> String {
    format!(
        "target: http://127.0.0.1:1\nload: {{ vus: 1, iterations: 1 }}\nscenarios:\n  - name: s\n    steps:\n{steps}"
    )
}

/// The first step's line in [`file`].
const FIRST: u32 = 6;

fn load(steps: &str) -> Result<Plan, Diagnostics> {
    load_str_with("t.yaml", &file(steps), &LoadOptions::default())
}

#[track_caller]
fn assert_error(steps: &str, line: u32, column: u32, needle: &str) {
    let all = test_support::errors(&file(steps), &LoadOptions::default());
    test_support::assert_error(&all, line, column, needle);
}

#[test]
fn a_batch_loads_with_its_requests_connections_and_on_error() {
    let plan = load(
        "      - name: assets
        connections: 2
        on_error: continue
        parallel:
          - request: GET /a
            capture: { a: { header: x-a } }
          - name: b
            request: GET /b
            on_error: abort_vu
            retry: { attempts: 2, on: [5xx] }
      - request: GET /after/{{ a }}
",
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let step = &plan.scenarios[0].steps[0];
    assert_eq!(step.name, "assets");
    let StepKind::Parallel(p) = &step.kind else {
        panic!("not a batch: {:?}", step.kind)
    };
    assert_eq!((p.steps.len(), p.connections), (2, 2));
    assert_eq!(p.on_error, Some(OnError::Continue));
    assert_eq!(p.steps[0].name, "GET /a");
    let StepKind::Request(b) = &p.steps[1].kind else {
        panic!("not a request")
    };
    assert_eq!(b.flow.on_error, Some(OnError::AbortVu));
    assert!(b.flow.retry.is_some());

    let plain =
        load("      - parallel:\n          - request: GET /a\n").unwrap_or_else(|d| panic!("{d}"));
    let step = &plain.scenarios[0].steps[0];
    let StepKind::Parallel(p) = &step.kind else {
        panic!("not a batch")
    };
    assert_eq!(
        (step.name.as_str(), p.connections),
        ("parallel", DEFAULT_CONNECTIONS)
    );
}

#[test]
fn requests_of_a_batch_do_not_see_each_others_captures() {
    assert_error(
        "      - parallel:
          - request: GET /a
            capture: { a: { header: x-a } }
          - request: GET /b/{{ a }}
",
        FIRST + 3,
        32,
        "`a` is used before it is captured",
    );
}

#[test]
fn mistakes_are_located() {
    assert_error("      - parallel: []\n", FIRST, 19, "`parallel` is empty");
    assert_error("      - parallel: GET /a\n", FIRST, 19, "`parallel`");
    assert_error(
        "      - parallel:\n          - think: 1s\n",
        FIRST + 1,
        13,
        "request steps only: `think`",
    );
    assert_error(
        "      - parallel:\n          - group: g\n            steps: [{ request: GET /a }]\n",
        FIRST + 1,
        13,
        "request steps only: `group`",
    );
    assert_error(
        "      - parallel:\n          - parallel:\n              - request: GET /a\n",
        FIRST + 1,
        13,
        "request steps only: `parallel`",
    );
    assert_error(
        "      - parallel:\n          - ws_connect: /ws/echo\n",
        FIRST + 1,
        13,
        "WebSocket steps cannot be inside it",
    );
    assert_error(
        "      - parallel:\n          - GET /a\n",
        FIRST + 1,
        13,
        "a request step",
    );
    assert_error(
        "      - parallel:\n          - request: GET /a\n            think: 1s\n",
        FIRST + 2,
        13,
        "`think` does not belong in a request of `parallel`",
    );
    assert_error(
        "      - parallel:\n          - request: GET /a\n            retyr: 1\n",
        FIRST + 2,
        13,
        "retyr",
    );
    assert_error(
        "      - parallel:\n          - request: GET /a\n        connections: 0\n",
        FIRST + 2,
        22,
        "`connections`",
    );
    assert_error(
        "      - parallel:\n          - request: GET /a\n        connections: many\n",
        FIRST + 2,
        22,
        "`connections`",
    );
    assert_error(
        "      - parallel:\n          - request: GET /a\n        retry: { attempts: 2, on: [5xx] }\n",
        FIRST + 2,
        9,
        "`retry` does not belong in a parallel step",
    );
    assert_error(
        "      - parallel:\n          - request: GET /a\n        on_error: carry_on\n",
        FIRST + 2,
        19,
        "`on_error` must be",
    );
    assert_error(
        "      - request: GET /a\n        connections: 3\n",
        FIRST + 1,
        9,
        "`connections` does not belong in a request step",
    );
}
