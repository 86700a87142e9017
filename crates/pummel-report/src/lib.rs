//! pummel's reports, all made from a JSON result alone (`RunResult`, schema 1).
//!
//! A result file is the whole truth of a run — its totals, timeline, steps,
//! checks, thresholds and the exact latency histograms — so a report can be
//! made at the end of the run, later on another machine, or from results of
//! different days put side by side. Nothing here runs load or reads anything
//! but result files.
//!
//! - [`html`]: a self-contained HTML page (uPlot and the data inline, no
//!   network) for one result, a comparison of two, or a trend over many;
//! - [`junit`], [`csv`], [`markdown`]: the formats CI systems and pull-request
//!   comments read;
//! - [`compare`] and [`trend`]: the numbers behind comparisons (noise band,
//!   regression gates) and trends, with their text tables;
//! - [`figures`], [`apdex`], [`distribution`], [`capacity`]: the figures every
//!   format shows (key figures, Apdex, latency distribution, saturation),
//!   computed one way for all of them; [`thresholds`] and [`failures`]: how
//!   threshold outcomes and failure examples read;
//! - [`summary`]: the text summary a run prints at its end;
//! - [`result_file`]: reading a result file, with errors that name it;
//!   [`format`] and [`markup`]: how numbers look, and escaping.
//!
//! **API boundary:** functions take a `&RunResult` (and options) and return
//! a `String`, except [`csv::write_dir`], which writes its two files. None
//! panics on any result, including a bench (no steps, no thresholds) and a
//! result with optional parts missing or a histogram that does not decode.

pub mod apdex;
pub mod capacity;
pub mod compare;
pub mod csv;
pub mod distribution;
pub mod failures;
pub mod figures;
pub mod format;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod markup;
pub mod result_file;
pub mod summary;
pub mod thresholds;
pub mod trend;

pub use figures::{Figures, Metric, Scope};
pub use result_file::{read_result, ReadError};

/// Options shared by every report.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportOptions {
    /// Apdex threshold T in milliseconds: a response within T satisfies,
    /// within 4T is tolerated, slower (or failed) frustrates.
    pub apdex_t_ms: f64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            apdex_t_ms: apdex::DEFAULT_T_MS,
        }
    }
}

/// What a report calls the run: the scenario's `name`, else `METHOD URL`
/// for a bench, else its kind.
pub fn title(r: &pummel_result::result::RunResult) -> String {
    let config = |key: &str| {
        r.config
            .get(key)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(name) = config("name") {
        return name.to_owned();
    }
    match (config("method"), config("url")) {
        (Some(method), Some(url)) => format!("{method} {url}"),
        (None, Some(url)) => url.to_owned(),
        _ => format!("pummel {}", r.kind),
    }
}

#[cfg(test)]
pub(crate) mod testdata;
