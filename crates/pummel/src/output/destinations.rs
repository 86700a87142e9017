//! Where a result goes — stdout, the `--out` JSON file, the reports —
//! checked before the first request and written after the last.
//!
//! A measured run cannot be had again for free (the minutes, the target's
//! state, the time of day are gone), so a run must not be measured only to be
//! lost: every output path is tried before any load, and a path that cannot
//! be written is a usage error then (exit 2). A write can still fail at the
//! end (a disk that filled up, `/dev/full`); then the JSON result is saved in
//! the working directory or the temporary directory, its path printed, and
//! the run exits 1, or with its own verdict when that is a failure already
//! (a threshold's 99 outranks the 1).
//!
//! `bench`, `run`, `demo` and `report` all write through [`Destinations`], so
//! a report made later from the result file is the same as the one made at
//! the end of the run.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use pummel_core::result::RunResult;
use pummel_report::ReportOptions;

use crate::cli::{Out, OutputArgs, ReportArgs};
use crate::exit::{self, Failure};
use pummel_report::summary;

/// The path that means stdout.
const STDOUT: &str = "-";

/// The file names `--csv DIR` writes.
const CSV_FILES: [&str; 2] = ["timeline.csv", "steps.csv"];

/// Every output of one command, checked: each path can be written, and no two
/// outputs go to the same place.
#[derive(Debug)]
pub(crate) struct Destinations {
    stdout: Stdout,
    /// `--out FILE` (not `-`, which is [`Stdout::Json`]).
    json_file: Option<PathBuf>,
    reports: ReportArgs,
    /// Whether a result that could not be written is saved elsewhere. Not for
    /// `pummel report`, whose result is already a file.
    rescue: bool,
}

/// What stdout gets: one thing at most, so that it can be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdout {
    Summary,
    Json,
    /// A report named `-` has it.
    Report,
    Nothing,
}

impl Destinations {
    /// The outputs of a command that measured a result (`bench`, `run`,
    /// `demo`): the text summary on stdout unless something else takes it.
    pub(crate) fn for_result(args: &OutputArgs) -> Result<Destinations, Failure> {
        let files = args
            .outs
            .iter()
            .filter(|o| matches!(o, Out::File(_)))
            .count();
        if files > 1 {
            return Err(Failure::usage(
                "--out names more than one result file: give one FILE.json (and any number of prometheus-rw=URL)",
            ));
        }
        let json_on_stdout = args.json || args.out() == Some(Path::new(STDOUT));
        let mut claims = Claims::default();
        if json_on_stdout {
            let flag = if args.json { "--json" } else { "--out" };
            claims.add(flag, Path::new(STDOUT), Place::Stdout)?;
        }
        let json_file = match args.out() {
            Some(path) if path != Path::new(STDOUT) => {
                claims.add("--out", path, check_file("--out", path)?)?;
                Some(path.to_owned())
            }
            _ => None,
        };
        let report_on_stdout = check_reports(&args.reports, &mut claims)?;
        let stdout = if json_on_stdout {
            Stdout::Json
        } else if report_on_stdout {
            Stdout::Report
        } else {
            Stdout::Summary
        };
        Ok(Destinations {
            stdout,
            json_file,
            reports: args.reports.clone(),
            rescue: true,
        })
    }

    /// The outputs of `pummel report`: the reports asked for, or the text
    /// summary when none is.
    pub(crate) fn for_reports(args: &ReportArgs) -> Result<Destinations, Failure> {
        let mut claims = Claims::default();
        check_reports(args, &mut claims)?;
        let requested = [&args.html, &args.junit, &args.csv, &args.markdown]
            .iter()
            .any(|p| p.is_some());
        Ok(Destinations {
            stdout: if requested {
                Stdout::Nothing
            } else {
                Stdout::Summary
            },
            json_file: None,
            reports: args.clone(),
            rescue: false,
        })
    }

    /// Whether stdout gets the text summary (and so may get other text
    /// for a person before it).
    pub(crate) fn has_summary(&self) -> bool {
        self.stdout == Stdout::Summary
    }

    /// Writes `result` everywhere asked. `verdict` is how the run ended (an
    /// exit code, or a failure of the run itself); the code returned is the
    /// verdict's, except that a failed write turns a success into a run-time
    /// failure. Every output is tried even when one fails, and each failure
    /// is printed on stderr.
    pub(crate) fn write(
        &self,
        result: &RunResult,
        verdict: Result<i32, Failure>,
    ) -> Result<i32, Failure> {
        let json = serde_json::to_string_pretty(result)
            .map(|text| text + "\n")
            .map_err(|e| format!("cannot serialise the result: {e}"));
        let mut failures = Vec::new();
        let mut json_kept = false;
        let to_stdout = match self.stdout {
            Stdout::Summary => Some(Ok(summary::render(result))),
            Stdout::Json => Some(json.clone()),
            Stdout::Report | Stdout::Nothing => None,
        };
        if let Some(text) = to_stdout {
            // The JSON result into a pipe whose reader is gone reached
            // nobody: a failure like any other, so that it is saved.
            let written = if self.stdout == Stdout::Json {
                text.and_then(|text| {
                    write_stdout(&text)
                        .map_err(|e| format!("cannot write the result to stdout: {e}"))
                })
            } else {
                text.and_then(|text| print(&text).map_err(|e| e.message))
            };
            match written {
                Ok(()) => json_kept |= self.stdout == Stdout::Json,
                Err(message) => failures.push(message),
            }
        }
        if let Some(path) = &self.json_file {
            match json
                .as_deref()
                .map_err(Clone::clone)
                .and_then(|text| write_file(path, text).map_err(|e| e.message))
            {
                Ok(()) => json_kept = true,
                Err(message) => failures.push(message),
            }
        }
        failures.extend(write_reports(result, &self.reports));
        if failures.is_empty() {
            return verdict;
        }
        for message in &failures {
            super::stderr::say(format_args!("pummel: {message}"));
        }
        if self.rescue && !json_kept {
            match json.as_deref() {
                Ok(text) => rescue(text),
                // Not said twice when a JSON output already failed on it.
                Err(message) if !failures.contains(message) => {
                    super::stderr::say(format_args!("pummel: {message}"))
                }
                Err(_) => {}
            }
        }
        match verdict {
            Ok(exit::SUCCESS) => Ok(exit::RUNTIME_FAILURE),
            other => other,
        }
    }
}

/// Checks the reports' paths; returns whether one of them is stdout.
fn check_reports(args: &ReportArgs, claims: &mut Claims) -> Result<bool, Failure> {
    let mut on_stdout = false;
    for (flag, path) in [
        ("--report", &args.html),
        ("--junit", &args.junit),
        ("--markdown", &args.markdown),
    ] {
        let Some(path) = path else { continue };
        if path == Path::new(STDOUT) {
            claims.add(flag, path, Place::Stdout)?;
            on_stdout = true;
        } else {
            claims.add(flag, path, check_file(flag, path)?)?;
        }
    }
    if let Some(dir) = &args.csv {
        let exists = check_dir("--csv", dir)?;
        for name in CSV_FILES {
            let file = dir.join(name);
            let place = if exists {
                check_file("--csv", &file)?
            } else {
                Place::File(absolute(&file))
            };
            claims.add("--csv", &file, place)?;
        }
    }
    Ok(on_stdout)
}

/// The file paths the reports of `args` write, with their flags.
pub(crate) fn report_paths(args: &ReportArgs) -> Vec<(&'static str, PathBuf)> {
    let mut out: Vec<(&'static str, PathBuf)> = [
        ("--report", &args.html),
        ("--junit", &args.junit),
        ("--markdown", &args.markdown),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.clone().map(|p| (flag, p)))
    .collect();
    if let Some(dir) = &args.csv {
        out.extend(CSV_FILES.iter().map(|name| ("--csv", dir.join(name))));
    }
    out
}

/// Refuses an output that is one of the command's input files, or another
/// output: writing it would destroy the result being reported, the scenario
/// being run, or what was written first (`pummel report r.json --markdown
/// r.json` replaced the result with its own summary).
pub(crate) fn check_distinct(
    inputs: &[(&str, &Path)],
    outputs: &[(&'static str, PathBuf)],
) -> Result<(), Failure> {
    let mut claims = Claims::default();
    for (flag, path) in outputs {
        if path == Path::new(STDOUT) {
            continue;
        }
        let place = Place::File(absolute(path));
        if let Some((what, input)) = inputs
            .iter()
            .find(|(_, input)| Place::File(absolute(input)) == place)
        {
            return Err(Failure::usage(format!(
                "{flag} {} is {what} {}: writing it would destroy what is read; give the output its own path",
                path.display(),
                input.display()
            )));
        }
        claims.add(flag, path, place)?;
    }
    Ok(())
}

/// Where an output goes, for telling whether two outputs collide.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Stdout,
    /// The file's absolute path, symbolic links resolved where it exists.
    File(PathBuf),
}

/// The outputs seen so far.
#[derive(Default)]
struct Claims(Vec<(&'static str, PathBuf, Place)>);

impl Claims {
    /// Adds an output; two outputs into one place are refused (the second
    /// would overwrite the first, or the two would interleave on stdout).
    fn add(&mut self, flag: &'static str, path: &Path, place: Place) -> Result<(), Failure> {
        if let Some((other, other_path, _)) = self.0.iter().find(|(_, _, p)| *p == place) {
            return Err(Failure::usage(format!(
                "{other} {} and {flag} {} are the same output; give each its own",
                other_path.display(),
                path.display()
            )));
        }
        self.0.push((flag, path.to_owned(), place));
        Ok(())
    }
}

/// Checks that `path` can be written as a file, without changing it: an
/// existing file is opened for appending, a new one created and removed again.
fn check_file(flag: &str, path: &Path) -> Result<Place, Failure> {
    let refuse =
        |why: String| Failure::usage(format!("cannot write {flag} {}: {why}", path.display()));
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(refuse("it is a directory".into())),
        // A device or a FIFO is where the user chose to send it; opening a
        // FIFO would wait for its reader, before the run.
        Ok(meta) if !meta.is_file() => {}
        Ok(_) => {
            OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| refuse(e.to_string()))?;
        }
        Err(_) => {
            let parent = parent_of(path);
            match std::fs::metadata(&parent) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(refuse(format!("{} is not a directory", parent.display()))),
                Err(e) => return Err(refuse(format!("{}: {e}", parent.display()))),
            }
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| refuse(e.to_string()))?;
            // Only the check made it; the run writes it (or not) at the end.
            std::fs::remove_file(path).map_err(|e| refuse(e.to_string()))?;
        }
    }
    Ok(Place::File(absolute(path)))
}

/// Checks that `dir` is a directory, or can be made one: the CSV writer
/// creates it, so it is not created here, before the run; its nearest
/// existing ancestor must be a directory that takes new entries. Returns
/// whether `dir` exists.
fn check_dir(flag: &str, dir: &Path) -> Result<bool, Failure> {
    let refuse =
        |why: String| Failure::usage(format!("cannot write {flag} {}: {why}", dir.display()));
    let existing = dir
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find_map(|a| std::fs::metadata(a).ok().map(|meta| (a, meta)));
    let Some((found, meta)) = existing else {
        return Err(refuse("no part of the path exists".into()));
    };
    if !meta.is_dir() {
        return Err(refuse(format!("{} is not a directory", found.display())));
    }
    if found == dir {
        return Ok(true);
    }
    let probe = found.join(format!(".pummel-write-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| refuse(format!("cannot create it in {}: {e}", found.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(false)
}

/// The directory a file goes into (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `path` made absolute, its longest existing part with symbolic links
/// resolved, so that two spellings of one file compare equal.
fn absolute(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(real) = existing.canonicalize() {
            return missing.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(Component::Normal(name))) => {
                missing.push(name.to_owned());
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            // Nothing of it exists (or it ends in `..`): compare as given.
            _ => return std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
        }
    }
}

/// Writes every report asked for; returns the failures.
fn write_reports(result: &RunResult, args: &ReportArgs) -> Vec<String> {
    let options = ReportOptions {
        apdex_t_ms: args.apdex_t.as_secs_f64() * 1000.0,
    };
    let mut failures = Vec::new();
    let mut keep = |outcome: Result<(), Failure>| {
        if let Err(f) = outcome {
            failures.push(f.message);
        }
    };
    if let Some(path) = &args.junit {
        keep(write_to(
            path,
            &pummel_report::junit::junit(result, &options),
        ));
    }
    if let Some(dir) = &args.csv {
        keep(
            pummel_report::csv::write_dir(dir, result, &options).map_err(|e| {
                Failure::runtime(format!(
                    "cannot write CSV files into {}: {e}",
                    dir.display()
                ))
            }),
        );
    }
    if let Some(path) = &args.markdown {
        keep(write_to(
            path,
            &pummel_report::markdown::markdown(result, &options),
        ));
    }
    if let Some(path) = &args.html {
        keep(
            pummel_report::html::report(result, &options)
                .map_err(|e| Failure::runtime(e.to_string()))
                .and_then(|html| write_to(path, &html)),
        );
    }
    failures
}

/// Writes an output file; `-` writes it on stdout.
pub(crate) fn write_to(path: &Path, text: &str) -> Result<(), Failure> {
    if path == Path::new(STDOUT) {
        print(text)
    } else {
        write_file(path, text)
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    let failed = |e: io::Error| Failure::runtime(format!("cannot write {}: {e}", path.display()));
    // Held open until the file is written, so a reader of a FIFO does not
    // see its end between the two opens.
    let _reader_present = reader_present(path).map_err(failed)?;
    std::fs::write(path, text).map_err(failed)
}

/// For a FIFO, checks that something reads it: opening it for writing would
/// otherwise wait for a reader for ever, after the run, when a first Ctrl-C
/// or SIGTERM has no run left to stop. Returns the open (non-blocking) end
/// to hold while the file is written.
#[cfg(unix)]
fn reader_present(path: &Path) -> io::Result<Option<std::fs::File>> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    if !std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
        return Ok(None);
    }
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map(Some)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                io::Error::other("it is a FIFO nobody reads")
            } else {
                e
            }
        })
}

#[cfg(not(unix))]
fn reader_present(_path: &Path) -> io::Result<Option<std::fs::File>> {
    Ok(None)
}

/// Prints on stdout. A reader that stopped reading (`| head`) is not a
/// failure; any other error is (`> /dev/full` must not pass as success).
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    match write_stdout(text) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::runtime(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn write_stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

/// Saves a result that could not be written where asked: in the working
/// directory, else in the temporary directory. Prints where it went.
fn rescue(json: &str) {
    let name = format!(
        "pummel-result-{}-{}.json",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        std::process::id()
    );
    let places = [std::env::current_dir().ok(), Some(std::env::temp_dir())];
    for dir in places.into_iter().flatten() {
        let path = dir.join(&name);
        let Ok(mut file) = OpenOptions::new().write(true).create_new(true).open(&path) else {
            continue;
        };
        if file.write_all(json.as_bytes()).is_ok() {
            super::stderr::say(format_args!(
                "pummel: the result is saved in {} (`pummel report` makes reports from it)",
                path.display()
            ));
            return;
        }
        // A partly written file would pass for a result: remove it.
        drop(file);
        let _ = std::fs::remove_file(&path);
    }
    super::stderr::say(format_args!(
        "pummel: the result could not be saved anywhere; it is lost"
    ));
}
