//! `pummel validate FILE…`: every problem of a scenario file, no network.

use pummel_core::scenario::{self, LoadOptions};

use crate::cli::ValidateArgs;
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn run(args: &ValidateArgs) -> Result<i32, Failure> {
    let options = load_options(&args.env);
    let mut failed = false;
    for file in &args.files {
        match scenario::load_with(file, &options) {
            Ok(plan) => destinations::print(&format!(
                "{}: ok ({} scenario{}, {} step{})\n",
                file.display(),
                plan.scenario_count(),
                if plan.scenario_count() == 1 { "" } else { "s" },
                plan.step_count(),
                if plan.step_count() == 1 { "" } else { "s" },
            ))?,
            Err(diagnostics) => {
                failed = true;
                crate::output::stderr::say(format_args!("{diagnostics}"));
            }
        }
    }
    if failed {
        Err(Failure {
            code: exit::USAGE,
            message: "the scenario file has errors (see above)".into(),
        })
    } else {
        Ok(exit::SUCCESS)
    }
}

/// The environment templates see: the process's, with `--env` on top.
pub(super) fn load_options(pairs: &[(String, String)]) -> LoadOptions {
    pairs
        .iter()
        .fold(LoadOptions::from_process_env(), |o, (k, v)| {
            o.with_env(k.clone(), v.clone())
        })
}
