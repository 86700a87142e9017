//! `--out-stream FILE.jsonl`: each closed second of the run as one JSON
//! line, written as it happens, for any collector that tails a file (or a
//! named pipe). Each line is one `write`, so a reader never sees half of
//! one; the last line says the run ended and with which totals.
//!
//! A second is written once the next one has begun: the second the run
//! ends in is only known for what it is (how wide, how many) when the
//! result is made, and written from the result then. The result folds a
//! last sliver of a second into the second before it; when that second
//! was written already, the stream keeps the sliver as a line of its own,
//! as wide as it was.

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
    /// The latest second, written when a later one comes or from the result.
    held: Option<TimelinePoint>,
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
            held: None,
            requests: 0,
            errors: 0,
            failed: None,
        })
    }

    /// Takes the second `point`, and writes the one before it.
    pub fn second(&mut self, point: &TimelinePoint) {
        if point.t < self.next || self.held.as_ref().is_some_and(|h| point.t <= h.t) {
            return;
        }
        if let Some(before) = self.held.replace(point.clone()) {
            self.write_second(&before);
        }
    }

    /// Writes `point` unless a later one was already written.
    fn write_second(&mut self, point: &TimelinePoint) {
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
        let held = self.held.take();
        let written_live = self.next;
        for point in &result.timeline {
            self.write_second(point);
        }
        // The result folded this second into the one before, which was written live (without
        // it): the sliver it was, at its real width. Had the one before come from the result,
        // the sliver would be in it already.
        let folded_into_written = |h: &TimelinePoint| {
            h.t >= self.next
                && h.t
                    .checked_sub(1)
                    .is_some_and(|before| before < written_live)
        };
        if let Some(mut sliver) = held.filter(folded_into_written) {
            sliver.duration_s = (result.duration_s - f64::from(sliver.t)).clamp(0.0, 1.0);
            #[expect(clippy::cast_precision_loss, reason = "requests of one second")]
            let rate = sliver.requests as f64 / sliver.duration_s;
            sliver.rps = if rate.is_finite() { rate } else { 0.0 };
            self.write_second(&sliver);
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use pummel_result::result::RunFacts;
    use pummel_result::Stats;

    use super::*;

    fn point(t: u32, duration_s: f64, requests: u64) -> TimelinePoint {
        TimelinePoint {
            t,
            duration_s,
            requests,
            errors: 0,
            rps: requests as f64 / duration_s,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            bytes_received: 0,
            bytes_sent: 0,
            late: 0,
            dropped: 0,
            gauges: Default::default(),
        }
    }

    fn result(timeline: Vec<TimelinePoint>, secs: f64) -> RunResult {
        RunResult::new(RunFacts {
            kind: "bench",
            config: serde_json::json!({}),
            totals: &Stats::new(false),
            timeline,
            elapsed: Duration::from_secs_f64(secs),
            started_at: SystemTime::UNIX_EPOCH,
            rate: None,
            partial: false,
        })
    }

    /// The (t, duration_s, requests) of each second line.
    fn seconds(path: &Path) -> Vec<(u64, f64, u64)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v.get("end").is_none())
            .map(|v| {
                (
                    v["t"].as_u64().unwrap(),
                    v["duration_s"].as_f64().unwrap(),
                    v["requests"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_second_the_run_ends_in_is_written_as_the_result_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut stream = JsonLines::create(&path).unwrap();
        // Live, the last second looked whole; the run ended 0.2 s into it.
        for p in [point(0, 1.0, 2000), point(1, 1.0, 2000), point(2, 1.0, 400)] {
            stream.second(&p);
        }
        let ended = result(
            vec![point(0, 1.0, 2000), point(1, 1.0, 2000), point(2, 0.2, 400)],
            2.2,
        );
        stream.finish(&ended).unwrap();
        assert_eq!(
            seconds(&path),
            [(0, 1.0, 2000), (1, 1.0, 2000), (2, 0.2, 400)]
        );
    }

    #[test]
    fn a_sliver_the_result_folded_into_a_second_written_already_stays_its_own_width() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut stream = JsonLines::create(&path).unwrap();
        for p in [point(0, 1.0, 100), point(1, 1.0, 100), point(2, 1.0, 3)] {
            stream.second(&p);
        }
        let ended = result(vec![point(0, 1.0, 100), point(1, 1.05, 103)], 2.05);
        stream.finish(&ended).unwrap();
        let lines = seconds(&path);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!((lines[1].0, lines[1].2), (1, 100));
        assert_eq!((lines[2].0, lines[2].2), (2, 3));
        assert!((lines[2].1 - 0.05).abs() < 1e-9, "{lines:?}");
        // Every request once: the lines add up to the result.
        assert_eq!(lines.iter().map(|l| l.2).sum::<u64>(), 203);
    }

    #[test]
    fn a_sliver_folded_into_a_second_written_from_the_result_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut stream = JsonLines::create(&path).unwrap();
        // Live progress skipped second 1 (two seconds closed at once) and showed second 2.
        for p in [point(0, 1.0, 100), point(2, 1.0, 3)] {
            stream.second(&p);
        }
        let ended = result(vec![point(0, 1.0, 100), point(1, 1.05, 103)], 2.05);
        stream.finish(&ended).unwrap();
        let lines = seconds(&path);
        assert_eq!(lines.iter().map(|l| l.2).sum::<u64>(), 203, "{lines:?}");
        assert_eq!(lines.len(), 2, "{lines:?}");
    }
}
