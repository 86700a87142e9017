//! `pummel report RESULT.json`: the reports of a result made later, through
//! the same writer as the ones made at the end of a run.

use std::path::Path;

use pummel_core::result::RunResult;

use crate::cli::ReportCmdArgs;
use crate::exit::{self, Failure};
use crate::output::destinations::{self, Destinations};

pub(super) fn run(args: &ReportCmdArgs) -> Result<i32, Failure> {
    destinations::check_distinct(
        &[("the result file", &args.result)],
        &destinations::report_paths(&args.reports),
    )?;
    let result = read(&args.result)?;
    let outputs = Destinations::for_reports(&args.reports)?;
    outputs.write(&result, Ok(exit::SUCCESS))
}

/// Reads a result file; a bad file is a usage error naming it.
pub(super) fn read(path: &Path) -> Result<RunResult, Failure> {
    pummel_report::read_result(path).map_err(|e| Failure::usage(e.to_string()))
}
