//! Validation: what can only be checked with the whole file in view.
//!
//! The decoder checked each value on its own; this pass binds every name
//! in every template and checks it is defined where it is used:
//!
//! - variables may use `env.*`, `vu`, `iteration`, functions and the
//!   variables declared above them;
//! - the global setup and teardown see the variables and what the setup
//!   captured (no data feeders: they run outside any VU);
//! - a scenario's steps see the variables, the global setup's captures,
//!   data feeder columns, and what earlier steps of the same flow (its
//!   setup, then its steps, then its teardown) captured — a name captured
//!   by a later step, or in another scenario, is an error;
//! - default headers and auth are checked in the scope of every request
//!   that inherits them (a login step cannot send a token it has not
//!   captured yet);
//! - `env.X` must be set, in the environment given to the loader (the
//!   process environment plus `--env` pairs); its value is fixed at load
//!   time.
//!
//! It also assigns variable slots, checks that threshold scopes name real
//! scenarios and steps, and that a `unique` data feeder has a row for every
//! VU the load model can run at once.

use std::collections::{HashMap, HashSet};

use super::capture::Capture;
use super::diagnostic::{suggest, Problems, Span};
use super::feeder::{FeedMode, Feeder};
use super::model::{Defaults, Plan, Step, StepKind};
use super::parse::DecodeInfo;
use super::request::{auth_templates_mut, AuthSetting, Header};
use super::template::{Binding, Template, VarId};
use super::threshold::Scope as ThresholdScope;
use super::websocket::WsAction;
use crate::limits::{MAX_VARIABLES_BYTES, MAX_VARIABLE_BYTES};

mod flow;

/// Where a template is, for the rules above.
#[derive(Clone)]
struct Scope {
    /// Variables and captures defined at this point.
    vars: HashSet<String>,
    feeders: bool,
    /// What the flow is called in messages: "the global setup", "scenario `browse`".
    place: String,
    /// Which flow (see `Checker::captures`); `usize::MAX` for variables.
    flow: usize,
}

/// How a name became a variable slot, for messages about using it too early.
#[derive(Clone, Copy)]
enum Origin {
    Variable,
    Capture(Span),
}

struct Checker<'a> {
    env: &'a HashMap<String, String>,
    feeders: &'a [Feeder],
    feeder_known: Vec<bool>,
    slots: HashMap<String, (VarId, Origin)>,
    /// Where each name is captured, and in which flow: 0 is the global
    /// setup, 1..=n the scenarios, n + 1 the global teardown.
    captures: HashMap<String, Vec<(Span, usize)>>,
    flow_names: Vec<String>,
    problems: &'a mut Problems,
    used_feeders: HashSet<usize>,
    /// Default templates are checked once per inheriting step; each problem
    /// is reported once.
    reported: HashSet<(Span, String)>,
}

pub(crate) fn validate(
    plan: &mut Plan,
    info: &DecodeInfo,
    env: &HashMap<String, String>,
    problems: &mut Problems,
) {
    let feeders = std::mem::take(&mut plan.feeders);
    let mut defaults = std::mem::take(&mut plan.defaults);
    let mut checker = Checker {
        env,
        feeders: &feeders,
        feeder_known: info.feeders.iter().map(|(_, known)| *known).collect(),
        slots: HashMap::new(),
        captures: HashMap::new(),
        flow_names: Vec::new(),
        problems,
        used_feeders: HashSet::new(),
        reported: HashSet::new(),
    };
    plan.vars = checker.assign_slots(plan);

    // Variables, in order.
    let mut scope = Scope {
        vars: HashSet::new(),
        feeders: false,
        place: "variables".into(),
        flow: usize::MAX,
    };
    // Each VU holds every variable: a bound on their sizes, known now,
    // keeps `v2: "{{ v1 }}{{ v1 }}"` doubled forty times from asking a
    // terabyte of each VU.
    let mut bounds: HashMap<VarId, u64> = HashMap::new();
    let mut total = 0u64;
    let mut too_large = false;
    for v in &mut plan.variables {
        let name = v.name.clone();
        checker.check_template(&mut v.value, &scope, Some(&name));
        scope.vars.insert(name);
        let bound = v
            .value
            .max_len(&|id| bounds.get(&id).copied().unwrap_or(u64::MAX));
        // Unbounded only through a name that is already an error here.
        if bound == u64::MAX {
            continue;
        }
        total = total.saturating_add(bound);
        if (bound > MAX_VARIABLE_BYTES || total > MAX_VARIABLES_BYTES) && !too_large {
            // Once: every variable after it grows from it.
            too_large = true;
            checker.problems.push(
                v.span,
                format!(
                    "variable `{}` can hold up to {bound} bytes, past the limit of {} MiB for one variable and {} MiB for all of a VU's",
                    v.name,
                    MAX_VARIABLE_BYTES >> 20,
                    MAX_VARIABLES_BYTES >> 20
                ),
            );
        }
        bounds.insert(v.var, bound);
    }
    let variables = scope.vars.clone();

    // The global setup, whose captures every VU shares.
    let mut scope = Scope {
        vars: variables.clone(),
        feeders: false,
        place: "the global setup".into(),
        flow: 0,
    };
    checker.check_steps(&mut plan.setup, &mut scope, &mut defaults);
    let shared = scope.vars;

    for (i, scenario) in plan.scenarios.iter_mut().enumerate() {
        let mut scope = Scope {
            vars: shared.clone(),
            feeders: true,
            place: format!("scenario `{}`", scenario.name),
            flow: i + 1,
        };
        checker.check_steps(&mut scenario.setup, &mut scope, &mut defaults);
        checker.check_steps(&mut scenario.steps, &mut scope, &mut defaults);
        checker.check_steps(&mut scenario.teardown, &mut scope, &mut defaults);
    }

    let mut scope = Scope {
        vars: shared,
        feeders: false,
        place: "the global teardown".into(),
        flow: plan.scenarios.len() + 1,
    };
    checker.check_steps(&mut plan.teardown, &mut scope, &mut defaults);

    // Defaults used by no request still need their names bound and known.
    let mut scope = Scope {
        vars: variables,
        feeders: true,
        place: "defaults".into(),
        flow: usize::MAX,
    };
    scope.vars.extend(checker.slots.keys().cloned());
    checker.check_defaults(&mut defaults, &scope, &[], &AuthSetting::Inherit);

    let used_feeders = std::mem::take(&mut checker.used_feeders);
    plan.feeders = feeders;
    plan.defaults = defaults;
    check_threshold_scopes(plan, info, problems);
    crate::scenario::references::check_filters(plan, &info.threshold_filters, problems);
    crate::scenario::references::check_kinds(plan, problems);
    crate::scenario::references::check_thresholds(plan, problems);
    check_unique_feeders(plan, info, &used_feeders, problems);
    check_sockets(plan, problems);
}

/// A WebSocket step on a socket its flow never opens could only fail, in
/// every iteration: that is a mistake in the file, said before any load.
/// A scenario's setup, steps and teardown are one flow (its VUs keep their
/// sockets across them); the global setup and teardown are flows of their own.
fn check_sockets(plan: &Plan, problems: &mut Problems) {
    let mut flows: Vec<Vec<&[Step]>> = vec![vec![&plan.setup], vec![&plan.teardown]];
    for s in &plan.scenarios {
        flows.push(vec![&s.setup, &s.steps, &s.teardown]);
    }
    for flow in flows {
        let mut connected = HashSet::new();
        let mut used = Vec::new();
        for steps in flow {
            collect_sockets(steps, &mut connected, &mut used);
        }
        for (socket, keyword, span) in used {
            if !connected.contains(socket) {
                problems.push(
                    span,
                    format!(
                        "`{keyword}` on socket `{socket}`, which no `ws_connect` of this flow opens"
                    ),
                );
            }
        }
    }
}

fn collect_sockets<'a>(
    steps: &'a [Step],
    connected: &mut HashSet<&'a str>,
    used: &mut Vec<(&'a str, &'static str, Span)>,
) {
    for step in steps {
        match &step.kind {
            StepKind::Group(_) | StepKind::Loop(_) | StepKind::If(_) | StepKind::Parallel(_) => {
                for inner in step.kind.inner_steps() {
                    collect_sockets(inner, connected, used);
                }
            }
            StepKind::WebSocket(ws) => {
                if let WsAction::Connect(_) = ws.action {
                    connected.insert(ws.socket.as_str());
                } else {
                    used.push((ws.socket.as_str(), ws.action.keyword(), ws.span));
                }
            }
            StepKind::Request(_) | StepKind::Think(_) | StepKind::Metric(_) => {}
        }
    }
}

impl Checker<'_> {
    /// Numbers variables, then captures in file order; returns the slot names.
    fn assign_slots(&mut self, plan: &mut Plan) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for v in &mut plan.variables {
            let id = VarId(names.len() as u32);
            names.push(v.name.clone());
            self.slots.insert(v.name.clone(), (id, Origin::Variable));
            v.var = id;
            self.check_feeder_clash(&v.name, v.span);
        }
        self.flow_names.push("the global setup".into());
        self.assign_capture_slots(&mut plan.setup, 0, &mut names);
        for (i, s) in plan.scenarios.iter_mut().enumerate() {
            self.flow_names.push(format!("scenario `{}`", s.name));
            for steps in [&mut s.setup, &mut s.steps, &mut s.teardown] {
                self.assign_capture_slots(steps, i + 1, &mut names);
            }
        }
        self.flow_names.push("the global teardown".into());
        self.assign_capture_slots(&mut plan.teardown, plan.scenarios.len() + 1, &mut names);
        names
    }

    pub(super) fn assign_capture_slots(
        &mut self,
        steps: &mut [Step],
        flow: usize,
        names: &mut Vec<String>,
    ) {
        for step in steps {
            match &mut step.kind {
                StepKind::Request(r) => {
                    for c in &mut r.captures {
                        self.assign_capture_slot(c, flow, names);
                    }
                }
                StepKind::Group(g) => self.assign_capture_slots(&mut g.steps, flow, names),
                StepKind::Loop(_) | StepKind::If(_) | StepKind::Parallel(_) => {
                    self.assign_flow_slots(&mut step.kind, flow, names)
                }
                StepKind::WebSocket(ws) => {
                    if let WsAction::Expect { captures, .. } = &mut ws.action {
                        for c in captures {
                            self.assign_capture_slot(c, flow, names);
                        }
                    }
                }
                StepKind::Think(_) | StepKind::Metric(_) => {}
            }
        }
    }

    /// Gives a capture its variable slot (shared by every capture of the
    /// same name) and records where it is captured, for scope checks.
    pub(super) fn assign_capture_slot(
        &mut self,
        c: &mut Capture,
        flow: usize,
        names: &mut Vec<String>,
    ) {
        self.captures
            .entry(c.name.clone())
            .or_default()
            .push((c.span, flow));
        c.var = match self.slots.get(&c.name) {
            Some((id, _)) => *id,
            None => {
                let id = VarId(names.len() as u32);
                names.push(c.name.clone());
                self.slots
                    .insert(c.name.clone(), (id, Origin::Capture(c.span)));
                self.check_feeder_clash(&c.name, c.span);
                id
            }
        };
    }

    fn check_feeder_clash(&mut self, name: &str, span: Span) {
        if self.feeders.iter().any(|f| f.name == name) {
            self.problems.push(
                span,
                format!("`{name}` is also the name of a data feeder; rename one of them"),
            );
        }
    }

    pub(super) fn check_steps(
        &mut self,
        steps: &mut [Step],
        scope: &mut Scope,
        defaults: &mut Defaults,
    ) {
        for step in steps {
            match &mut step.kind {
                StepKind::Request(r) => {
                    r.templates_mut(&mut |t| self.check_template(t, scope, None));
                    self.check_defaults(defaults, scope, &r.headers, &r.auth);
                    self.check_fixed_values(&r.headers, &defaults.headers);
                    self.check_fixed_url(&r.url);
                    for c in &mut r.checks {
                        c.templates_mut(&mut |t| self.check_template(t, scope, None));
                    }
                    for c in &r.captures {
                        scope.vars.insert(c.name.clone());
                    }
                }
                StepKind::Group(g) => self.check_steps(&mut g.steps, scope, defaults),
                StepKind::Loop(_) | StepKind::If(_) | StepKind::Parallel(_) => {
                    self.check_flow_step(&mut step.kind, scope, defaults)
                }
                StepKind::WebSocket(ws) => {
                    ws.action
                        .templates_mut(&mut |t| self.check_template(t, scope, None));
                    if let WsAction::Expect { captures, .. } = &ws.action {
                        for c in captures {
                            scope.vars.insert(c.name.clone());
                        }
                    }
                }
                StepKind::Metric(m) => self.check_template(&mut m.value, scope, None),
                StepKind::Think(_) => {}
            }
        }
    }

    /// Default headers (those the step does not replace) and auth (unless
    /// the step has its own), in the step's scope, each problem once.
    fn check_defaults(
        &mut self,
        defaults: &mut Defaults,
        scope: &Scope,
        own: &[Header],
        auth: &AuthSetting,
    ) {
        for h in &mut defaults.headers {
            if !own.iter().any(|o| o.name == h.name) {
                self.check_default_template(&mut h.value, scope);
            }
        }
        if let (AuthSetting::Inherit, Some(a)) = (auth, &mut defaults.auth) {
            auth_templates_mut(a, &mut |t| self.check_default_template(t, scope));
        }
    }

    /// A header whose value is fixed at load time by an environment
    /// variable (`x-token: "{{ env.TOKEN }}"`) and that no header can carry
    /// would fail every request it is on: an error at the variable, once.
    fn check_fixed_values(&mut self, own: &[Header], defaults: &[Header]) {
        let inherited = defaults
            .iter()
            .filter(|d| !own.iter().any(|o| o.name == d.name));
        for h in own.iter().chain(inherited) {
            let Some((text, Some(span))) = h.value.fixed_text() else {
                continue;
            };
            if http::HeaderValue::from_str(&text).is_err() {
                let message = format!(
                    "header `{}`: the environment variable's value has characters a header cannot carry (line breaks, control characters)",
                    h.name
                );
                if self.reported.insert((span, message.clone())) {
                    self.problems.push(span, message);
                }
            }
        }
    }

    /// A URL fixed at load time by an environment variable
    /// (`http://{{ env.HOST }}:{{ env.PORT }}/`) that is no URL — a port
    /// out of range — would fail every request: an error at the variable.
    fn check_fixed_url(&mut self, url: &Template) {
        let Some((text, Some(span))) = url.fixed_text() else {
            return;
        };
        let lower = text.get(..8).unwrap_or(&text).to_ascii_lowercase();
        let problem = if lower.starts_with("http://") || lower.starts_with("https://") {
            crate::http::TargetUrl::parse(&text)
                .err()
                .map(|e| e.to_string())
        } else if text.starts_with('/') {
            text.parse::<http::uri::PathAndQuery>().err().map(|_| {
                format!(
                    "{text:?} is not a URL path: a space or another character a URL cannot carry"
                )
            })
        } else {
            Some(format!(
                "{text:?} does not start with / or http:// or https://"
            ))
        };
        if let Some(problem) = problem {
            self.problems.push(
                span,
                format!("`url`, with the environment variable's value: {problem}"),
            );
        }
    }

    fn check_default_template(&mut self, t: &mut Template, scope: &Scope) {
        let mut found = Vec::new();
        self.bind(t, scope, None, &mut found);
        for (span, message) in found {
            if self.reported.insert((span, message.clone())) {
                self.problems.push(span, message);
            }
        }
    }

    pub(super) fn check_template(
        &mut self,
        t: &mut Template,
        scope: &Scope,
        this_variable: Option<&str>,
    ) {
        let mut found = Vec::new();
        self.bind(t, scope, this_variable, &mut found);
        for (span, message) in found {
            self.problems.push(span, message);
        }
    }

    fn bind(
        &mut self,
        t: &mut Template,
        scope: &Scope,
        this_variable: Option<&str>,
        found: &mut Vec<(Span, String)>,
    ) {
        t.bind(&mut |name| {
            let (binding, problem) = self.resolve(&name.path, scope, this_variable);
            name.binding = binding;
            if let Some(p) = problem {
                found.push((name.span, p));
            }
        });
    }

    fn resolve(
        &mut self,
        path: &str,
        scope: &Scope,
        this_variable: Option<&str>,
    ) -> (Binding, Option<String>) {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        if head == "env" {
            return self.resolve_env(rest);
        }
        if let Some(fi) = self.feeders.iter().position(|f| f.name == head) {
            return self.resolve_feeder(fi, head, rest, scope);
        }
        if let Some(field) = rest {
            return (
                Binding::Unresolved,
                Some(self.no_such_field(path, head, field)),
            );
        }
        match head {
            "vu" => return (Binding::Vu, None),
            "iteration" => return (Binding::Iteration, None),
            // A variable or capture of that name, in files written before
            // `status` existed, keeps its meaning.
            "status" if !self.slots.contains_key(head) => return (Binding::Status, None),
            _ => {}
        }
        let slot = self.slots.get(head).copied();
        if scope.vars.contains(head) {
            if let Some((id, _)) = slot {
                return (Binding::Var(id), None);
            }
        }
        let message = self.unavailable(head, slot, scope, this_variable);
        (
            slot.map_or(Binding::Unresolved, |(id, _)| Binding::Var(id)),
            Some(message),
        )
    }

    /// `env.NAME`: the variable's value, fixed at load time.
    fn resolve_env(&self, rest: Option<&str>) -> (Binding, Option<String>) {
        match rest {
            None => (Binding::Unresolved, Some("write `env.NAME` to read the environment variable NAME".into())),
            Some(key) => match self.env.get(key) {
                Some(v) => (Binding::Const(v.clone()), None),
                None => (
                    Binding::Unresolved,
                    Some(format!("environment variable `{key}` is not set (export it, or pass --env {key}=VALUE)")),
                ),
            },
        }
    }

    /// `FEEDER.COLUMN`: a column of the data feeder at `fi`.
    fn resolve_feeder(
        &mut self,
        fi: usize,
        head: &str,
        rest: Option<&str>,
        scope: &Scope,
    ) -> (Binding, Option<String>) {
        let feeder = &self.feeders[fi];
        let Some(column) = rest else {
            let columns = list_columns(feeder.columns());
            return (Binding::Unresolved, Some(format!("`{head}` is a data feeder: name one of its columns, `{head}.COLUMN` (columns: {columns})")));
        };
        if !scope.feeders {
            return (
                Binding::Unresolved,
                Some(format!(
                    "data feeders cannot be used in {}: they belong to a VU's iterations",
                    scope.place
                )),
            );
        }
        self.used_feeders.insert(fi);
        if !self.feeder_known.get(fi).copied().unwrap_or(false) {
            return (
                Binding::Field {
                    feeder: fi,
                    column: 0,
                },
                None,
            );
        }
        match feeder.column(column) {
            Some(c) => (
                Binding::Field {
                    feeder: fi,
                    column: c,
                },
                None,
            ),
            None => {
                let base = format!(
                    "data feeder `{head}` has no column `{column}` (columns: {})",
                    list_columns(feeder.columns())
                );
                let message = match suggest(column, feeder.columns().iter().map(String::as_str)) {
                    Some(s) => format!("{base}; did you mean `{head}.{s}`?"),
                    None => base,
                };
                (Binding::Unresolved, Some(message))
            }
        }
    }

    /// Why `HEAD.FIELD` is not defined when `HEAD` is no data feeder.
    fn no_such_field(&self, path: &str, head: &str, field: &str) -> String {
        if self.slots.contains_key(head) {
            format!("`{head}` holds text; it has no field `{field}`")
        } else {
            let candidates: Vec<&str> = self
                .feeders
                .iter()
                .map(|f| f.name.as_str())
                .chain(["env"])
                .collect();
            match suggest(head, candidates) {
                Some(s) => format!("`{path}` is not defined (did you mean `{s}.{field}`?)"),
                None => format!("`{path}` is not defined: `{head}` is not a data feeder (and `env.NAME` reads the environment)"),
            }
        }
    }

    /// Why a variable or capture cannot be used here.
    fn unavailable(
        &self,
        head: &str,
        slot: Option<(VarId, Origin)>,
        scope: &Scope,
        this_variable: Option<&str>,
    ) -> String {
        match slot {
            Some(_) if this_variable == Some(head) => {
                format!("variable `{head}` cannot use itself")
            }
            Some((_, Origin::Variable)) if scope.place == "variables" => {
                format!("`{head}` is declared further down: a variable can only use the variables above it")
            }
            Some((_, Origin::Capture(at))) if scope.place == "variables" => {
                format!(
                    "variables cannot use captures: `{head}` is captured at line {}",
                    at.line
                )
            }
            Some((_, Origin::Capture(_))) => {
                let sites = self
                    .captures
                    .get(head)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match sites
                    .iter()
                    .find(|(_, flow)| *flow == scope.flow)
                    .or(sites.first())
                {
                    Some((at, flow)) if *flow == scope.flow => {
                        format!(
                            "`{head}` is used before it is captured (at line {})",
                            at.line
                        )
                    }
                    Some((at, flow)) => format!(
                        "`{head}` is captured in {} (line {}), which does not run before {}",
                        self.flow_names
                            .get(*flow)
                            .map_or("another flow", String::as_str),
                        at.line,
                        scope.place
                    ),
                    None => format!("`{head}` is not available here"),
                }
            }
            Some((_, Origin::Variable)) => format!("`{head}` is not available here"),
            None => {
                let mut candidates: Vec<&str> = scope.vars.iter().map(String::as_str).collect();
                candidates.extend(["vu", "iteration", "status"]);
                let base = format!("`{head}` is not defined");
                let minus = head.split_once('-').filter(|(before, _)| {
                    scope.vars.contains(*before)
                        || self.slots.contains_key(*before)
                        || ["vu", "iteration", "status"].contains(before)
                });
                if let Some((before, after)) = minus {
                    return format!("{base}: a name may contain `-`; to subtract, put spaces around it (`{before} - {after}`)");
                }
                match suggest(head, candidates) {
                    Some(s) => format!("{base} (did you mean `{s}`?)"),
                    None => format!(
                        "{base} (declare it under `variables`, or capture it in an earlier step)"
                    ),
                }
            }
        }
    }
}

fn step_names(steps: &[Step], out: &mut Vec<String>) {
    for s in steps {
        out.push(s.name.clone());
        for inner in s.kind.inner_steps() {
            step_names(inner, out);
        }
    }
}

fn check_threshold_scopes(plan: &Plan, info: &DecodeInfo, problems: &mut Problems) {
    let per_scenario: Vec<(&str, Vec<String>)> = plan
        .scenarios
        .iter()
        .map(|s| {
            let mut names = Vec::new();
            step_names(&s.setup, &mut names);
            step_names(&s.steps, &mut names);
            step_names(&s.teardown, &mut names);
            (s.name.as_str(), names)
        })
        .collect();
    let mut global = Vec::new();
    step_names(&plan.setup, &mut global);
    step_names(&plan.teardown, &mut global);
    let scenario_names: Vec<&str> = per_scenario.iter().map(|(n, _)| *n).collect();
    for (t, (scenario_span, step_span)) in plan.thresholds.iter().zip(&info.threshold_scopes) {
        let (scenario, step) = match &t.scope {
            ThresholdScope::Run => continue,
            ThresholdScope::Scenario(s) => (Some(s), None),
            ThresholdScope::Step { scenario, step } => (scenario.as_ref(), Some(step)),
        };
        let mut steps_in_scope: Vec<&str> = Vec::new();
        if let Some(s) = scenario {
            match per_scenario.iter().find(|(n, _)| n == s) {
                Some((_, names)) => steps_in_scope.extend(names.iter().map(String::as_str)),
                None => {
                    let base = format!("no scenario is named `{s}`");
                    let message = match suggest(s, scenario_names.iter().copied()) {
                        Some(x) => format!("{base} (did you mean `{x}`?)"),
                        None => format!("{base} (scenarios: {})", scenario_names.join(", ")),
                    };
                    problems.push(scenario_span.unwrap_or(t.span), message);
                    continue;
                }
            }
        } else {
            steps_in_scope.extend(
                per_scenario
                    .iter()
                    .flat_map(|(_, n)| n.iter().map(String::as_str)),
            );
            steps_in_scope.extend(global.iter().map(String::as_str));
        }
        // A runner names its steps as it runs: they cannot be checked here.
        if let Some(step) = step.filter(|_| plan.runner.is_none()) {
            if !steps_in_scope.contains(&step.as_str()) {
                let base = match scenario {
                    Some(s) => format!("scenario `{s}` has no step named `{step}`"),
                    None => format!("no step is named `{step}`"),
                };
                let message = match suggest(step, steps_in_scope.iter().copied()) {
                    Some(x) => format!("{base} (did you mean `{x}`?)"),
                    None => format!("{base} (give the step `name: {step}`)"),
                };
                problems.push(step_span.unwrap_or(t.span), message);
            }
        }
    }
}

fn check_unique_feeders(
    plan: &Plan,
    info: &DecodeInfo,
    used: &HashSet<usize>,
    problems: &mut Problems,
) {
    if plan.load.is_open() {
        return; // the VUs an open model needs depend on the target's speed
    }
    let need = plan.load.max_vus() as usize;
    for (i, feeder) in plan.feeders.iter().enumerate() {
        let (span, known) = info.feeders.get(i).copied().unwrap_or_default();
        if feeder.mode == FeedMode::Unique && known && used.contains(&i) && feeder.len() < need {
            problems.push(
                span,
                format!(
                    "data feeder `{}` (mode: unique) has {} rows, but the load model runs up to {need} virtual users \
                     at once and each needs a row of its own",
                    feeder.name,
                    feeder.len()
                ),
            );
        }
    }
}

/// A feeder's columns for a message: the first few, and how many in all
/// (a file may have 100,000 of them; the message is not the file).
fn list_columns(columns: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = columns[..columns.len().min(SHOWN)].join(", ");
    if columns.len() > SHOWN {
        text.push_str(&format!(", … ({} in all)", columns.len()));
    }
    text
}
