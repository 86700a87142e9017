//! The engine, as the server needs it (see `pummel_server::backend`): the
//! same loading, merging, threshold judging and result building as a local
//! run, applied to what the agents measured.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pummel_core::bench::{self, BenchPlan};
use pummel_core::result::RunResult;
use pummel_core::run::{self, AbortWatch, RunnerNames, SegmentsMerge};
use pummel_core::scenario::Plan;
use pummel_core::{Measured, Progress, WorkerReport};
use pummel_result::{Collector, IntervalSnapshot, MetricLayout, RunMetrics};
use pummel_server::backend::{AgentEnd, Ending, LoadedPlan, PlanBackend, PlanDemand};
use pummel_server::wire::{PlanSpec, RUNNER_NAMES};
use serde::Deserialize as _;

use crate::commands::shipped::{self, Loaded};
use crate::exit;

pub(crate) struct EngineBackend;

impl PlanBackend for EngineBackend {
    fn load(&self, plan: &PlanSpec) -> Result<Box<dyn LoadedPlan>, String> {
        Ok(match shipped::load(plan, Some(1))? {
            Loaded::Scenario { plan, insecure, .. } => {
                let merge = SegmentsMerge::new(plan.clone());
                Box::new(ScenarioPlan {
                    watch: merge.abort_watch(),
                    layout: merge.layout(),
                    merge,
                    plan,
                    insecure,
                })
            }
            Loaded::Bench(plan) => Box::new(BenchPlanOnServer {
                layout: bench::layout(&plan),
                plan: *plan,
            }),
        })
    }
}

struct ScenarioPlan {
    plan: Arc<Plan>,
    /// The plan compiled once: a runner's one table of names for the run.
    merge: SegmentsMerge,
    layout: Arc<MetricLayout>,
    insecure: bool,
    watch: AbortWatch,
}

struct BenchPlanOnServer {
    plan: BenchPlan,
    layout: Arc<MetricLayout>,
}

/// A snapshot as an agent sent it, checked against the plan's layout (its
/// histograms are checked as they are read).
fn decode(snapshot: &serde_json::Value, layout: &MetricLayout) -> Result<IntervalSnapshot, String> {
    // Read in place: a snapshot's histograms are most of its bytes, and a
    // server reads fifty agents' a second.
    let snapshot =
        IntervalSnapshot::deserialize(snapshot).map_err(|e| format!("malformed snapshot: {e}"))?;
    snapshot.check_shape(layout).map_err(|e| e.to_string())?;
    Ok(snapshot)
}

/// What the agents' reports say: their workers' failures.
fn reports(agents: &[AgentEnd]) -> Vec<WorkerReport> {
    agents
        .iter()
        .map(|a| {
            let mut report: WorkerReport =
                serde_json::from_value(a.report.clone()).unwrap_or_default();
            for failure in &mut report.failures {
                *failure = format!("agent {}: {failure}", a.name);
            }
            report
        })
        .collect()
}

fn measured(metrics: RunMetrics, agents: &[AgentEnd], ending: &Ending) -> Measured {
    let started =
        UNIX_EPOCH + Duration::from_millis(u64::try_from(ending.started_unix_ms).unwrap_or(0));
    Measured {
        metrics,
        reports: reports(agents),
        elapsed: ending.elapsed,
        started_at: if started == UNIX_EPOCH {
            SystemTime::now()
        } else {
            started
        },
        partial: ending.partial,
    }
}

/// A lost agent's share did not run: the run failed (1), unless a
/// threshold already says 99.
fn verdict(passed: bool, lost: bool) -> i32 {
    if !passed {
        exit::THRESHOLDS_FAILED
    } else if lost {
        exit::RUNTIME_FAILURE
    } else {
        exit::SUCCESS
    }
}

fn to_json(result: &RunResult) -> Result<serde_json::Value, String> {
    serde_json::to_value(result).map_err(|e| e.to_string())
}

fn any_lost(agents: &[AgentEnd]) -> bool {
    agents.iter().any(|a| a.report.is_null())
}

impl LoadedPlan for ScenarioPlan {
    fn demand(&self) -> PlanDemand {
        let d = self.plan.demand();
        PlanDemand {
            hosts: d.hosts,
            dynamic_urls: d.dynamic_urls,
            max_vus: d.max_vus,
            max_rate: d.max_rate,
            duration: d.duration,
            runner: d.runner,
        }
    }

    fn collector(&self, sources: usize) -> Collector {
        run::collector(&self.plan, sources)
    }

    // The global steps run on one agent whether or not the plan has any:
    // one exchange before the start and one after the end, and an empty
    // setup's captures (none) are as good as a real one's.
    fn has_setup(&self) -> bool {
        true
    }

    fn has_teardown(&self) -> bool {
        true
    }

    fn decode(&self, snapshot: &serde_json::Value) -> Result<IntervalSnapshot, String> {
        let mut decoded = decode(snapshot, &self.layout)?;
        if let Some(names) = snapshot.get(RUNNER_NAMES) {
            let names = RunnerNames::deserialize(names)
                .map_err(|e| format!("malformed {RUNNER_NAMES}: {e}"))?;
            self.merge.rename(&mut decoded, &names)?;
        }
        Ok(decoded)
    }

    fn abort(&mut self, merged: &Collector) -> Option<String> {
        let last = merged.timeline().last()?;
        let totals = merged.combined_totals();
        let progress = Progress {
            elapsed: Duration::from_secs(merged.timeline().len() as u64),
            totals: &totals,
            last,
            per_key: merged.totals(),
            counters: merged.counters(),
            layout: &self.layout,
        };
        self.watch
            .check(&progress)
            .then(|| "a threshold with abort_on_fail failed".to_owned())
    }

    fn result(
        &self,
        metrics: RunMetrics,
        agents: &[AgentEnd],
        global: &[IntervalSnapshot],
        ending: &Ending,
    ) -> Result<(serde_json::Value, i32), String> {
        let options = shipped::run_options(self.insecure, agents.len() as u64, None);
        let outcome = self.merge.finish(
            &options,
            measured(metrics, agents, ending),
            global,
            self.watch.aborted_by(),
        );
        let code = if outcome.fatal.is_some() {
            exit::RUNTIME_FAILURE
        } else {
            verdict(outcome.passed, any_lost(agents))
        };
        Ok((to_json(&outcome.result)?, code))
    }
}

impl LoadedPlan for BenchPlanOnServer {
    fn demand(&self) -> PlanDemand {
        PlanDemand {
            hosts: vec![self.plan.request.url.host.to_ascii_lowercase()],
            dynamic_urls: Vec::new(),
            max_vus: u32::try_from(self.plan.connections).unwrap_or(u32::MAX),
            max_rate: self.plan.rate,
            duration: self.plan.duration,
            runner: false,
        }
    }

    fn collector(&self, sources: usize) -> Collector {
        Collector::new(bench::layout(&self.plan), sources)
    }

    fn has_setup(&self) -> bool {
        false
    }

    fn has_teardown(&self) -> bool {
        false
    }

    fn decode(&self, snapshot: &serde_json::Value) -> Result<IntervalSnapshot, String> {
        decode(snapshot, &self.layout)
    }

    fn abort(&mut self, _merged: &Collector) -> Option<String> {
        None
    }

    fn result(
        &self,
        metrics: RunMetrics,
        agents: &[AgentEnd],
        _global: &[IntervalSnapshot],
        ending: &Ending,
    ) -> Result<(serde_json::Value, i32), String> {
        let result = bench::result(&self.plan, &measured(metrics, agents, ending));
        Ok((to_json(&result)?, verdict(true, any_lost(agents))))
    }
}
