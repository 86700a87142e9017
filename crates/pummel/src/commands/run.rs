//! `pummel run FILE`: a scenario file under its load model.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use pummel_core::run::{self, RunOptions};
use pummel_core::scenario::{self, Overrides};
use pummel_report::summary;

use crate::cli::RunArgs;
use crate::exit::{self, Failure};
use crate::output::progress::ProgressLine;

pub(super) fn run(args: RunArgs) -> Result<i32, Failure> {
    let options = super::validate::load_options(&args.env);
    let mut plan = scenario::load_with(&args.file, &options).map_err(|diagnostics| {
        eprintln!("{diagnostics}");
        Failure::usage("the scenario file has errors (see above)")
    })?;
    let overrides = Overrides {
        vus: args.vus,
        duration: args.duration,
        rate: args.rate,
        iterations: args.iterations,
    };
    plan.load
        .apply(&overrides)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?;
    let plan = Arc::new(plan);
    let run_options = RunOptions {
        threads: args.threads.unwrap_or_else(super::bench::default_threads),
        insecure: args.insecure,
    };

    let stop = super::stop_on_interrupt();
    let live = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let mut progress = ProgressLine::new(live, plan.load.duration());
    let outcome =
        run::run(plan, &run_options, &stop, |p| progress.update(p)).map_err(|e| match e {
            run::RunError::Resolve { .. } => Failure::usage(e.to_string()),
            _ => Failure::runtime(e.to_string()),
        })?;
    progress.clear();
    let result = &outcome.result;

    let mut stdout = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut stdout, result)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        write!(stdout, "{}", summary::render(result))
    };
    let _ = written.and_then(|()| stdout.flush());
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(result).expect("a result serialises");
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    }

    super::report::write_requested(result, &args.reports)?;

    if let Some(fatal) = outcome.fatal {
        return Err(Failure::runtime(fatal));
    }
    if !outcome.passed {
        return Ok(exit::THRESHOLDS_FAILED);
    }
    if stop.is_stopped() {
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit::SUCCESS)
}
