//! What the monitor saw of the system under test: series scraped from its
//! Prometheus endpoints each second during the run (Funkload's monitor),
//! kept in the result beside the run's own timeline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The monitor's part of a result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorResult {
    /// One entry per endpoint watched.
    pub endpoints: Vec<MonitorEndpoint>,
    /// One entry per series kept.
    pub series: Vec<MonitorSeries>,
}

/// One endpoint watched, and how its scrapes went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorEndpoint {
    pub url: String,
    /// Scrapes attempted.
    pub scrapes: u64,
    /// Scrapes that failed (refused, timed out, not 200, too large,
    /// unreadable): counted, never fatal.
    pub failed: u64,
    /// The last failure's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Series matched beyond the limit per selector, not kept: per
    /// selector, the most any one scrape matched past the limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub series_dropped: u64,
    /// Series named for this endpoint that matched nothing in any of its
    /// successful scrapes (a typo, or a metric it does not have), as
    /// written. Empty when none, and when no scrape succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One series over the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorSeries {
    /// The endpoint's URL.
    pub endpoint: String,
    /// The selector as written, e.g. `node_cpu_seconds_total{mode="idle"}`.
    pub selector: String,
    /// The display name (the selector's `as:`, else the selector).
    pub name: String,
    /// The metric's name.
    pub metric: String,
    /// The series' labels as scraped (all of them, so series of one
    /// selector can be told apart).
    pub labels: BTreeMap<String, String>,
    /// The values are per-second rates of a counter, not its raw values.
    #[serde(default)]
    pub rate: bool,
    /// The values were summed over every series the selector matched.
    #[serde(default)]
    pub sum: bool,
    /// `[seconds since the run started, value]`, one per successful scrape
    /// (for a rate, from the second scrape on).
    pub points: Vec<(f64, f64)>,
}
