//! A run in parts, for a distributed run: what [`run`](super::run) does in
//! one process, one piece at a time, so that the pieces can run in
//! different processes.
//!
//! An agent runs its segment of the load ([`run_segment`]); one agent runs
//! the global setup before the load ([`global_setup`]) and the teardown
//! after it ([`global_teardown`]), with the captures passed between them as
//! a map of names to values ([`Captures`]). A server merges the agents'
//! interval snapshots ([`collector`], keyed by the plan's [`layout`]),
//! judges the thresholds that abort on the merged figures while the run
//! goes on ([`AbortWatch`]), and builds the outcome ([`finish`]) as a local
//! run does: the same result, the same verdict.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::program::Program;
use super::runner_slots::{RunnerNames, RunnerSlots};
use super::worker_state::InitialVars;
use super::{
    merge_extra, outcome, run_load, setup_steps, teardown_steps, verdict, RunError, RunOptions,
    RunOutcome, WorkerPlans,
};
use crate::coordinator::{Measured, Progress, StopSignal};
use crate::metrics::{Collector, IntervalSnapshot, MetricLayout};
use crate::scenario::model::Plan;
use crate::segment::SegmentOptions;

/// The global setup's variables (its captures, and the plan's variables as
/// it left them), by name: what every VU of every segment starts with.
pub type Captures = BTreeMap<String, String>;

/// What the global setup or teardown produced.
#[derive(Clone, Debug)]
pub struct GlobalSteps {
    /// The variables after the steps (the setup's captures); empty when the
    /// plan has no such steps.
    pub captures: Captures,
    /// What the steps measured, as one snapshot of the plan's layout: it
    /// joins the run's totals (pass it to [`finish`]), not its timeline.
    pub measured: IntervalSnapshot,
}

/// The metric keys, counters and gauges of `plan`: derived from the plan
/// alone, so every agent that loads the same plan has the same layout, and
/// snapshots merge by key id.
pub fn layout(plan: &Arc<Plan>) -> Arc<MetricLayout> {
    Program::compile(plan.clone()).layout
}

/// A collector for the snapshots of `sources` segments of `plan` (each
/// source's seconds numbered from the one start they share), with the
/// plan's phases (a cycles run's cycles), as a local run's coordinator
/// makes it. Its [`Collector::finish`] gives [`Measured::metrics`].
pub fn collector(plan: &Arc<Plan>, sources: usize) -> Collector {
    let mut collector = Collector::new(layout(plan), sources);
    if let Some((count, phase_of)) = super::phases(plan) {
        collector = collector.with_phases(count, phase_of);
    }
    collector
}

/// Runs the plan's global setup alone, once (as VU 0, on this thread):
/// its captures, for [`run_segment`] and [`global_teardown`], and what it
/// measured.
pub fn global_setup(
    plan: Arc<Plan>,
    options: &RunOptions,
    stop: &StopSignal,
) -> Result<GlobalSteps, RunError> {
    let program = Arc::new(Program::compile(plan));
    let plans = WorkerPlans::new(program.clone(), options, stop)?;
    let (vars, measured) = setup_steps(&plans)?;
    Ok(GlobalSteps {
        captures: captures_of(&program.plan, &vars),
        measured: one_snapshot(&program.layout, &measured),
    })
}

/// Runs the plan's global teardown alone, once, with the setup's
/// `captures`: what it measured. A teardown that fails is
/// [`RunError::Teardown`]; a local run reports it among the failures, as
/// `teardown: {error}`.
pub fn global_teardown(
    plan: Arc<Plan>,
    options: &RunOptions,
    captures: &Captures,
    stop: &StopSignal,
) -> Result<GlobalSteps, RunError> {
    let program = Arc::new(Program::compile(plan));
    let plans = WorkerPlans::new(program.clone(), options, stop)?;
    let vars = vars_of(&program.plan, captures)?;
    let measured = teardown_steps(&plans, vars.clone()).map_err(RunError::Teardown)?;
    Ok(GlobalSteps {
        captures: captures_of(&program.plan, &vars),
        measured: one_snapshot(&program.layout, &measured),
    })
}

/// [`run_segment`] for a runner's journey in a distributed run:
/// `on_interval` also receives the names the runner has given its slots
/// so far (`None` for a YAML journey), which the server needs to merge
/// this segment with others that named theirs in another order
/// ([`SegmentsMerge::rename`]).
pub fn run_segment_named(
    plan: Arc<Plan>,
    options: &RunOptions,
    part: &SegmentOptions,
    captures: &Captures,
    stop: &StopSignal,
    on_interval: &mut dyn FnMut(IntervalSnapshot, Option<&RunnerNames>),
    on_progress: impl FnMut(&Progress<'_>),
) -> Result<Measured, RunError> {
    let program = Arc::new(Program::compile(plan));
    let vars = vars_of(&program.plan, captures)?;
    let plans = WorkerPlans::new(program.clone(), options, stop)?;
    let mut named = |snapshot: IntervalSnapshot| {
        let names = program.runner.as_ref().map(RunnerSlots::snapshot);
        on_interval(snapshot, names.as_ref());
    };
    let (measured, _) = run_load(&plans, options, part, vars, Some(&mut named), on_progress)?;
    Ok(measured)
}

/// Runs one segment of the plan's load (`part.segment`: its share of the
/// VUs, iterations, open-model slots and feeder rows, split again among
/// `options.threads` worker threads), from `part.start_at`, every VU
/// starting with `captures`. Neither the global setup nor the teardown
/// runs, and no threshold is judged: that is the caller's part. Every
/// segment of one run must be given the same plan, seed included
/// ([`Plan::seed`]): a Poisson schedule is one schedule only if every
/// segment draws it from the same seed.
///
/// `on_interval` receives each second's snapshot of this segment (all its
/// threads merged, seconds counted from the start) as it closes, the last
/// ones before this returns; `on_progress` is called once a second with
/// this segment's figures so far. The [`Measured`] is this segment's
/// alone, with its workers' reports (failures, a fatal error).
pub fn run_segment(
    plan: Arc<Plan>,
    options: &RunOptions,
    part: &SegmentOptions,
    captures: &Captures,
    stop: &StopSignal,
    on_interval: &mut dyn FnMut(IntervalSnapshot),
    on_progress: impl FnMut(&Progress<'_>),
) -> Result<Measured, RunError> {
    run_segment_named(
        plan,
        options,
        part,
        captures,
        stop,
        &mut |snapshot, _| on_interval(snapshot),
        on_progress,
    )
}

/// A plan compiled once for a whole distributed run, on the side that
/// merges its segments: the layout their snapshots share, the thresholds
/// that abort, the result. A runner's journey has one table of names for
/// the run here, which every segment's snapshots are renamed onto, so the
/// thresholds judged during the run and the result built at its end read
/// the same names.
pub struct SegmentsMerge {
    program: Arc<Program>,
}

impl SegmentsMerge {
    pub fn new(plan: Arc<Plan>) -> SegmentsMerge {
        SegmentsMerge {
            program: Arc::new(Program::compile(plan)),
        }
    }

    /// See [`layout`].
    pub fn layout(&self) -> Arc<MetricLayout> {
        self.program.layout.clone()
    }

    /// The thresholds that abort the run, judged with this run's names.
    pub fn abort_watch(&self) -> AbortWatch {
        AbortWatch::of(self.program.clone())
    }

    /// Moves a segment's runner figures in `snapshot` (already checked
    /// against the layout) from the slots its runner gave `names` to this
    /// run's slots of the same names. A plan without a runner has no
    /// such slots: nothing moves.
    pub fn rename(
        &self,
        snapshot: &mut IntervalSnapshot,
        names: &RunnerNames,
    ) -> Result<(), String> {
        match &self.program.runner {
            Some(slots) => slots.rename(snapshot, names),
            None => Ok(()),
        }
    }

    /// See [`finish`]: the outcome, with this run's names.
    pub fn finish(
        &self,
        options: &RunOptions,
        mut measured: Measured,
        global: &[IntervalSnapshot],
        aborted_by: &[usize],
    ) -> RunOutcome {
        let program = &self.program;
        let max_vus = u64::from(program.plan.max_vus_all()).max(1);
        let workers = options.threads.clamp(1, max_vus) as u32;
        merge_extra(&mut measured.metrics, global);
        let windows = program.plan.load.cycle_windows();
        outcome(program, options, workers, measured, &windows, aborted_by)
    }
}

/// The thresholds that abort a run (`abort_on_fail`), judged on the
/// figures so far, as a local run judges them once a second; a server
/// judges them on its agents' merged figures.
pub struct AbortWatch {
    program: Arc<Program>,
    aborted_by: Vec<usize>,
}

impl AbortWatch {
    pub fn new(plan: Arc<Plan>) -> AbortWatch {
        AbortWatch::of(Arc::new(Program::compile(plan)))
    }

    pub(super) fn of(program: Arc<Program>) -> AbortWatch {
        AbortWatch {
            program,
            aborted_by: Vec::new(),
        }
    }

    /// Judges every aborting threshold past its grace period on `progress`
    /// (all closed seconds so far); true when one fails that had not failed
    /// before: the run must stop.
    pub fn check(&mut self, progress: &Progress<'_>) -> bool {
        let mut failed = false;
        for (i, t) in self.program.plan.thresholds.iter().enumerate() {
            if t.abort_on_fail && progress.elapsed >= t.abort_grace && !self.aborted_by.contains(&i)
            {
                let figures = verdict::Figures {
                    per_key: progress.per_key,
                    counters: progress.counters,
                    gauges: &progress.last.gauges,
                    elapsed_s: progress.elapsed.as_secs_f64(),
                };
                let judged = verdict::judge(&self.program, t, &figures);
                if judged.observed.is_some() && !judged.passed {
                    self.aborted_by.push(i);
                    failed = true;
                }
            }
        }
        failed
    }

    /// The thresholds (by their index in the plan) that failed and stopped
    /// the run: they fail in the outcome whatever the totals say.
    pub fn aborted_by(&self) -> &[usize] {
        &self.aborted_by
    }
}

/// The outcome of a run whose load was measured elsewhere (the merge of its
/// segments): the result, thresholds judged on the merged figures, the
/// verdict, exactly as a local run builds them. `measured` is the merge
/// (its metrics from [`collector`], every segment's reports, the run's
/// elapsed time from the shared start to the last segment's end, partial if
/// stopped early); `global` is what the global setup and teardown measured;
/// `aborted_by` from the run's [`AbortWatch`].
pub fn finish(
    plan: Arc<Plan>,
    options: &RunOptions,
    measured: Measured,
    global: &[IntervalSnapshot],
    aborted_by: &[usize],
) -> RunOutcome {
    SegmentsMerge::new(plan).finish(options, measured, global, aborted_by)
}

/// Variables by index into captures by name (those that have a value).
fn captures_of(plan: &Plan, vars: &[Option<String>]) -> Captures {
    plan.vars
        .iter()
        .zip(vars)
        .filter_map(|(name, value)| Some((name.clone(), value.clone()?)))
        .collect()
}

/// Captures by name into the variables by index every VU starts with.
fn vars_of(plan: &Plan, captures: &Captures) -> Result<InitialVars, RunError> {
    let mut vars = vec![None; plan.vars.len()];
    for (name, value) in captures {
        let index = plan
            .vars
            .iter()
            .position(|v| v == name)
            .ok_or_else(|| RunError::UnknownCapture(name.clone()))?;
        vars[index] = Some(value.clone());
    }
    Ok(Arc::new(vars))
}

/// Snapshots merged into one (numbered 0): what global steps measured
/// counts in the totals only, whatever second it fell in.
fn one_snapshot(layout: &MetricLayout, snapshots: &[IntervalSnapshot]) -> IntervalSnapshot {
    let mut one = IntervalSnapshot::empty(0, layout);
    for s in snapshots {
        for (a, b) in one.stats.iter_mut().zip(&s.stats) {
            a.merge(b);
        }
        for (a, b) in one.counters.iter_mut().zip(&s.counters) {
            *a += b;
        }
    }
    one
}
