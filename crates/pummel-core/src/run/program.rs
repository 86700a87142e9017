//! A plan compiled for execution: every step knows its metric key and its
//! checks know their counters, so running a step indexes vectors and never
//! looks a name up.

use std::collections::HashMap;
use std::sync::Arc;

use super::runner_slots::{
    Incident, RunnerSlots, MAX_RUNNER_CHECKS, MAX_RUNNER_METRICS, MAX_RUNNER_STEPS,
};
use crate::metrics::{CounterId, GaugeId, KeyId, MetricLayout, Stats};
use crate::scenario::check::Check;
use crate::scenario::custom_metric::{MetricKind, MetricStep};
use crate::scenario::duration::Think;
use crate::scenario::flow::{OnError, Repeat};
use crate::scenario::model::{Parallel, Plan, Step, StepKind};
use crate::scenario::request::RequestStep;
use crate::scenario::tags::Tags;
use crate::scenario::template::Condition;
use crate::scenario::websocket::{WsAction, WsStep};

/// The gauge of active virtual users.
pub(crate) const VUS_GAUGE: GaugeId = GaugeId(0);
/// The gauge of open WebSockets.
pub(crate) const SOCKETS_GAUGE: GaugeId = GaugeId(1);

/// Counters every program has (WebSocket traffic), before the checks'.
pub(crate) const WS_MESSAGES_SENT: CounterId = CounterId(0);
pub(crate) const WS_MESSAGES_RECEIVED: CounterId = CounterId(1);
const FIXED_COUNTERS: [&str; 2] = ["ws:messages_sent", "ws:messages_received"];
/// The timeline gauge of the VUs of a scenario with its own load.
pub(crate) fn scenario_vus_gauge(scenario: &str) -> String {
    format!("vus:{scenario}")
}

/// The timeline gauge of the iterations a scenario with its own load has
/// started so far (a level that only grows, so a second's rate is its step).
pub(crate) fn scenario_started_gauge(scenario: &str) -> String {
    format!("started:{scenario}")
}

/// Gauges every program has, before custom gauges.
const FIXED_GAUGES: [&str; 2] = ["vus", "sockets"];

/// A step, ready to run.
#[derive(Debug)]
pub(crate) enum Op {
    Request(Box<RequestOp>),
    Think(Think),
    Group(Vec<Op>),
    WebSocket(Box<WsOp>),
    Metric(Box<MetricOp>),
    Loop(Box<LoopOp>),
    If(Box<IfOp>),
    Parallel(Box<ParallelOp>),
}

/// A `parallel:` batch, ready to run.
#[derive(Debug)]
pub(crate) struct ParallelOp {
    pub requests: Vec<RequestOp>,
    /// Connections per origin for its HTTP/1.1 requests.
    pub connections: u32,
    /// Where the batch's own latency goes: until its slowest request ended.
    pub key: KeyId,
    /// Pause after the batch (its scenario's, or the defaults').
    pub think: Option<Think>,
}

/// A `metric:` step, ready to run.
#[derive(Debug)]
pub(crate) struct MetricOp {
    pub step: MetricStep,
    pub sink: MetricSink,
    /// Counts values that were not a non-negative number.
    pub invalid: CounterId,
}

/// Where a custom metric's values go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricSink {
    Counter(CounterId),
    Gauge(GaugeId),
    /// A stats key whose latency histogram holds the values.
    Trend(KeyId),
}

/// A custom metric's ids, for results and thresholds.
#[derive(Clone, Debug)]
pub(crate) struct CustomMetricInfo {
    pub name: String,
    pub kind: MetricKind,
    pub sink: MetricSink,
    pub invalid: CounterId,
}

/// A `loop:` step, ready to run.
#[derive(Debug)]
pub(crate) struct LoopOp {
    pub repeat: Repeat,
    pub body: Vec<Op>,
}

/// An `if:` step, ready to run.
#[derive(Debug)]
pub(crate) struct IfOp {
    pub condition: Condition,
    pub then: Vec<Op>,
    pub otherwise: Vec<Op>,
}

/// A WebSocket step, ready to run.
#[derive(Debug)]
pub(crate) struct WsOp {
    pub step: WsStep,
    /// Where the step's latency (connect, expect, receive, ping) and errors go.
    pub key: KeyId,
    /// `ws_expect`: for each check, its pass and fail counters.
    pub check_counters: Vec<(CounterId, CounterId)>,
}

#[derive(Debug)]
pub(crate) struct RequestOp {
    pub step: RequestStep,
    pub key: KeyId,
    /// For each of `step.checks`: its pass and fail counters.
    pub check_counters: Vec<(CounterId, CounterId)>,
    /// Counts responses with a status of 400 or more that the step's own
    /// `status` check accepted (a 409 for "already registered", say): they
    /// are not failures. `None` when the step checks no status.
    pub accepted_status: Option<CounterId>,
    /// Pause after the request (the step's, its scenario's, or the defaults').
    pub think: Option<Think>,
    /// What a failure does (the step's, or the defaults').
    pub on_error: OnError,
    /// Counts the attempts after the first, when the step has `retry`.
    pub retries: Option<CounterId>,
}

/// A scenario, ready to run.
#[derive(Debug)]
pub(crate) struct ScenarioOps {
    pub name: String,
    pub setup: Vec<Op>,
    pub steps: Vec<Op>,
    pub teardown: Vec<Op>,
    pub pacing: Option<std::time::Duration>,
    /// Iteration duration histogram (recorded as a "response" per iteration
    /// that ran to its end); its `late`, `dropped` and `aborted` (cut) count
    /// the scenario's iterations.
    pub iteration_key: KeyId,
    /// Iterations that ran every step.
    pub completed_counter: CounterId,
    /// Iterations stopped by an error (a request failed, a capture found nothing).
    pub aborted_counter: CounterId,
    /// A scenario with its own load: the gauges of its VUs and of the
    /// iterations it started so far (its per-scenario timeline).
    pub own_gauges: Option<(GaugeId, GaugeId)>,
}

/// What a metric key stands for, for results and thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// A request step; `scenario` is `None` for the global setup/teardown,
    /// and then `global` says which.
    Step {
        scenario: Option<String>,
        name: String,
        global: Option<GlobalPhase>,
        /// The names of the groups around the step, outermost first.
        group: Vec<String>,
        /// The step's tags, its groups' and scenario's merged in.
        tags: Tags,
    },
    /// The iterations of a scenario.
    Iteration { scenario: String },
    /// The batches of a `parallel` step: each one's latency is its slowest
    /// request's. `group` is the batch's group path (its name last).
    Batch {
        scenario: Option<String>,
        group: Vec<String>,
    },
    /// A trend custom metric's values.
    Trend { metric: String },
    /// A runner's slot no name has taken (yet).
    Unused,
}

/// A check's counters, for results.
#[derive(Clone, Debug)]
pub(crate) struct CheckInfo {
    pub key: KeyId,
    pub label: String,
    pub pass: CounterId,
    pub fail: CounterId,
}

#[derive(Debug)]
pub(crate) struct Program {
    pub plan: Arc<Plan>,
    pub setup: Vec<Op>,
    pub teardown: Vec<Op>,
    pub scenarios: Vec<ScenarioOps>,
    pub layout: Arc<MetricLayout>,
    pub keys: Vec<KeyKind>,
    pub checks: Vec<CheckInfo>,
    /// The custom metrics `metric:` steps feed.
    pub metrics: Vec<CustomMetricInfo>,
    /// Per key, the counter of error statuses its `status` check accepted.
    accepted: Vec<Option<CounterId>>,
    /// Per key, its retries counter (steps with `retry`).
    retries: Vec<Option<CounterId>>,
    /// A runner's pools of keys and counters, named as the run goes.
    pub runner: Option<RunnerSlots>,
}

struct Builder<'p> {
    plan: &'p Plan,
    keys: Vec<KeyKind>,
    key_names: Vec<String>,
    by_name: HashMap<String, KeyId>,
    counters: Vec<String>,
    checks: Vec<CheckInfo>,
    check_by_name: HashMap<(KeyId, String), (CounterId, CounterId)>,
    /// Keys of steps that measure no latency (ws_send, ws_hold, ws_close):
    /// their errors count, but they stay out of the combined latency.
    unmeasured: Vec<KeyId>,
    /// Per key, its accepted-error-status counter.
    accepted: Vec<Option<CounterId>>,
    /// Which global flow `ops` is compiling when it has no scenario.
    global: GlobalPhase,
    /// The groups `ops` is inside, outermost first.
    group: Vec<String>,
    metrics: Vec<CustomMetricInfo>,
    /// Gauges after the fixed ones: custom gauges.
    gauges: Vec<String>,
    /// Per key with a `retry` step, its retries counter.
    retries: HashMap<KeyId, CounterId>,
}

/// The global flows: run once, outside any scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GlobalPhase {
    Setup,
    Teardown,
}

impl GlobalPhase {
    /// What the result and the reports call it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GlobalPhase::Setup => "setup",
            GlobalPhase::Teardown => "teardown",
        }
    }
}

impl Builder<'_> {
    /// A runner's pools: step keys, check counters, custom metrics and
    /// incident counters (see `runner_slots`).
    fn runner_slots(&mut self) -> RunnerSlots {
        let scope = self
            .plan
            .scenarios
            .first()
            .map_or_else(String::new, |s| s.name.clone());
        let steps = (0..MAX_RUNNER_STEPS)
            .map(|i| self.key(format!("{scope}/#{i}"), KeyKind::Unused))
            .collect();
        let checks = (0..MAX_RUNNER_CHECKS)
            .map(|i| {
                (
                    self.counter(format!("runner:check#{i}:pass")),
                    self.counter(format!("runner:check#{i}:fail")),
                )
            })
            .collect();
        let counters = (0..MAX_RUNNER_METRICS)
            .map(|i| self.counter(format!("runner:counter#{i}")))
            .collect();
        // A gauge's levels are kept as a distribution, as a trend's values
        // are: the timeline's gauges are the engine's own (vus, sockets).
        let gauges: Vec<KeyId> = (0..MAX_RUNNER_METRICS)
            .map(|i| self.key(format!("runner:gauge#{i}"), KeyKind::Unused))
            .collect();
        let trends: Vec<KeyId> = (0..MAX_RUNNER_METRICS)
            .map(|i| self.key(format!("runner:trend#{i}"), KeyKind::Unused))
            .collect();
        // Neither is a request: they stay out of the combined figures.
        self.unmeasured.extend(&gauges);
        self.unmeasured.extend(&trends);
        let incidents = Incident::ALL
            .iter()
            .map(|i| self.counter(format!("runner:{}", i.as_str())))
            .collect();
        RunnerSlots::new(steps, checks, counters, gauges, trends, incidents)
    }

    fn key(&mut self, name: String, kind: KeyKind) -> KeyId {
        if let Some(id) = self.by_name.get(&name) {
            return *id;
        }
        let id = KeyId(self.keys.len() as u32);
        self.keys.push(kind);
        self.key_names.push(name.clone());
        self.by_name.insert(name, id);
        id
    }

    /// The metric key of a step: `scenario/step`, shared by steps of the
    /// same name in one scenario — and the same groups and tags, so that
    /// group roll-ups and tag-scoped thresholds see exactly their steps.
    fn step_key(
        &mut self,
        scenario: Option<&crate::scenario::model::Scenario>,
        step: &Step,
    ) -> KeyId {
        // A global teardown step is not a setup step: its own key, so a
        // setup and a teardown step of the same name are not merged.
        let global = scenario.is_none().then_some(self.global);
        let scope = match scenario {
            Some(s) => s.name.clone(),
            None => format!("({})", self.global.as_str()),
        };
        let mut name = format!("{scope}/{}", step.name);
        if !self.group.is_empty() {
            name.push_str(&format!(" [group {}]", self.group.join("/")));
        }
        if !step.tags.is_empty() {
            name.push_str(&format!(" [tags {}]", step.tags));
        }
        self.key(
            name,
            KeyKind::Step {
                scenario: scenario.map(|s| s.name.clone()),
                name: step.name.clone(),
                global,
                group: self.group.clone(),
                tags: step.tags.clone(),
            },
        )
    }

    fn counter(&mut self, name: String) -> CounterId {
        let id = CounterId(self.counters.len() as u32);
        self.counters.push(name);
        id
    }

    fn ops(
        &mut self,
        scenario: Option<&crate::scenario::model::Scenario>,
        steps: &[Step],
    ) -> Vec<Op> {
        steps
            .iter()
            .map(|step| match &step.kind {
                StepKind::Request(request) => {
                    Op::Request(Box::new(self.request_op(scenario, step, request, None)))
                }
                StepKind::Think(think) => Op::Think(*think),
                StepKind::Metric(m) => {
                    let info = self.custom_metric(m);
                    Op::Metric(Box::new(MetricOp {
                        step: (**m).clone(),
                        sink: info.sink,
                        invalid: info.invalid,
                    }))
                }
                StepKind::Group(group) => {
                    self.group.push(step.name.clone());
                    let ops = self.ops(scenario, &group.steps);
                    self.group.pop();
                    Op::Group(ops)
                }
                StepKind::Parallel(p) => {
                    Op::Parallel(Box::new(self.parallel_op(scenario, step, p)))
                }
                StepKind::Loop(l) => Op::Loop(Box::new(LoopOp {
                    repeat: l.repeat.clone(),
                    body: self.ops(scenario, &l.steps),
                })),
                StepKind::If(i) => Op::If(Box::new(IfOp {
                    condition: i.condition.clone(),
                    then: self.ops(scenario, &i.then),
                    otherwise: self.ops(scenario, &i.otherwise),
                })),
                StepKind::WebSocket(ws) => {
                    let key = self.step_key(scenario, step);
                    if !ws.action.is_measured() {
                        self.unmeasured.push(key);
                    }
                    let check_counters = match &ws.action {
                        WsAction::Expect { checks, .. } => {
                            checks.iter().map(|c| self.check(key, c)).collect()
                        }
                        _ => Vec::new(),
                    };
                    Op::WebSocket(Box::new(WsOp {
                        step: (**ws).clone(),
                        key,
                        check_counters,
                    }))
                }
            })
            .collect()
    }

    /// A request step's op. `batch_on_error`: the `on_error` of the
    /// `parallel` batch it is in, for a step without its own.
    fn request_op(
        &mut self,
        scenario: Option<&crate::scenario::model::Scenario>,
        step: &Step,
        request: &RequestStep,
        batch_on_error: Option<OnError>,
    ) -> RequestOp {
        let key = self.step_key(scenario, step);
        let check_counters = request.checks.iter().map(|c| self.check(key, c)).collect();
        let checks_status = request
            .checks
            .iter()
            .any(|c| matches!(c.kind, crate::scenario::check::CheckKind::Status(_)));
        let accepted_status = checks_status.then(|| self.accepted(key));
        let retries = request.flow.retry.is_some().then(|| self.retries(key));
        let on_error = match (request.flow.on_error, batch_on_error) {
            (None, Some(batch)) => batch,
            _ => self.plan.on_error_for(request),
        };
        RequestOp {
            step: request.clone(),
            key,
            check_counters,
            accepted_status,
            think: self.plan.think_after(scenario, request),
            on_error,
            retries,
        }
    }

    /// A `parallel` batch's op: its requests are steps of a group named
    /// after the batch, and the batch has a key of its own for its latency.
    fn parallel_op(
        &mut self,
        scenario: Option<&crate::scenario::model::Scenario>,
        step: &Step,
        p: &Parallel,
    ) -> ParallelOp {
        self.group.push(step.name.clone());
        let mut requests = Vec::new();
        for inner in &p.steps {
            if let StepKind::Request(r) = &inner.kind {
                requests.push(self.request_op(scenario, inner, r, p.on_error));
            }
        }
        let scope = match scenario {
            Some(s) => s.name.clone(),
            None => format!("({})", self.global.as_str()),
        };
        let key = self.key(
            format!("{scope}/(batch {})", self.group.join("/")),
            KeyKind::Batch {
                scenario: scenario.map(|s| s.name.clone()),
                group: self.group.clone(),
            },
        );
        self.group.pop();
        // Not a request: out of the run's figures, as iterations are.
        self.unmeasured.push(key);
        // The batch's requests have no `think` of their own (the parser
        // sees to it): what they would get is the scenario's or the
        // defaults', due once after the batch.
        let think = requests.first().and_then(|r| r.think);
        for r in &mut requests {
            r.think = None;
        }
        ParallelOp {
            requests,
            connections: p.connections,
            key,
            think,
        }
    }

    /// The ids of a custom metric, made the first time it is named.
    fn custom_metric(&mut self, m: &MetricStep) -> CustomMetricInfo {
        if let Some(info) = self.metrics.iter().find(|i| i.name == m.name) {
            return info.clone();
        }
        let sink = match m.kind {
            MetricKind::Counter => MetricSink::Counter(self.counter(format!("metric:{}", m.name))),
            MetricKind::Gauge => {
                self.gauges.push(format!("metric:{}", m.name));
                MetricSink::Gauge(GaugeId((FIXED_GAUGES.len() + self.gauges.len() - 1) as u32))
            }
            MetricKind::Trend => MetricSink::Trend(self.key(
                format!("(metric)/{}", m.name),
                KeyKind::Trend {
                    metric: m.name.clone(),
                },
            )),
        };
        let invalid = self.counter(format!("metric:{}:invalid", m.name));
        let info = CustomMetricInfo {
            name: m.name.clone(),
            kind: m.kind,
            sink,
            invalid,
        };
        self.metrics.push(info.clone());
        info
    }

    /// The retries counter of a key (one per key).
    fn retries(&mut self, key: KeyId) -> CounterId {
        if let Some(id) = self.retries.get(&key) {
            return *id;
        }
        let id = self.counter(format!("{}:retries", self.key_names[key.index()]));
        self.retries.insert(key, id);
        id
    }

    /// The accepted-error-status counter of a key (one per key).
    fn accepted(&mut self, key: KeyId) -> CounterId {
        if let Some(Some(id)) = self.accepted.get(key.index()) {
            return *id;
        }
        let id = self.counter(format!(
            "{}:accepted_error_status",
            self.key_names[key.index()]
        ));
        if self.accepted.len() <= key.index() {
            self.accepted.resize(key.index() + 1, None);
        }
        self.accepted[key.index()] = Some(id);
        id
    }

    fn check(&mut self, key: KeyId, check: &Check) -> (CounterId, CounterId) {
        if let Some(ids) = self.check_by_name.get(&(key, check.label.clone())) {
            return *ids;
        }
        let base = format!("{}:{}", self.key_names[key.index()], check.label);
        let pass = self.counter(format!("{base}:pass"));
        let fail = self.counter(format!("{base}:fail"));
        self.checks.push(CheckInfo {
            key,
            label: check.label.clone(),
            pass,
            fail,
        });
        self.check_by_name
            .insert((key, check.label.clone()), (pass, fail));
        (pass, fail)
    }
}

impl Program {
    pub(crate) fn compile(plan: Arc<Plan>) -> Program {
        let mut b = Builder {
            plan: &plan,
            keys: Vec::new(),
            key_names: Vec::new(),
            by_name: HashMap::new(),
            counters: FIXED_COUNTERS.iter().map(|c| c.to_string()).collect(),
            checks: Vec::new(),
            check_by_name: HashMap::new(),
            unmeasured: Vec::new(),
            accepted: Vec::new(),
            global: GlobalPhase::Setup,
            group: Vec::new(),
            metrics: Vec::new(),
            gauges: Vec::new(),
            retries: HashMap::new(),
        };
        let setup = b.ops(None, &plan.setup);
        let mut scenarios = Vec::new();
        for s in &plan.scenarios {
            let iteration_key = b.key(
                format!("{}/(iteration)", s.name),
                KeyKind::Iteration {
                    scenario: s.name.clone(),
                },
            );
            let completed_counter = b.counter(format!("{}:completed", s.name));
            let aborted_counter = b.counter(format!("{}:aborted", s.name));
            let own_gauges = s.load.is_some().then(|| {
                b.gauges.push(scenario_vus_gauge(&s.name));
                b.gauges.push(scenario_started_gauge(&s.name));
                let next = (FIXED_GAUGES.len() + b.gauges.len()) as u32;
                (GaugeId(next - 2), GaugeId(next - 1))
            });
            scenarios.push(ScenarioOps {
                name: s.name.clone(),
                setup: b.ops(Some(s), &s.setup),
                steps: b.ops(Some(s), &s.steps),
                teardown: b.ops(Some(s), &s.teardown),
                pacing: s.pacing,
                iteration_key,
                completed_counter,
                aborted_counter,
                own_gauges,
            });
        }
        let runner = plan.runner.as_ref().map(|_| b.runner_slots());
        b.global = GlobalPhase::Teardown;
        let teardown = b.ops(None, &plan.teardown);
        let layout = MetricLayout::new(
            if b.key_names.is_empty() {
                vec!["(none)".into()]
            } else {
                b.key_names.clone()
            },
            plan.any_open(),
        )
        .with_counters(b.counters.clone())
        .with_gauges(
            FIXED_GAUGES
                .iter()
                .map(|g| (*g).to_owned())
                .chain(b.gauges.iter().cloned())
                .collect(),
        );
        // Iteration durations are not requests: they stay out of the run's
        // combined figures and timeline.
        let layout = scenarios
            .iter()
            .fold(layout, |l, s| l.without_aggregate(s.iteration_key));
        let layout = b
            .unmeasured
            .iter()
            .fold(layout, |l, k| l.without_aggregate(*k));
        // A trend's values are not latencies: out of the run's figures.
        let layout = b.metrics.iter().fold(layout, |l, m| match m.sink {
            MetricSink::Trend(key) => l.without_aggregate(key),
            _ => l,
        });
        let mut accepted = b.accepted;
        accepted.resize(b.keys.len(), None);
        let (keys, checks, metrics) = (b.keys, b.checks, b.metrics);
        let mut retries: Vec<Option<CounterId>> = vec![None; keys.len()];
        for (key, id) in b.retries {
            retries[key.index()] = Some(id);
        }
        Program {
            plan,
            setup,
            teardown,
            scenarios,
            layout: Arc::new(layout),
            keys,
            checks,
            metrics,
            accepted,
            retries,
            runner,
        }
    }

    /// Whether a step of `key` has `retry`.
    pub(crate) fn has_retry(&self, key: usize) -> bool {
        matches!(self.retries.get(key), Some(Some(_)))
    }

    /// The retries of `key` (attempts after the first of a `retry` step).
    pub(crate) fn retries(&self, key: usize, counters: &[u64]) -> u64 {
        self.retries
            .get(key)
            .copied()
            .flatten()
            .and_then(|id| counters.get(id.0 as usize).copied())
            .unwrap_or(0)
    }

    /// What each key stands for; a runner's slots named as far as the run
    /// has named them.
    pub(crate) fn key_kinds(&self) -> std::borrow::Cow<'_, [KeyKind]> {
        let Some(runner) = &self.runner else {
            return std::borrow::Cow::Borrowed(&self.keys);
        };
        let names = runner.snapshot();
        let scenario = self.scenarios.first().map(|s| s.name.clone());
        let mut keys = self.keys.clone();
        for (name, key) in names.steps.iter().zip(&runner.steps) {
            keys[key.index()] = KeyKind::Step {
                scenario: scenario.clone(),
                name: name.clone(),
                global: None,
                group: Vec::new(),
                tags: Tags::default(),
            };
        }
        std::borrow::Cow::Owned(keys)
    }

    /// Every check with its counters; a runner's as far as the run has
    /// named them.
    pub(crate) fn check_infos(&self) -> std::borrow::Cow<'_, [CheckInfo]> {
        let Some(runner) = &self.runner else {
            return std::borrow::Cow::Borrowed(&self.checks);
        };
        let names = runner.snapshot();
        let checks = names
            .checks
            .iter()
            .zip(&runner.checks)
            .map(|((step, label), (pass, fail))| CheckInfo {
                key: runner.steps[*step],
                label: label.clone(),
                pass: *pass,
                fail: *fail,
            })
            .collect();
        std::borrow::Cow::Owned(checks)
    }

    /// Failed requests of `key` in `stats`: transport errors, plus statuses
    /// of 400 or more that no `status` check of the step accepted.
    pub(crate) fn failed(&self, key: usize, stats: &Stats, counters: &[u64]) -> u64 {
        let http_errors: u64 = stats
            .status
            .sorted()
            .iter()
            .filter(|(c, _)| *c >= 400)
            .map(|(_, n)| n)
            .sum();
        let accepted = self
            .accepted
            .get(key)
            .copied()
            .flatten()
            .and_then(|id| counters.get(id.0 as usize).copied())
            .unwrap_or(0);
        stats.errors.total() + http_errors.saturating_sub(accepted)
    }

    /// Keys of request steps (not iterations).
    pub(crate) fn is_request_key(&self, key: KeyId) -> bool {
        matches!(self.keys.get(key.index()), Some(KeyKind::Step { .. }))
    }
}
