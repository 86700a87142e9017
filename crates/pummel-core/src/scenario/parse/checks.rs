//! `checks` on a response: status, headers, body text, JSON, timing.

use http::header::HeaderName;

use super::decoder::Decoder;
use crate::scenario::check::{Check, CheckKind, JsonTest, StatusSet, TextTest};
use crate::scenario::diagnostic::Span;
use crate::scenario::duration::format_duration;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    pub(super) fn decode_checks(&mut self, node: &Node) -> Vec<Check> {
        let mut out = Vec::new();
        let Some(f) = self.fields(
            node,
            "`check`",
            &["status", "max_time", "headers", "body", "jsonpath", "css"],
        ) else {
            return out;
        };
        let mut push =
            |label: String, _span: Span, kind: CheckKind| out.push(Check { label, kind });
        if let Some(n) = f.get("status") {
            let set = self.decode_status(n);
            push(format!("status {set}"), n.span, CheckKind::Status(set));
        }
        if let Some(n) = f.get("max_time") {
            if let Some(d) = self.positive_duration(n, "`max_time`") {
                push(
                    format!("max_time {}", format_duration(d)),
                    n.span,
                    CheckKind::MaxTime(d),
                );
            }
        }
        if let Some(n) = f.get("headers") {
            if let Kind::Map(entries) = &n.kind {
                for (k, v) in entries {
                    let Some(name) = self.scalar(k, "a header name") else {
                        continue;
                    };
                    if HeaderName::from_bytes(name.as_bytes()).is_err() {
                        self.err(k.span, format!("`{name}` is not a valid header name"));
                        continue;
                    }
                    let name = name.to_ascii_lowercase();
                    for (desc, test, span) in
                        self.decode_text_tests(v, &format!("header `{name}`"), true)
                    {
                        push(
                            format!("header {name} {desc}"),
                            span,
                            CheckKind::Header {
                                name: name.clone(),
                                test,
                            },
                        );
                    }
                }
            } else {
                self.err(
                    n.span,
                    format!(
                        "`headers` must map header names to tests, found {}",
                        n.type_name()
                    ),
                );
            }
        }
        if let Some(n) = f.get("body") {
            for (desc, test, span) in self.decode_text_tests(n, "`body`", false) {
                push(format!("body {desc}"), span, CheckKind::Body(test));
            }
        }
        if let Some(n) = f.get("jsonpath") {
            if let Kind::Map(entries) = &n.kind {
                for (k, v) in entries {
                    let Some((path, source)) = self.jsonpath(k, "`jsonpath`") else {
                        continue;
                    };
                    for (desc, test) in self.decode_json_tests(v, &source) {
                        push(
                            format!("jsonpath {source} {desc}"),
                            k.span,
                            CheckKind::JsonPath {
                                path: path.clone(),
                                source: source.clone(),
                                test,
                            },
                        );
                    }
                }
            } else {
                self.err(n.span, format!("`jsonpath` must map JSONPaths to tests, e.g. \"$.items\": exists; found {}", n.type_name()));
            }
        }
        if let Some(n) = f.get("css") {
            let css = self.decode_css_checks(n);
            out.extend(css);
        }
        out
    }

    /// `css:` checks: selector (`SELECTOR` or `SELECTOR @attr`) → tests.
    fn decode_css_checks(&mut self, n: &Node) -> Vec<Check> {
        let mut out = Vec::new();
        if let Kind::Map(entries) = &n.kind {
            for (k, v) in entries {
                let Some(key) = self.scalar(k, "a CSS selector") else {
                    continue;
                };
                let (selector, attr) = crate::scenario::css::split_attr(&key);
                let query = match crate::scenario::css::CssQuery::parse(selector, attr) {
                    Ok(q) => q,
                    Err(e) => {
                        self.err(k.span, format!("`css`: {e}"));
                        continue;
                    }
                };
                let label = query.label();
                for (desc, test, _span) in
                    self.decode_text_tests(v, &format!("css `{label}`"), true)
                {
                    out.push(Check {
                        label: format!("css {label} {desc}"),
                        kind: CheckKind::Css {
                            query: query.clone(),
                            test,
                        },
                    });
                }
            }
        } else {
            self.err(
                n.span,
                format!(
                    "`css` must map CSS selectors to tests, e.g. \"h1.title\": Welcome; found {}",
                    n.type_name()
                ),
            );
        }
        out
    }

    /// Tests on text: a header's (`exists`, `absent`, a value to equal, or a
    /// mapping of tests) or the body's (a string to find, or a mapping).
    fn decode_text_tests(
        &mut self,
        node: &Node,
        what: &str,
        header: bool,
    ) -> Vec<(String, TextTest, Span)> {
        let mut out = Vec::new();
        if let Some(s) = node.as_str() {
            match s {
                "exists" if header => out.push(("exists".into(), TextTest::Exists, node.span)),
                "absent" if header => out.push(("absent".into(), TextTest::Absent, node.span)),
                _ if header => {
                    if let Some(t) = self.template(node, what) {
                        out.push((format!("== {s:?}"), TextTest::Equals(t), node.span));
                    }
                }
                _ => {
                    if let Some(t) = self.template(node, what) {
                        out.push((format!("contains {s:?}"), TextTest::Contains(t), node.span));
                    }
                }
            }
            return out;
        }
        if !header && matches!(node.kind, Kind::Seq(_)) {
            self.err(node.span, "`body` takes a string to find or a mapping such as { contains: [a, b], regex: \"...\" }");
            return out;
        }
        if header && node.scalar_text().is_some() {
            if let Some(t) = self.template(node, what) {
                out.push((
                    format!("== {:?}", t.source()),
                    TextTest::Equals(t),
                    node.span,
                ));
            }
            return out;
        }
        let Some(f) = self.fields(node, what, &["equals", "contains", "not_contains", "regex"])
        else {
            return out;
        };
        for (key, _, value) in &f.entries {
            let items: Vec<&Node> = match &value.kind {
                Kind::Seq(items) => items.iter().collect(),
                _ => vec![*value],
            };
            for item in items {
                let entry = match *key {
                    "regex" => self
                        .regex(item, &format!("{what} `regex`"))
                        .map(|r| (format!("matches /{}/", r.as_str()), TextTest::Matches(r))),
                    _ => self.template(item, &format!("{what} `{key}`")).map(|t| {
                        let shown = format!("{:?}", t.source());
                        match *key {
                            "equals" => (format!("== {shown}"), TextTest::Equals(t)),
                            "contains" => (format!("contains {shown}"), TextTest::Contains(t)),
                            _ => (
                                format!("does not contain {shown}"),
                                TextTest::NotContains(t),
                            ),
                        }
                    }),
                };
                if let Some((desc, test)) = entry {
                    out.push((desc, test, item.span));
                }
            }
        }
        out
    }

    fn decode_json_tests(&mut self, node: &Node, path: &str) -> Vec<(String, JsonTest)> {
        let what = format!("`{path}`");
        let mut out = Vec::new();
        let equals = |d: &mut Self, n: &Node, out: &mut Vec<(String, JsonTest)>| match &n.kind {
            Kind::Str(s) => {
                if let Some(t) = d.template(n, &what) {
                    out.push((format!("== {s:?}"), JsonTest::EqualsText(t)));
                }
            }
            _ => {
                if let Some(v) = d.json_value(n) {
                    out.push((format!("== {v}"), JsonTest::Equals(v)));
                }
            }
        };
        match &node.kind {
            Kind::Str(s) if s == "exists" => out.push(("exists".into(), JsonTest::Exists)),
            Kind::Str(s) if s == "absent" => out.push(("absent".into(), JsonTest::Absent)),
            Kind::Map(_) => {
                let Some(f) = self.fields(
                    node,
                    &format!("the test of {what}"),
                    &["equals", "contains", "regex"],
                ) else {
                    return out;
                };
                for (key, _, value) in &f.entries {
                    match *key {
                        "equals" => equals(self, value, &mut out),
                        "contains" => {
                            if let Some(t) = self.template(value, &format!("{what} `contains`")) {
                                out.push((
                                    format!("contains {:?}", t.source()),
                                    JsonTest::Contains(t),
                                ));
                            }
                        }
                        _ => {
                            if let Some(r) = self.regex(value, &format!("{what} `regex`")) {
                                out.push((
                                    format!("matches /{}/", r.as_str()),
                                    JsonTest::Matches(r),
                                ));
                            }
                        }
                    }
                }
            }
            _ => equals(self, node, &mut out),
        }
        out
    }

    /// `status`: a code, a range or a class, or a list of them.
    fn decode_status(&mut self, n: &Node) -> StatusSet {
        let items: Vec<&Node> = match &n.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![n],
        };
        let mut ranges = Vec::new();
        for item in items {
            let text = match &item.kind {
                Kind::Int(_) | Kind::Str(_) => item.scalar_text().unwrap_or_default(),
                _ => {
                    self.err(item.span, format!("`status` takes codes (200), ranges (200..299) or classes (2xx), found {}", item.type_name()));
                    continue;
                }
            };
            match StatusSet::parse_item(&text) {
                Ok(r) => ranges.push(r),
                Err(e) => self.err(item.span, e.to_string()),
            }
        }
        if matches!(&n.kind, Kind::Seq(items) if items.is_empty()) {
            self.err(n.span, "`status` is an empty list");
        }
        StatusSet::new(ranges)
    }
}
