//! The typed scenario model: what a scenario file means, compiled and
//! validated, ready for the engine.
//!
//! A [`Plan`] comes only from [`super::load`] (or its variants), which
//! guarantees: every template parsed and every name in it bound, every
//! JSONPath and regex compiled, every duration and condition parsed, data
//! files read, load model complete. The engine can therefore run it without
//! re-checking anything.
//!
//! Spans are kept where a run-time message should point into the file
//! (steps, checks, captures, thresholds).

use crate::scenario::load_model::{OverrideError, Overrides};
use std::time::Duration;

use crate::http::target::UrlError;
use crate::http::TargetUrl;

use super::diagnostic::Span;
use super::duration::Think;
use super::feeder::Feeder;
use super::load_model::{Arrivals, LoadModel};
use super::pick::WeightedPick;
use super::request::{Auth, AuthSetting, Header, RequestStep};
use super::tags::Tags;
use super::template::{Template, VarId};
use super::threshold::Threshold;

/// The request timeout when neither the step nor the defaults set one.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A loaded scenario file.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The file as named to the loader, for messages.
    pub(crate) file: String,
    /// `name:`, for reports.
    pub(crate) name: Option<String>,
    /// Relative URLs (`/api/...`) are appended to this.
    pub(crate) target: Option<TargetUrl>,
    pub(crate) defaults: Defaults,
    /// The distinct client TLS settings (`tls:`) of the defaults and the
    /// requests, each read and checked at load time.
    pub(crate) tls_profiles: Vec<std::sync::Arc<crate::http::tls::ClientTls>>,
    /// The distinct proxies (`proxy:`) of the defaults and the requests; a
    /// `ProxySetting::Via` indexes this.
    pub(crate) proxies: Vec<std::sync::Arc<crate::http::ProxyUrl>>,
    /// Per-VU variables, evaluated in order when a VU starts.
    pub(crate) variables: Vec<Variable>,
    /// Data feeders; a template's `Binding::Field { feeder, .. }` indexes this.
    pub(crate) feeders: Vec<Feeder>,
    pub(crate) load: LoadModel,
    /// Whether the file has a `load:` section. Without one, `load` is the
    /// quick try ([`LoadModel::quick_try`]), which the command line's flags
    /// replace rather than adjust: `--duration 1m` then means a minute, not a
    /// minute or one iteration, whichever ends first.
    pub(crate) load_given: bool,
    /// How an open model spaces its arrivals.
    pub(crate) arrivals: Arrivals,
    /// Seeds the random parts of the schedule (Poisson arrivals): the same
    /// seed gives the same schedule (`pummel run --seed`).
    pub(crate) seed: u64,
    pub(crate) thresholds: Vec<Threshold>,
    /// Run once before the load starts, as VU 0; captures are shared,
    /// read-only, with every VU.
    pub(crate) setup: Vec<Step>,
    /// Run once after the load ends, as VU 0.
    pub(crate) teardown: Vec<Step>,
    pub(crate) scenarios: Vec<Scenario>,
    /// Scenarios run in the file's order rather than drawn by weight
    /// (`--once`).
    pub(crate) in_order: bool,
    /// The name of each variable slot: variables first, then captures. A
    /// VU's state is one value per slot; [`VarId`] indexes this.
    pub(crate) vars: Vec<String>,
    /// A journey in another language (`runner:`): its one scenario's
    /// iterations run in runner processes, not as steps.
    pub(crate) runner: Option<super::runner::RunnerSpec>,
    /// `monitor:`: the system under test's endpoints to scrape during the
    /// run (the front end runs the monitor; the engine never does).
    pub(crate) monitor: Vec<pummel_live::MonitorTarget>,
}

/// A `--scenario` name the file does not have.
#[derive(Clone, Debug)]
pub struct UnknownScenario {
    name: String,
    known: Vec<String>,
}

impl std::fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = self
            .known
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        write!(
            f,
            "no scenario named `{}` (the file's scenarios: {known})",
            self.name
        )
    }
}

impl std::error::Error for UnknownScenario {}

/// Settings every request step inherits.
#[derive(Clone, Debug)]
pub(crate) struct Defaults {
    pub headers: Vec<Header>,
    pub timeout: Option<Duration>,
    /// Response body bytes kept for checks and captures (`max_body`).
    pub max_body: Option<u64>,
    /// Pause after each request step that sets no `think` of its own.
    pub think: Option<Think>,
    pub auth: Option<Auth>,
    /// Whether each VU keeps a cookie jar (default true).
    pub cookies: bool,
    /// What a failed request step does when it sets no `on_error`.
    pub on_error: Option<super::flow::OnError>,
    /// Redirects a request follows (`follow_redirects`); default 10.
    pub follow_redirects: Option<u32>,
    /// Host names (lower case) sent to a fixed address (`hosts:`).
    pub hosts: Vec<(String, std::net::IpAddr)>,
    /// Client TLS settings (`tls:`), a profile in `Plan::tls_profiles`.
    pub tls: Option<crate::http::tls::TlsProfileId>,
    /// The proxy every request goes through (`proxy:`), unless the command
    /// line's `--proxy` replaces it or a request names its own.
    pub proxy: crate::http::proxy::ProxySetting,
    /// HTTP/2 for requests that do not say (`http2:`); default false.
    pub http2: Option<bool>,
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            headers: Vec::new(),
            timeout: None,
            max_body: None,
            think: None,
            auth: None,
            cookies: true,
            on_error: None,
            follow_redirects: None,
            hosts: Vec::new(),
            tls: None,
            proxy: crate::http::proxy::ProxySetting::Inherit,
            http2: None,
        }
    }
}

/// A per-VU variable.
#[derive(Clone, Debug)]
pub(crate) struct Variable {
    pub name: String,
    pub var: VarId,
    /// May use `env.X`, `vu`, functions and variables declared before it.
    pub value: Template,
    pub span: Span,
}

/// A named, weighted user journey.
#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    pub name: String,
    /// Relative frequency: each VU iteration picks a scenario with
    /// probability weight / total weight. At least 1.
    pub weight: u32,
    /// Run once per VU, before its first iteration of this scenario (log
    /// in, say); captures are kept for the VU's life.
    pub setup: Vec<Step>,
    /// One iteration.
    pub steps: Vec<Step>,
    /// Run once per VU when it stops, if it ran this scenario.
    pub teardown: Vec<Step>,
    /// Minimum time from the start of one iteration of this scenario to the
    /// start of the VU's next iteration; the VU waits out the difference.
    pub pacing: Option<Duration>,
    /// Pause after each request step, overriding `defaults.think`.
    pub think: Option<Think>,
    /// The scenario's own `tags`; every step of it carries them too.
    pub tags: Tags,
    /// The scenario's own load model (`load:` in the scenario); without
    /// one it shares the file's `load` with the others by weight.
    pub load: Option<ScenarioLoad>,
}

/// A scenario's own load: its model, run from `start_after` on, apart
/// from the file's `load` (which the command line's `--vus`, `--rate`,
/// `--duration` and `--iterations` replace; this one they leave alone).
#[derive(Clone, Debug)]
pub(crate) struct ScenarioLoad {
    pub model: LoadModel,
    pub arrivals: Arrivals,
    /// From the run's start to this load's start.
    pub start_after: Duration,
    /// Closed models: each VU stops after this many iterations.
    pub iterations_per_vu: Option<u64>,
}

/// A load model and the scenarios it runs: the file's `load` shared by
/// the scenarios without their own (by weight), or one scenario's own.
#[derive(Clone, Debug)]
pub(crate) struct LoadGroup {
    pub model: LoadModel,
    pub arrivals: Arrivals,
    pub start_after: Duration,
    pub iterations_per_vu: Option<u64>,
    /// Indices into [`Plan::scenarios`]; a pick from `pick` indexes this.
    pub scenarios: Vec<usize>,
    pub pick: WeightedPick,
    /// The scenario's name when the group is a scenario's own load.
    pub own: Option<String>,
}

impl LoadGroup {
    /// When the group's load ends, from the run's start (`None`: when its
    /// iterations are done).
    pub(crate) fn end(&self) -> Option<Duration> {
        self.model.duration().map(|d| self.start_after + d)
    }
}

impl Scenario {
    /// The one scenario of a runner's plan: no steps of its own.
    pub(crate) fn for_runner(runner: &super::runner::RunnerSpec) -> Scenario {
        Scenario {
            name: runner.scenario_name(),
            weight: 1,
            setup: Vec::new(),
            steps: Vec::new(),
            teardown: Vec::new(),
            pacing: None,
            think: None,
            tags: Tags::default(),
            load: None,
        }
    }
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// The name statistics are kept under: `name:`, or `METHOD url` (the
    /// URL as written, templates unrendered, so the key set stays small).
    pub name: String,
    pub kind: StepKind,
    /// The step's tags with those of its groups and scenario merged in
    /// (its own values win).
    pub tags: Tags,
}

/// What a step does. More kinds (WebSocket, script) will join.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub(crate) enum StepKind {
    Request(Box<RequestStep>),
    /// A pause.
    Think(Think),
    /// Steps grouped under a name (their statistics can be rolled up).
    Group(Group),
    /// A WebSocket action on one of the VU's sockets.
    WebSocket(Box<super::websocket::WsStep>),
    /// A value fed to a custom metric.
    Metric(Box<super::custom_metric::MetricStep>),
    /// Steps repeated (`loop:`).
    Loop(Box<Loop>),
    /// Steps run when a condition holds, others when not (`if:`).
    If(Box<IfStep>),
    /// Requests sent at once (`parallel:`).
    Parallel(Box<Parallel>),
}

#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub steps: Vec<Step>,
}

/// A `loop:` step.
#[derive(Clone, Debug)]
pub(crate) struct Loop {
    pub repeat: super::flow::Repeat,
    pub steps: Vec<Step>,
}

/// An `if:` step.
#[derive(Clone, Debug)]
pub(crate) struct IfStep {
    pub condition: super::template::Condition,
    pub then: Vec<Step>,
    pub otherwise: Vec<Step>,
}

/// A `parallel:` step (see [`super::parallel`]).
#[derive(Clone, Debug)]
pub(crate) struct Parallel {
    /// Request steps only (the parser sees to it).
    pub steps: Vec<Step>,
    /// Connections per origin for HTTP/1.1 requests.
    pub connections: u32,
    /// The batch's `on_error`: for its requests without their own.
    pub on_error: Option<super::flow::OnError>,
}

impl StepKind {
    /// The lists of steps inside this one (a group's, a loop's, an `if`'s
    /// two branches).
    pub(crate) fn inner_steps(&self) -> Vec<&[Step]> {
        match self {
            StepKind::Group(g) => vec![&g.steps],
            StepKind::Loop(l) => vec![&l.steps],
            StepKind::If(i) => vec![&i.then, &i.otherwise],
            StepKind::Parallel(p) => vec![&p.steps],
            StepKind::Request(_)
            | StepKind::Think(_)
            | StepKind::WebSocket(_)
            | StepKind::Metric(_) => Vec::new(),
        }
    }

    /// The same, to change them.
    pub(crate) fn inner_steps_mut(&mut self) -> Vec<&mut Vec<Step>> {
        match self {
            StepKind::Group(g) => vec![&mut g.steps],
            StepKind::Loop(l) => vec![&mut l.steps],
            StepKind::If(i) => vec![&mut i.then, &mut i.otherwise],
            StepKind::Parallel(p) => vec![&mut p.steps],
            StepKind::Request(_)
            | StepKind::Think(_)
            | StepKind::WebSocket(_)
            | StepKind::Metric(_) => Vec::new(),
        }
    }
}

impl Plan {
    /// A plan that runs a journey written in another language under the
    /// command line's load model (one VU, one iteration unless overridden).
    pub fn for_runner(
        runner: super::runner::RunnerSpec,
        overrides: &Overrides,
    ) -> Result<Plan, OverrideError> {
        let mut plan = Plan {
            file: runner.file.display().to_string(),
            name: None,
            target: None,
            defaults: Defaults::default(),
            tls_profiles: Vec::new(),
            proxies: Vec::new(),
            variables: Vec::new(),
            feeders: Vec::new(),
            load: LoadModel::quick_try(&Overrides::default()),
            load_given: false,
            arrivals: Arrivals::default(),
            seed: 0,
            thresholds: Vec::new(),
            setup: Vec::new(),
            teardown: Vec::new(),
            scenarios: vec![Scenario::for_runner(&runner)],
            vars: Vec::new(),
            monitor: Vec::new(),
            runner: Some(runner),
            in_order: false,
        };
        // The flags replace the quick try, as for a file without `load:`.
        plan.apply_overrides(overrides)?;
        Ok(plan)
    }

    /// The journey in another language, if the plan runs one.
    pub fn runner(&self) -> Option<&super::runner::RunnerSpec> {
        self.runner.as_ref()
    }

    /// Changes the runner's settings (the command line's, over the file's).
    pub fn runner_mut(&mut self) -> Option<&mut super::runner::RunnerSpec> {
        self.runner.as_mut()
    }

    /// Files the plan needs beside itself, to ship with it to another
    /// machine: data feeders' files are read into the plan, a runner's test
    /// file is not.
    pub fn data_files(&self) -> Vec<std::path::PathBuf> {
        self.runner.iter().map(|r| r.file.clone()).collect()
    }

    /// The endpoints of the system under test that `monitor:` names.
    pub fn monitor(&self) -> &[pummel_live::MonitorTarget] {
        &self.monitor
    }

    /// Replaces parts of the file's load model with command-line values.
    pub fn apply_overrides(&mut self, overrides: &Overrides) -> Result<(), OverrideError> {
        let flags = override_flags(overrides);
        if !flags.is_empty()
            && !self.scenarios.is_empty()
            && self.scenarios.iter().all(|s| s.load.is_some())
        {
            // Silently ignored flags would run a different load than the
            // user asked for: say so before anything runs.
            return Err(OverrideError::UnusedTopLevelLoad(flags.join(" and ")));
        }
        // Without flags the load stays as it is: the file's smoke test, or what `--once` made.
        if !self.load_given && !flags.is_empty() {
            self.load = LoadModel::quick_try(overrides);
        }
        self.load.apply(overrides)
    }

    /// How long the load lasts, when the load model says (not for a number
    /// of iterations).
    pub fn duration(&self) -> Option<Duration> {
        if !self.has_scenario_loads() {
            return self.load.duration();
        }
        // The run lasts as long as its longest load.
        let ends: Option<Vec<Duration>> = self.load_groups().iter().map(LoadGroup::end).collect();
        ends.and_then(|ends| ends.into_iter().max())
    }

    /// Keeps only the scenarios named (`pummel run --scenario NAME`), in
    /// the file's order; their weights share the load among them. Every
    /// name must be a scenario of the file.
    pub fn select_scenarios(&mut self, names: &[String]) -> Result<(), UnknownScenario> {
        if names.is_empty() {
            return Ok(());
        }
        if let Some(unknown) = names
            .iter()
            .find(|n| !self.scenarios.iter().any(|s| &s.name == *n))
        {
            return Err(UnknownScenario {
                name: unknown.clone(),
                known: self.scenarios.iter().map(|s| s.name.clone()).collect(),
            });
        }
        self.scenarios.retain(|s| names.contains(&s.name));
        Ok(())
    }

    /// Seeds the schedule's random parts (Poisson arrivals); the result
    /// records the seed, so a run's schedule can be had again.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
    }

    /// The seed of the schedule's random parts. The segments of one run
    /// (every agent of a distributed run) must have the same seed, or their
    /// Poisson schedules are not shares of one schedule.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// One iteration of each scenario, in the file's order, by one VU
    /// (`pummel run --once`): for writing a file, with `--http-debug`.
    pub fn run_once(&mut self) {
        for s in &mut self.scenarios {
            s.weight = 1;
        }
        self.in_order = true;
        self.load = LoadModel::Vus {
            vus: 1,
            duration: None,
            iterations: Some(self.scenarios.len().max(1) as u64),
        };
        self.load_given = true;
    }

    /// The number of scenarios in the file.
    pub fn scenario_count(&self) -> usize {
        self.scenarios.len()
    }

    /// The number of steps in the file, setup, teardown and groups' steps
    /// included.
    pub fn step_count(&self) -> usize {
        self.all_steps().len()
    }

    /// The slot of a variable or capture.
    #[cfg(test)]
    pub(crate) fn var(&self, name: &str) -> Option<VarId> {
        self.vars
            .iter()
            .position(|v| v == name)
            .map(|i| VarId(i as u32))
    }

    /// The weighted choice of scenarios, in `scenarios` order.
    pub(crate) fn scenario_pick(&self) -> WeightedPick {
        WeightedPick::new(self.scenarios.iter().map(|s| s.weight))
    }

    /// The load models the run drives at once: the file's `load`, shared
    /// by weight among the scenarios without their own (left out when
    /// every scenario has its own), then each scenario's own load.
    pub(crate) fn load_groups(&self) -> Vec<LoadGroup> {
        let shared: Vec<usize> = (0..self.scenarios.len())
            .filter(|&i| self.scenarios[i].load.is_none())
            .collect();
        let mut groups = Vec::new();
        if !shared.is_empty() {
            groups.push(LoadGroup {
                model: self.load.clone(),
                arrivals: self.arrivals,
                start_after: Duration::ZERO,
                iterations_per_vu: None,
                pick: WeightedPick::new(shared.iter().map(|&i| self.scenarios[i].weight)),
                scenarios: shared,
                own: None,
            });
        }
        for (i, s) in self.scenarios.iter().enumerate() {
            if let Some(l) = &s.load {
                groups.push(LoadGroup {
                    model: l.model.clone(),
                    arrivals: l.arrivals,
                    start_after: l.start_after,
                    iterations_per_vu: l.iterations_per_vu,
                    scenarios: vec![i],
                    pick: WeightedPick::new([1]),
                    own: Some(s.name.clone()),
                });
            }
        }
        groups
    }

    /// Whether some scenario has its own load model.
    pub(crate) fn has_scenario_loads(&self) -> bool {
        self.scenarios.iter().any(|s| s.load.is_some())
    }

    /// The most VUs the run's load models may run at once, all together.
    pub(crate) fn max_vus_all(&self) -> u32 {
        self.load_groups()
            .iter()
            .map(|g| g.model.max_vus())
            .fold(0u32, u32::saturating_add)
    }

    /// Whether some load model of the run is open (arrival rate).
    pub(crate) fn any_open(&self) -> bool {
        self.load_groups().iter().any(|g| g.model.is_open())
    }

    /// The URL a rendered step URL stands for: absolute as it is, or
    /// relative (`/path`) appended to the target's URL.
    pub(crate) fn resolve_url(&self, rendered: &str) -> Result<TargetUrl, UrlError> {
        let lower = rendered.get(..8).unwrap_or(rendered).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return TargetUrl::parse(rendered);
        }
        let invalid = |reason: &str| UrlError::Invalid {
            url: rendered.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(target) = &self.target else {
            return Err(invalid(
                "a relative URL needs `target` in the scenario file",
            ));
        };
        if !rendered.starts_with('/') {
            return Err(invalid(
                "expected a path starting with / or an absolute http(s):// URL",
            ));
        }
        let base = target
            .path_and_query
            .split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/');
        let path_and_query = format!("{base}{rendered}");
        http::uri::PathAndQuery::try_from(path_and_query.as_str())
            .map_err(|e| invalid(&e.to_string()))?;
        Ok(TargetUrl {
            path_and_query,
            ..target.clone()
        })
    }

    /// The headers a request sends, defaults first, a step's header
    /// replacing a default of the same name.
    pub(crate) fn headers_for<'a>(
        &'a self,
        step: &'a RequestStep,
    ) -> impl Iterator<Item = &'a Header> + 'a {
        let defaults = self
            .defaults
            .headers
            .iter()
            .filter(|d| !step.headers.iter().any(|h| h.name == d.name));
        defaults.chain(step.headers.iter())
    }

    /// The credentials a request sends, if any.
    pub(crate) fn auth_for<'a>(&'a self, step: &'a RequestStep) -> Option<&'a Auth> {
        match &step.auth {
            AuthSetting::Inherit => self.defaults.auth.as_ref(),
            AuthSetting::None => None,
            AuthSetting::Use(a) => Some(a),
        }
    }

    /// What a failed request step does: its own `on_error`, else the
    /// defaults', else end the iteration.
    pub(crate) fn on_error_for(&self, step: &RequestStep) -> super::flow::OnError {
        step.flow
            .on_error
            .or(self.defaults.on_error)
            .unwrap_or_default()
    }

    pub(crate) fn timeout_for(&self, step: &RequestStep) -> Duration {
        step.timeout
            .or(self.defaults.timeout)
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The `tls:` profile of a request or `ws_connect` step whose own
    /// setting is `own`: that, else the defaults'.
    pub(crate) fn tls_for(
        &self,
        own: Option<crate::http::tls::TlsProfileId>,
    ) -> Option<crate::http::tls::TlsProfileId> {
        own.or(self.defaults.tls)
    }

    /// Whether `step` speaks HTTP/2: its own `http2`, else the defaults'.
    pub(crate) fn http2_for(&self, step: &RequestStep) -> bool {
        step.http2.or(self.defaults.http2).unwrap_or(false)
    }

    /// How many redirects `step` follows: its own setting, else the
    /// defaults', else 10.
    pub(crate) fn max_redirects_for(&self, step: &RequestStep) -> u32 {
        step.follow_redirects
            .or(self.defaults.follow_redirects)
            .unwrap_or(crate::http::session::DEFAULT_MAX_REDIRECTS)
    }

    /// Response body bytes kept for `step`'s checks and captures.
    pub(crate) fn max_body_for(&self, step: &RequestStep) -> u64 {
        step.max_body
            .or(self.defaults.max_body)
            .unwrap_or(crate::limits::DEFAULT_MAX_BODY)
    }

    /// The pause after a request step: the step's, else its scenario's,
    /// else the defaults'. `scenario` is `None` for the global setup and
    /// teardown.
    pub(crate) fn think_after(
        &self,
        scenario: Option<&Scenario>,
        step: &RequestStep,
    ) -> Option<Think> {
        step.think
            .or_else(|| scenario.and_then(|s| s.think))
            .or(self.defaults.think)
    }

    /// Every step of the plan, groups flattened, with the scenario it is in
    /// (`None` for the global setup and teardown).
    pub(crate) fn all_steps(&self) -> Vec<(Option<&Scenario>, &Step)> {
        fn walk<'a>(
            scenario: Option<&'a Scenario>,
            steps: &'a [Step],
            out: &mut Vec<(Option<&'a Scenario>, &'a Step)>,
        ) {
            for step in steps {
                out.push((scenario, step));
                for inner in step.kind.inner_steps() {
                    walk(scenario, inner, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(None, &self.setup, &mut out);
        for s in &self.scenarios {
            walk(Some(s), &s.setup, &mut out);
            walk(Some(s), &s.steps, &mut out);
            walk(Some(s), &s.teardown, &mut out);
        }
        walk(None, &self.teardown, &mut out);
        out
    }
}

/// The load flags given, as the command line names them.
fn override_flags(overrides: &Overrides) -> Vec<&'static str> {
    [
        (overrides.vus.is_some(), "--vus"),
        (overrides.rate.is_some(), "--rate"),
        (overrides.duration.is_some(), "--duration"),
        (overrides.iterations.is_some(), "--iterations"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect()
}
