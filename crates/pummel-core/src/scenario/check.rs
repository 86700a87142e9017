//! Checks: assertions on a response, each counted as passed or failed.
//!
//! A check never stops a virtual user: a failure is counted (per check and
//! per step) and the iteration goes on, as in k6. Thresholds such as
//! `checks > 99%` turn failures into a failed run.
//!
//! Evaluation is a pure function of the response (and, for expectations
//! written as templates, of the VU's variables). A pass allocates nothing;
//! a failure returns a short message saying what was seen.

use std::fmt::{self, Write as _};
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::duration::format_duration;
use super::response::{json_text, ResponseView};
use super::template::{Context, Template};

/// One check of a request step.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    /// What it checks, e.g. `status 200` or `jsonpath $.items exists`: the
    /// key its pass/fail counts are reported under.
    pub label: String,
    pub kind: CheckKind,
}

#[derive(Clone, Debug)]
pub(crate) enum CheckKind {
    /// The status code is in the set.
    Status(StatusSet),
    /// A response header (name lower-cased) passes the test.
    Header { name: String, test: TextTest },
    /// The body passes the test.
    Body(TextTest),
    /// The first node the JSONPath selects passes the test.
    JsonPath {
        path: JsonPath,
        source: String,
        test: JsonTest,
    },
    /// The response took at most this long.
    MaxTime(Duration),
    /// The first element a CSS selector selects (its text or an
    /// attribute) passes the test.
    Css {
        query: super::css::CssQuery,
        test: TextTest,
    },
}

/// A test on a piece of text (a header or the body).
#[derive(Clone, Debug)]
pub(crate) enum TextTest {
    Exists,
    Absent,
    Equals(Template),
    Contains(Template),
    NotContains(Template),
    Matches(Regex),
}

/// A test on a JSON node.
#[derive(Clone, Debug)]
pub(crate) enum JsonTest {
    Exists,
    Absent,
    /// Equal to a value written in YAML: numbers compare as numbers, so
    /// `3` equals `3.0`.
    Equals(Value),
    /// Equal, as text, to a rendered template: `{{ app_id }}` equals both
    /// `"42"` and `42`.
    EqualsText(Template),
    /// A string containing the text, or an array with an element equal to it.
    Contains(Template),
    /// The node, as text, matches.
    Matches(Regex),
}

/// Status codes as inclusive ranges: `200`, `[200, 201]`, `200..299`, `2xx`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusSet {
    ranges: Vec<(u16, u16)>,
}

impl StatusSet {
    pub(crate) fn new(ranges: Vec<(u16, u16)>) -> StatusSet {
        StatusSet { ranges }
    }

    pub(crate) fn contains(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status))
    }

    /// Parses one item: `200`, `200..299` or `2xx`.
    pub(crate) fn parse_item(text: &str) -> Result<(u16, u16), StatusError> {
        let t = text.trim();
        let code = |s: &str| match s.trim().parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) => Ok(c),
            _ => Err(StatusError {
                text: s.to_owned(),
                kind: StatusErrorKind::InvalidCode,
            }),
        };
        let fail = |kind| StatusError {
            text: t.to_owned(),
            kind,
        };
        if let Some((a, b)) = t.split_once("..") {
            let (a, b) = (code(a)?, code(b)?);
            return if a <= b {
                Ok((a, b))
            } else {
                Err(fail(StatusErrorKind::BackwardsRange))
            };
        }
        let lower = t.to_ascii_lowercase();
        if let Some(class) = lower.strip_suffix("xx").and_then(|c| c.parse::<u16>().ok()) {
            return if (1..=5).contains(&class) {
                Ok((class * 100, class * 100 + 99))
            } else {
                Err(fail(StatusErrorKind::InvalidClass))
            };
        }
        code(t).map(|c| (c, c))
    }
}

/// A status item of a `status` check that could not be read: the text, and
/// what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusError {
    /// The offending text: the bad code, or the whole range or class.
    text: String,
    kind: StatusErrorKind,
}

/// What is wrong with a status item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum StatusErrorKind {
    /// Not a number from 100 to 599.
    InvalidCode,
    /// A range `a..b` with `a > b`.
    BackwardsRange,
    /// A class other than `1xx` to `5xx`.
    InvalidClass,
}

impl std::error::Error for StatusError {}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.text;
        match self.kind {
            StatusErrorKind::InvalidCode => write!(
                f,
                "invalid status {t:?}: expected a code from 100 to 599, a range 200..299, or a class 2xx"
            ),
            StatusErrorKind::BackwardsRange => write!(f, "status range {t:?} goes backwards"),
            StatusErrorKind::InvalidClass => {
                write!(f, "invalid status class {t:?}: expected 1xx to 5xx")
            }
        }
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else if lo % 100 == 0 && hi == lo + 99 {
                write!(f, "{}xx", lo / 100)?;
            } else {
                write!(f, "{lo}..{hi}")?;
            }
        }
        Ok(())
    }
}

/// The result of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CheckOutcome {
    Pass,
    /// Why it failed, e.g. `status 404, expected 200`.
    Fail(String),
}

/// How a check or capture that needed the part of a body cut at
/// `max_body` fails: named, so that a report tells it from a wrong answer.
pub(crate) const BODY_TRUNCATED: &str = "body_truncated";

impl CheckOutcome {
    pub(crate) fn passed(&self) -> bool {
        matches!(self, CheckOutcome::Pass)
    }
}

impl Check {
    /// Every template of the check's expectations, for validation.
    pub(crate) fn templates_mut(&mut self, f: &mut dyn FnMut(&mut Template)) {
        match &mut self.kind {
            CheckKind::Header { test, .. }
            | CheckKind::Body(test)
            | CheckKind::Css { test, .. } => match test {
                TextTest::Equals(t) | TextTest::Contains(t) | TextTest::NotContains(t) => f(t),
                TextTest::Exists | TextTest::Absent | TextTest::Matches(_) => {}
            },
            CheckKind::JsonPath {
                test: JsonTest::EqualsText(t) | JsonTest::Contains(t),
                ..
            } => f(t),
            CheckKind::JsonPath { .. } | CheckKind::Status(_) | CheckKind::MaxTime(_) => {}
        }
    }

    /// Evaluates the check. `scratch` is a reusable buffer for rendering
    /// expectations written as templates.
    pub(crate) fn evaluate(
        &self,
        response: &ResponseView<'_>,
        ctx: &dyn Context,
        scratch: &mut String,
    ) -> CheckOutcome {
        let outcome = self.evaluate_whole(response, ctx, scratch);
        if !response.body_truncated {
            return outcome;
        }
        // Only the start of the body was kept. A test that failed on it may
        // have passed on the rest, and a test of absence cannot pass
        // without the rest: either way, it needed the part that was cut.
        let needed_the_rest = match &self.kind {
            CheckKind::Body(test) => {
                !outcome.passed() || matches!(test, TextTest::NotContains(_) | TextTest::Absent)
            }
            CheckKind::JsonPath { .. } | CheckKind::Css { .. } => true,
            CheckKind::Status(_) | CheckKind::MaxTime(_) | CheckKind::Header { .. } => false,
        };
        if !needed_the_rest {
            return outcome;
        }
        CheckOutcome::Fail(format!(
            "{BODY_TRUNCATED}: the body is longer than `max_body` ({} bytes kept); raise `max_body` to check it whole",
            response.body.len()
        ))
    }

    fn evaluate_whole(
        &self,
        response: &ResponseView<'_>,
        ctx: &dyn Context,
        scratch: &mut String,
    ) -> CheckOutcome {
        match &self.kind {
            CheckKind::Status(set) => {
                if set.contains(response.status) {
                    CheckOutcome::Pass
                } else {
                    CheckOutcome::Fail(format!("status {}, expected {set}", response.status))
                }
            }
            CheckKind::MaxTime(limit) => {
                if response.elapsed <= *limit {
                    CheckOutcome::Pass
                } else {
                    CheckOutcome::Fail(format!(
                        "took {}, expected at most {}",
                        format_duration(Duration::from_micros(response.elapsed.as_micros() as u64)),
                        format_duration(*limit)
                    ))
                }
            }
            CheckKind::Header { name, test } => {
                let value = response.header(name);
                text_test(test, value, &format!("header {name}"), ctx, scratch)
            }
            CheckKind::Css { query, test } => {
                let value = query.first(&response.text());
                let what = format!("css {}", query.label());
                text_test(test, value.as_deref(), &what, ctx, scratch)
            }
            CheckKind::Body(test) => {
                let body = response.text();
                text_test(test, Some(&body), "body", ctx, scratch)
            }
            CheckKind::JsonPath { path, source, test } => {
                let Some(json) = response.json() else {
                    return match test {
                        JsonTest::Absent => CheckOutcome::Pass,
                        _ => CheckOutcome::Fail("body is not JSON".into()),
                    };
                };
                let nodes = path.query(json);
                json_test(test, nodes.first(), source, ctx, scratch)
            }
        }
    }
}

fn render<'s>(
    t: &Template,
    ctx: &dyn Context,
    scratch: &'s mut String,
) -> Result<&'s str, CheckOutcome> {
    scratch.clear();
    match t.render(ctx, scratch) {
        Ok(()) => Ok(scratch.as_str()),
        Err(e) => Err(CheckOutcome::Fail(format!(
            "cannot evaluate the expectation: {e}"
        ))),
    }
}

fn text_test(
    test: &TextTest,
    value: Option<&str>,
    what: &str,
    ctx: &dyn Context,
    scratch: &mut String,
) -> CheckOutcome {
    let fail = |m: String| CheckOutcome::Fail(m);
    match (test, value) {
        (TextTest::Exists, Some(_)) | (TextTest::Absent, None) => CheckOutcome::Pass,
        (TextTest::Absent, Some(v)) => fail(format!("{what} is present ({})", Shown(v))),
        (_, None) => fail(format!("no {what}")),
        (TextTest::Equals(t), Some(v)) => match render(t, ctx, scratch) {
            Ok(want) if v == want => CheckOutcome::Pass,
            Ok(want) => fail(format!("{what} is {}, expected {}", Shown(v), Shown(want))),
            Err(o) => o,
        },
        (TextTest::Contains(t), Some(v)) => match render(t, ctx, scratch) {
            Ok(want) if v.contains(want) => CheckOutcome::Pass,
            Ok(want) => fail(format!("{what} does not contain {}", Shown(want))),
            Err(o) => o,
        },
        (TextTest::NotContains(t), Some(v)) => match render(t, ctx, scratch) {
            Ok(want) if !v.contains(want) => CheckOutcome::Pass,
            Ok(want) => fail(format!("{what} contains {}", Shown(want))),
            Err(o) => o,
        },
        (TextTest::Matches(re), Some(v)) => {
            if re.is_match(v) {
                CheckOutcome::Pass
            } else {
                fail(format!("{what} does not match /{}/", re.as_str()))
            }
        }
    }
}

fn json_test(
    test: &JsonTest,
    node: Option<&Value>,
    path: &str,
    ctx: &dyn Context,
    scratch: &mut String,
) -> CheckOutcome {
    let fail = |m: String| CheckOutcome::Fail(m);
    let Some(node) = node else {
        return match test {
            JsonTest::Absent => CheckOutcome::Pass,
            _ => fail(format!("{path} matches nothing")),
        };
    };
    match test {
        JsonTest::Exists => CheckOutcome::Pass,
        JsonTest::Absent => fail(format!("{path} is present ({})", Shown(&json_text(node)))),
        JsonTest::Equals(want) => {
            if json_eq(node, want) {
                CheckOutcome::Pass
            } else {
                fail(format!(
                    "{path} is {}, expected {}",
                    Shown(&node.to_string()),
                    Shown(&want.to_string())
                ))
            }
        }
        JsonTest::EqualsText(t) => match render(t, ctx, scratch) {
            Ok(want) if json_text(node) == want => CheckOutcome::Pass,
            Ok(want) => fail(format!(
                "{path} is {}, expected {}",
                Shown(&json_text(node)),
                Shown(want)
            )),
            Err(o) => o,
        },
        JsonTest::Contains(t) => match render(t, ctx, scratch) {
            Ok(want) => {
                let found = match node {
                    Value::Array(items) => items.iter().any(|i| json_text(i) == want),
                    other => json_text(other).contains(want),
                };
                if found {
                    CheckOutcome::Pass
                } else {
                    fail(format!("{path} does not contain {}", Shown(want)))
                }
            }
            Err(o) => o,
        },
        JsonTest::Matches(re) => {
            let text = json_text(node);
            if re.is_match(&text) {
                CheckOutcome::Pass
            } else {
                fail(format!(
                    "{path} is {}, which does not match /{}/",
                    Shown(&text),
                    re.as_str()
                ))
            }
        }
    }
}

/// JSON equality with numbers compared by value (`3 == 3.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A value quoted for a failure message, cut short when long.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 60;
        f.write_char('"')?;
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX {
                return f.write_str("…\"");
            }
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::template::EmptyContext;
    use serde_json::json;

    fn check(kind: CheckKind) -> Check {
        Check {
            label: String::new(),
            kind,
        }
    }

    fn run(
        kind: CheckKind,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        ms: u64,
    ) -> CheckOutcome {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let r = ResponseView::new(status, &headers, body.as_bytes(), Duration::from_millis(ms));
        check(kind).evaluate(&r, &EmptyContext, &mut String::new())
    }

    fn t(s: &str) -> Template {
        Template::parse(s).unwrap()
    }

    fn fail(o: CheckOutcome) -> String {
        match o {
            CheckOutcome::Fail(m) => m,
            CheckOutcome::Pass => panic!("passed"),
        }
    }

    #[test]
    fn status_sets() {
        let set = |items: &[&str]| {
            StatusSet::new(
                items
                    .iter()
                    .map(|i| StatusSet::parse_item(i).unwrap())
                    .collect(),
            )
        };
        let s = set(&["200", "201"]);
        assert!(s.contains(201) && !s.contains(204));
        assert!(set(&["2xx"]).contains(299) && !set(&["2xx"]).contains(300));
        assert!(set(&["200..204"]).contains(204));
        assert_eq!(
            set(&["200", "3xx", "400..403"]).to_string(),
            "200, 3xx, 400..403"
        );
        for bad in ["99", "600", "abc", "6xx", "300..200", "2x"] {
            assert!(StatusSet::parse_item(bad).is_err(), "{bad}");
        }
        assert_eq!(
            run(CheckKind::Status(set(&["200"])), 200, &[], "", 1),
            CheckOutcome::Pass
        );
        assert_eq!(
            fail(run(
                CheckKind::Status(set(&["200", "201"])),
                404,
                &[],
                "",
                1
            )),
            "status 404, expected 200, 201"
        );
    }

    #[test]
    fn time_and_headers() {
        assert!(run(
            CheckKind::MaxTime(Duration::from_millis(500)),
            200,
            &[],
            "",
            500
        )
        .passed());
        assert_eq!(
            fail(run(
                CheckKind::MaxTime(Duration::from_millis(500)),
                200,
                &[],
                "",
                812
            )),
            "took 812ms, expected at most 500ms"
        );
        let h = &[("Content-Type", "application/json; charset=utf-8")];
        let header = |test| CheckKind::Header {
            name: "content-type".into(),
            test,
        };
        assert!(run(header(TextTest::Exists), 200, h, "", 1).passed());
        assert!(run(header(TextTest::Contains(t("json"))), 200, h, "", 1).passed());
        assert!(run(
            header(TextTest::Matches(Regex::new("^application/").unwrap())),
            200,
            h,
            "",
            1
        )
        .passed());
        assert_eq!(
            fail(run(header(TextTest::Equals(t("text/html"))), 200, h, "", 1)),
            "header content-type is \"application/json; charset=utf-8\", expected \"text/html\""
        );
        assert_eq!(
            fail(run(header(TextTest::Exists), 200, &[], "", 1)),
            "no header content-type"
        );
        assert!(run(header(TextTest::Absent), 200, &[], "", 1).passed());
        assert!(fail(run(header(TextTest::Absent), 200, h, "", 1)).contains("is present"));
    }

    #[test]
    fn a_cut_body_fails_the_checks_that_needed_the_rest() {
        let eval = |kind: CheckKind| {
            let r = ResponseView::new(200, &[], b"{\"a\": [1, 2", Duration::ZERO).truncated(true);
            check(kind).evaluate(&r, &EmptyContext, &mut String::new())
        };
        // Found in the kept start: passes.
        assert!(eval(CheckKind::Body(TextTest::Contains(t("\"a\"")))).passed());
        assert!(eval(CheckKind::Status(StatusSet::new(vec![(200, 200)]))).passed());
        let jp = |p: &str, test| CheckKind::JsonPath {
            path: JsonPath::parse(p).unwrap(),
            source: p.into(),
            test,
        };
        // Not found, an absence, any JSONPath: they needed the cut part.
        for kind in [
            CheckKind::Body(TextTest::Contains(t("zzz"))),
            CheckKind::Body(TextTest::NotContains(t("zzz"))),
            jp("$.a", JsonTest::Exists),
            jp("$.b", JsonTest::Absent),
        ] {
            let message = fail(eval(kind));
            assert!(message.starts_with("body_truncated: "), "{message}");
        }
    }

    #[test]
    fn body() {
        assert!(run(
            CheckKind::Body(TextTest::Contains(t("chess"))),
            200,
            &[],
            "a chess app",
            1
        )
        .passed());
        assert_eq!(
            fail(run(
                CheckKind::Body(TextTest::Contains(t("go"))),
                200,
                &[],
                "chess",
                1
            )),
            "body does not contain \"go\""
        );
        assert!(run(
            CheckKind::Body(TextTest::NotContains(t("error"))),
            200,
            &[],
            "ok",
            1
        )
        .passed());
        assert!(run(
            CheckKind::Body(TextTest::Matches(Regex::new(r#""id":\s*\d+"#).unwrap())),
            200,
            &[],
            r#"{"id": 12}"#,
            1
        )
        .passed());
        let long = "x".repeat(200);
        let m = fail(run(
            CheckKind::Body(TextTest::Equals(t("y"))),
            200,
            &[],
            &long,
            1,
        ));
        assert!(m.len() < 120 && m.contains('…'), "{m}");
    }

    #[test]
    fn jsonpath() {
        let body =
            r#"{"items": [{"id": 1, "name": "chess"}, {"id": 2}], "count": 2, "tags": ["a", "b"]}"#;
        let jp = |p: &str, test| CheckKind::JsonPath {
            path: JsonPath::parse(p).unwrap(),
            source: p.into(),
            test,
        };
        assert!(run(jp("$.items", JsonTest::Exists), 200, &[], body, 1).passed());
        assert!(run(jp("$.nope", JsonTest::Absent), 200, &[], body, 1).passed());
        assert!(run(
            jp("$.count", JsonTest::Equals(json!(2.0))),
            200,
            &[],
            body,
            1
        )
        .passed());
        assert!(run(
            jp("$.items[0].name", JsonTest::Equals(json!("chess"))),
            200,
            &[],
            body,
            1
        )
        .passed());
        assert!(run(
            jp("$.items[1].id", JsonTest::EqualsText(t("2"))),
            200,
            &[],
            body,
            1
        )
        .passed());
        assert!(run(jp("$.tags", JsonTest::Contains(t("b"))), 200, &[], body, 1).passed());
        assert!(run(
            jp(
                "$.items[0].name",
                JsonTest::Matches(Regex::new("^ch").unwrap())
            ),
            200,
            &[],
            body,
            1
        )
        .passed());
        assert_eq!(
            fail(run(
                jp("$.count", JsonTest::Equals(json!(3))),
                200,
                &[],
                body,
                1
            )),
            "$.count is \"2\", expected \"3\""
        );
        assert_eq!(
            fail(run(jp("$.nope", JsonTest::Exists), 200, &[], body, 1)),
            "$.nope matches nothing"
        );
        assert_eq!(
            fail(run(jp("$.a", JsonTest::Exists), 200, &[], "<html>", 1)),
            "body is not JSON"
        );
        assert!(run(jp("$.a", JsonTest::Absent), 200, &[], "<html>", 1).passed());
    }

    #[test]
    fn json_equality_compares_numbers_by_value() {
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }
}
