//! Loader tests for `metric:` steps and thresholds on custom metrics.

use super::test_support::{self, Located};
use super::*;
use crate::scenario::custom_metric::{CustomStat, MetricKind};
use crate::scenario::model::StepKind;
use crate::scenario::threshold::Metric;

fn load(text: &str) -> Result<Plan, Vec<Located>> {
    test_support::load(text, &LoadOptions::default())
}

#[track_caller]
fn assert_error(text: &str, line: u32, column: u32, needle: &str) {
    let all = test_support::errors(text, &LoadOptions::default());
    test_support::assert_error(&all, line, column, needle);
}

fn file(thresholds: &str, steps: &str) -> String {
    let thresholds = if thresholds.is_empty() {
        "thresholds: []\n".to_owned()
    } else {
        format!("thresholds:\n{thresholds}")
    };
    format!("target: http://127.0.0.1:1\n{thresholds}scenarios:\n  - name: s\n    steps:\n      - request: /x\n        capture: {{ total: {{ jsonpath: $.t }} }}\n{steps}")
}

const TREND: &str = "      - metric: { name: basket, value: \"{{ total }}\", kind: trend }\n";

#[test]
fn metric_steps_and_their_thresholds_load() {
    let plan = load(&file(
        "  - basket.p95 < 500\n  - basket.count > 10\n",
        &format!("{TREND}      - metric: {{ name: orders, kind: counter }}\n"),
    ))
    .unwrap();
    let StepKind::Metric(m) = &plan.scenarios[0].steps[1].kind else {
        panic!("expected a metric step")
    };
    assert_eq!((m.name.as_str(), m.kind), ("basket", MetricKind::Trend));
    let StepKind::Metric(orders) = &plan.scenarios[0].steps[2].kind else {
        panic!("expected a metric step")
    };
    assert_eq!(orders.value.source(), "1", "a counter alone counts 1");
    let t = &plan.thresholds[0];
    assert_eq!(t.custom.as_deref(), Some("basket"));
    assert_eq!(
        t.condition.metric,
        Metric::Custom(CustomStat::Percentile(95.0))
    );
    assert_eq!(t.condition.bound, 500.0);
}

#[test]
fn metric_errors_are_located() {
    assert_error(
        &file(
            "",
            "      - metric: { name: basket, value: \"{{ totl }}\", kind: trend }\n",
        ),
        8,
        44,
        "`totl` is not defined (did you mean `total`?)",
    );
    assert_error(
        &file(
            "",
            "      - metric: { name: basket, value: 1, kind: histogram }\n",
        ),
        8,
        49,
        "unknown metric kind `histogram` (kinds: counter, gauge, trend)",
    );
    assert_error(
        &file("", "      - metric: { name: basket, kind: gauge }\n"),
        8,
        17,
        "metric `basket` needs `value`",
    );
    assert_error(
        &file(
            "",
            "      - metric: { name: \"a.b\", value: 1, kind: gauge }\n",
        ),
        8,
        25,
        "`a.b` is not a valid metric name",
    );
    assert_error(
        &file(
            "",
            "      - metric: { name: b, value: 1, kind: gauge, unit: ms }\n",
        ),
        8,
        51,
        "unknown key `unit` in `metric`",
    );
    assert_error(
        &file(
            "",
            "      - metric: { name: b, value: 1, kind: gauge }\n        check: { status: 200 }\n",
        ),
        9,
        9,
        "`check` does not belong in a metric step",
    );
    assert_error(
        &file(
            "",
            &format!("{TREND}      - metric: {{ name: basket, value: 1, kind: counter }}\n"),
        ),
        9,
        9,
        "metric `basket` is a trend elsewhere in the file",
    );
}

#[test]
fn thresholds_on_custom_metrics_are_checked_against_the_file() {
    assert_error(
        &file("  - baskt.p95 < 500\n", TREND),
        3,
        5,
        "no `metric:` step feeds a metric named `baskt` (did you mean `basket`?)",
    );
    assert_error(
        &file("  - basket.value < 500\n", TREND),
        3,
        5,
        "`basket` is a trend: it has count, p50…p99.9, median, mean, min, max, not `value`",
    );
    assert_error(
        &file("  - basket.p101 < 500\n", TREND),
        3,
        5,
        "unknown metric `basket.p101`",
    );
    assert_error(
        &file("  - condition: basket.p95 < 500\n    scenario: s\n", TREND),
        3,
        16,
        "a threshold on it takes no `scenario`",
    );
}
