//! How a run ends: when every agent has finished or is lost, the global
//! teardown runs once on an agent still connected; then the result is
//! merged from every stored snapshot, kept, and every follower is told the
//! run's state and exit code.

use std::time::Duration;

use super::runs::{append_failure, unix_ns, AgentShare, Phase, EXIT_FAILED, EXIT_STOPPED};
use super::{tell, Hub};
use crate::backend::Ending;
use crate::wire::{ToAgent, ToClient};

impl Hub {
    pub(super) async fn teardown_done(
        &mut self,
        agent: &str,
        run_id: &str,
        measured: &serde_json::Value,
        error: Option<String>,
    ) {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.run.as_deref() == Some(run_id) {
                a.run = None;
            }
        }
        let Some(run) = self.runs.get_mut(run_id) else {
            return;
        };
        if !matches!(run.phase, Phase::TearingDown { .. }) {
            return;
        }
        if let Ok(snapshot) = run.plan.decode(measured) {
            run.global.push(snapshot);
            self.writer
                .keep(run_id, super::writer::TEARDOWN, measured.to_string());
        }
        if let Some(error) = error {
            if let Some(first) = run.agents.first_mut() {
                append_failure(&mut first.report, format!("teardown: {error}"));
            }
        }
        self.end(run_id).await;
    }

    /// When every agent has finished or is lost: the global teardown runs
    /// on one agent still connected, then the run ends.
    pub(super) async fn end_if_done(&mut self, run_id: &str) {
        let Some(run) = self.runs.get_mut(run_id) else {
            return;
        };
        let Phase::Running { start_ns } = run.phase else {
            return;
        };
        if !run.agents.iter().all(AgentShare::done) {
            return;
        }
        run.phase = Phase::TearingDown {
            start_ns,
            end_ns: unix_ns(),
        };
        if run.plan.has_teardown() {
            let connected = run
                .agents
                .iter()
                .find(|s| {
                    self.agents
                        .get(&s.name)
                        .is_some_and(|a| a.link.is_some() && !a.lost)
                })
                .map(|s| s.name.clone());
            if let Some(agent) = connected.and_then(|name| self.agents.get_mut(&name)) {
                agent.run = Some(run_id.to_owned());
                agent.send(ToAgent::Teardown {
                    run: run_id.to_owned(),
                    plan: run.spec.clone(),
                    captures: run.captures.clone(),
                    network: run.network.clone(),
                });
                return;
            }
            if let Some(first) = run.agents.first_mut() {
                append_failure(
                    &mut first.report,
                    "teardown: no agent left to run it".to_owned(),
                );
            }
        }
        self.end(run_id).await;
    }

    /// Ends the run: the result is built from every stored snapshot.
    pub(super) async fn end(&mut self, run_id: &str) {
        let Some(run) = self.runs.remove(run_id) else {
            return;
        };
        let Phase::TearingDown { start_ns, end_ns } = run.phase else {
            return;
        };
        let elapsed_ns = end_ns.saturating_sub(start_ns).max(0);
        let elapsed = Duration::from_nanos(u64::try_from(elapsed_ns).unwrap_or(0));
        // Lost and never back with its end: part of the plan is missing.
        let lost = run
            .agents
            .iter()
            .any(|s| s.lost_at.is_some() && s.finished_at.is_none());
        let ending = Ending {
            elapsed,
            started_unix_ms: start_ns / 1_000_000,
            partial: lost || run.stopping.is_some(),
            aborted_by: run.stopping.clone(),
        };
        // How the run ended, for a result merged again later.
        self.writer.keep(
            run_id,
            super::writer::ENDING,
            super::writer::ending_json(&ending).to_string(),
        );
        // Every second handed to the writer is in the store before the merge.
        self.writer.flush().await;
        let built = match self.store.snapshots(run_id).await {
            Ok(rows) => super::history::merge_result(
                &rows,
                run.plan.as_ref(),
                &run.agents,
                &run.global,
                &ending,
            ),
            Err(e) => Err(e.to_string()),
        };
        let (state, code, message, result) = match built {
            Ok((result, code)) => {
                let state = if run.stopped_by_user {
                    "stopped"
                } else {
                    "finished"
                };
                let code = if run.stopped_by_user {
                    EXIT_STOPPED
                } else {
                    code
                };
                // An agent whose engine failed (a runner that could not
                // start, say) sent why: the client hears it, not only a code.
                let fatal = run.agents.iter().find_map(|a| {
                    a.report
                        .get("fatal")
                        .and_then(serde_json::Value::as_str)
                        .map(|m| format!("on agent {}: {m}", a.name))
                });
                (state, code, run.stopping.clone().or(fatal), result)
            }
            Err(e) => ("failed", EXIT_FAILED, Some(e), serde_json::Value::Null),
        };
        self.publish_final(&run, &result);
        let _ = self
            .store
            .finish_run(run_id, state, &result.to_string(), code, message.as_deref())
            .await;
        let agents = serde_json::to_string(&run.agents).unwrap_or_default();
        let _ = self
            .store
            .update_run(run_id, state, &agents, message.as_deref())
            .await;
        let _ = self.ended.send(run_id.to_owned());
        self.run_ended(run_id, state, code, message.as_deref())
            .await;
        for f in &run.followers {
            tell(
                f,
                ToClient::Ended {
                    run: run_id.to_owned(),
                    state: state.to_owned(),
                    exit_code: code,
                    message: message.clone(),
                },
            );
        }
    }
}
