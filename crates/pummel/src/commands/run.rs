//! `pummel run FILE`: a scenario file under its load model.

use pummel_core::run;

use crate::cli::RunArgs;
use crate::exit::{self, Failure};
use crate::output::live::Live;
use crate::output::progress::ProgressLine;

use super::resolve::{self, Resolved, RunPlan};

pub(super) fn run(args: &RunArgs) -> Result<i32, Failure> {
    if args.distributed.server.is_some() {
        return distributed(args);
    }
    let Resolved {
        plan: RunPlan { plan, options },
        outputs,
    } = resolve::run(args)?;
    let targets = resolve::monitor_targets(&args.live.monitor, plan.monitor())?;
    let mut live = Live::start(Some(&args.live), &args.output, targets)?;
    let stop = super::stop_on_interrupt();
    let mut progress = ProgressLine::on_terminal(plan.duration());
    let outcome = run::run(plan, &options, &stop, |p| {
        progress.update(p);
        live.progress(p);
    })
    .map_err(|e| match e {
        run::RunError::Resolve { .. } => Failure::usage(e.to_string()),
        _ => Failure::runtime(e.to_string()),
    })?;
    progress.clear();
    let mut result = outcome.result;
    let lingering = live.end(&mut result);
    let verdict = if let Some(fatal) = outcome.fatal {
        Err(Failure::runtime(fatal))
    } else if !outcome.passed || (args.once && once_failed(&result)) {
        Ok(exit::THRESHOLDS_FAILED)
    } else if stop.is_stopped() {
        Ok(exit::INTERRUPTED)
    } else {
        Ok(exit::SUCCESS)
    };
    let code = outputs.write(&result, verdict);
    lingering.wait(&stop);
    code
}

/// `run FILE --server URL`: the scenario checked here (every problem named
/// before anything is sent), then shipped to the server's agents.
fn distributed(args: &RunArgs) -> Result<i32, Failure> {
    let Resolved { outputs, plan } = resolve::run(args)?;
    let options = super::validate::load_options(&args.env);
    let plan = super::shipped::scenario_spec(args, &options, &plan.plan)?;
    super::remote::submit(&args.distributed, plan, outputs)
}

/// Whether a `--once` run had a failed check, a failed request or an
/// iteration that stopped: what writing a file needs to know.
fn once_failed(result: &pummel_core::result::RunResult) -> bool {
    result.checks.as_ref().is_some_and(|c| c.failed > 0)
        || result.aborted > 0
        || !result.errors.is_empty()
}
