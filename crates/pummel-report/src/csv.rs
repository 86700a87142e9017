//! CSV for spreadsheets and plotting scripts: `timeline.csv` (one row per
//! second) and `steps.csv` (one row for the run, then one per step).
//!
//! Columns carry their unit in their name as the JSON does (`_ms`, `_s`);
//! numbers keep every digit; a bench's `steps.csv` has the run row only.
//! `steps.csv` starts with a `scope` column (`run` or `step`) so that a
//! script summing the steps does not count the run row twice.

use std::collections::BTreeSet;
use std::path::Path;

use ::csv::Writer;
use pummel_result::result::RunResult;

use crate::figures::{Figures, Scope};
use crate::ReportOptions;

const TIMELINE_COLUMNS: [&str; 13] = [
    "t",
    "duration_s",
    "requests",
    "errors",
    "rps",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "bytes_received",
    "bytes_sent",
    "late",
    "dropped",
];

/// `timeline.csv`: the timeline, one row per second; gauges (`vus`,
/// `sockets` …) as extra columns, empty where a second has no value.
pub fn timeline(r: &RunResult) -> String {
    let gauges: BTreeSet<&str> = r
        .timeline
        .iter()
        .flat_map(|p| p.gauges.keys().map(String::as_str))
        .collect();
    let mut w = Writer::from_writer(Vec::new());
    let header = TIMELINE_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(gauges.iter().map(|g| {
            if TIMELINE_COLUMNS.contains(g) {
                format!("gauge_{g}")
            } else {
                g.to_string()
            }
        }));
    let _ = w.write_record(header.collect::<Vec<_>>());
    for p in &r.timeline {
        let mut row = vec![
            p.t.to_string(),
            p.duration_s.to_string(),
            p.requests.to_string(),
            p.errors.to_string(),
            p.rps.to_string(),
            p.p50_ms.to_string(),
            p.p90_ms.to_string(),
            p.p99_ms.to_string(),
            p.max_ms.to_string(),
            p.bytes_received.to_string(),
            p.bytes_sent.to_string(),
            p.late.to_string(),
            p.dropped.to_string(),
        ];
        row.extend(
            gauges
                .iter()
                .map(|g| p.gauges.get(*g).map(u64::to_string).unwrap_or_default()),
        );
        let _ = w.write_record(row);
    }
    into_string(w)
}

/// `steps.csv`: the run's figures, then each step's.
pub fn steps(r: &RunResult, options: &ReportOptions) -> String {
    let mut w = Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "scope",
        "scenario",
        "step",
        "requests",
        "responses",
        "errors",
        "error_statuses",
        "error_rate",
        "rps",
        "min_ms",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "apdex",
        "bytes_received",
        "bytes_sent",
        "checks_passed",
        "checks_failed",
        "retries",
    ]);
    let figures = Figures::all(r, options.apdex_t_ms);
    for f in &figures {
        let (scope, scenario, step, bytes, checks, retries) = match &f.scope {
            Scope::Run => {
                let checks = r.checks.map(|c| (c.passed, c.failed)).unwrap_or_default();
                let bytes = (r.bytes_received, r.bytes_sent);
                ("run", "", "", bytes, checks, r.retries)
            }
            Scope::Step { scenario, name, .. } => {
                let s = r
                    .steps
                    .iter()
                    .find(|s| &s.name == name && &s.scenario == scenario);
                let bytes = s
                    .map(|s| (s.bytes_received, s.bytes_sent))
                    .unwrap_or_default();
                let checks = s
                    .map(|s| {
                        s.checks
                            .iter()
                            .fold((0, 0), |(p, q), c| (p + c.passed, q + c.failed))
                    })
                    .unwrap_or_default();
                (
                    "step",
                    scenario.as_deref().unwrap_or(""),
                    name.as_str(),
                    bytes,
                    checks,
                    s.and_then(|s| s.retries),
                )
            }
        };
        let l = &f.latency;
        let _ = w.write_record([
            scope.to_owned(),
            scenario.to_owned(),
            step.to_owned(),
            f.requests.to_string(),
            f.responses.to_string(),
            f.errors.to_string(),
            f.error_statuses.to_string(),
            f.error_rate().to_string(),
            f.rps.to_string(),
            l.min.to_string(),
            l.mean.to_string(),
            l.p50.to_string(),
            l.p90.to_string(),
            l.p95.to_string(),
            l.p99.to_string(),
            l.p999.to_string(),
            l.max.to_string(),
            f.apdex_score()
                .map(|s| format!("{s:.4}"))
                .unwrap_or_default(),
            bytes.0.to_string(),
            bytes.1.to_string(),
            checks.0.to_string(),
            checks.1.to_string(),
            // Empty where nothing could retry (no `retry:`), 0 where nothing did.
            retries.map(|n| n.to_string()).unwrap_or_default(),
        ]);
    }
    into_string(w)
}

/// Writes `timeline.csv` and `steps.csv` into `dir`, creating it if needed.
pub fn write_dir(dir: &Path, r: &RunResult, options: &ReportOptions) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("timeline.csv"), timeline(r))?;
    std::fs::write(dir.join("steps.csv"), steps(r, options))
}

fn into_string(w: Writer<Vec<u8>>) -> String {
    // Writing into a Vec cannot fail, and every field is a String (UTF-8).
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn timeline_has_a_row_per_second_and_gauge_columns() {
        let text = timeline(&testdata::scenario_run());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 5);
        assert!(lines[0].starts_with("t,duration_s,requests,errors,rps,p50_ms"));
        assert!(
            lines[0].ends_with(",late,dropped,sockets,vus"),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with("0,1,250,0,250,2,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",0,0,3,5"), "{}", lines[1]);
        let bench = timeline(&testdata::bench());
        assert!(bench.lines().next().unwrap().ends_with("late,dropped"));
    }

    #[test]
    fn steps_has_the_run_then_each_step_quoted_where_needed() {
        let text = steps(&testdata::scenario_run(), &ReportOptions::default());
        let mut rd = ::csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<::csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(&rows[0][0], "run");
        assert_eq!(&rows[0][3], "1002");
        assert_eq!(&rows[0][20], "950");
        assert_eq!((&rows[2][1], &rows[2][2]), ("browse", "slow <1>"));
        assert_eq!(&rows[3][6], "50");
        assert!(rows[3][7].parse::<f64>().unwrap() > 0.9);
        assert!(!rows[1][17].is_empty(), "apdex");
    }

    #[test]
    fn writes_both_files_even_for_an_empty_result() {
        let dir = std::env::temp_dir().join(format!("pummel-csv-{}", std::process::id()));
        write_dir(&dir, &testdata::minimal(), &ReportOptions::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("timeline.csv"))
                .unwrap()
                .lines()
                .count(),
            1
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("steps.csv"))
                .unwrap()
                .lines()
                .count(),
            2
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
