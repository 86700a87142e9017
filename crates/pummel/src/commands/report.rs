//! `pummel report RESULT.json`, and the reports `run` and `bench` write at
//! the end of a run (`--report`, `--junit`, `--csv`, `--markdown`): both go
//! through [`write_requested`], so a report made later from the result file
//! is the same as the one made at the end of the run.

use std::path::Path;

use pummel_core::result::RunResult;
use pummel_report::{summary, ReportOptions};

use crate::cli::{ReportArgs, ReportCmdArgs};
use crate::exit::{self, Failure};

pub(crate) fn run(args: ReportCmdArgs) -> Result<i32, Failure> {
    let result = read(&args.result)?;
    if !requested(&args.reports) {
        // Nothing asked for: show the run as it ended.
        print!("{}", summary::render(&result));
    }
    write_requested(&result, &args.reports)?;
    Ok(exit::SUCCESS)
}

/// Reads a result file; a bad file is a usage error naming it.
pub(crate) fn read(path: &Path) -> Result<RunResult, Failure> {
    pummel_report::read_result(path).map_err(|e| Failure::usage(e.to_string()))
}

fn requested(args: &ReportArgs) -> bool {
    args.html.is_some() || args.junit.is_some() || args.csv.is_some() || args.markdown.is_some()
}

/// Writes every report `args` asks for. A report that cannot be written
/// does not stop the others; the first failure is returned after all were
/// tried (so a build without HTML support still writes the JUnit file).
pub(crate) fn write_requested(result: &RunResult, args: &ReportArgs) -> Result<(), Failure> {
    let options = ReportOptions {
        apdex_t_ms: args.apdex_t.as_secs_f64() * 1000.0,
    };
    let mut outcomes = Vec::new();
    if let Some(path) = &args.junit {
        outcomes.push(write(path, &pummel_report::junit::junit(result, &options)));
    }
    if let Some(dir) = &args.csv {
        outcomes.push(
            pummel_report::csv::write_dir(dir, result, &options).map_err(|e| {
                Failure::runtime(format!(
                    "cannot write CSV files into {}: {e}",
                    dir.display()
                ))
            }),
        );
    }
    if let Some(path) = &args.markdown {
        outcomes.push(write(
            path,
            &pummel_report::markdown::markdown(result, &options),
        ));
    }
    if let Some(path) = &args.html {
        outcomes.push(
            pummel_report::html::report(result, &options)
                .map_err(|e| Failure::runtime(e.to_string()))
                .and_then(|html| write(path, &html)),
        );
    }
    outcomes
        .into_iter()
        .collect::<Result<Vec<()>, Failure>>()
        .map(|_| ())
}

/// Writes a report file; `-` writes it on stdout.
pub(crate) fn write(path: &Path, text: &str) -> Result<(), Failure> {
    if path == Path::new("-") {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        return Ok(());
    }
    std::fs::write(path, text)
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))
}
