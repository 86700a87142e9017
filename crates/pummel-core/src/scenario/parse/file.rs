//! The file's top level: its keys, `defaults`, `variables` and `data` feeders.

use super::decoder::{DecodeInfo, Decoder};
use crate::http::TargetUrl;
use crate::scenario::diagnostic::{with_suggestion, Span};
use crate::scenario::feeder::{DataFormat, FeedMode, Feeder};
use crate::scenario::load_model::LoadModel;
use crate::scenario::model::{Defaults, Plan, Variable};
use crate::scenario::request::AuthSetting;
use crate::scenario::template::VarId;
use crate::scenario::yaml::{Kind, Node};

/// The keys of a scenario file's top level.
const PLAN_KEYS: [&str; 13] = [
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
    "monitor",
    "runner",
];

impl Decoder<'_> {
    pub(crate) fn decode_plan(&mut self, root: &Node, file: &str) -> Option<(Plan, DecodeInfo)> {
        if matches!(root.kind, Kind::Null) {
            self.err(
                Span::new(1, 1, 1),
                "the file is empty: a scenario file needs at least `scenarios` (try `pummel init`)",
            );
            return None;
        }
        let f = self.fields(root, "the scenario file", &PLAN_KEYS)?;
        let mut info = DecodeInfo::default();
        let name = f.get("name").and_then(|n| self.name(n, "`name`"));
        if let Some(d) = f.get("description") {
            self.string(d, "`description`");
        }
        self.target_given = f.has("target") || self.target_overridden;
        let target = f
            .get("target")
            .and_then(|n| self.decode_target(n, &mut info));
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
        let no_flags = crate::scenario::Overrides::default();
        let load = match f.get("load") {
            Some(n) => self
                .decode_load(n)
                .unwrap_or_else(|| LoadModel::quick_try(&no_flags)),
            None => LoadModel::quick_try(&no_flags),
        };
        let arrivals = f
            .get("load")
            .map(|n| self.decode_arrivals(n))
            .unwrap_or_default();
        self.reject_iterations_per_vu(f.get("load"));
        let thresholds = match f.get("thresholds") {
            Some(n) => self.decode_thresholds(n, &mut info),
            None => Vec::new(),
        };
        let monitor = f
            .get("monitor")
            .map(|n| self.decode_monitor(n))
            .unwrap_or_default();
        let setup = f
            .get("setup")
            .map(|n| self.decode_steps(n, "`setup`"))
            .unwrap_or_default();
        let teardown = f
            .get("teardown")
            .map(|n| self.decode_steps(n, "`teardown`"))
            .unwrap_or_default();
        let (runner, scenarios) = self.runner_or_scenarios(&f);
        let plan = Plan {
            file: file.to_owned(),
            name,
            target,
            defaults,
            tls_profiles: std::mem::take(&mut self.tls_profiles),
            proxies: std::mem::take(&mut self.proxies),
            variables,
            feeders,
            load,
            load_given: f.has("load"),
            arrivals,
            seed: 0,
            thresholds,
            setup,
            teardown,
            scenarios,
            in_order: false,
            vars: Vec::new(),
            monitor,
            runner,
        };
        Some((plan, info))
    }

    /// `target`: a URL, or a template of environment variables resolved
    /// once the environment is at hand, after decoding.
    fn decode_target(&mut self, n: &Node, info: &mut DecodeInfo) -> Option<TargetUrl> {
        let text = self.string(n, "`target`")?;
        if text.contains("{{") {
            info.target_template = self.template(n, "`target`").map(|t| (t, n.span));
            return None;
        }
        TargetUrl::parse(&text)
            .map_err(|e| self.err(n.span, format!("`target`: {e}")))
            .ok()
    }

    fn decode_defaults(&mut self, node: &Node) -> Defaults {
        let mut d = Defaults::default();
        let Some(f) = self.fields(
            node,
            "`defaults`",
            &[
                "headers",
                "timeout",
                "max_body",
                "think",
                "auth",
                "cookies",
                "on_error",
                "follow_redirects",
                "hosts",
                "tls",
                "proxy",
                "http2",
            ],
        ) else {
            return d;
        };
        if let Some(n) = f.get("headers") {
            d.headers = self.decode_headers(n);
        }
        d.timeout = f
            .get("timeout")
            .and_then(|n| self.positive_duration(n, "`timeout`"));
        d.max_body = f.get("max_body").and_then(|n| self.max_body(n));
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
        d.on_error = f.get("on_error").and_then(|n| self.on_error(n));
        d.follow_redirects = f
            .get("follow_redirects")
            .and_then(|n| self.follow_redirects(n));
        if let Some(n) = f.get("hosts") {
            d.hosts = self.hosts(n);
        }
        d.tls = f.get("tls").and_then(|n| self.client_tls(n));
        if let Some(n) = f.get("proxy") {
            d.proxy = self.proxy(n);
        }
        d.http2 = f.get("http2").and_then(|n| self.bool(n, "`http2`"));
        d
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
}
