//! Decoding: from the YAML tree to the model, collecting every error.
//!
//! Each `decode_*` function checks one kind of mapping against its allowed
//! keys (unknown keys are errors, with a "did you mean" when a known key is
//! close), converts its values, and records a problem for anything wrong —
//! then carries on. A bad value is replaced by a harmless stand-in rather
//! than dropped when it defines a name (a capture with a broken JSONPath
//! still defines its variable), so one mistake does not cascade into
//! "undefined name" errors further down. The resulting plan is only
//! returned when there were no problems at all.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;
use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::capture::{Capture, CaptureSource};
use super::check::{Check, CheckKind, JsonTest, StatusSet, TextTest};
use super::diagnostic::{with_suggestion, Problems, Span};
use super::duration::{format_duration, parse_duration, Think};
use super::feeder::{DataFormat, FeedMode, Feeder};
use super::load_model::{Cycles, LoadModel, Stage, DEFAULT_MAX_VUS};
use super::model::{Defaults, Group, Plan, Scenario, Step, StepKind, Variable};
use super::request::{Auth, AuthSetting, Body, Header, JsonBody, RequestStep};
use super::template::{Template, VarId};
use super::threshold::{Condition, Scope, Threshold};
use super::websocket::{WsAction, WsMessage, WsStep, DEFAULT_SOCKET, DEFAULT_WAIT, WS_KEYS};
use super::yaml::{Kind, Node};
use crate::http::TargetUrl;

/// Names a template resolves specially; nothing else may take them.
pub(crate) const RESERVED: [&str; 3] = ["env", "vu", "iteration"];

/// Longest JSONPath accepted: the parser recurses on nesting, and no real
/// path comes near this.
const MAX_JSONPATH: usize = 1024;

/// What validation needs to know beyond the plan itself.
#[derive(Debug, Default)]
pub(crate) struct DecodeInfo {
    /// Per feeder in `plan.feeders`: where it is declared, and whether its
    /// columns are known (its file loaded).
    pub feeders: Vec<(Span, bool)>,
    pub load_span: Span,
    /// Per threshold: where its `scenario` and `step` values are.
    pub threshold_scopes: Vec<(Option<Span>, Option<Span>)>,
}

pub(crate) struct Decoder<'a> {
    source: &'a str,
    base_dir: &'a Path,
    pub problems: Problems,
    target_given: bool,
}

/// A mapping's entries, after its keys were checked.
struct Fields<'n> {
    span: Span,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    /// Unknown keys were reported: a "needs `x`" error is then most likely
    /// the same mistake (`duraton` for `duration`) and is not repeated.
    unknown: bool,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    fn key_span(&self, key: &str) -> Span {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(self.span, |(_, k, _)| k.span)
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(source: &'a str, base_dir: &'a Path) -> Decoder<'a> {
        Decoder {
            source,
            base_dir,
            problems: Problems::default(),
            target_given: false,
        }
    }

    fn err(&mut self, span: Span, message: impl Into<String>) {
        self.problems.push(span, message);
    }

    // ---- generic value helpers -------------------------------------------------

    /// The entries of a mapping; anything else is an error `expected, found <type>`.
    fn map_entries<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            _ => {
                self.err(node.span, format!("{expected}, found {}", node.type_name()));
                None
            }
        }
    }

    fn fields<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let entries = self.map_entries(node, &format!("{what} must be a mapping (key: value)"))?;
        let mut out = Fields {
            span: node.span,
            entries: Vec::with_capacity(entries.len()),
            unknown: false,
        };
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                self.err(
                    key.span,
                    format!("keys in {what} must be names, found {}", key.type_name()),
                );
                continue;
            };
            if !allowed.contains(&name) {
                let message = match super::diagnostic::suggest(name, allowed.iter().copied()) {
                    Some(s) => format!("unknown key `{name}` in {what} (did you mean `{s}`?)"),
                    None => format!(
                        "unknown key `{name}` in {what} (expected one of: {})",
                        allowed.join(", ")
                    ),
                };
                self.err(key.span, message);
                out.unknown = true;
                continue;
            }
            out.entries.push((name, key, value));
        }
        Some(out)
    }

    /// Reports a missing key, unless an unknown key in the same mapping
    /// (probably the misspelt one) was reported already.
    fn missing(&mut self, f: &Fields<'_>, span: Span, message: impl Into<String>) {
        if !f.unknown {
            self.err(span, message);
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            Kind::Str(_) | Kind::Null => {
                self.err(node.span, format!("{what} is empty"));
                None
            }
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// Any scalar as text (`1` is "1").
    fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.scalar_text() {
            Some(s) => Some(s),
            None if matches!(node.kind, Kind::Null) => {
                self.err(
                    node.span,
                    format!("{what} has no value (write \"\" for an empty string)"),
                );
                None
            }
            None => {
                self.err(
                    node.span,
                    format!("{what} must be a single value, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn template(&mut self, node: &Node, what: &str) -> Option<Template> {
        let text = self.scalar(node, what)?;
        match Template::parse(&text) {
            Ok(mut t) => {
                let source = self.source;
                t.bind(&mut |n| n.span = node.inner_span(source, n.start, n.end));
                Some(t)
            }
            Err(e) => {
                let span = node.inner_span(self.source, e.start, e.end);
                self.err(span, format!("{what}: {}", e.message));
                None
            }
        }
    }

    /// A template, or an empty stand-in after an error (the error is recorded).
    fn template_or_empty(&mut self, node: &Node, what: &str) -> Template {
        self.template(node, what)
            .unwrap_or_else(|| Template::literal(""))
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = match &node.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(_) | Kind::Float(_) => node.scalar_text().unwrap_or_default(),
            _ => {
                self.err(
                    node.span,
                    format!(
                        "{what} must be a duration such as 500ms or 2s, found {}",
                        node.type_name()
                    ),
                );
                return None;
            }
        };
        parse_duration(&text)
            .map_err(|e| self.err(node.span, format!("{what}: {e}")))
            .ok()
    }

    fn positive_duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let d = self.duration(node, what)?;
        if d.is_zero() {
            self.err(node.span, format!("{what} must be more than 0"));
            return None;
        }
        Some(d)
    }

    fn think(&mut self, node: &Node, what: &str) -> Option<Think> {
        let Some(text) = node.as_str() else {
            self.err(
                node.span,
                format!(
                    "{what} must be a duration (1s) or a range (1s..3s), found {}",
                    node.type_name()
                ),
            );
            return None;
        };
        Think::parse(text)
            .map_err(|e| self.err(node.span, format!("{what}: {e}")))
            .ok()
    }

    fn int(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        match node.kind {
            Kind::Int(n) if (min..=max).contains(&n) => Some(n),
            Kind::Int(n) if n < min => {
                self.err(
                    node.span,
                    format!("{what} must be at least {min}, found {n}"),
                );
                None
            }
            Kind::Int(n) => {
                self.err(
                    node.span,
                    format!("{what} must be at most {max}, found {n}"),
                );
                None
            }
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a whole number, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn number(&mut self, node: &Node, what: &str, min: f64) -> Option<f64> {
        let v = match node.kind {
            Kind::Int(n) => n as f64,
            Kind::Float(x) if x.is_finite() => x,
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a number, found {}", node.type_name()),
                );
                return None;
            }
        };
        if v < min {
            self.err(
                node.span,
                format!("{what} must be at least {min}, found {v}"),
            );
            return None;
        }
        Some(v)
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be true or false, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a list, found {}", node.type_name()),
                );
                None
            }
        }
    }

    fn regex(&mut self, node: &Node, what: &str) -> Option<Regex> {
        let text = self.scalar(node, what)?;
        match regex::RegexBuilder::new(&text).size_limit(1 << 22).build() {
            Ok(r) => Some(r),
            Err(e) => {
                let detail = match &e {
                    regex::Error::Syntax(s) => s
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or(s)
                        .to_owned(),
                    other => other.to_string(),
                };
                self.err(node.span, format!("{what}: invalid regex: {detail}"));
                None
            }
        }
    }

    fn jsonpath(&mut self, node: &Node, what: &str) -> Option<(JsonPath, String)> {
        let text = self.scalar(node, what)?;
        if text.len() > MAX_JSONPATH {
            self.err(
                node.span,
                format!("{what}: JSONPath longer than {MAX_JSONPATH} characters"),
            );
            return None;
        }
        if !text.starts_with('$') {
            self.err(
                node.span,
                format!("{what}: a JSONPath starts with `$`, e.g. $.items[0].id"),
            );
            return None;
        }
        match JsonPath::parse(&text) {
            Ok(p) => Some((p, text)),
            Err(e) => {
                // The parser's position is where a failed alternative began,
                // not always the bad character: underline the whole path.
                self.err(
                    node.span,
                    format!(
                        "{what}: invalid JSONPath {text:?}: {} at character {}",
                        e.message(),
                        e.position()
                    ),
                );
                None
            }
        }
    }

    fn json_value(&mut self, node: &Node) -> Option<Value> {
        Some(match &node.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(n) => Value::from(*n),
            Kind::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => Value::Number(n),
                None => {
                    self.err(node.span, "JSON has no infinite or NaN numbers");
                    return None;
                }
            },
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.json_value(i))
                    .collect::<Option<_>>()?,
            ),
            Kind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = self.scalar(k, "a JSON key")?;
                    map.insert(key, self.json_value(v)?);
                }
                Value::Object(map)
            }
        })
    }

    // ---- the file --------------------------------------------------------------

    pub(crate) fn decode_plan(&mut self, root: &Node, file: &str) -> Option<(Plan, DecodeInfo)> {
        const KEYS: [&str; 11] = [
            "name",
            "description",
            "target",
            "defaults",
            "variables",
            "data",
            "load",
            "thresholds",
            "setup",
            "teardown",
            "scenarios",
        ];
        if matches!(root.kind, Kind::Null) {
            self.err(
                Span::new(1, 1, 1),
                "the file is empty: a scenario file needs at least `scenarios` (try `pummel init`)",
            );
            return None;
        }
        let f = self.fields(root, "the scenario file", &KEYS)?;
        let mut info = DecodeInfo::default();
        let name = f.get("name").and_then(|n| self.string(n, "`name`"));
        if let Some(d) = f.get("description") {
            self.string(d, "`description`");
        }
        self.target_given = f.has("target");
        let target = f.get("target").and_then(|n| {
            let text = self.string(n, "`target`")?;
            TargetUrl::parse(&text)
                .map_err(|e| self.err(n.span, format!("`target`: {e}")))
                .ok()
        });
        let defaults = f
            .get("defaults")
            .map(|n| self.decode_defaults(n))
            .unwrap_or_default();
        let variables = f
            .get("variables")
            .map(|n| self.decode_variables(n))
            .unwrap_or_default();
        let feeders = match f.get("data") {
            Some(n) => self.decode_data(n, &mut info),
            None => Vec::new(),
        };
        info.load_span = f.key_span("load");
        let load = match f.get("load") {
            Some(n) => self.decode_load(n).unwrap_or(LoadModel::Vus {
                vus: 1,
                duration: None,
                iterations: Some(1),
            }),
            None => LoadModel::Vus {
                vus: 1,
                duration: None,
                iterations: Some(1),
            },
        };
        let thresholds = match f.get("thresholds") {
            Some(n) => self.decode_thresholds(n, &mut info),
            None => Vec::new(),
        };
        let setup = f
            .get("setup")
            .map(|n| self.decode_steps(n, "`setup`"))
            .unwrap_or_default();
        let teardown = f
            .get("teardown")
            .map(|n| self.decode_steps(n, "`teardown`"))
            .unwrap_or_default();
        let scenarios = match f.get("scenarios") {
            Some(n) => self.decode_scenarios(n),
            None => {
                self.err(f.span, "the file has no `scenarios`: add a list of scenarios, each with `name` and `steps`");
                Vec::new()
            }
        };
        let plan = Plan {
            file: file.to_owned(),
            name,
            target,
            defaults,
            variables,
            feeders,
            load,
            thresholds,
            setup,
            teardown,
            scenarios,
            vars: Vec::new(),
        };
        Some((plan, info))
    }

    fn decode_defaults(&mut self, node: &Node) -> Defaults {
        let mut d = Defaults::default();
        let Some(f) = self.fields(
            node,
            "`defaults`",
            &["headers", "timeout", "think", "auth", "cookies"],
        ) else {
            return d;
        };
        if let Some(n) = f.get("headers") {
            d.headers = self.decode_headers(n);
        }
        d.timeout = f
            .get("timeout")
            .and_then(|n| self.positive_duration(n, "`timeout`"));
        d.think = f.get("think").and_then(|n| self.think(n, "`think`"));
        if let Some(n) = f.get("auth") {
            match self.decode_auth(n) {
                Some(AuthSetting::Use(a)) => d.auth = Some(a),
                Some(AuthSetting::None) => self.err(
                    n.span,
                    "`auth: none` only makes sense on a request, to drop the default",
                ),
                _ => {}
            }
        }
        if let Some(n) = f.get("cookies") {
            d.cookies = self.bool(n, "`cookies`").unwrap_or(true);
        }
        d
    }

    fn decode_headers(&mut self, node: &Node) -> Vec<Header> {
        let Some(entries) = self.map_entries(
            node,
            "`headers` must be a mapping of header names to values",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name_text) = self.scalar(k, "a header name") else {
                continue;
            };
            let Ok(name) = HeaderName::from_bytes(name_text.as_bytes()) else {
                self.err(k.span, format!("`{name_text}` is not a valid header name"));
                continue;
            };
            let what = format!("header `{name_text}`");
            let Some(value) = self.template(v, &what) else {
                continue;
            };
            if let Some(literal) = value.as_literal() {
                if HeaderValue::from_str(literal).is_err() {
                    self.err(v.span, format!("{what}: the value has characters a header cannot carry (line breaks, control characters)"));
                }
            }
            out.push(Header { name, value });
        }
        out
    }

    fn decode_auth(&mut self, node: &Node) -> Option<AuthSetting> {
        if node.as_str() == Some("none") {
            return Some(AuthSetting::None);
        }
        let f = self.fields(node, "`auth`", &["basic", "bearer"])?;
        match (f.get("basic"), f.get("bearer")) {
            (Some(_), Some(_)) => {
                self.err(
                    f.key_span("bearer"),
                    "`auth` is either `basic` or `bearer`, not both",
                );
                None
            }
            (Some(b), None) => {
                let bf = self.fields(b, "`basic`", &["username", "password"])?;
                let username = match bf.get("username") {
                    Some(n) => self.template_or_empty(n, "`username`"),
                    None => {
                        self.missing(&bf, bf.span, "`basic` needs `username`");
                        Template::literal("")
                    }
                };
                let password = match bf.get("password") {
                    Some(n) => self.template_or_empty(n, "`password`"),
                    None => {
                        self.missing(&bf, bf.span, "`basic` needs `password`");
                        Template::literal("")
                    }
                };
                Some(AuthSetting::Use(Auth::Basic { username, password }))
            }
            (None, Some(t)) => Some(AuthSetting::Use(Auth::Bearer(
                self.template_or_empty(t, "`bearer`"),
            ))),
            (None, None) => {
                self.missing(
                    &f,
                    f.span,
                    "`auth` needs `basic: {username, password}` or `bearer: TOKEN` (or is `none`)",
                );
                None
            }
        }
    }

    fn decode_variables(&mut self, node: &Node) -> Vec<Variable> {
        let Some(entries) =
            self.map_entries(node, "`variables` must be a mapping of names to values")
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a variable name") else {
                continue;
            };
            self.check_var_name(&name, k.span, "variable");
            let value = self.template_or_empty(v, &format!("variable `{name}`"));
            out.push(Variable {
                name,
                var: VarId(0),
                value,
                span: k.span,
            });
        }
        out
    }

    fn check_var_name(&mut self, name: &str, span: Span, what: &str) {
        if !is_ident(name) {
            self.err(span, format!("`{name}` is not a valid {what} name: use letters, digits, _ and -, starting with a letter"));
        } else if RESERVED.contains(&name) {
            self.err(span, format!("`{name}` is a reserved name (env, vu and iteration have a meaning in templates)"));
        }
    }

    fn decode_data(&mut self, node: &Node, info: &mut DecodeInfo) -> Vec<Feeder> {
        let Some(entries) =
            self.map_entries(node, "`data` must be a mapping of feeder names to files")
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a data feeder name") else {
                continue;
            };
            self.check_var_name(&name, k.span, "data feeder");
            let (file_node, mode, format) = match &v.kind {
                Kind::Str(_) => (Some(v), FeedMode::Sequential, None),
                _ => {
                    let Some(f) = self.fields(
                        v,
                        &format!("data feeder `{name}`"),
                        &["file", "mode", "format"],
                    ) else {
                        continue;
                    };
                    let mode = f.get("mode").and_then(|m| {
                        let text = self.string(m, "`mode`")?;
                        FeedMode::parse(&text).or_else(|| {
                            let message = with_suggestion(
                                format!(
                                    "unknown mode `{text}` (modes: sequential, random, unique)"
                                ),
                                &text,
                                FeedMode::NAMES,
                            );
                            self.err(m.span, message);
                            None
                        })
                    });
                    let format =
                        f.get("format")
                            .and_then(|m| match self.string(m, "`format`")?.as_str() {
                                "csv" => Some(DataFormat::Csv),
                                "json" => Some(DataFormat::Json),
                                other => {
                                    self.err(
                                        m.span,
                                        format!("unknown format `{other}` (formats: csv, json)"),
                                    );
                                    None
                                }
                            });
                    if !f.has("file") {
                        self.missing(&f, f.span, format!("data feeder `{name}` needs `file`"));
                    }
                    (f.get("file"), mode.unwrap_or(FeedMode::Sequential), format)
                }
            };
            let loaded = file_node.and_then(|n| {
                let file = self.string(n, "`file`")?;
                let path = self.base_dir.join(&file);
                Feeder::load(&name, &path, mode, format)
                    .map_err(|e| self.err(n.span, format!("data feeder `{name}`: {e}")))
                    .ok()
            });
            info.feeders.push((k.span, loaded.is_some()));
            out.push(loaded.unwrap_or_else(|| Feeder::new(&name, mode, Vec::new(), Vec::new())));
        }
        out
    }

    fn decode_load(&mut self, node: &Node) -> Option<LoadModel> {
        const KEYS: [&str; 13] = [
            "vus",
            "duration",
            "iterations",
            "stages",
            "start_vus",
            "rate",
            "rate_stages",
            "start_rate",
            "max_vus",
            "cycles",
            "cycle_duration",
            "startup_delay",
            "cycle_pause",
        ];
        const KINDS: [&str; 5] = ["vus", "stages", "rate", "rate_stages", "cycles"];
        let f = self.fields(node, "`load`", &KEYS)?;
        let kinds: Vec<&str> = KINDS.iter().copied().filter(|k| f.has(k)).collect();
        let Some(&kind) = kinds.first() else {
            self.missing(
                &f,
                f.span,
                "`load` needs one of `vus`, `stages`, `rate`, `rate_stages` or `cycles`",
            );
            return None;
        };
        for other in &kinds[1..] {
            self.err(
                f.key_span(other),
                format!("`{other}` conflicts with `{kind}`: a load model is one of vus, stages, rate, rate_stages or cycles"),
            );
        }
        let allowed: &[&str] = match kind {
            "vus" => &["vus", "duration", "iterations"],
            "stages" => &["stages", "start_vus"],
            "rate" => &["rate", "duration", "max_vus"],
            "rate_stages" => &["rate_stages", "start_rate", "max_vus"],
            _ => &["cycles", "cycle_duration", "startup_delay", "cycle_pause"],
        };
        for (key, k, _) in &f.entries {
            if !allowed.contains(key) && !KINDS.contains(key) {
                self.err(
                    k.span,
                    format!(
                        "`{key}` does not apply to a `{kind}` load model (it takes {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        let max_vus = |d: &mut Self| {
            f.get("max_vus")
                .and_then(|n| d.int(n, "`max_vus`", 1, 1_000_000))
                .map_or(DEFAULT_MAX_VUS, |n| n as u32)
        };
        match kind {
            "vus" => {
                let vus = f
                    .get("vus")
                    .and_then(|n| self.int(n, "`vus`", 1, 1_000_000));
                let duration = f
                    .get("duration")
                    .and_then(|n| self.positive_duration(n, "`duration`"));
                let iterations = f
                    .get("iterations")
                    .and_then(|n| self.int(n, "`iterations`", 1, i64::MAX))
                    .map(|n| n as u64);
                if !f.has("duration") && !f.has("iterations") {
                    self.missing(&f, f.key_span("vus"), "`vus` needs `duration` or `iterations` (or both: whichever comes first ends the run)");
                    return None;
                }
                Some(LoadModel::Vus {
                    vus: vus? as u32,
                    duration,
                    iterations,
                })
            }
            "stages" => {
                let stages = f
                    .get("stages")
                    .and_then(|n| self.decode_stages(n, "`stages`", true));
                let start = f
                    .get("start_vus")
                    .and_then(|n| self.int(n, "`start_vus`", 0, 1_000_000))
                    .unwrap_or(0) as u32;
                Some(LoadModel::RampingVus {
                    start,
                    stages: stages?,
                })
            }
            "rate" => {
                let rate = f
                    .get("rate")
                    .and_then(|n| self.number(n, "`rate`", f64::MIN_POSITIVE));
                let duration = match f.get("duration") {
                    Some(n) => self.positive_duration(n, "`duration`"),
                    None => {
                        self.missing(&f, f.key_span("rate"), "`rate` needs `duration`");
                        None
                    }
                };
                let max_vus = max_vus(self);
                Some(LoadModel::Rate {
                    rate: rate?,
                    duration: duration?,
                    max_vus,
                })
            }
            "rate_stages" => {
                let stages = f
                    .get("rate_stages")
                    .and_then(|n| self.decode_stages(n, "`rate_stages`", false));
                let start = f
                    .get("start_rate")
                    .and_then(|n| self.number(n, "`start_rate`", 0.0))
                    .unwrap_or(0.0);
                let max_vus = max_vus(self);
                Some(LoadModel::RampingRate {
                    start,
                    stages: stages?,
                    max_vus,
                })
            }
            _ => {
                let levels_node = f.get("cycles")?;
                let levels: Option<Vec<u32>> = self.seq(levels_node, "`cycles`").map(|items| {
                    items
                        .iter()
                        .filter_map(|n| {
                            self.int(n, "a cycle's VU count", 1, 1_000_000)
                                .map(|n| n as u32)
                        })
                        .collect()
                });
                if levels.as_ref().is_some_and(Vec::is_empty) {
                    self.err(
                        levels_node.span,
                        "`cycles` is empty: list the VU count of each cycle, e.g. [10, 20, 40]",
                    );
                }
                let cycle_duration = match f.get("cycle_duration") {
                    Some(n) => self.positive_duration(n, "`cycle_duration`"),
                    None => {
                        self.missing(&f, f.key_span("cycles"), "`cycles` needs `cycle_duration`");
                        None
                    }
                };
                let startup_delay = f
                    .get("startup_delay")
                    .and_then(|n| self.duration(n, "`startup_delay`"))
                    .unwrap_or_default();
                let pause = f
                    .get("cycle_pause")
                    .and_then(|n| self.duration(n, "`cycle_pause`"))
                    .unwrap_or_default();
                let levels = levels.filter(|l| !l.is_empty())?;
                Some(LoadModel::Cycles(Cycles {
                    levels,
                    cycle_duration: cycle_duration?,
                    startup_delay,
                    pause,
                }))
            }
        }
    }

    fn decode_stages(&mut self, node: &Node, what: &str, whole: bool) -> Option<Vec<Stage>> {
        let items = self.seq(node, what)?;
        if items.is_empty() {
            self.err(
                node.span,
                format!("{what} is empty: list stages like {{ duration: 30s, target: 10 }}"),
            );
            return None;
        }
        let mut stages = Vec::new();
        let mut ok = true;
        for item in items {
            let Some(f) = self.fields(item, "a stage", &["duration", "target"]) else {
                ok = false;
                continue;
            };
            let duration = match f.get("duration") {
                Some(n) => self.duration(n, "`duration`"),
                None => {
                    self.missing(&f, f.span, "a stage needs `duration`");
                    None
                }
            };
            let target = match f.get("target") {
                Some(n) if whole => self.int(n, "`target`", 0, 1_000_000).map(|t| t as f64),
                Some(n) => self.number(n, "`target`", 0.0),
                None => {
                    self.missing(&f, f.span, "a stage needs `target`");
                    None
                }
            };
            match (duration, target) {
                (Some(duration), Some(target)) => stages.push(Stage { duration, target }),
                _ => ok = false,
            }
        }
        if ok && stages.iter().all(|s| s.duration.is_zero()) {
            self.err(
                node.span,
                format!("{what} last no time at all: give a stage a duration"),
            );
            return None;
        }
        ok.then_some(stages)
    }

    fn decode_thresholds(&mut self, node: &Node, info: &mut DecodeInfo) -> Vec<Threshold> {
        let Some(items) = self.seq(node, "`thresholds`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let (cond_node, f) = match &item.kind {
                Kind::Str(_) => (item, None),
                _ => {
                    let Some(f) = self.fields(
                        item,
                        "a threshold",
                        &[
                            "condition",
                            "scenario",
                            "step",
                            "abort_on_fail",
                            "abort_grace",
                        ],
                    ) else {
                        continue;
                    };
                    match f.get("condition") {
                        Some(c) => (c, Some(f)),
                        None => {
                            self.missing(
                                &f,
                                f.span,
                                "a threshold needs `condition`, e.g. condition: \"p95 < 300ms\"",
                            );
                            continue;
                        }
                    }
                }
            };
            let Some(text) = self.string(cond_node, "`condition`") else {
                continue;
            };
            let condition = match Condition::parse(&text) {
                Ok(c) => c,
                Err((start, end, message)) => {
                    let span = cond_node.inner_span(self.source, start, end);
                    self.err(span, message);
                    continue;
                }
            };
            let mut threshold = Threshold {
                source: text.trim().to_owned(),
                condition,
                scope: Scope::Run,
                abort_on_fail: false,
                abort_grace: Duration::ZERO,
                span: cond_node.span,
            };
            let mut spans = (None, None);
            if let Some(f) = f {
                let scenario = f.get("scenario").and_then(|n| self.string(n, "`scenario`"));
                let step = f.get("step").and_then(|n| self.string(n, "`step`"));
                spans = (
                    f.get("scenario").map(|n| n.span),
                    f.get("step").map(|n| n.span),
                );
                threshold.scope = match (scenario, step) {
                    (scenario, Some(step)) => Scope::Step { scenario, step },
                    (Some(s), None) => Scope::Scenario(s),
                    (None, None) => Scope::Run,
                };
                if let Some(n) = f.get("abort_on_fail") {
                    threshold.abort_on_fail = self.bool(n, "`abort_on_fail`").unwrap_or(false);
                }
                if let Some(n) = f.get("abort_grace") {
                    threshold.abort_grace = self.duration(n, "`abort_grace`").unwrap_or_default();
                    if !threshold.abort_on_fail {
                        self.err(
                            f.key_span("abort_grace"),
                            "`abort_grace` only applies with `abort_on_fail: true`",
                        );
                    }
                }
            }
            info.threshold_scopes.push(spans);
            out.push(threshold);
        }
        out
    }

    fn decode_scenarios(&mut self, node: &Node) -> Vec<Scenario> {
        let Some(items) = self.seq(node, "`scenarios`") else {
            return Vec::new();
        };
        if items.is_empty() {
            self.err(
                node.span,
                "`scenarios` is empty: add at least one scenario with `name` and `steps`",
            );
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for item in items {
            let Some(f) = self.fields(
                item,
                "a scenario",
                &[
                    "name", "weight", "setup", "steps", "teardown", "pacing", "think",
                ],
            ) else {
                continue;
            };
            let name = match f.get("name") {
                Some(n) => self.string(n, "`name`").unwrap_or_default(),
                None => {
                    self.missing(&f, f.span, "a scenario needs `name`");
                    String::new()
                }
            };
            if !name.is_empty() && !seen.insert(name.clone()) {
                self.err(
                    f.get("name").map_or(f.span, |n| n.span),
                    format!("there is already a scenario named `{name}`"),
                );
            }
            let weight = match f.get("weight") {
                Some(n) => match n.kind {
                    Kind::Int(w) if w < 1 => {
                        self.err(n.span, format!("`weight` must be at least 1, found {w} (remove the scenario to not run it)"));
                        1
                    }
                    _ => self.int(n, "`weight`", 1, 1_000_000).unwrap_or(1) as u32,
                },
                None => 1,
            };
            let setup = f
                .get("setup")
                .map(|n| self.decode_steps(n, "`setup`"))
                .unwrap_or_default();
            let steps = match f.get("steps") {
                Some(n) => {
                    let steps = self.decode_steps(n, "`steps`");
                    if matches!(&n.kind, Kind::Seq(items) if items.is_empty()) {
                        self.err(n.span, format!("scenario `{name}` has no steps"));
                    }
                    steps
                }
                None => {
                    self.missing(&f, f.span, format!("scenario `{name}` needs `steps`"));
                    Vec::new()
                }
            };
            let teardown = f
                .get("teardown")
                .map(|n| self.decode_steps(n, "`teardown`"))
                .unwrap_or_default();
            let pacing = f
                .get("pacing")
                .and_then(|n| self.positive_duration(n, "`pacing`"));
            let think = f.get("think").and_then(|n| self.think(n, "`think`"));
            out.push(Scenario {
                name,
                weight,
                setup,
                steps,
                teardown,
                pacing,
                think,
                span: item.span,
            });
        }
        out
    }

    fn decode_steps(&mut self, node: &Node, what: &str) -> Vec<Step> {
        let Some(items) = self.seq(node, what) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.decode_step(item))
            .collect()
    }

    fn decode_step(&mut self, node: &Node) -> Option<Step> {
        let f = self.fields(
            node,
            "a step",
            &[
                "name",
                "request",
                "check",
                "capture",
                "think",
                "group",
                "steps",
                "socket",
                "ws_connect",
                "ws_send",
                "ws_expect",
                "ws_receive",
                "ws_hold",
                "ws_ping",
                "ws_close",
            ],
        )?;
        let kinds: Vec<&str> = ["request", "group"]
            .into_iter()
            .chain(WS_KEYS)
            .filter(|k| f.has(k))
            .collect();
        if kinds.len() > 1 {
            self.err(
                f.key_span(kinds[1]),
                format!(
                    "a step does one thing: `{}` or `{}`, not both",
                    kinds[0], kinds[1]
                ),
            );
            return None;
        }
        let only = |d: &mut Self, kind: &str, allowed: &[&str]| {
            for (key, k, _) in &f.entries {
                if !allowed.contains(key) {
                    d.err(
                        k.span,
                        format!(
                            "`{key}` does not belong in a {kind} step (it takes {})",
                            allowed.join(", ")
                        ),
                    );
                }
            }
        };
        if let Some(req) = f.get("request") {
            only(
                self,
                "request",
                &["name", "request", "check", "capture", "think"],
            );
            let mut request = self.decode_request(req);
            if let Some(n) = f.get("check") {
                request.checks = self.decode_checks(n);
            }
            if let Some(n) = f.get("capture") {
                request.captures = self.decode_captures(n);
            }
            request.think = f.get("think").and_then(|n| self.think(n, "`think`"));
            let name = match f.get("name") {
                Some(n) => self.string(n, "`name`").unwrap_or_default(),
                None => format!("{} {}", request.method, request.url.source()),
            };
            return Some(Step {
                name,
                span: node.span,
                kind: StepKind::Request(Box::new(request)),
            });
        }
        if let Some(&keyword) = kinds.first().filter(|k| k.starts_with("ws_")) {
            only(self, keyword, &["name", "socket", keyword, "capture"]);
            if keyword != "ws_expect" && f.has("capture") {
                self.err(
                    f.key_span("capture"),
                    "only `ws_expect` captures from a message",
                );
            }
            let socket = match f.get("socket") {
                Some(n) => self.string(n, "`socket`").unwrap_or_default(),
                None => DEFAULT_SOCKET.to_owned(),
            };
            let action = self.decode_ws_action(keyword, f.get(keyword)?, f.get("capture"))?;
            let name = match f.get("name") {
                Some(n) => self.string(n, "`name`").unwrap_or_default(),
                None => format!("{keyword} {socket}"),
            };
            return Some(Step {
                name,
                span: node.span,
                kind: StepKind::WebSocket(Box::new(WsStep { socket, action })),
            });
        }
        if let Some(g) = f.get("group") {
            only(self, "group", &["group", "steps"]);
            let name = self.string(g, "`group`").unwrap_or_default();
            let steps = match f.get("steps") {
                Some(n) => {
                    if matches!(&n.kind, Kind::Seq(items) if items.is_empty()) {
                        self.err(n.span, format!("group `{name}` has no steps"));
                    }
                    self.decode_steps(n, "`steps`")
                }
                None => {
                    self.missing(
                        &f,
                        f.key_span("group"),
                        format!("group `{name}` needs `steps`"),
                    );
                    Vec::new()
                }
            };
            return Some(Step {
                name: name.clone(),
                span: node.span,
                kind: StepKind::Group(Group { name, steps }),
            });
        }
        if let Some(t) = f.get("think") {
            only(self, "think", &["think"]);
            let think = self.think(t, "`think`")?;
            return Some(Step {
                name: "think".into(),
                span: node.span,
                kind: StepKind::Think(think),
            });
        }
        self.missing(&f, f.span, "a step needs `request`, `think`, `group` or a WebSocket action (`ws_connect`, `ws_send`, `ws_expect`, …)");
        None
    }

    /// A WebSocket step's action, from the value of its keyword.
    fn decode_ws_action(
        &mut self,
        keyword: &str,
        node: &Node,
        capture: Option<&Node>,
    ) -> Option<WsAction> {
        let wait = |d: &mut Self, f: &Fields<'_>| -> Duration {
            f.get("timeout")
                .and_then(|n| d.positive_duration(n, "`timeout`"))
                .unwrap_or(DEFAULT_WAIT)
        };
        match keyword {
            "ws_connect" => {
                // `ws_connect: /ws/feed` or a mapping with url, headers, protocols, timeout.
                if let Kind::Str(_) = node.kind {
                    let url = self.template(node, "`ws_connect`")?;
                    return Some(WsAction::Connect {
                        url,
                        headers: Vec::new(),
                        protocols: Vec::new(),
                        timeout: None,
                    });
                }
                let f = self.fields(
                    node,
                    "`ws_connect`",
                    &["url", "headers", "protocols", "timeout"],
                )?;
                let Some(url_node) = f.get("url") else {
                    self.missing(&f, f.span, "`ws_connect` needs `url`");
                    return None;
                };
                let url = self.template(url_node, "`url`")?;
                let headers = f
                    .get("headers")
                    .map(|n| self.decode_headers(n))
                    .unwrap_or_default();
                let protocols = match f.get("protocols") {
                    None => Vec::new(),
                    Some(n) => match &n.kind {
                        Kind::Seq(items) => items
                            .iter()
                            .filter_map(|i| self.string(i, "a subprotocol"))
                            .collect(),
                        _ => self.string(n, "`protocols`").into_iter().collect(),
                    },
                };
                let timeout = f
                    .get("timeout")
                    .and_then(|n| self.positive_duration(n, "`timeout`"));
                Some(WsAction::Connect {
                    url,
                    headers,
                    protocols,
                    timeout,
                })
            }
            "ws_send" => {
                // `ws_send: "text {{ x }}"` or `{ text: … }` or `{ json: … }`.
                if let Kind::Str(_) = node.kind {
                    return Some(WsAction::Send(WsMessage::Text(
                        self.template(node, "`ws_send`")?,
                    )));
                }
                let f = self.fields(node, "`ws_send`", &["text", "json"])?;
                match (f.get("text"), f.get("json")) {
                    (Some(t), None) => {
                        Some(WsAction::Send(WsMessage::Text(self.template(t, "`text`")?)))
                    }
                    (None, Some(j)) => {
                        Some(WsAction::Send(WsMessage::Json(self.decode_json_body(j)?)))
                    }
                    (Some(_), Some(_)) => {
                        self.err(
                            f.key_span("json"),
                            "`ws_send` takes `text` or `json`, not both",
                        );
                        None
                    }
                    (None, None) => {
                        self.missing(&f, f.span, "`ws_send` needs `text` or `json`");
                        None
                    }
                }
            }
            "ws_expect" => {
                let f = self.fields(node, "`ws_expect`", &["body", "jsonpath", "timeout"])?;
                // The message tests are the body and JSONPath checks of a response.
                let tests: Vec<(Node, Node)> = match &node.kind {
                    Kind::Map(entries) => entries
                        .iter()
                        .filter(|(k, _)| k.as_str() != Some("timeout"))
                        .cloned()
                        .collect(),
                    _ => Vec::new(),
                };
                let checks = if tests.is_empty() {
                    Vec::new()
                } else {
                    self.decode_checks(&Node {
                        kind: Kind::Map(tests),
                        ..node.clone()
                    })
                };
                let timeout = wait(self, &f);
                let captures = capture.map(|n| self.decode_captures(n)).unwrap_or_default();
                Some(WsAction::Expect {
                    checks,
                    captures,
                    timeout,
                })
            }
            "ws_receive" => {
                if let Kind::Int(_) = node.kind {
                    let count = self.int(node, "`ws_receive`", 1, 1_000_000)? as u32;
                    return Some(WsAction::Receive {
                        count,
                        timeout: DEFAULT_WAIT,
                    });
                }
                let f = self.fields(node, "`ws_receive`", &["count", "timeout"])?;
                let count = match f.get("count") {
                    Some(n) => self.int(n, "`count`", 1, 1_000_000)? as u32,
                    None => 1,
                };
                Some(WsAction::Receive {
                    count,
                    timeout: wait(self, &f),
                })
            }
            "ws_hold" => Some(WsAction::Hold(self.positive_duration(node, "`ws_hold`")?)),
            "ws_ping" => {
                if let Kind::Map(_) = node.kind {
                    let f = self.fields(node, "`ws_ping`", &["timeout"])?;
                    return Some(WsAction::Ping {
                        timeout: wait(self, &f),
                    });
                }
                // `ws_ping: {}`-less forms: `ws_ping: true` or a timeout.
                match &node.kind {
                    Kind::Bool(true) | Kind::Null => Some(WsAction::Ping {
                        timeout: DEFAULT_WAIT,
                    }),
                    _ => Some(WsAction::Ping {
                        timeout: self.positive_duration(node, "`ws_ping`")?,
                    }),
                }
            }
            "ws_close" => {
                match &node.kind {
                    Kind::Bool(true) | Kind::Null => {
                        return Some(WsAction::Close {
                            code: 1000,
                            reason: String::new(),
                        })
                    }
                    Kind::Int(_) => {
                        let code = self.int(node, "`ws_close`", 1000, 4999)? as u16;
                        return Some(WsAction::Close {
                            code,
                            reason: String::new(),
                        });
                    }
                    _ => {}
                }
                let f = self.fields(node, "`ws_close`", &["code", "reason"])?;
                let code = match f.get("code") {
                    Some(n) => self.int(n, "`code`", 1000, 4999)? as u16,
                    None => 1000,
                };
                let reason = f
                    .get("reason")
                    .and_then(|n| self.string(n, "`reason`"))
                    .unwrap_or_default();
                if reason.len() > 123 {
                    self.err(f.key_span("reason"), "a close reason is at most 123 bytes");
                }
                Some(WsAction::Close { code, reason })
            }
            _ => None,
        }
    }

    fn decode_request(&mut self, node: &Node) -> RequestStep {
        let mut r = RequestStep {
            method: Method::GET,
            url: Template::literal("/"),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            auth: AuthSetting::Inherit,
            timeout: None,
            checks: Vec::new(),
            captures: Vec::new(),
            think: None,
        };
        // Shorthand: `request: GET /api/apps` or `request: /api/apps`.
        if let Kind::Str(text) = &node.kind {
            let (method, url) = match text.trim().split_once(char::is_whitespace) {
                Some((m, u)) if !m.starts_with('/') && !m.contains("://") => (Some(m), u.trim()),
                _ => (None, text.trim()),
            };
            if let Some(m) = method {
                r.method = self.method(m, node.span).unwrap_or(Method::GET);
            }
            // `url` is a slice of `text`: its offset there locates errors.
            let offset = url.as_ptr() as usize - text.as_ptr() as usize;
            let url_node = Node {
                kind: Kind::Str(url.to_owned()),
                ..node.clone()
            };
            match Template::parse(url) {
                Ok(mut t) => {
                    let source = self.source;
                    t.bind(&mut |n| {
                        n.span = node.inner_span(source, offset + n.start, offset + n.end)
                    });
                    self.check_url(&t, &url_node);
                    r.url = t;
                }
                Err(e) => {
                    let span = node.inner_span(self.source, offset + e.start, offset + e.end);
                    self.err(span, format!("`url`: {}", e.message));
                }
            }
            return r;
        }
        const KEYS: [&str; 10] = [
            "method", "url", "headers", "query", "body", "json", "form", "file", "auth", "timeout",
        ];
        let Some(f) = self.fields(node, "`request`", &KEYS) else {
            return r;
        };
        if let Some(m) = f.get("method") {
            if let Some(text) = self.string(m, "`method`") {
                r.method = self.method(&text, m.span).unwrap_or(Method::GET);
            }
        }
        match f.get("url") {
            Some(u) => {
                if let Some(t) = self.template(u, "`url`") {
                    self.check_url(&t, u);
                    r.url = t;
                }
            }
            None => self.missing(&f, f.span, "a request needs `url`"),
        }
        if let Some(h) = f.get("headers") {
            r.headers = self.decode_headers(h);
        }
        if let Some(q) = f.get("query") {
            r.query = self.decode_query(q);
        }
        let bodies: Vec<&str> = ["body", "json", "form", "file"]
            .into_iter()
            .filter(|k| f.has(k))
            .collect();
        for extra in bodies.iter().skip(1) {
            self.err(
                f.key_span(extra),
                format!(
                    "`{extra}` conflicts with `{}`: a request has one body",
                    bodies[0]
                ),
            );
        }
        if let Some((kind, n)) = bodies.first().and_then(|k| Some((*k, f.get(k)?))) {
            r.body = match kind {
                "body" => self.template(n, "`body`").map_or(Body::Empty, Body::Raw),
                "json" => self.decode_json_body(n).map_or(Body::Empty, Body::Json),
                "form" => Body::Form(self.decode_pairs(n, "`form`")),
                _ => self.decode_file_body(n),
            };
        }
        if let Some(a) = f.get("auth") {
            r.auth = self.decode_auth(a).unwrap_or_default();
        }
        r.timeout = f
            .get("timeout")
            .and_then(|n| self.positive_duration(n, "`timeout`"));
        r
    }

    fn method(&mut self, text: &str, span: Span) -> Option<Method> {
        let upper = text.trim().to_ascii_uppercase();
        Method::from_bytes(upper.as_bytes())
            .map_err(|_| self.err(span, format!("`{text}` is not a valid HTTP method")))
            .ok()
    }

    /// A URL must be absolute or start with `/` (relative to `target`).
    fn check_url(&mut self, url: &Template, node: &Node) {
        let src = url.source().trim_start();
        let lower = src.get(..8).unwrap_or(src).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            if let Some(literal) = url.as_literal() {
                if let Err(e) = TargetUrl::parse(literal) {
                    self.err(node.span, format!("`url`: {e}"));
                }
            }
        } else if src.starts_with('/') {
            if !self.target_given {
                self.err(
                    node.span,
                    "`url` is relative, but the file has no `target` to resolve it against",
                );
            }
        } else if !src.starts_with("{{") {
            self.err(
                node.span,
                "`url` must start with / (relative to `target`) or http:// or https://",
            );
        }
    }

    fn decode_query(&mut self, node: &Node) -> Vec<(String, Template)> {
        let Some(entries) = self.map_entries(
            node,
            "`query` must be a mapping of parameter names to values",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a query parameter name") else {
                continue;
            };
            let what = format!("query parameter `{name}`");
            match &v.kind {
                Kind::Seq(items) => {
                    for item in items {
                        out.push((name.clone(), self.template_or_empty(item, &what)));
                    }
                }
                _ => out.push((name.clone(), self.template_or_empty(v, &what))),
            }
        }
        out
    }

    fn decode_pairs(&mut self, node: &Node, what: &str) -> Vec<(String, Template)> {
        let Some(entries) = self.map_entries(
            node,
            &format!("{what} must be a mapping of field names to values"),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a field name") else {
                continue;
            };
            let t = self.template_or_empty(v, &format!("field `{name}`"));
            out.push((name, t));
        }
        out
    }

    fn decode_json_body(&mut self, node: &Node) -> Option<JsonBody> {
        Some(match &node.kind {
            Kind::Null => JsonBody::Null,
            Kind::Bool(b) => JsonBody::Bool(*b),
            Kind::Int(n) => JsonBody::Number((*n).into()),
            Kind::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => JsonBody::Number(n),
                None => {
                    self.err(node.span, "JSON has no infinite or NaN numbers");
                    return None;
                }
            },
            Kind::Str(_) => JsonBody::String(self.template(node, "a JSON string")?),
            Kind::Seq(items) => JsonBody::Array(
                items
                    .iter()
                    .map(|i| self.decode_json_body(i))
                    .collect::<Option<_>>()?,
            ),
            Kind::Map(entries) => {
                let mut fields = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = self.scalar(k, "a JSON key")?;
                    fields.push((key, self.decode_json_body(v)?));
                }
                JsonBody::Object(fields)
            }
        })
    }

    fn decode_file_body(&mut self, node: &Node) -> Body {
        let Some(file) = self.string(node, "`file`") else {
            return Body::Empty;
        };
        let path = self.base_dir.join(&file);
        match std::fs::read(&path) {
            Ok(bytes) => Body::File {
                path,
                content: Bytes::from(bytes),
            },
            Err(e) => {
                self.err(
                    node.span,
                    format!("`file`: cannot read {}: {e}", path.display()),
                );
                Body::Empty
            }
        }
    }

    // ---- checks and captures -------------------------------------------------

    fn decode_checks(&mut self, node: &Node) -> Vec<Check> {
        let mut out = Vec::new();
        let Some(f) = self.fields(
            node,
            "`check`",
            &["status", "max_time", "headers", "body", "jsonpath"],
        ) else {
            return out;
        };
        let mut push =
            |label: String, span: Span, kind: CheckKind| out.push(Check { label, span, kind });
        if let Some(n) = f.get("status") {
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
                    Err(e) => self.err(item.span, e),
                }
            }
            if matches!(&n.kind, Kind::Seq(items) if items.is_empty()) {
                self.err(n.span, "`status` is an empty list");
            }
            let set = StatusSet::new(ranges);
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

    fn decode_captures(&mut self, node: &Node) -> Vec<Capture> {
        let Kind::Map(entries) = &node.kind else {
            self.err(node.span, format!("`capture` must map variable names to sources, e.g. app_id: {{ jsonpath: \"$.id\" }}; found {}", node.type_name()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a variable name") else {
                continue;
            };
            self.check_var_name(&name, k.span, "variable");
            let what = format!("capture `{name}`");
            let source = self.decode_capture_source(v, &what);
            let optional = match &v.kind {
                Kind::Map(m) => m
                    .iter()
                    .find(|(key, _)| key.as_str() == Some("optional"))
                    .and_then(|(_, val)| self.bool(val, "`optional`"))
                    .unwrap_or(false),
                _ => false,
            };
            // A broken source still defines the name (see the module docs).
            let source = source.unwrap_or_else(|| CaptureSource::Header(String::new()));
            out.push(Capture {
                name,
                var: VarId(0),
                span: k.span,
                source,
                optional,
            });
        }
        out
    }

    fn decode_capture_source(&mut self, node: &Node, what: &str) -> Option<CaptureSource> {
        const SOURCES: [&str; 4] = ["jsonpath", "regex", "header", "cookie"];
        let f = self.fields(
            node,
            what,
            &["jsonpath", "regex", "header", "cookie", "group", "optional"],
        )?;
        let given: Vec<&str> = SOURCES.into_iter().filter(|k| f.has(k)).collect();
        let Some(&kind) = given.first() else {
            self.missing(
                &f,
                f.span,
                format!("{what} needs one of `jsonpath`, `regex`, `header` or `cookie`"),
            );
            return None;
        };
        for extra in &given[1..] {
            self.err(
                f.key_span(extra),
                format!("{what}: `{extra}` conflicts with `{kind}` (a capture has one source)"),
            );
        }
        if kind != "regex" && f.has("group") {
            self.err(
                f.key_span("group"),
                format!("{what}: `group` only applies to `regex`"),
            );
        }
        let n = f.get(kind)?;
        match kind {
            "jsonpath" => self
                .jsonpath(n, what)
                .map(|(path, source)| CaptureSource::JsonPath { path, source }),
            "regex" => {
                let regex = self.regex(n, what)?;
                let groups = regex.captures_len() - 1;
                let group = match f.get("group") {
                    Some(g) => self.int(g, "`group`", 0, groups as i64)? as usize,
                    None => usize::from(groups >= 1),
                };
                Some(CaptureSource::Regex { regex, group })
            }
            "header" => self
                .string(n, "`header`")
                .map(|h| CaptureSource::Header(h.to_ascii_lowercase())),
            _ => self.string(n, "`cookie`").map(CaptureSource::Cookie),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::yaml;

    fn decode(text: &str) -> (Option<Plan>, Vec<String>) {
        let root = yaml::parse(text).unwrap();
        let mut d = Decoder::new(text, Path::new("."));
        let plan = d.decode_plan(&root, "t.yaml").map(|(p, _)| p);
        (plan, d.problems.messages())
    }

    #[test]
    fn decodes_a_small_file() {
        let (plan, problems) = decode(
            "target: http://127.0.0.1:8080\nload: { vus: 2, duration: 10s }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /x\n      - think: 1s..2s\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let plan = plan.unwrap();
        assert_eq!(plan.scenarios[0].steps[0].name, "GET /x");
        assert!(matches!(
            plan.scenarios[0].steps[1].kind,
            StepKind::Think(Think::Range(..))
        ));
        assert_eq!(
            plan.load,
            LoadModel::Vus {
                vus: 2,
                duration: Some(Duration::from_secs(10)),
                iterations: None
            }
        );
    }

    #[test]
    fn request_shorthands() {
        let (plan, problems) = decode("target: http://h\nscenarios:\n  - name: a\n    steps:\n      - request: /plain\n      - request: delete /x/{{ vu }}\n");
        assert!(problems.is_empty(), "{problems:?}");
        let steps = &plan.unwrap().scenarios[0].steps;
        let StepKind::Request(r) = &steps[1].kind else {
            panic!()
        };
        assert_eq!(
            (r.method.as_str(), r.url.source()),
            ("DELETE", "/x/{{ vu }}")
        );
        let StepKind::Request(r) = &steps[0].kind else {
            panic!()
        };
        assert_eq!(r.method, Method::GET);
    }

    #[test]
    fn identifiers() {
        assert!(is_ident("app_id") && is_ident("x-1") && is_ident("_a"));
        assert!(!is_ident("1a") && !is_ident("a.b") && !is_ident("") && !is_ident("a b"));
    }
}
