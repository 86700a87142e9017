//! `scenarios` and their `steps`: each step's keyword, name and settings.

use std::collections::HashSet;

use super::decoder::{Decoder, Fields};
use super::tags::inherit_tags;
use crate::scenario::model::{Group, Scenario, ScenarioLoad, Step, StepKind};
use crate::scenario::tags::Tags;
use crate::scenario::websocket::{WsStep, DEFAULT_SOCKET, WS_KEYS};
use crate::scenario::yaml::{Kind, Node};
use crate::scenario::Span;

impl Decoder<'_> {
    /// A scenario's name is unique and has no `/`: results name a step `scenario/step`, so
    /// scenario `a/b`'s step `c` and scenario `a`'s step `b/c` would be counted as one.
    fn check_scenario_name(&mut self, name: &str, at: Span, seen: &mut HashSet<String>) {
        if name.contains('/') {
            self.err(
                at,
                format!("a scenario's name cannot contain `/` (`{name}`): results name steps `scenario/step`"),
            );
        }
        if !name.is_empty() && !seen.insert(name.to_owned()) {
            self.err(at, format!("there is already a scenario named `{name}`"));
        }
    }

    pub(super) fn decode_scenarios(&mut self, node: &Node) -> Vec<Scenario> {
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
                    "name",
                    "weight",
                    "setup",
                    "steps",
                    "teardown",
                    "pacing",
                    "think",
                    "tags",
                    "load",
                    "start_after",
                ],
            ) else {
                continue;
            };
            let name = match f.get("name") {
                Some(n) => self.name(n, "`name`").unwrap_or_default(),
                None => {
                    self.missing(&f, f.span, "a scenario needs `name`");
                    String::new()
                }
            };
            let at = f.get("name").map_or(f.span, |n| n.span);
            self.check_scenario_name(&name, at, &mut seen);
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
            let tags = self.decode_tags_of(&f);
            let mut setup = f
                .get("setup")
                .map(|n| self.decode_steps(n, "`setup`"))
                .unwrap_or_default();
            let mut steps = match f.get("steps") {
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
            let mut teardown = f
                .get("teardown")
                .map(|n| self.decode_steps(n, "`teardown`"))
                .unwrap_or_default();
            for part in [&mut setup, &mut steps, &mut teardown] {
                inherit_tags(part, &tags);
            }
            let pacing = f
                .get("pacing")
                .and_then(|n| self.positive_duration(n, "`pacing`"));
            let think = f.get("think").and_then(|n| self.think(n, "`think`"));
            let load = self.decode_scenario_load(&f, &name);
            out.push(Scenario {
                name,
                weight,
                setup,
                steps,
                teardown,
                pacing,
                think,
                tags,
                load,
            });
        }
        out
    }

    /// A scenario's own `load` and `start_after`. A `weight` beside its own
    /// load is an error: weights share the file's `load`, which such a
    /// scenario does not take part in, so the weight would silently do nothing.
    fn decode_scenario_load(&mut self, f: &Fields<'_>, name: &str) -> Option<ScenarioLoad> {
        let start_after = f
            .get("start_after")
            .and_then(|n| self.duration(n, "`start_after`"));
        let Some(node) = f.get("load") else {
            if f.has("start_after") {
                self.err(
                    f.key_span("start_after"),
                    format!("`start_after` needs the scenario's own `load` (scenario `{name}` shares the file's `load`, which starts with the run)"),
                );
            }
            return None;
        };
        if f.has("weight") {
            self.err(
                f.key_span("weight"),
                format!("`weight` does not apply to scenario `{name}`: it has its own `load` (weights share the file's `load` among the scenarios without one)"),
            );
        }
        let model = self.decode_load(node)?;
        let arrivals = self.decode_arrivals(node);
        let iterations_per_vu = self.decode_iterations_per_vu(node).map(|(n, _)| n);
        Some(ScenarioLoad {
            model,
            arrivals,
            start_after: start_after.unwrap_or_default(),
            iterations_per_vu,
        })
    }

    /// A list of steps, each with its own tags and those of the groups
    /// around it (a scenario's tags are added by [`Self::decode_scenarios`]).
    pub(super) fn decode_steps(&mut self, node: &Node, what: &str) -> Vec<Step> {
        let Some(items) = self.seq(node, what) else {
            return Vec::new();
        };
        let mut steps: Vec<Step> = items
            .iter()
            .filter_map(|item| self.decode_step(item))
            .collect();
        inherit_tags(&mut steps, &Tags::default());
        steps
    }

    pub(super) fn decode_step(&mut self, node: &Node) -> Option<Step> {
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
                "tags",
                "loop",
                "if",
                "else",
                "retry",
                "on_error",
                "metric",
                "parallel",
                "connections",
            ],
        )?;
        let kinds: Vec<&str> = ["request", "group", "loop", "if", "metric", "parallel"]
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
        let tags = self.decode_tags_of(&f);
        if let Some(m) = f.get("metric") {
            self.only_keys(&f, "metric", &["metric"]);
            return self.metric_step(&f, m);
        }
        let step = if let Some(req) = f.get("request") {
            Some(self.request_step(&f, req))
        } else if let Some(&keyword) = kinds.first().filter(|k| k.starts_with("ws_")) {
            self.ws_step(&f, keyword)
        } else if let Some(g) = f.get("group") {
            Some(self.group_step(&f, g))
        } else if let Some(n) = f.get("loop") {
            self.loop_step(&f, n)
        } else if let Some(n) = f.get("if") {
            self.if_step(&f, n)
        } else if let Some(n) = f.get("parallel") {
            self.parallel_step(&f, n)
        } else {
            None
        };
        if !kinds.is_empty() {
            // The step's kind is known: its own errors were reported.
            return step.map(|mut step| {
                step.tags = tags;
                step
            });
        }
        if f.has("else") {
            self.err(
                f.key_span("else"),
                "`else` belongs to an `if` step, beside its `if` and `steps`",
            );
            return None;
        }
        if let Some(t) = f.get("think") {
            self.only_keys(&f, "think", &["think"]);
            let think = self.think(t, "`think`")?;
            return Some(Step {
                name: "think".into(),
                kind: StepKind::Think(think),
                tags: Tags::default(),
            });
        }
        self.missing(&f, f.span, "a step needs `request`, `think`, `group`, `loop`, `if`, `parallel` or a WebSocket action (`ws_connect`, `ws_send`, `ws_expect`, …), or a `metric`");
        None
    }

    /// Reports the keys of a step that its kind does not take.
    pub(super) fn only_keys(&mut self, f: &Fields<'_>, kind: &str, allowed: &[&str]) {
        for (key, k, _) in &f.entries {
            if allowed.contains(key) {
                continue;
            }
            // `on_error` is the one key users expect on every step: say what
            // that step's failure does instead.
            let message = match (*key, kind) {
                ("on_error", "metric") => "`on_error` does not apply to a metric step: a value that is not a number is counted and noted, and the iteration always goes on".to_owned(),
                ("on_error", ws) if ws.starts_with("ws_") => format!(
                    "`on_error` applies to request steps only: a {ws} step that fails ends the iteration, counted under its error kind"
                ),
                _ => format!(
                    "`{key}` does not belong in a {kind} step (it takes {})",
                    allowed.join(", ")
                ),
            };
            self.err(k.span, message);
        }
    }

    /// A `request` step, with its checks, captures and think time.
    fn request_step(&mut self, f: &Fields<'_>, req: &Node) -> Step {
        self.only_keys(
            f,
            "request",
            &[
                "name", "request", "check", "capture", "think", "tags", "retry", "on_error",
            ],
        );
        let mut request = self.decode_request(req);
        request.flow = self.step_flow(f);
        if let Some(n) = f.get("check") {
            request.checks = self.decode_checks(n);
        }
        if let Some(n) = f.get("capture") {
            request.captures = self.decode_captures(n);
        }
        request.think = f.get("think").and_then(|n| self.think(n, "`think`"));
        let name = match f.get("name") {
            Some(n) => self.name(n, "`name`").unwrap_or_default(),
            None => format!("{} {}", request.method, request.url.source()),
        };
        Step {
            name,
            kind: StepKind::Request(Box::new(request)),
            tags: Tags::default(),
        }
    }

    /// A WebSocket step: its socket and the action its keyword names.
    fn ws_step(&mut self, f: &Fields<'_>, keyword: &str) -> Option<Step> {
        self.only_keys(f, keyword, &["name", "socket", keyword, "capture", "tags"]);
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
            Some(n) => self.name(n, "`name`").unwrap_or_default(),
            None => format!("{keyword} {socket}"),
        };
        Some(Step {
            name,
            kind: StepKind::WebSocket(Box::new(WsStep {
                socket,
                action,
                span: f.key_span(keyword),
            })),
            tags: Tags::default(),
        })
    }

    /// A `group` of steps, reported under the group's name.
    fn group_step(&mut self, f: &Fields<'_>, g: &Node) -> Step {
        self.only_keys(f, "group", &["group", "steps", "tags"]);
        let name = self.name(g, "`group`").unwrap_or_default();
        let steps = match f.get("steps") {
            Some(n) => {
                if matches!(&n.kind, Kind::Seq(items) if items.is_empty()) {
                    self.err(n.span, format!("group `{name}` has no steps"));
                }
                self.decode_steps(n, "`steps`")
            }
            None => {
                self.missing(
                    f,
                    f.key_span("group"),
                    format!("group `{name}` needs `steps`"),
                );
                Vec::new()
            }
        };
        Step {
            name,
            kind: StepKind::Group(Group { steps }),
            tags: Tags::default(),
        }
    }
}
