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
    live.announce(&run::layout(&plan));
    let stop = super::stop_on_interrupt();
    let dashboard = start_dashboard(args, &stop)?;
    let mut progress = ProgressLine::on_terminal(plan.duration());
    let outcome = run::run(plan, &options, &stop, |p| {
        progress.update(p);
        live.progress(p);
        if let Some(d) = &dashboard {
            d.point(p.last);
        }
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
    if let Some(d) = dashboard {
        let exit_code = match &code {
            Ok(c) => *c,
            Err(f) => f.code,
        };
        let state = match exit_code {
            exit::SUCCESS => "finished",
            exit::THRESHOLDS_FAILED => "failed",
            exit::INTERRUPTED => "stopped",
            _ => "error",
        };
        // Open pages are told the verdict before the process goes.
        d.end(state, exit_code, std::time::Duration::from_secs(5));
    }
    lingering.wait(&stop);
    code
}

/// `--dashboard`: the live page of this run, on a loopback address.
fn start_dashboard(
    args: &RunArgs,
    stop: &pummel_core::StopSignal,
) -> Result<Option<pummel_server::dashboard::Dashboard>, Failure> {
    let Some(addr) = args.dashboard else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&args.file).unwrap_or_default();
    let test = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let on_stop = stop.clone();
    let dashboard = pummel_server::dashboard::Dashboard::start(
        addr,
        &test,
        &text,
        Box::new(move || on_stop.stop()),
    )
    .map_err(|e| Failure::usage(e.to_string()))?;
    crate::output::stderr::say(format_args!(
        "pummel: dashboard at http://{}/",
        dashboard.addr()
    ));
    Ok(Some(dashboard))
}

/// `run FILE --server URL`: the scenario checked here (every problem named
/// before anything is sent), then shipped to the server's agents.
fn distributed(args: &RunArgs) -> Result<i32, Failure> {
    super::remote::refuse_local_live(&args.live, &args.output)?;
    let Resolved { outputs, plan } = resolve::run(args)?;
    if !plan.plan.monitor().is_empty() {
        crate::output::stderr::say(format_args!(
            "pummel: {}: `monitor:` is not run in a --server run (the agents send load, not scrapes); the result will hold no monitor series",
            args.file.display()
        ));
    }
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
