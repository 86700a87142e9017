//! One run's part on this agent, on a thread of its own: load the plan,
//! say ready, wait for the start, run the segment with the engine, send
//! each second as it closes, then the end. The global setup and teardown,
//! when this agent is given them, run the same way.

use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use pummel_core::http::ConnectFilter;
use pummel_core::run::{self, Captures};
use pummel_core::{bench, Measured, Segment, SegmentOptions, StopSignal, WorkerReport};
use pummel_server::policy::NetworkPolicy;
use pummel_server::wire::{FromAgent, PlanSpec, SegmentSpec, RUNNER_NAMES};
use tokio::sync::mpsc;

use crate::commands::shipped::{self, Loaded};

/// What the link tells a segment's thread.
pub(super) enum Command {
    Start(Instant),
}

/// A segment (or global steps) running on this agent.
pub(super) struct Running {
    pub(super) stop: StopSignal,
    /// Dropped (the sender side) to cancel a segment not yet started.
    pub(super) commands: Option<std_mpsc::Sender<Command>>,
}

/// Worker threads for a segment: one per core.
pub(super) fn threads() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// A plan as the server gave it, with the networks its owner may reach.
pub(super) type Given = (PlanSpec, Option<NetworkPolicy>);

/// The engine's connect filter for the owner's networks: every address a
/// connection would go to is checked against them, redirects and `hosts:`
/// included.
fn connect_filter(network: Option<&NetworkPolicy>) -> Option<ConnectFilter> {
    network
        .cloned()
        .map(|policy| ConnectFilter::new(move |ip| policy.check(ip).is_ok()))
}

/// Loads a shipped plan, with the owner's networks applied to it.
fn load(given: &Given, threads: u64) -> Result<(Loaded, Option<ConnectFilter>), String> {
    let filter = connect_filter(given.1.as_ref());
    let mut loaded = shipped::load(&given.0, Some(threads))?;
    if let Loaded::Bench(plan) = &mut loaded {
        plan.connect_filter.clone_from(&filter);
    }
    Ok((loaded, filter))
}

fn send(events: &mpsc::UnboundedSender<FromAgent>, message: FromAgent) {
    let _ = events.send(message);
}

/// Starts a segment's thread: it loads the plan and answers `ready` or
/// `plan_error`, then waits for [`Command::Start`].
pub(super) fn start_segment(
    run: String,
    segment: SegmentSpec,
    plan: Given,
    captures: BTreeMap<String, String>,
    allow_runners: bool,
    events: mpsc::UnboundedSender<FromAgent>,
) -> Running {
    let stop = StopSignal::new();
    let (tx, commands) = std_mpsc::channel();
    let thread_stop = stop.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("segment {run}"))
        .spawn(move || {
            let assignment = Assignment {
                run: &run,
                spec: segment,
                plan: &plan,
                captures: &captures,
                allow_runners,
            };
            segment_thread(assignment, &events, &commands, &thread_stop);
        });
    if let Err(e) = spawned {
        crate::output::stderr::say(format_args!("pummel agent: cannot start a thread: {e}"));
    }
    Running {
        stop,
        commands: Some(tx),
    }
}

/// What the server assigned this agent, and whether it may run it.
struct Assignment<'a> {
    run: &'a str,
    spec: SegmentSpec,
    plan: &'a Given,
    captures: &'a Captures,
    /// `--allow-runners`: runner journeys run here.
    allow_runners: bool,
}

fn segment_thread(
    assignment: Assignment<'_>,
    events: &mpsc::UnboundedSender<FromAgent>,
    commands: &std_mpsc::Receiver<Command>,
    stop: &StopSignal,
) {
    let Assignment {
        run,
        spec,
        plan,
        captures,
        allow_runners,
    } = assignment;
    let segment = match (spec.count > 0 && spec.index < spec.count)
        .then(|| Segment::new(spec.index, spec.count))
    {
        Some(segment) => segment,
        None => {
            let message = format!("segment {}/{} is not a segment", spec.index, spec.count);
            send(
                events,
                FromAgent::PlanError {
                    run: run.to_owned(),
                    message,
                },
            );
            return;
        }
    };
    let (loaded, filter) = match load(plan, threads()).and_then(|(loaded, filter)| {
        refuse_runner(&loaded, allow_runners)?;
        Ok((loaded, filter))
    }) {
        Ok(loaded) => loaded,
        Err(message) => {
            send(
                events,
                FromAgent::PlanError {
                    run: run.to_owned(),
                    message,
                },
            );
            return;
        }
    };
    send(
        events,
        FromAgent::Ready {
            run: run.to_owned(),
        },
    );
    // Wait for the start; a closed channel means the run was called off.
    let Ok(Command::Start(start_at)) = commands.recv() else {
        return;
    };
    let part = SegmentOptions {
        segment,
        start_at: Some(start_at),
    };
    let mut on_interval = |snapshot: pummel_result::IntervalSnapshot,
                           names: Option<&run::RunnerNames>| {
        if let Some(message) = snapshot_message(run, &snapshot, names) {
            send(events, message);
        }
    };
    let measured: Result<Measured, String> = match &loaded {
        Loaded::Scenario { plan, insecure, .. } => run::run_segment_named(
            plan.clone(),
            &shipped::run_options(*insecure, threads(), filter),
            &part,
            captures,
            stop,
            &mut on_interval,
            |_| {},
        )
        .map_err(|e| e.to_string()),
        Loaded::Bench(plan) => {
            let mut unnamed = |snapshot| on_interval(snapshot, None);
            let on_interval: &mut dyn FnMut(pummel_result::IntervalSnapshot) = &mut unnamed;
            bench::run_segment(plan, &part, stop, Some(on_interval), |_| {})
                .map_err(|e| e.to_string())
        }
    };
    let report = match measured {
        Ok(measured) => one_report(&measured.reports),
        Err(e) => WorkerReport {
            failures: Vec::new(),
            fatal: Some(e),
        },
    };
    send(
        events,
        FromAgent::Finished {
            run: run.to_owned(),
            report: serde_json::to_value(report).unwrap_or_default(),
        },
    );
}

/// One second of this segment, as the server reads it. A runner's names
/// ride with the figures they name: the server merges agents that met them
/// in different orders.
fn snapshot_message(
    run: &str,
    snapshot: &pummel_result::IntervalSnapshot,
    names: Option<&run::RunnerNames>,
) -> Option<FromAgent> {
    let mut value = serde_json::to_value(snapshot).ok()?;
    if let (Some(names), Some(fields)) = (names, value.as_object_mut()) {
        fields.insert(RUNNER_NAMES.to_owned(), serde_json::to_value(names).ok()?);
    }
    Some(FromAgent::Snapshot {
        run: run.to_owned(),
        second: u64::from(snapshot.index),
        snapshot: value,
    })
}

/// A runner journey runs code the client shipped, as the agent's user: only
/// on an agent started with `--allow-runners`.
fn refuse_runner(loaded: &Loaded, allow_runners: bool) -> Result<(), String> {
    match loaded {
        Loaded::Scenario { plan, .. } if !allow_runners => match plan.runner() {
            Some(runner) => Err(format!(
                "this agent does not run {} runner journeys: they run the client's code on its \
                 machine; start the agent with --allow-runners to let it",
                runner.kind().as_str()
            )),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The agent's workers' reports as one: every failure example (a few), the
/// first fatal error.
fn one_report(reports: &[WorkerReport]) -> WorkerReport {
    let mut one = WorkerReport::default();
    for r in reports {
        one.failures.extend(r.failures.iter().take(10).cloned());
        if one.fatal.is_none() {
            one.fatal.clone_from(&r.fatal);
        }
    }
    one
}

/// Runs the plan's global setup (`setup: true`) or teardown on a thread.
pub(super) fn start_global(
    run: String,
    plan: Given,
    captures: Option<Captures>,
    events: mpsc::UnboundedSender<FromAgent>,
) -> Running {
    let stop = StopSignal::new();
    let thread_stop = stop.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("global {run}"))
        .spawn(move || global_thread(&run, &plan, captures.as_ref(), &events, &thread_stop));
    if let Err(e) = spawned {
        crate::output::stderr::say(format_args!("pummel agent: cannot start a thread: {e}"));
    }
    Running {
        stop,
        commands: None,
    }
}

fn global_thread(
    run: &str,
    plan: &Given,
    teardown_captures: Option<&Captures>,
    events: &mpsc::UnboundedSender<FromAgent>,
    stop: &StopSignal,
) {
    let (loaded, filter) = match load(plan, 1) {
        Ok((loaded, filter)) => (Ok(loaded), filter),
        Err(e) => (Err(e), None),
    };
    let options = |insecure| shipped::run_options(insecure, 1, filter.clone());
    let run = run.to_owned();
    let message = match (loaded, teardown_captures) {
        // A plan that does not load here is the plan's problem, not the
        // setup's: the client hears it as such (exit 2), before any load.
        (Err(message), None) => FromAgent::PlanError { run, message },
        (Err(error), Some(_)) => FromAgent::TeardownDone {
            run,
            measured: serde_json::Value::Null,
            error: Some(error),
        },
        (Ok(Loaded::Bench(_)), None) => FromAgent::SetupDone {
            run,
            captures: BTreeMap::new(),
            measured: serde_json::Value::Null,
        },
        (Ok(Loaded::Bench(_)), Some(_)) => FromAgent::TeardownDone {
            run,
            measured: serde_json::Value::Null,
            error: None,
        },
        (Ok(Loaded::Scenario { plan, insecure, .. }), None) => {
            match run::global_setup(plan, &options(insecure), stop) {
                Ok(steps) => FromAgent::SetupDone {
                    run,
                    captures: steps.captures,
                    measured: serde_json::to_value(&steps.measured).unwrap_or_default(),
                },
                Err(e) => FromAgent::SetupFailed {
                    run,
                    message: e.to_string(),
                },
            }
        }
        (Ok(Loaded::Scenario { plan, insecure, .. }), Some(captures)) => {
            match run::global_teardown(plan, &options(insecure), captures, stop) {
                Ok(steps) => FromAgent::TeardownDone {
                    run,
                    measured: serde_json::to_value(&steps.measured).unwrap_or_default(),
                    error: None,
                },
                Err(e) => FromAgent::TeardownDone {
                    run,
                    measured: serde_json::Value::Null,
                    error: Some(e.to_string()),
                },
            }
        }
    };
    send(events, message);
}
