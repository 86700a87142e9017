//! `pummel compare BASE.json NEW.json`: the key figures side by side,
//! changes beyond the noise band marked, and gates that exit 99 when tripped.

use pummel_report::compare::{self, CompareOptions};

use crate::cli::CompareArgs;
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn run(args: &CompareArgs) -> Result<i32, Failure> {
    let written: Vec<_> = [("--html", &args.html), ("--markdown", &args.markdown)]
        .into_iter()
        .filter_map(|(flag, path)| path.clone().map(|p| (flag, p)))
        .collect();
    destinations::check_distinct(
        &[
            ("the base result", &args.base),
            ("the new result", &args.new),
        ],
        &written,
    )?;
    let base = super::report::read(&args.base)?;
    let new = super::report::read(&args.new)?;
    let options = CompareOptions {
        noise_pct: args.noise,
        gates: args.fail_if.clone(),
        ..CompareOptions::default()
    };
    let comparison =
        compare::compare(&base, &new, &options).map_err(|e| Failure::usage(e.to_string()))?;
    let (base_label, new_label) = (label(&args.base), label(&args.new));

    destinations::print(&compare::render_text(
        &comparison,
        &base,
        &new,
        &base_label,
        &new_label,
    ))?;
    if let Some(path) = &args.html {
        let html =
            pummel_report::html::comparison(&comparison, &base, &new, &base_label, &new_label)
                .map_err(|e| Failure::runtime(e.to_string()))?;
        destinations::write_to(path, &html)?;
    }
    if let Some(path) = &args.markdown {
        let md = compare::render_markdown(&comparison, &base, &new, &base_label, &new_label);
        destinations::write_to(path, &md)?;
    }
    let tripped = comparison.tripped().count();
    if tripped > 0 {
        crate::output::stderr::say(format_args!(
            "pummel: {tripped} of {} gates tripped",
            comparison.gates.len()
        ));
        return Ok(exit::THRESHOLDS_FAILED);
    }
    Ok(exit::SUCCESS)
}

/// How tables name a result: its file name.
pub(super) fn label(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
