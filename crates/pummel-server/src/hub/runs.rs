//! One run from its submission to its result: agents chosen and given
//! their segments, the ready barrier, one start instant, snapshots kept and
//! merged live, thresholds that abort, agents lost, the end and the result.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use pummel_result::{Collector, IntervalSnapshot};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::agents::Agent;
use super::writer::Write;
use super::{tell, Hub};
use crate::backend::LoadedPlan;
use crate::policy::NetworkPolicy;
use crate::store::{unix_now, RunRow};
use crate::wire::{OnAgentLoss, PlanSpec, SegmentSpec, Submit, ToAgent, ToClient};

/// Exit codes a run ends with (the same as a local run's).
pub(crate) const EXIT_FAILED: i32 = 1;
pub(crate) const EXIT_PLAN: i32 = 2;
pub(crate) const EXIT_STOPPED: i32 = 130;

/// Who ran which share, as the store and the result keep it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct AgentShare {
    pub(crate) name: String,
    pub(crate) segment: u32,
    pub(crate) of: u32,
    /// Unix ms.
    pub(crate) assigned_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lost_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) back_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) finished_at: Option<i64>,
    /// The agent's last second sent, when it was lost: the share of the plan
    /// past it did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seconds_sent: Option<u64>,
    /// Its own totals, filled in with the result.
    #[serde(default)]
    pub(crate) requests: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) histogram: String,
    #[serde(skip)]
    pub(crate) ready: bool,
    #[serde(skip)]
    pub(crate) report: serde_json::Value,
}

impl AgentShare {
    /// Finished, or lost and not back: the run waits for nothing more from
    /// it. A lost agent that comes back still running its share is waited
    /// for again, so its seconds are in the result.
    pub(super) fn done(&self) -> bool {
        self.finished_at.is_some() || (self.lost_at.is_some() && self.back_at.is_none())
    }
}

pub(super) enum Phase {
    /// The first agent runs the global setup.
    SettingUp,
    /// Agents loading the plan; the start is not given yet.
    Preparing,
    /// Started at this server instant (Unix ns).
    Running { start_ns: i64 },
    /// Every agent is done; one runs the global teardown. `end_ns`: when
    /// the last agent's load ended.
    TearingDown { start_ns: i64, end_ns: i64 },
}

impl Phase {
    /// Before the start barrier: nothing was measured, and ending the run
    /// needs no result.
    pub(super) fn before_start(&self) -> bool {
        matches!(self, Phase::SettingUp | Phase::Preparing)
    }
}

pub(crate) struct ActiveRun {
    pub(super) id: String,
    pub(super) plan: Box<dyn LoadedPlan>,
    pub(super) on_agent_loss: OnAgentLoss,
    pub(super) agents: Vec<AgentShare>,
    pub(super) phase: Phase,
    pub(super) live: Collector,
    pub(super) followers: Vec<mpsc::UnboundedSender<ToClient>>,
    pub(super) spec: PlanSpec,
    /// The owner's networks, sent with every part of the plan.
    pub(super) network: Option<NetworkPolicy>,
    /// The global setup's variables, for every agent and the teardown.
    pub(super) captures: BTreeMap<String, String>,
    /// What the global setup and teardown measured (totals only).
    pub(super) global: Vec<IntervalSnapshot>,
    /// Why the run is being stopped early (a user, a threshold, a loss).
    pub(super) stopping: Option<String>,
    pub(super) stopped_by_user: bool,
}

pub(super) fn unix_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

pub(super) fn unix_ms() -> i64 {
    unix_ns() / 1_000_000
}

/// A fresh run id: the submission time and a random suffix.
pub(super) fn run_id() -> String {
    let mut bytes = [0u8; 3];
    let _ = getrandom::fill(&mut bytes);
    format!(
        "r{}-{:02x}{:02x}{:02x}",
        unix_now(),
        bytes[0],
        bytes[1],
        bytes[2]
    )
}

impl Hub {
    pub(super) async fn submit(
        &mut self,
        owner: &str,
        submit: Submit,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        if let Some(cron) = submit.schedule.clone() {
            self.schedule(owner, submit, &cron, tx).await;
            return;
        }
        if submit.queue {
            let source = if submit.source.is_empty() {
                "cli".to_owned()
            } else {
                submit.source.clone()
            };
            self.enqueue(owner, &source, submit, tx).await;
            return;
        }
        let chosen = match self.choose_agents(&submit) {
            Ok(chosen) => chosen,
            Err(message) => {
                // A plan that does not load is named before a lack of agents.
                let message = match self.backend.load(&submit.plan) {
                    Ok(_) => message,
                    Err(e) => format!("the plan does not load: {e}"),
                };
                tell(tx, ToClient::Error { message });
                return;
            }
        };
        let follow = submit.follow;
        let id = run_id();
        if let Err(message) = self.launch(owner, submit, &chosen, &id).await {
            tell(tx, ToClient::Error { message });
            return;
        }
        tell(
            tx,
            ToClient::Submitted {
                run: id.clone(),
                agents: chosen,
            },
        );
        if follow {
            if let Some(run) = self.runs.get_mut(&id) {
                run.followers.push(tx.clone());
            }
        }
    }

    /// Starts run `id` of `submit` on the `chosen` agents: stored, then
    /// the setup or the segments sent; why not when it cannot.
    pub(super) async fn launch(
        &mut self,
        owner: &str,
        submit: Submit,
        chosen: &[String],
        id: &str,
    ) -> Result<(), String> {
        let plan = self
            .backend
            .load(&submit.plan)
            .map_err(|message| format!("the plan does not load: {message}"))?;
        let count = u32::try_from(chosen.len()).unwrap_or(u32::MAX);
        let shares: Vec<AgentShare> = chosen
            .iter()
            .zip(0..)
            .map(|(name, index)| AgentShare {
                name: name.clone(),
                segment: index,
                of: count,
                assigned_at: unix_ms(),
                ..AgentShare::default()
            })
            .collect();
        let row = RunRow {
            id: id.to_owned(),
            owner: owner.to_owned(),
            state: "pending".to_owned(),
            created_at: unix_now(),
            plan: serde_json::to_string(&submit.plan).unwrap_or_default(),
            agents: serde_json::to_string(&shares).unwrap_or_default(),
            result: None,
            exit_code: None,
            message: None,
        };
        self.store
            .insert_run(&row)
            .await
            .map_err(|e| e.to_string())?;
        for share in &shares {
            if let Some(agent) = self.agents.get_mut(&share.name) {
                agent.run = Some(id.to_owned());
            }
        }
        let live = plan.collector(shares.len());
        let setup = plan.has_setup();
        let run = ActiveRun {
            id: id.to_owned(),
            plan,
            on_agent_loss: submit.on_agent_loss,
            agents: shares,
            phase: if setup {
                Phase::SettingUp
            } else {
                Phase::Preparing
            },
            live,
            followers: Vec::new(),
            spec: submit.plan,
            network: submit.network.clone(),
            captures: BTreeMap::new(),
            global: Vec::new(),
            stopping: None,
            stopped_by_user: false,
        };
        if setup {
            // The global setup runs once, on the first agent, before any
            // segment is given out: its captures go to every agent.
            self.send_setup(&run);
        } else {
            self.assign(&run);
        }
        self.runs.insert(id.to_owned(), run);
        Ok(())
    }

    /// Gives the run's first agent the global setup to run.
    fn send_setup(&self, run: &ActiveRun) {
        if let Some(first) = run.agents.first().and_then(|s| self.agents.get(&s.name)) {
            first.send(ToAgent::Setup {
                run: run.id.clone(),
                plan: run.spec.clone(),
                network: run.network.clone(),
            });
        }
    }

    /// Gives every agent its segment.
    fn assign(&self, run: &ActiveRun) {
        for share in &run.agents {
            if let Some(agent) = self.agents.get(&share.name) {
                agent.send(ToAgent::Assign {
                    run: run.id.clone(),
                    segment: SegmentSpec {
                        index: share.segment,
                        count: share.of,
                    },
                    plan: run.spec.clone(),
                    captures: run.captures.clone(),
                    network: run.network.clone(),
                });
            }
        }
    }

    pub(super) fn setup_done(
        &mut self,
        agent: &str,
        run_id: &str,
        captures: BTreeMap<String, String>,
        measured: &serde_json::Value,
    ) {
        let Some(run) = self.runs.get_mut(run_id) else {
            return;
        };
        if !matches!(run.phase, Phase::SettingUp)
            || run.agents.first().is_none_or(|s| s.name != agent)
        {
            return;
        }
        if let Ok(snapshot) = run.plan.decode(measured) {
            run.global.push(snapshot);
            // Kept for a result merged again later (after a restart, or
            // when late seconds arrive).
            self.writer
                .keep(run_id, super::writer::SETUP, measured.to_string());
        }
        run.captures = captures;
        run.phase = Phase::Preparing;
        let run = &self.runs[run_id];
        self.assign(run);
    }

    pub(super) async fn ready(&mut self, agent: &str, run_id: &str) {
        let Some(run) = self.runs.get_mut(run_id) else {
            return;
        };
        if let Some(share) = run.agents.iter_mut().find(|s| s.name == agent) {
            share.ready = true;
        }
        if !matches!(run.phase, Phase::Preparing) || !run.agents.iter().all(|s| s.ready) {
            return;
        }
        // Every agent is ready: one start instant, in each agent's clock.
        let margin = i64::try_from(self.config.start_margin.as_nanos()).unwrap_or(i64::MAX);
        let start_ns = unix_ns().saturating_add(margin);
        for share in &run.agents {
            if let Some(a) = self.agents.get(&share.name) {
                a.send(ToAgent::StartAt {
                    run: run_id.to_owned(),
                    agent_unix_ns: start_ns.saturating_add(a.offset_ns),
                });
            }
        }
        run.phase = Phase::Running { start_ns };
        let agents = serde_json::to_string(&run.agents).unwrap_or_default();
        let _ = self
            .store
            .update_run(run_id, "running", &agents, None)
            .await;
        run.announce("running", None);
    }

    pub(super) async fn plan_error(&mut self, agent: &str, run_id: &str, message: &str) {
        let text = format!("the plan failed to load on agent {agent}: {message}");
        if let Some(run) = self.runs.get_mut(run_id) {
            if run.phase.before_start() {
                self.end_before_start(run_id, "failed", EXIT_PLAN, &text)
                    .await;
            }
        }
    }

    /// Ends a run whose load never started: every agent told to drop it.
    pub(super) async fn end_before_start(
        &mut self,
        run_id: &str,
        state: &str,
        code: i32,
        message: &str,
    ) {
        let Some(run) = self.runs.remove(run_id) else {
            return;
        };
        for share in &run.agents {
            if let Some(a) = self.agents.get_mut(&share.name) {
                a.send(ToAgent::Stop {
                    run: run_id.to_owned(),
                });
                if a.run.as_deref() == Some(run_id) {
                    a.run = None;
                }
            }
        }
        let _ = self
            .store
            .finish_run(run_id, state, "null", code, Some(message))
            .await;
        let _ = self.ended.send(run_id.to_owned());
        self.run_ended(run_id, state, code, Some(message)).await;
        for f in &run.followers {
            tell(
                f,
                ToClient::Ended {
                    run: run_id.to_owned(),
                    state: state.to_owned(),
                    exit_code: code,
                    message: Some(message.to_owned()),
                },
            );
        }
    }

    pub(super) async fn snapshot(
        &mut self,
        agent: &str,
        run_id: &str,
        second: u64,
        body: serde_json::Value,
    ) {
        let Some(run) = self.runs.get(run_id) else {
            self.late_snapshot(agent, run_id, second, &body).await;
            return;
        };
        if !run.agents.iter().any(|s| s.name == agent) {
            return;
        }
        // Written and acknowledged off this loop; a second sent again (an
        // agent resending what was not acknowledged yet) is kept once by
        // the store and merged once by the collector.
        self.writer.send(Write::Row {
            run: run_id.to_owned(),
            agent: agent.to_owned(),
            second,
            body: body.to_string(),
            ack: self.agents.get(agent).and_then(Agent::sender),
        });
        let abort = self
            .runs
            .get_mut(run_id)
            .and_then(|run| run.merge_live(agent, &body));
        self.publish_live(run_id);
        if let Some(reason) = abort {
            self.stop_run(run_id, reason, false);
        }
    }

    /// A snapshot of a run no longer driven (ended, or from before a
    /// restart): still its own if that agent was given the run. A new one
    /// makes an ended run's result stale: it is merged again.
    async fn late_snapshot(
        &mut self,
        agent: &str,
        run_id: &str,
        second: u64,
        body: &serde_json::Value,
    ) {
        let row = self.store.run(run_id).await.ok().flatten();
        let given = row
            .as_ref()
            .and_then(|row| serde_json::from_str::<Vec<AgentShare>>(&row.agents).ok())
            .is_some_and(|shares| shares.iter().any(|s| s.name == agent));
        if !given {
            return;
        }
        // Everything queued for this run is kept first: "new" must mean
        // new to the result that was built.
        self.writer.flush().await;
        let Ok(new) = self
            .store
            .put_snapshot(run_id, agent, second, &body.to_string())
            .await
        else {
            return;
        };
        if let Some(a) = self.agents.get(agent) {
            a.send(ToAgent::Ack {
                run: run_id.to_owned(),
                second,
            });
        }
        if new && row.is_some_and(|row| row.result.is_some()) {
            self.late.insert(run_id.to_owned());
        }
    }

    pub(super) async fn finished(&mut self, agent: &str, run_id: &str, report: serde_json::Value) {
        let report_row = format!("{}{agent}", super::writer::REPORT_PREFIX);
        if let Some(a) = self.agents.get_mut(agent) {
            if a.run.as_deref() == Some(run_id) {
                a.run = None;
            }
        }
        let given = match self.runs.get(run_id) {
            Some(run) => run.agents.iter().any(|s| s.name == agent),
            None => self.store.run(run_id).await.ok().flatten().is_some(),
        };
        if given {
            self.writer.keep(run_id, &report_row, report.to_string());
        }
        // Done (the agent may forget the run) only after all it sent is kept.
        if let Some(sender) = self.agents.get(agent).and_then(Agent::sender) {
            self.writer.send(Write::Done {
                run: run_id.to_owned(),
                name: agent.to_owned(),
                agent: sender,
            });
        }
        let Some(run) = self.runs.get_mut(run_id) else {
            // The end of a run that ended without this agent: its late
            // seconds are all in now.
            if self.late.contains(run_id) {
                let _ = self.merge_late(run_id).await;
            }
            return;
        };
        if let Some(index) = run.agents.iter().position(|s| s.name == agent) {
            let share = &mut run.agents[index];
            if share.finished_at.is_none() {
                share.finished_at = Some(unix_ms());
                share.report = report;
                let closed = run.live.source_finished(index);
                run.stream_closed(closed);
            }
        }
        self.end_if_done(run_id).await;
    }

    /// An agent was silent past the timeout.
    pub(super) async fn agent_lost(&mut self, name: &str) {
        let Some(run_id) = self.agents.get_mut(name).and_then(|a| a.run.take()) else {
            return;
        };
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        if run.phase.before_start() {
            let message = format!("agent {name} was lost before the start; no load was started");
            self.end_before_start(&run_id, "failed", EXIT_FAILED, &message)
                .await;
            return;
        }
        if matches!(run.phase, Phase::TearingDown { .. }) {
            if let Some(first) = run.agents.first_mut() {
                append_failure(
                    &mut first.report,
                    format!("teardown: agent {name} was lost"),
                );
            }
            self.end(&run_id).await;
            return;
        }
        if let Some(index) = run.agents.iter().position(|s| s.name == name) {
            let share = &mut run.agents[index];
            if share.done() {
                return;
            }
            share.lost_at = Some(unix_ms());
            share.back_at = None;
            let closed = run.live.source_finished(index);
            run.stream_closed(closed);
        }
        let message = format!(
            "agent {name} lost (no heartbeat for {:?})",
            self.config.agent_timeout
        );
        run.announce("running", Some(message.clone()));
        if run.on_agent_loss == OnAgentLoss::Stop {
            self.stop_run(&run_id, message, false);
        }
        self.end_if_done(&run_id).await;
    }

    /// An agent lost earlier is heard again: what it buffered comes next.
    /// If it still runs its share, the run waits for its end again.
    pub(super) fn agent_back(&mut self, name: &str, running: &[String]) {
        for run in self.runs.values_mut() {
            if !running.contains(&run.id) || !matches!(run.phase, Phase::Running { .. }) {
                continue;
            }
            if let Some(share) = run.agents.iter_mut().find(|s| s.name == name) {
                if share.lost_at.is_some() && share.back_at.is_none() && share.finished_at.is_none()
                {
                    share.back_at = Some(unix_ms());
                }
            }
        }
    }

    /// Asks every agent of a run to stop its load.
    pub(super) fn stop_run(&mut self, run_id: &str, reason: String, by_user: bool) {
        let Some(run) = self.runs.get_mut(run_id) else {
            return;
        };
        if run.stopping.is_none() {
            run.stopping = Some(reason.clone());
            run.stopped_by_user = by_user;
            run.announce("stopping", Some(reason));
        }
        for share in run.agents.iter().filter(|s| !s.done()) {
            if let Some(a) = self.agents.get(&share.name) {
                a.send(ToAgent::Stop {
                    run: run_id.to_owned(),
                });
            }
        }
    }

    pub(super) async fn stop_request(
        &mut self,
        run_id: &str,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        match self.runs.get(run_id).map(|r| r.phase.before_start()) {
            Some(true) => {
                self.end_before_start(run_id, "stopped", EXIT_STOPPED, "stopped before the start")
                    .await;
            }
            Some(false) => self.stop_run(run_id, "stopped by `pummel stop`".to_owned(), true),
            None => {
                tell(
                    tx,
                    ToClient::Error {
                        message: format!("run {run_id} is not in flight"),
                    },
                );
                return;
            }
        }
        tell(
            tx,
            ToClient::Done {
                message: format!("run {run_id}: stopping"),
            },
        );
    }

    /// Replays a run's timeline to a client, then follows it live (or
    /// says how it ended).
    pub(super) async fn attach(&mut self, run_id: &str, tx: &mpsc::UnboundedSender<ToClient>) {
        if let Some(run) = self.runs.get_mut(run_id) {
            for point in run.live.timeline() {
                tell(
                    tx,
                    ToClient::Second {
                        run: run_id.to_owned(),
                        point: point.clone(),
                    },
                );
            }
            let state = if run.phase.before_start() {
                "pending"
            } else {
                "running"
            };
            tell(
                tx,
                ToClient::State {
                    run: run_id.to_owned(),
                    state: state.to_owned(),
                    message: None,
                    start_unix_ms: run.start_unix_ms(),
                },
            );
            run.followers.push(tx.clone());
            return;
        }
        let Ok(Some(row)) = self.store.run(run_id).await else {
            tell(
                tx,
                ToClient::Error {
                    message: format!("no run {run_id:?} (see `pummel runs`)"),
                },
            );
            return;
        };
        if let Some(result) = row
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        {
            let timeline = result.get("timeline").cloned().unwrap_or_default();
            let points: Vec<pummel_result::TimelinePoint> =
                serde_json::from_value(timeline).unwrap_or_default();
            for point in points {
                tell(
                    tx,
                    ToClient::Second {
                        run: run_id.to_owned(),
                        point,
                    },
                );
            }
        }
        tell(
            tx,
            ToClient::Ended {
                run: run_id.to_owned(),
                exit_code: row.exit_code.unwrap_or(EXIT_FAILED),
                state: row.state,
                message: row.message,
            },
        );
    }
}

/// Adds a failure message to an agent's report (a JSON object with a
/// `failures` list, as the agent sends it).
pub(super) fn append_failure(report: &mut serde_json::Value, failure: String) {
    if !report.is_object() {
        *report = serde_json::json!({ "failures": [] });
    }
    if let Some(object) = report.as_object_mut() {
        let list = object
            .entry("failures")
            .or_insert_with(|| serde_json::json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(serde_json::Value::String(failure));
        }
    }
}

impl ActiveRun {
    pub(super) fn start_unix_ms(&self) -> Option<i64> {
        match self.phase {
            Phase::Running { start_ns } | Phase::TearingDown { start_ns, .. } => {
                Some(start_ns / 1_000_000)
            }
            Phase::SettingUp | Phase::Preparing => None,
        }
    }

    pub(super) fn announce(&self, state: &str, message: Option<String>) {
        for f in &self.followers {
            tell(
                f,
                ToClient::State {
                    run: self.id.clone(),
                    state: state.to_owned(),
                    message: message.clone(),
                    start_unix_ms: self.start_unix_ms(),
                },
            );
        }
    }

    /// Feeds the live merge; returns why the run must abort, if a
    /// threshold says so.
    fn merge_live(&mut self, agent: &str, body: &serde_json::Value) -> Option<String> {
        let index = self.agents.iter().position(|s| s.name == agent)?;
        // A source the live merge has closed (lost, then back) only adds to
        // the stored snapshots: the result is merged from those.
        if self.agents[index].done() {
            return None;
        }
        let snapshot = self.plan.decode(body).ok()?;
        self.agents[index].seconds_sent = Some(u64::from(snapshot.index) + 1);
        let closed = self.live.accept(index, snapshot);
        self.stream_closed(closed);
        if closed > 0 && self.stopping.is_none() {
            return self.plan.abort(&self.live);
        }
        None
    }

    /// Sends the seconds the live merge just closed to every follower.
    fn stream_closed(&mut self, closed: usize) {
        let timeline = self.live.timeline();
        let from = timeline.len().saturating_sub(closed);
        self.followers.retain(|f| !f.is_closed());
        for point in &timeline[from..] {
            for f in &self.followers {
                tell(
                    f,
                    ToClient::Second {
                        run: self.id.clone(),
                        point: point.clone(),
                    },
                );
            }
        }
    }
}
