//! JUnit XML: how CI systems (Jenkins, GitLab, GitHub actions' test
//! reporters, Azure, CircleCI) show a run as tests.
//!
//! Each threshold is a test case, failed when the threshold did not hold, in a
//! suite `thresholds`; each check of each step is a test case, failed when any
//! of its evaluations failed, in a suite `checks`; and a suite `run` has one
//! case, `run completed`, failed when the run was interrupted — so even a
//! bench with no thresholds gives CI something true to show.
//!
//! The document follows the common JUnit schema (Jenkins' `junit-10.xsd`):
//! `testsuites` > `testsuite` (`properties`, `testcase`*, `system-out`) >
//! `testcase` > `failure` with `message` and `type`, with `tests`, `failures`
//! and `errors` counts on the suites. Timestamps have no time zone (that
//! schema's pattern); they are UTC. Key figures go in the `run` suite's
//! properties, and the failure examples in its `system-out`.

use std::fmt::Write;

use pummel_result::result::RunResult;

use crate::figures::Figures;
use crate::markup::escape;
use crate::{failures, format, thresholds, ReportOptions};

/// One test case.
struct Case {
    classname: String,
    name: String,
    /// `(type, message, details)` when it failed.
    failure: Option<(&'static str, String, String)>,
    /// Why it was not evaluated (a check whose step never got a response):
    /// neither a pass nor a failure.
    skipped: Option<String>,
}

struct Suite {
    name: &'static str,
    cases: Vec<Case>,
    properties: Vec<(String, String)>,
    system_out: Option<String>,
}

impl Suite {
    fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }

    fn skipped(&self) -> usize {
        self.cases.iter().filter(|c| c.skipped.is_some()).count()
    }
}

/// Dots separate packages in a JUnit class name; a dot inside a step's name
/// must not split it.
fn class_part(s: &str) -> String {
    s.replace('.', "_")
}

/// The JUnit XML document for a result.
pub fn junit(r: &RunResult, options: &ReportOptions) -> String {
    let suites = [run_suite(r, options), thresholds_suite(r), checks_suite(r)];
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failed: usize = suites.iter().map(Suite::failures).sum();
    let title = crate::title(r);
    let time = format!("{:.3}", r.duration_s.max(0.0));
    let timestamp = r.started_at.trim_end_matches('Z');

    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<testsuites name="pummel: {}" tests="{tests}" failures="{failed}" errors="0" time="{time}">"#,
        escape(&title)
    );
    for (id, suite) in suites.iter().enumerate() {
        let _ = write!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="{}" time="{time}" id="{id}""#,
            suite.name,
            suite.cases.len(),
            suite.failures(),
            suite.skipped(),
        );
        if !timestamp.is_empty() {
            let _ = write!(out, r#" timestamp="{}""#, escape(timestamp));
        }
        let _ = writeln!(out, ">");
        if !suite.properties.is_empty() {
            let _ = writeln!(out, "    <properties>");
            for (name, value) in &suite.properties {
                let _ = writeln!(
                    out,
                    r#"      <property name="{}" value="{}"/>"#,
                    escape(name),
                    escape(value)
                );
            }
            let _ = writeln!(out, "    </properties>");
        }
        for case in &suite.cases {
            let head = format!(
                r#"    <testcase classname="{}" name="{}" time="0""#,
                escape(&case.classname),
                escape(&case.name)
            );
            match &case.failure {
                None => match &case.skipped {
                    None => {
                        let _ = writeln!(out, "{head}/>");
                    }
                    Some(why) => {
                        let _ = writeln!(out, "{head}>");
                        let _ = writeln!(out, r#"      <skipped message="{}"/>"#, escape(why));
                        let _ = writeln!(out, "    </testcase>");
                    }
                },
                Some((kind, message, details)) => {
                    let _ = writeln!(out, "{head}>");
                    let _ = writeln!(
                        out,
                        r#"      <failure type="{kind}" message="{}">{}</failure>"#,
                        escape(message),
                        escape(details)
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        if let Some(text) = &suite.system_out {
            let _ = writeln!(out, "    <system-out>{}</system-out>", escape(text));
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    let _ = writeln!(out, "</testsuites>");
    out
}

fn run_suite(r: &RunResult, options: &ReportOptions) -> Suite {
    let f = Figures::of_run(r, options.apdex_t_ms);
    let mut properties = vec![
        ("pummel.version".to_owned(), r.pummel_version.clone()),
        ("pummel.kind".to_owned(), r.kind.clone()),
        ("requests".to_owned(), r.requests.to_string()),
        ("rps".to_owned(), format!("{:.2}", r.rps)),
        ("error_rate".to_owned(), format!("{:.6}", f.error_rate())),
    ];
    for (name, v) in [
        ("p50_ms", f.latency.p50),
        ("p95_ms", f.latency.p95),
        ("p99_ms", f.latency.p99),
    ] {
        properties.push((name.to_owned(), format!("{v:.3}")));
    }
    if let Some(score) = f.apdex_score() {
        properties.push((
            format!("apdex_{}ms", options.apdex_t_ms),
            format!("{score:.3}"),
        ));
    }
    if let Some(verdict) = &r.verdict {
        properties.push(("verdict".to_owned(), verdict.clone()));
    }
    // Retries (`retry:` steps): the run's, and each retrying step's.
    if let Some(retries) = r.retries {
        properties.push(("retries".to_owned(), retries.to_string()));
    }
    for step in &r.steps {
        if let Some(retries) = step.retries.filter(|n| *n > 0) {
            let flow = step.scenario.as_deref().unwrap_or("");
            properties.push((format!("retries.{flow}/{}", step.name), retries.to_string()));
        }
    }
    let failure = r.partial.then(|| {
        (
            "interrupted",
            "the run was interrupted: its figures cover only part of the plan".to_owned(),
            String::new(),
        )
    });
    let examples = failures::examples(r);
    let system_out = (!examples.is_empty()).then(|| {
        let mut text = String::from("Failure examples:\n");
        for e in &examples {
            let _ = writeln!(
                text,
                "  {} × {}: {}: {}",
                e.count, e.place, e.what, e.message
            );
        }
        text
    });
    Suite {
        name: "run",
        cases: vec![Case {
            classname: "pummel.run".to_owned(),
            name: "run completed".to_owned(),
            failure,
            skipped: None,
        }],
        properties,
        system_out,
    }
}

fn thresholds_suite(r: &RunResult) -> Suite {
    let cases = r
        .thresholds
        .iter()
        .map(|t| {
            let scope = if t.scope.is_empty() {
                "run"
            } else {
                t.scope.as_str()
            };
            Case {
                classname: format!("pummel.thresholds.{}", class_part(scope)),
                name: t.condition.clone(),
                failure: (!t.passed).then(|| {
                    let line = thresholds::describe(t);
                    (
                        "threshold",
                        format!("threshold failed: {line}"),
                        format!("Threshold {line}.\n"),
                    )
                }),
                skipped: None,
            }
        })
        .collect();
    Suite {
        name: "thresholds",
        cases,
        properties: Vec::new(),
        system_out: None,
    }
}

fn checks_suite(r: &RunResult) -> Suite {
    let examples = failures::examples(r);
    let mut cases = Vec::new();
    for step in &r.steps {
        let class = match &step.scenario {
            Some(s) => format!("pummel.checks.{}.{}", class_part(s), class_part(&step.name)),
            None => format!("pummel.checks.{}", class_part(&step.name)),
        };
        for check in &step.checks {
            let total = check.passed + check.failed;
            let failure = (check.failed > 0).then(|| {
                let share = format::percent(check.failed as f64 / total.max(1) as f64);
                let message = format!(
                    "{} of {} checks failed ({share})",
                    format::count(check.failed),
                    format::count(total)
                );
                let mut details = format!(
                    "Check {:?} on step {:?}: {message}.\n",
                    check.label, step.name
                );
                let related: Vec<_> = examples.iter().filter(|e| e.what == check.label).collect();
                if !related.is_empty() {
                    details.push_str("Examples (failed checks with this label):\n");
                    for e in related {
                        let _ = writeln!(details, "  {} × {}: {}", e.count, e.place, e.message);
                    }
                }
                ("check", message, details)
            });
            cases.push(Case {
                classname: class.clone(),
                name: check.label.clone(),
                failure,
                skipped: (total == 0).then(|| "not evaluated: the step got no response".to_owned()),
            });
        }
    }
    Suite {
        name: "checks",
        cases,
        properties: Vec::new(),
        system_out: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn doc(r: &RunResult) -> String {
        junit(r, &ReportOptions::default())
    }

    /// Checks the document against the rules of the common JUnit schema
    /// (Jenkins' junit-10.xsd) that matter to CI systems, and that every
    /// count agrees with the cases.
    pub(crate) fn assert_valid_junit(xml: &str) -> roxmltree::Document<'_> {
        let d = roxmltree::Document::parse(xml).expect("well-formed XML");
        let root = d.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let allowed_root = ["name", "time", "tests", "failures", "disabled", "errors"];
        assert!(
            root.attributes().all(|a| allowed_root.contains(&a.name())),
            "testsuites attributes"
        );
        let (mut tests, mut failures) = (0, 0);
        for suite in root.children().filter(roxmltree::Node::is_element) {
            assert_eq!(suite.tag_name().name(), "testsuite");
            assert!(suite.attribute("name").is_some() && suite.attribute("tests").is_some());
            let order: Vec<&str> = suite
                .children()
                .filter(roxmltree::Node::is_element)
                .map(|n| n.tag_name().name())
                .collect();
            let rank = |t: &str| {
                ["properties", "testcase", "system-out", "system-err"]
                    .iter()
                    .position(|x| *x == t)
            };
            assert!(
                order.iter().all(|t| rank(t).is_some()),
                "unexpected element in testsuite: {order:?}"
            );
            assert!(
                order.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
                "element order {order:?}"
            );
            let cases: Vec<_> = suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .collect();
            let failed = cases
                .iter()
                .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
                .count();
            assert_eq!(
                suite.attribute("tests"),
                Some(cases.len().to_string().as_str())
            );
            assert_eq!(
                suite.attribute("failures"),
                Some(failed.to_string().as_str())
            );
            for case in &cases {
                assert!(case.attribute("name").is_some_and(|n| !n.is_empty()));
                for f in case.children().filter(|n| n.has_tag_name("failure")) {
                    assert!(f.attribute("message").is_some() && f.attribute("type").is_some());
                }
            }
            tests += cases.len();
            failures += failed;
        }
        assert_eq!(root.attribute("tests"), Some(tests.to_string().as_str()));
        assert_eq!(
            root.attribute("failures"),
            Some(failures.to_string().as_str())
        );
        d
    }

    #[test]
    fn thresholds_and_checks_are_test_cases() {
        let xml = doc(&testdata::scenario_run());
        let d = assert_valid_junit(&xml);
        let case = |name: &str| {
            d.descendants()
                .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
                .unwrap()
        };
        let failure = |name: &str| case(name).children().find(|n| n.has_tag_name("failure"));
        assert!(failure("p95 < 250ms").is_none());
        let f = failure("error_rate < 1%").expect("a failed threshold is a failure");
        assert_eq!(
            f.attribute("message"),
            Some("threshold failed: error_rate < 1% on the run: observed 5.19%")
        );
        assert_eq!(
            case("p99 < 3ms").attribute("classname"),
            Some("pummel.thresholds.step slow <1>")
        );
        assert!(failure("rps > 10")
            .unwrap()
            .attribute("message")
            .unwrap()
            .contains("nothing measured"));
        let checks: Vec<_> = d
            .descendants()
            .filter(|n| {
                n.has_tag_name("testcase")
                    && n.attribute("classname")
                        .unwrap()
                        .starts_with("pummel.checks")
            })
            .collect();
        assert_eq!(checks.len(), 3);
        let flaky = checks
            .iter()
            .find(|c| c.attribute("classname") == Some("pummel.checks.buy.flaky"))
            .unwrap();
        let f = flaky
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            f.attribute("message"),
            Some("50 of 50 checks failed (100.00%)")
        );
        assert!(f.text().unwrap().contains("/status/503"));
        assert!(
            xml.contains(r#"<testsuites name="pummel: shop &lt;demo&gt;" tests="8" failures="4""#),
            "{xml}"
        );
    }

    #[test]
    fn a_bench_is_one_passing_case_and_an_interrupted_run_fails() {
        let xml = doc(&testdata::bench());
        let d = assert_valid_junit(&xml);
        assert_eq!(d.root_element().attribute("tests"), Some("1"));
        assert_eq!(d.root_element().attribute("failures"), Some("0"));
        assert!(xml.contains(r#"timestamp="2026-01-02T03:04:05""#));
        let xml = doc(&testdata::minimal());
        let d = assert_valid_junit(&xml);
        assert_eq!(d.root_element().attribute("failures"), Some("1"));
        assert!(!xml.contains("timestamp="));
    }
}
