//! Runs after the fact: the list, results (stored, or merged again from the
//! kept snapshots for a run a restart interrupted) and the one merge both
//! the end of a run and a later rebuild use.

use std::collections::BTreeMap;
use std::time::Duration;

use pummel_result::IntervalSnapshot;
use tokio::sync::mpsc;

use super::runs::AgentShare;
use super::{tell, Hub};
use crate::backend::{AgentEnd, Ending, LoadedPlan};
use crate::store::{RunRow, SnapshotRow};
use crate::wire::{PlanSpec, RunInfo, ToClient};

impl Hub {
    pub(super) async fn run_list(&mut self) -> Vec<RunInfo> {
        let rows = self.store.runs().await.unwrap_or_default();
        rows.into_iter()
            .map(|row| {
                let shares: Vec<AgentShare> = serde_json::from_str(&row.agents).unwrap_or_default();
                RunInfo {
                    id: row.id,
                    owner: row.owner,
                    state: row.state,
                    created_at: row.created_at,
                    agents: shares.into_iter().map(|s| s.name).collect(),
                    exit_code: row.exit_code,
                    message: row.message,
                }
            })
            .collect()
    }

    /// A run's result file: the stored one, or (for a run interrupted by a
    /// restart) one merged now from every snapshot kept, late ones
    /// included.
    pub(super) async fn result_of(&mut self, run_id: &str, tx: &mpsc::UnboundedSender<ToClient>) {
        if self.runs.contains_key(run_id) {
            tell(
                tx,
                ToClient::Error {
                    message: format!("run {run_id} is still in flight: attach to it, or wait"),
                },
            );
            return;
        }
        let row = match self.store.run(run_id).await {
            Ok(Some(row)) => row,
            _ => {
                tell(
                    tx,
                    ToClient::Error {
                        message: format!("no run {run_id:?} (see `pummel runs`)"),
                    },
                );
                return;
            }
        };
        let stored = row
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
        let result = match stored {
            Some(result) if !result.is_null() && row.state != "interrupted" => Ok(result),
            _ => self.rebuild(&row).await,
        };
        match result {
            Ok(result) => tell(
                tx,
                ToClient::Result {
                    run: run_id.to_owned(),
                    result,
                },
            ),
            Err(message) => tell(tx, ToClient::Error { message }),
        }
    }

    async fn rebuild(&mut self, row: &RunRow) -> Result<serde_json::Value, String> {
        let spec: PlanSpec = serde_json::from_str(&row.plan).map_err(|e| e.to_string())?;
        let plan = self.backend.load(&spec)?;
        let shares: Vec<AgentShare> = serde_json::from_str(&row.agents).unwrap_or_default();
        let rows = self
            .store
            .snapshots(&row.id)
            .await
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Err(format!(
                "run {} has no result: it ended ({}) before any agent measured anything{}",
                row.id,
                row.state,
                row.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
        let seconds = rows.iter().map(|r| r.second).max().unwrap_or(0) + 1;
        let ending = Ending {
            elapsed: Duration::from_secs(seconds),
            started_unix_ms: row.created_at.saturating_mul(1000),
            partial: true,
            aborted_by: row.message.clone(),
        };
        let (mut result, _) = merge_result(&rows, plan.as_ref(), &shares, &[], &ending)?;
        if let Some(object) = result.as_object_mut() {
            object.insert(
                "state".to_owned(),
                serde_json::Value::String(row.state.clone()),
            );
        }
        Ok(result)
    }
}

/// Merges a run's stored snapshots (each (run, agent, second) once, in
/// order) into its result, with the `agents` section.
pub(super) fn merge_result(
    rows: &[SnapshotRow],
    plan: &dyn LoadedPlan,
    shares: &[AgentShare],
    global: &[IntervalSnapshot],
    ending: &Ending,
) -> Result<(serde_json::Value, i32), String> {
    let mut collector = plan.collector(shares.len());
    let mut by_agent: BTreeMap<&str, Vec<(u64, IntervalSnapshot)>> = BTreeMap::new();
    for row in rows {
        let value: serde_json::Value =
            serde_json::from_str(&row.body).map_err(|e| e.to_string())?;
        by_agent
            .entry(row.agent.as_str())
            .or_default()
            .push((row.second, plan.decode(&value)?));
    }
    let mut shares = shares.to_vec();
    for (index, share) in shares.iter_mut().enumerate() {
        // Each agent's own totals beside the merge: the run's figures are
        // exactly theirs together.
        let mut own = plan.collector(1);
        let snapshots = by_agent.remove(share.name.as_str()).unwrap_or_default();
        share.seconds_sent = snapshots.last().map(|(second, _)| second + 1);
        for (_, snapshot) in snapshots {
            own.accept(0, snapshot.clone());
            collector.accept(index, snapshot);
        }
        collector.source_finished(index);
        let totals = own.finish(ending.elapsed).combined();
        share.requests = totals.requests();
        share.histogram = totals.latency.to_base64();
    }
    let shares = &shares;
    let metrics = collector.finish(ending.elapsed);
    let ends: Vec<AgentEnd> = shares
        .iter()
        .map(|s| AgentEnd {
            name: s.name.clone(),
            report: s.report.clone(),
        })
        .collect();
    let (mut result, code) = plan.result(metrics, &ends, global, ending)?;
    if let Some(object) = result.as_object_mut() {
        object.insert(
            "agents".to_owned(),
            serde_json::to_value(shares).map_err(|e| e.to_string())?,
        );
    }
    Ok((result, code))
}
