//! `pummel bench URL`.

use pummel_core::bench::{self, BenchPlan};

use crate::cli::BenchArgs;
use crate::exit::{self, Failure};
use crate::output::destinations::Destinations;
use crate::output::live::Live;
use crate::output::progress::ProgressLine;

pub(super) fn run(args: &BenchArgs) -> Result<i32, Failure> {
    let resolved = super::resolve::bench(args)?;
    if args.distributed.server.is_some() {
        super::remote::refuse_local_live(&args.live, &args.output)?;
        let plan = super::shipped::bench_spec(args)?;
        return super::remote::submit(&args.distributed, plan, resolved.outputs);
    }
    let targets = super::resolve::monitor_targets(&args.live.monitor, &[])?;
    let live = Live::start(Some(&args.live), &args.output, targets)?;
    let stop = super::stop_on_interrupt();
    execute(&resolved.plan, &stop, &resolved.outputs, live)
}

/// Runs a plan and writes its result where `outputs` say, with live
/// progress on a terminal and the `live` outputs fed once a second. Shared
/// with `pummel demo`.
pub(super) fn execute(
    plan: &BenchPlan,
    stop: &pummel_core::StopSignal,
    outputs: &Destinations,
    mut live: Live,
) -> Result<i32, Failure> {
    live.announce(&bench::layout(plan));
    let mut progress = ProgressLine::on_terminal(plan.duration);
    let outcome = bench::run(plan, stop, |p| {
        progress.update(&p);
        live.progress(&p);
    })
    .map_err(|e| match e {
        // A thread or runtime that cannot start is the machine's failure,
        // not the user's: the exit code follows the kind, as `run`'s does.
        bench::BenchError::Spawn(_) | bench::BenchError::Worker(_) => {
            Failure::runtime(e.to_string())
        }
        _ => Failure::usage(e.to_string()),
    })?;
    progress.clear();
    let mut result = bench::result(plan, &outcome);
    let lingering = live.end(&mut result);
    let verdict = if outcome.partial {
        exit::INTERRUPTED
    } else {
        exit::SUCCESS
    };
    let code = outputs.write(&result, Ok(verdict));
    lingering.wait(stop);
    code
}
