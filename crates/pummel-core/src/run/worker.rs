//! One worker thread of a scenario run: its share of the virtual users,
//! driven by the load model (closed: a target number of VUs over time;
//! open: iterations released at their scheduled moments).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::in_flight::IterationInFlight;
use super::program::{ScenarioOps, VUS_GAUGE};
use super::runner::{self, RunnerHost};
use super::vu::{Abort, Vu};
use super::worker_state::{WorkerPlan, WorkerState};
use crate::arrivals::PoissonSlots;
use crate::coordinator::{local_runtime, until_start, WorkerContext};
use crate::metrics::recorder::roll_each_second;
use crate::metrics::Recorder;
use crate::pacer::{Pacer, Schedule, Share};
use crate::scenario::load_model::{Arrivals, LoadModel};
use crate::segment::Segment;

/// The worker's runner, when the plan's journey runs in another language.
type Host = Option<Rc<RunnerHost>>;

/// How often a closed model's VU count is brought to its target.
const RAMP_STEP: Duration = Duration::from_millis(100);
/// Teardown steps (per VU) get this long once the run has stopped.
const TEARDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs one worker to the end of its share; returns when it stopped.
pub(super) fn run(plan: WorkerPlan, runner: Option<Runner>, ctx: WorkerContext) -> Instant {
    match local_runtime() {
        Ok(runtime) => tokio::task::LocalSet::new().block_on(&runtime, drive(plan, runner, ctx)),
        Err(e) => {
            // Without a runtime this share cannot run: the run stops, and
            // says why, as it does for any failure that ends it early.
            plan.run_stop.stop();
            ctx.fail(&e)
        }
    }
}

/// The runner process a worker hosts, started before the load, and
/// pummel's clock origin it was given.
pub(super) struct Runner {
    pub(super) ready: runner::Ready,
    pub(super) origin: Instant,
}

async fn drive(plan: WorkerPlan, runner: Option<Runner>, ctx: WorkerContext) -> Instant {
    let WorkerContext {
        index,
        start,
        sink,
        mut stop,
        layout,
    } = ctx;
    // A closed model's schedule (when each VU starts and stops, when the
    // run ends) is the whole plan's: this segment runs the VUs whose global
    // index falls to it, so its share of the VUs running at `t` is its share
    // of the whole model's count at `t`. Segmenting the model itself would
    // give each share a schedule of its own (a cycle's users one
    // `startup_delay` apart within each share, a ramp rounded per share).
    let whole = plan.program.plan.load.clone();
    let segment = plan.segment;
    let model = whole.segment(segment);
    let budget = match &model {
        LoadModel::Vus {
            iterations: Some(n),
            ..
        } => *n,
        _ => u64::MAX,
    };
    let recorder = Recorder::new(index, start, layout, sink);
    let shared = WorkerState::new(&plan, recorder, budget);
    let host: Host = plan.program.plan.runner.clone().map(|spec| match runner {
        Some(r) => RunnerHost::new(spec, r.origin, Some(r.ready)),
        None => RunnerHost::new(spec, start, None),
    });
    let deadline = whole.duration().map(|d| start + d);
    // Set up (runtime, feeders, connectors) before the run's start, so that
    // every worker, and every agent of a distributed run, starts on time.
    until_start(start, &mut stop).await;

    let ticker = {
        let shared = shared.clone();
        tokio::task::spawn_local(async move { roll_each_second(&shared.recorder, start).await })
    };
    let mut vus = tokio::task::JoinSet::new();
    let pacer = model.is_open().then(|| {
        // This worker's share of the whole plan's arrivals, not a smaller rate.
        let arrivals_plan = &plan.program.plan;
        let poisson = (arrivals_plan.arrivals == Arrivals::Poisson)
            .then(|| PoissonSlots::new(arrivals_plan.seed));
        let schedule = ModelSchedule {
            model: whole.clone(),
            poisson,
        };
        Rc::new(Pacer::new(start, Box::new(Share::new(schedule, segment))))
    });
    let driven = async {
        match &pacer {
            Some(pacer) => {
                drive_open(&shared, &host, pacer.clone(), &model, &mut vus).await;
                // The run lasts as long as its schedule, however early this
                // worker's share of it was done.
                pacer.until_end().await;
            }
            None => drive_closed(&shared, &host, &whole, segment, start, &mut vus).await,
        }
    };
    let deadline_reached = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = driven => {}
        _ = stop.wait_for(|stopped| *stopped) => {}
        _ = deadline_reached => {}
    }
    let end = Instant::now();
    if let Some(pacer) = &pacer {
        // Iterations that were due and never started, each one a scenario's
        // as it would have been had it started: drawn by weight. No VU has
        // run since `end` (one thread), and none takes a slot once stopping.
        let dropped = shared.pick.pick_many(pacer.dropped(end));
        let mut recorder = shared.recorder.borrow_mut();
        for (scenario, n) in shared.program.scenarios.iter().zip(dropped) {
            recorder.stats(scenario.iteration_key, end).dropped += n;
        }
    }
    // VUs abandon their iteration (counted as cut) and run their teardown
    // within the grace period.
    shared.stop();
    let _ = tokio::time::timeout(TEARDOWN_GRACE, async {
        while vus.join_next().await.is_some() {}
    })
    .await;
    // A teardown past its grace is cut too, and counted before the last
    // snapshot: wait until the aborted tasks are gone.
    vus.shutdown().await;
    if let Some(host) = &host {
        // What the runner's iterations under way still report is recorded.
        host.shutdown().await;
    }
    ticker.abort();

    let mut recorder = shared.recorder.borrow_mut();
    recorder.set_gauge(VUS_GAUGE, 0, Instant::now());
    recorder.finish(shared.report());
    end
}

/// Closed model: keeps the number of running VUs at this segment's share of
/// the whole model's target (the VUs of the whole whose index falls to it).
async fn drive_closed(
    shared: &Rc<WorkerState>,
    host: &Host,
    model: &LoadModel,
    segment: Segment,
    start: Instant,
    vus: &mut tokio::task::JoinSet<()>,
) {
    loop {
        let elapsed = start.elapsed();
        let target = segment.share(u64::from(model.vus_at(elapsed).unwrap_or(0))) as usize;
        shared.desired.set(target);
        for index in 0..target {
            let needs_start = {
                let mut alive = shared.alive.borrow_mut();
                if alive.len() <= index {
                    alive.resize(index + 1, false);
                }
                !std::mem::replace(&mut alive[index], true)
            };
            if needs_start {
                vus.spawn_local(closed_vu(shared.clone(), host.clone(), index));
            }
        }
        let iterations_done = shared.budget.get() == 0 && shared.active.get() == 0;
        let schedule_over = model.duration().is_some_and(|d| elapsed >= d);
        if iterations_done || schedule_over || shared.stopping.get() {
            // Wait for the last VUs to finish their iterations.
            while vus.join_next().await.is_some() {}
            return;
        }
        // Reap finished VUs so the set does not grow over a long ramp.
        while vus.try_join_next().is_some() {}
        tokio::time::sleep(RAMP_STEP).await;
    }
}

async fn closed_vu(shared: Rc<WorkerState>, host: Host, index: usize) {
    let mut vu = Vu::new(shared.vu_id(index), index, &shared);
    shared.set_active(1);
    if let Err(e) = vu.init_variables(&shared) {
        shared.note_failure("variables", "render", &e.to_string());
    } else {
        loop {
            if shared.stopping.get() || index >= shared.desired.get() {
                break;
            }
            let left = shared.budget.get();
            if left == 0 {
                break;
            }
            if left != u64::MAX {
                shared.budget.set(left - 1);
            }
            let started = IterationInFlight::start(&shared, None);
            let keep_going = tokio::select! {
                r = iteration(&shared, &host, &mut vu, started, None) => r,
                _ = shared.stopped() => false,
            };
            if !keep_going {
                break;
            }
        }
    }
    teardown(&shared, &mut vu).await;
    shared.alive.borrow_mut()[index] = false;
    shared.set_active(-1);
}

/// Open model: iterations start at the schedule's moments on free VUs; a
/// new VU starts when none is free, up to the model's pool.
async fn drive_open(
    shared: &Rc<WorkerState>,
    host: &Host,
    pacer: Rc<Pacer>,
    model: &LoadModel,
    vus: &mut tokio::task::JoinSet<()>,
) {
    let max_vus = model.max_vus() as usize;
    let next_index = Cell::new(0usize);
    let spawn = |vus: &mut tokio::task::JoinSet<()>| {
        let index = next_index.get();
        next_index.set(index + 1);
        vus.spawn_local(open_vu(shared.clone(), host.clone(), pacer.clone(), index));
    };
    // Start with a small pool; it grows on demand.
    for _ in 0..max_vus.min(1) {
        spawn(vus);
    }
    // The VUs stay in the caller's set even when the run stops during the
    // schedule (this future is then dropped): they must stop, run their
    // teardown and count what they were doing as cut, not vanish with it.
    pacer
        .run_with(|backlog| {
            let free = shared.idle.get();
            let mut needed = backlog.saturating_sub(free) as usize;
            while needed > 0 && next_index.get() < max_vus {
                spawn(vus);
                needed -= 1;
            }
        })
        .await;
    // The schedule is over: let running iterations finish (the deadline cuts them).
    while vus.join_next().await.is_some() {}
}

async fn open_vu(shared: Rc<WorkerState>, host: Host, pacer: Rc<Pacer>, index: usize) {
    let mut vu = Vu::new(shared.vu_id(index), index, &shared);
    shared.set_active(1);
    if let Err(e) = vu.init_variables(&shared) {
        shared.note_failure("variables", "render", &e.to_string());
    } else {
        // Once stopping, no slot is taken: the slots left are counted as
        // dropped when the run stops, and must not start after that.
        while !shared.stopping.get() {
            shared.idle.set(shared.idle.get() + 1);
            let slot = tokio::select! {
                biased;
                _ = shared.stopped() => None,
                s = pacer.take() => s,
            };
            shared.idle.set(shared.idle.get() - 1);
            let Some((_, scheduled)) = slot else { break };
            let started = IterationInFlight::start(&shared, Some(scheduled));
            let keep_going = tokio::select! {
                r = iteration(&shared, &host, &mut vu, started, Some(scheduled)) => r,
                _ = shared.stopped() => false,
            };
            if !keep_going {
                break;
            }
        }
    }
    teardown(&shared, &mut vu).await;
    shared.set_active(-1);
}

/// One iteration of the scenario `it` drew: its per-VU setup the first
/// time, then its steps. Returns false when the VU must stop. An iteration
/// that is dropped, or stops because the run does, is counted as cut when
/// `it` drops unsettled.
async fn iteration(
    shared: &Rc<WorkerState>,
    host: &Host,
    vu: &mut Vu,
    it: IterationInFlight<'_>,
    scheduled: Option<Instant>,
) -> bool {
    if let Some(host) = host {
        let keep_going = runner::iteration(shared, host, vu.id, it, scheduled).await;
        vu.iteration_done();
        return keep_going;
    }
    let program = shared.program.clone();
    let which = it.scenario();
    let scenario = &program.scenarios[which];
    let started = Instant::now();
    let from = scheduled.unwrap_or(started);
    if let Err(e) = vu.draw_rows(shared) {
        it.failed();
        // The run cannot go on as planned: stop every worker, not only this one.
        shared.note_fatal(e.to_string());
        shared.run_stop.stop();
        shared.stop();
        return false;
    }
    let mut first = scheduled;
    if !vu.set_up[which] {
        // The setup counts as done only once it succeeds: a VU whose login
        // failed tries again on its next iteration of this scenario.
        match vu.run_ops(shared, &scenario.setup, &mut first).await {
            Ok(()) => vu.set_up[which] = true,
            Err(abort) => return after_abort(shared, scenario, vu, abort, it, scheduled).await,
        }
    }
    let outcome = vu.run_ops(shared, &scenario.steps, &mut first).await;
    if matches!(outcome, Err(Abort::Stopping)) {
        // Cut by the end of the run, not finished: `it` counts it as cut.
        return false;
    }
    let end = Instant::now();
    shared
        .recorder
        .borrow_mut()
        .stats(scenario.iteration_key, end)
        .record_response(end - from, scheduled.map(|_| end - started), 0, 0, 0);
    vu.iteration_done();
    match outcome {
        Ok(()) => {
            it.completed();
            vu.aborts_in_a_row = 0;
        }
        Err(abort) => {
            if !after_abort(shared, scenario, vu, abort, it, scheduled).await {
                return false;
            }
        }
    }
    if let Some(wait) = pacing_wait(started, scenario.pacing) {
        tokio::time::sleep(wait).await;
    }
    true
}

/// Counts an aborted iteration; in a closed model, backs off after
/// consecutive aborts (a target that is down would otherwise be hammered
/// with failing iterations in a busy loop). Returns false when the VU must stop.
async fn after_abort(
    shared: &WorkerState,
    scenario: &ScenarioOps,
    vu: &mut Vu,
    abort: Abort,
    it: IterationInFlight<'_>,
    scheduled: Option<Instant>,
) -> bool {
    if !note_abort(shared, scenario, abort, it) {
        return false;
    }
    vu.aborts_in_a_row = vu.aborts_in_a_row.saturating_add(1);
    if scheduled.is_none() {
        let backoff = Duration::from_millis((1u64 << vu.aborts_in_a_row.min(7)).min(100));
        tokio::time::sleep(backoff).await;
    }
    true
}

/// Counts an iteration an error stopped as failed; one the run's end
/// stopped is left to `it` to count as cut. Returns false when the VU must stop.
fn note_abort(
    shared: &WorkerState,
    scenario: &ScenarioOps,
    abort: Abort,
    it: IterationInFlight<'_>,
) -> bool {
    match abort {
        Abort::Stopping => false,
        Abort::Iteration(message) => {
            it.failed();
            shared.note_failure(&scenario.name, "iteration aborted", &message);
            true
        }
        Abort::Vu(message) => {
            it.failed();
            shared.note_failure(
                &scenario.name,
                "virtual user aborted (on_error: abort_vu)",
                &message,
            );
            false
        }
    }
}

/// Runs the teardown of every scenario whose setup this VU ran.
async fn teardown(shared: &Rc<WorkerState>, vu: &mut Vu) {
    let program = shared.program.clone();
    for (i, scenario) in program.scenarios.iter().enumerate() {
        if vu.set_up[i] && !scenario.teardown.is_empty() {
            // A failed teardown step is counted like any step; nothing more to do.
            let _ = vu.run_ops_despite_stop(shared, &scenario.teardown).await;
        }
    }
    vu.close(shared);
}

/// An open load model's arrival schedule: slot `k` at position `k` of the
/// model's arrivals, or at its Poisson position.
struct ModelSchedule {
    model: LoadModel,
    poisson: Option<PoissonSlots>,
}

impl Schedule for ModelSchedule {
    fn at(&self, k: u64) -> Option<Duration> {
        match &self.poisson {
            None => self.model.arrival_time(k),
            Some(p) => self.model.arrival_time_at(p.position(k)),
        }
    }

    /// The slots whose moment [`Schedule::at`] is before `t`. The integral
    /// of the rate estimates the count, but rounding can put it a slot off
    /// the moments `at` computes (25/s for 2.2 s integrates to
    /// 55.00000000000001): a slot counted due that never comes would be
    /// counted dropped. So the estimate is corrected against `at` — by a
    /// few slots at most, as rounding is never off by more.
    fn due(&self, t: Duration) -> u64 {
        const MAX_CORRECTION: u32 = 4;
        let Some(estimate) = self.model.arrivals_by(t) else {
            return 0;
        };
        let before = |k: u64| self.at(k).is_some_and(|at| at < t);
        let mut n = match &self.poisson {
            None => estimate.ceil().max(0.0) as u64,
            Some(p) => p.count_before(estimate),
        };
        for _ in 0..MAX_CORRECTION {
            if n > 0 && !before(n - 1) {
                n -= 1;
            } else if before(n) {
                n += 1;
            } else {
                break;
            }
        }
        n
    }

    fn end(&self) -> Option<Duration> {
        self.model.duration()
    }
}

/// How long to wait so iterations start at least `pacing` apart.
fn pacing_wait(iteration_start: Instant, pacing: Option<Duration>) -> Option<Duration> {
    let pacing = pacing?;
    let elapsed = iteration_start.elapsed();
    (elapsed < pacing).then(|| pacing - elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_model::Stage;

    #[allow(non_snake_case)]
    fn ModelSchedule(model: LoadModel) -> super::ModelSchedule {
        super::ModelSchedule {
            model,
            poisson: None,
        }
    }

    /// Poisson slots keep the same promise, and every slot due by `t` is
    /// one whose moment is before `t`.
    #[test]
    fn poisson_slots_due_are_the_slots_scheduled() {
        for (seed, model) in [
            (
                1,
                LoadModel::Rate {
                    rate: 700.0,
                    duration: Duration::from_millis(3100),
                    max_vus: 1,
                },
            ),
            (
                2,
                LoadModel::RampingRate {
                    start: 0.0,
                    stages: vec![Stage {
                        duration: Duration::from_secs(4),
                        target: 900.0,
                    }],
                    max_vus: 1,
                },
            ),
        ] {
            let schedule = super::ModelSchedule {
                model,
                poisson: Some(PoissonSlots::new(seed)),
            };
            let end = schedule.end().unwrap_or_default();
            let scheduled = (0..).map_while(|k| schedule.at(k)).count() as u64;
            assert_eq!(schedule.due(end), scheduled, "seed {seed}");
            for ms in (0..end.as_millis() as u64).step_by(97) {
                let t = Duration::from_millis(ms);
                let due = schedule.due(t);
                assert!(due == 0 || schedule.at(due - 1).is_some_and(|at| at < t));
                assert!(
                    schedule.at(due).is_none_or(|at| at >= t),
                    "seed {seed} at {ms} ms"
                );
            }
        }
    }

    /// Every slot counted due comes, and every slot that comes was counted:
    /// `due` at the end equals the slots `at` gives, so no slot is counted
    /// dropped that was never scheduled, and none scheduled is lost.
    #[test]
    fn slots_due_are_the_slots_scheduled() {
        let rate = |rate: f64, ms: u64| {
            ModelSchedule(LoadModel::Rate {
                rate,
                duration: Duration::from_millis(ms),
                max_vus: 1,
            })
        };
        let ramp = ModelSchedule(LoadModel::RampingRate {
            start: 0.0,
            stages: vec![Stage {
                duration: Duration::from_secs(1),
                target: 1e-10,
            }],
            max_vus: 1,
        });
        for (what, schedule, slots) in [
            // 25/s for 2.2 s integrates to 55.00000000000001, not 55.
            ("25/s for 2.2 s", rate(25.0, 2200), 55),
            ("45/s for 2.2 s", rate(45.0, 2200), 99),
            // A rate too low for a second slot still has its first, at 0.
            ("1e-10/s for 1 s", rate(1e-10, 1000), 1),
            ("1e-300/s for 1 s", rate(1e-300, 1000), 1),
            ("50/s for 1 s", rate(50.0, 1000), 50),
            ("a ramp to 1e-10/s", ramp, 1),
        ] {
            let end = schedule.end().unwrap_or_default();
            let scheduled = (0..).map_while(|k| schedule.at(k)).count() as u64;
            assert_eq!(scheduled, slots, "{what}: slots scheduled");
            assert_eq!(schedule.due(end), slots, "{what}: slots due by the end");
            assert_eq!(schedule.at(0), Some(Duration::ZERO), "{what}: first slot");
        }
    }
}
