//! Loader tests of flow control: `loop`, `if`/`else`, `retry`, `on_error`
//! and conditions — what loads, and every mistake at its line:column.

use super::test_support::{self, Located};
use super::*;
use crate::scenario::flow::{OnError, Repeat, RetryOn, DEFAULT_WHILE_MAX};
use crate::scenario::model::StepKind;
use crate::ErrorKind;

fn options() -> LoadOptions {
    LoadOptions {
        env: Default::default(),
        base_dir: Some(test_support::fixtures()),
        target: None,
    }
    .with_env("LIMIT", "3")
}

/// A file with one scenario whose steps are `steps` (indented by 6).
fn file(steps: &str) -> String {
    format!(
        "target: http://127.0.0.1:1\nload: {{ vus: 1, iterations: 1 }}\ndata:\n  users:\n    file: users.csv\nscenarios:\n  - name: s\n    steps:\n{steps}"
    )
}

/// The first step's line in [`file`].
const FIRST: u32 = 9;

fn load_ok(steps: &str) -> Plan {
    test_support::load_ok(&file(steps), &options())
}

fn errors(steps: &str) -> Vec<Located> {
    test_support::errors(&file(steps), &options())
}

#[track_caller]
fn assert_error(steps: &str, line: u32, column: u32, needle: &str) {
    test_support::assert_error(&errors(steps), line, column, needle);
}

#[test]
fn flow_steps_load() {
    let plan = load_ok(
        "      - request: GET /a
        capture: { n: { jsonpath: $.n } }
        retry: { attempts: 3, on: [5xx, 429, timeout, error], backoff: 50ms..1s }
        on_error: continue
      - loop: { count: 2 }
        steps:
          - request: GET /b/{{ n + 1 }}
      - loop:
          while: \"n < env.LIMIT and status != 404\"
          steps:
            - request: GET /c
      - loop: { over: [x, '{{ n }}'], as: thing, steps: [ { request: 'GET /d/{{ thing }}' } ] }
      - loop: { over: users, steps: [ { request: 'GET /e/{{ users.email }}' } ] }
      - if: random() < 0.3
        steps:
          - request: GET /f
        else:
          - think: 1ms
",
    );
    let steps = &plan.scenarios[0].steps;
    let StepKind::Request(r) = &steps[0].kind else {
        panic!("{:?}", steps[0].kind)
    };
    let retry = r.flow.retry.as_ref().unwrap();
    assert_eq!(retry.attempts, 3);
    assert_eq!(
        retry.on,
        vec![
            RetryOn::Class(5),
            RetryOn::Status(429),
            RetryOn::Error(ErrorKind::Timeout),
            RetryOn::AnyError
        ]
    );
    assert_eq!(r.flow.on_error, Some(OnError::Continue));
    let StepKind::Loop(l) = &steps[1].kind else {
        panic!()
    };
    assert!(matches!(l.repeat, Repeat::Count(2)) && l.steps.len() == 1);
    let StepKind::Loop(l) = &steps[2].kind else {
        panic!()
    };
    assert!(matches!(l.repeat, Repeat::While { max, .. } if max == DEFAULT_WHILE_MAX));
    let StepKind::Loop(l) = &steps[3].kind else {
        panic!()
    };
    let Repeat::List {
        items, name, var, ..
    } = &l.repeat
    else {
        panic!()
    };
    assert_eq!((items.len(), name.as_str()), (2, "thing"));
    assert_eq!(plan.var("thing"), Some(*var));
    let StepKind::Loop(l) = &steps[4].kind else {
        panic!()
    };
    assert!(matches!(
        l.repeat,
        Repeat::Feeder {
            feeder: Some(0),
            ..
        }
    ));
    let StepKind::If(i) = &steps[5].kind else {
        panic!()
    };
    assert_eq!((i.then.len(), i.otherwise.len()), (1, 1));
    assert_eq!(i.condition.source(), "random() < 0.3");
    // Steps inside loops and branches are steps of the plan.
    assert_eq!(plan.step_count(), 6 + 6);
}

#[test]
fn on_error_in_defaults_and_its_default() {
    let text = "target: http://127.0.0.1:1\ndefaults: { on_error: abort_vu }\nscenarios:\n  - name: s\n    steps:\n      - request: GET /a\n      - request: GET /b\n        on_error: continue\n";
    let plan = load_str_with("t.yaml", text, &options()).unwrap();
    let on_error: Vec<OnError> = plan.scenarios[0]
        .steps
        .iter()
        .map(|s| match &s.kind {
            StepKind::Request(r) => plan.on_error_for(r),
            _ => panic!(),
        })
        .collect();
    assert_eq!(on_error, [OnError::AbortVu, OnError::Continue]);
    let plan = load_ok("      - request: GET /a\n");
    let StepKind::Request(r) = &plan.scenarios[0].steps[0].kind else {
        panic!()
    };
    assert_eq!(plan.on_error_for(r), OnError::AbortIteration);
}

#[test]
fn loop_mistakes_are_located() {
    let l = FIRST;
    assert_error(
        "      - loop: { count: 2, while: 'true' }\n        steps: [ { request: /a } ]\n",
        l,
        27,
        "one of them",
    );
    assert_error(
        "      - loop: { times: 2, steps: [ { request: /a } ] }\n",
        l,
        17,
        "unknown key `times` in `loop`",
    );
    assert_error(
        "      - loop: { count: 2 }\n",
        l,
        15,
        "a loop needs `steps`",
    );
    assert_error(
        "      - loop: { steps: [ { request: /a } ] }\n",
        l,
        15,
        "needs `count: N`, `while: CONDITION` or `over",
    );
    assert_error(
        "      - loop: { count: two, steps: [ { request: /a } ] }\n",
        l,
        24,
        "`count`",
    );
    assert_error(
        "      - loop: { count: -1, steps: [ { request: /a } ] }\n",
        l,
        24,
        "`count`",
    );
    assert_error(
        "      - loop: { count: 2, max: 5, steps: [ { request: /a } ] }\n",
        l,
        27,
        "`max` caps a `while` loop",
    );
    assert_error(
        "      - loop: { while: 'true', max: 0, steps: [ { request: /a } ] }\n",
        l,
        37,
        "`max`",
    );
    assert_error(
        "      - loop: { count: 2, steps: [] }\n",
        l,
        34,
        "the loop has no steps",
    );
}

#[test]
fn loop_item_mistakes_are_located() {
    let l = FIRST;
    assert_error(
        "      - loop: { count: 2, as: x, steps: [ { request: /a } ] }\n",
        l,
        27,
        "`as` names the item",
    );
    assert_error(
        "      - loop: { over: [], steps: [ { request: /a } ] }\n",
        l,
        23,
        "empty list",
    );
    assert_error(
        "      - loop: { over: {a: 1}, steps: [ { request: /a } ] }\n",
        l,
        23,
        "must be a list of values or the name of a data feeder",
    );
    assert_error(
        "      - loop: { over: usres, steps: [ { request: /a } ] }\n",
        l,
        23,
        "did you mean `users`?",
    );
    assert_error(
        "      - loop: { over: users, as: u, steps: [ { request: /a } ] }\n",
        l,
        30,
        "`as` is for lists",
    );
    assert_error(
        "      - loop: { over: [a], as: 'no good', steps: [ { request: /a } ] }\n",
        l,
        32,
        "not a valid loop item name",
    );
    assert_error("      - loop: { count: 2, steps: [ { request: /a } ] }\n        steps: [ { request: /b } ]\n", l + 1, 9, "given twice");
    assert_error(
        "      - loop: { count: 2, steps: [ { request: /a } ] }\n        check: { status: 200 }\n",
        l + 1,
        9,
        "`check` does not belong in a loop step",
    );
    assert_error(
        "      - loop: { count: 2, steps: [ { request: /a } ] }\n        request: /b\n",
        l,
        9,
        "a step does one thing",
    );
    assert_error("      - loop: 3\n", l, 15, "`loop` must be a mapping");
    // Nested misuse inside the loop is located too.
    assert_error(
        "      - loop: { count: 2, steps: [ { request: /a, retry: { attempts: 1 } } ] }\n",
        l,
        70,
        "`attempts`",
    );
}

#[test]
fn if_mistakes_are_located() {
    let l = FIRST;
    assert_error("      - if: status == 200\n", l, 9, "`if` needs `steps`");
    assert_error(
        "      - if: status = 200\n        steps: [ { request: /a } ]\n",
        l,
        20,
        "compare with `==`",
    );
    assert_error(
        "      - if: status ==\n        steps: [ { request: /a } ]\n",
        l,
        20,
        "needs a value on its right",
    );
    assert_error(
        "      - if: \"'abc' < 3\"\n        steps: [ { request: /a } ]\n",
        l,
        14,
        "needs numbers",
    );
    assert_error(
        "      - if: status + 1\n        steps: [ { request: /a } ]\n",
        l,
        13,
        "a condition must be true or false",
    );
    assert_error(
        "      - if: nope > 1\n        steps: [ { request: /a } ]\n",
        l,
        13,
        "`nope` is not defined",
    );
    assert_error(
        "      - if: rnd() < 0.5\n        steps: [ { request: /a } ]\n",
        l,
        13,
        "did you mean `random`?",
    );
    assert_error("      - if: later == 1\n        steps: [ { request: /a } ]\n      - request: /b\n        capture: { later: { header: x } }\n", l, 13, "used before it is captured");
    assert_error(
        "      - if: 'true'\n        steps: [ { request: /a } ]\n        else: []\n",
        l + 2,
        15,
        "`else` has no steps",
    );
    assert_error("      - if: 'true'\n        steps: [ { request: /a } ]\n        otherwise: [ { request: /b } ]\n", l + 2, 9, "unknown key `otherwise`");
    assert_error(
        "      - request: /a\n        else: [ { request: /b } ]\n",
        l + 1,
        9,
        "does not belong in a request step",
    );
    assert_error(
        "      - else: [ { request: /b } ]\n",
        l,
        9,
        "`else` belongs to an `if` step",
    );
    assert_error(
        "      - if: 'true'\n        steps: [ { request: /a } ]\n        retry: { attempts: 2 }\n",
        l + 2,
        9,
        "`retry` does not belong in a if step",
    );
    assert_error(
        "      - loop: { while: \"status < 'x'\", steps: [ { request: /a } ] }\n",
        l,
        25,
        "needs numbers",
    );
    assert_error(
        "      - loop: { while: count < 3, steps: [ { request: /a } ] }\n",
        l,
        24,
        "`count` is not defined",
    );
    assert_error("      - loop: { while: n-1 > 3, steps: [ { request: /a, capture: { n: { header: x } } } ] }\n", l, 24, "to subtract, put spaces around it");
}

#[test]
fn retry_and_on_error_mistakes_are_located() {
    let l = FIRST;
    let step = |extra: &str| format!("      - request: /a\n        {extra}\n");
    assert_error(&step("retry: { attempts: 1 }"), l + 1, 28, "at least 2");
    assert_error(&step("retry: { attempts: 1000 }"), l + 1, 28, "`attempts`");
    assert_error(
        &step("retry: { on: [5xx] }"),
        l + 1,
        16,
        "`retry` needs `attempts`",
    );
    assert_error(
        &step("retry: { attempts: 3, on: [6xx] }"),
        l + 1,
        36,
        "cannot retry on `6xx`",
    );
    assert_error(
        &step("retry: { attempts: 3, on: [timout] }"),
        l + 1,
        36,
        "did you mean `timeout`?",
    );
    assert_error(
        &step("retry: { attempts: 3, on: [] }"),
        l + 1,
        35,
        "`on` is empty",
    );
    assert_error(&step("retry: { attempts: 3, on: 5xx }"), l + 1, 35, "`on`");
    assert_error(
        &step("retry: { attempts: 3, backoff: 2s..1s }"),
        l + 1,
        40,
        "backwards",
    );
    assert_error(
        &step("retry: { attempts: 3, backof: 1s }"),
        l + 1,
        31,
        "did you mean `backoff`?",
    );
    assert_error(&step("retry: 3"), l + 1, 16, "`retry` must be a mapping");
    assert_error(
        &step("on_error: ignore"),
        l + 1,
        19,
        "continue, abort_iteration or abort_vu",
    );
    assert_error(
        &step("on_error: abort_iter"),
        l + 1,
        19,
        "did you mean `abort_iteration`?",
    );
    let text = "target: http://127.0.0.1:1\ndefaults: { on_error: skip }\nscenarios:\n  - name: s\n    steps:\n      - request: /a\n";
    let e = load_str_with("t.yaml", text, &options()).unwrap_err();
    assert!(
        e.iter()
            .any(|d| d.line == 2 && d.column == 23 && d.message.contains("on_error")),
        "{e}"
    );
    assert_error(
        "      - think: 1s\n        on_error: continue\n",
        l + 1,
        9,
        "`on_error` does not belong in a think step",
    );
}
