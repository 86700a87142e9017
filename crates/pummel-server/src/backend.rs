//! What the server needs of the engine, given to it by the binary: loading
//! a shipped plan, decoding its snapshots, judging its thresholds and
//! building its result. The server crate itself depends on the result types
//! only, never on the engine: the binary that links both passes the glue in,
//! the same glue its local runs and its agents use.

use std::time::Duration;

use pummel_result::{Collector, IntervalSnapshot, RunMetrics};

pub use crate::policy::PlanDemand;
use crate::wire::PlanSpec;

/// Loads shipped plans.
pub trait PlanBackend: Send + Sync + 'static {
    /// Loads and checks a plan, as an agent will; the message names what is
    /// wrong.
    fn load(&self, plan: &PlanSpec) -> Result<Box<dyn LoadedPlan>, String>;
}

/// One agent's end of segment, as the merge needs it.
#[derive(Clone, Debug, Default)]
pub struct AgentEnd {
    pub name: String,
    /// What the agent sent with `finished` (its failures, …); null when it
    /// was lost.
    pub report: serde_json::Value,
}

/// How a run ended, as the result must say.
#[derive(Clone, Debug)]
pub struct Ending {
    /// From the start instant to the last agent's end.
    pub elapsed: Duration,
    /// Start instant, Unix ms.
    pub started_unix_ms: i64,
    /// Stopped early or lost part of its plan.
    pub partial: bool,
    /// The threshold (or stop) that ended the run early.
    pub aborted_by: Option<String>,
}

/// A loaded plan, on the server.
pub trait LoadedPlan: Send {
    /// What it reaches and how hard.
    fn demand(&self) -> PlanDemand;
    /// A collector for the snapshots of `sources` agents (the plan's
    /// layout and phases).
    fn collector(&self, sources: usize) -> Collector;
    /// Whether the plan has global setup steps (run once, on one agent,
    /// before the start) and teardown steps (once, after every agent).
    fn has_setup(&self) -> bool;
    fn has_teardown(&self) -> bool;
    /// A snapshot as an agent sent it.
    fn decode(&self, snapshot: &serde_json::Value) -> Result<IntervalSnapshot, String>;
    /// A threshold with `abort_on_fail` that fails on the merged figures so
    /// far, if any.
    fn abort(&mut self, merged: &Collector) -> Option<String>;
    /// The run's result file (JSON, the schema of a local run) and its exit
    /// code (0, or 99 when a threshold failed).
    fn result(
        &self,
        metrics: RunMetrics,
        agents: &[AgentEnd],
        global: &[IntervalSnapshot],
        ending: &Ending,
    ) -> Result<(serde_json::Value, i32), String>;
}
