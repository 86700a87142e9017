//! `--out-stream FILE.jsonl`: each closed second of the run as one JSON
//! line, written as it happens, for any collector that tails a file (or a
//! named pipe). Each line is one `write`, so a reader never sees half of
//! one; the last line says the run ended and with which totals. The
//! result folds a last sliver of a second into the second before it; the
//! stream, written as it happened, keeps that sliver as a line of its own.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use pummel_result::{RunResult, TimelinePoint};
use serde::Serialize;

/// One second, as a line: the timeline point the result will hold, plus
/// the run's totals so far.
#[derive(Serialize)]
struct SecondLine<'a> {
    #[serde(flatten)]
    point: &'a TimelinePoint,
    /// Requests finished since the start, this second included.
    requests_total: u64,
    errors_total: u64,
}

/// The closing line.
#[derive(Serialize)]
struct EndLine<'a> {
    end: bool,
    requests_total: u64,
    errors_total: u64,
    duration_s: f64,
    partial: bool,
    verdict: Option<&'a str>,
}

/// An open stream file.
#[derive(Debug)]
pub struct JsonLines {
    path: PathBuf,
    file: File,
    /// Seconds already written (the next `t` to write).
    next: u32,
    requests: u64,
    errors: u64,
    /// The first write error; later lines are not attempted.
    failed: Option<String>,
}

impl JsonLines {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> std::io::Result<JsonLines> {
        Ok(JsonLines {
            path: path.to_owned(),
            file: File::create(path)?,
            next: 0,
            requests: 0,
            errors: 0,
            failed: None,
        })
    }

    /// Writes `point` unless a later one was already written.
    pub fn second(&mut self, point: &TimelinePoint) {
        if point.t < self.next || self.failed.is_some() {
            return;
        }
        self.requests += point.requests;
        self.errors += point.errors;
        let line = SecondLine {
            point,
            requests_total: self.requests,
            errors_total: self.errors,
        };
        self.write(&line);
        self.next = point.t + 1;
    }

    /// Writes the seconds of `result`'s timeline not yet written (the last
    /// ones close only as the run ends), then the closing line. Returns the
    /// first write error, if any.
    pub fn finish(mut self, result: &RunResult) -> Result<(), String> {
        for point in &result.timeline {
            self.second(point);
        }
        let end = EndLine {
            end: true,
            requests_total: result.requests,
            errors_total: result.error_count(),
            duration_s: result.duration_s,
            partial: result.partial,
            verdict: result.verdict.as_deref(),
        };
        self.write(&end);
        match self.failed {
            Some(e) => Err(format!("cannot write {}: {e}", self.path.display())),
            None => Ok(()),
        }
    }

    fn write(&mut self, value: &impl Serialize) {
        let mut line = match serde_json::to_vec(value) {
            Ok(line) => line,
            Err(e) => {
                self.failed = Some(e.to_string());
                return;
            }
        };
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line).and_then(|()| self.file.flush()) {
            self.failed = Some(e.to_string());
        }
    }
}
