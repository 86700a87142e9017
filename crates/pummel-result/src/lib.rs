//! pummel's measurements as data: what the engine produces, what a server
//! merges from many agents, and what reports read.
//!
//! - [`histogram`]: latency histograms (HDR, µs) and their V2 encoding;
//! - [`stats`]: one metric key's figures for one interval;
//! - [`snapshot`]: one source's interval, stats per metric key;
//! - [`collector`]: the exact merge of many sources' intervals into totals
//!   and a timeline;
//! - [`result`]: the versioned JSON result (`docs/result-schema.md`);
//! - [`error_kind`]: the closed set of named failure kinds;
//! - [`file`]: reading a whole file with a bound.
//!
//! No HTTP client, no scenario engine, no runtime: a crate the server and the
//! reports can depend on without the engine.

pub mod collector;
pub mod error_kind;
pub mod file;
pub mod histogram;
pub mod monitor;
pub mod result;
pub mod snapshot;
pub mod stats;

pub use collector::{Collector, PhaseOf, PhaseTotals, RunMetrics, TimelinePoint};
pub use error_kind::ErrorKind;
pub use histogram::{LatencyHistogram, LatencySummary};
pub use monitor::{MonitorEndpoint, MonitorResult, MonitorSeries};
pub use result::RunResult;
pub use snapshot::{
    CounterId, GaugeId, IntervalSnapshot, KeyId, MetricLayout, SnapshotError, INTERVAL,
    MAX_SNAPSHOT_BYTES,
};
pub use stats::{ErrorCounts, Stats, StatusCounts};
