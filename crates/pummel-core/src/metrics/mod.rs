//! Metrics: HDR histograms and counters per metric key per one-second
//! interval, recorded per worker thread and merged exactly by the collector.

pub mod collector;
pub mod histogram;
pub mod recorder;
pub mod snapshot;
pub mod stats;

pub use collector::{Collector, PhaseOf, PhaseTotals, RunMetrics, TimelinePoint};
pub use histogram::{LatencyHistogram, LatencySummary};
pub use recorder::{Recorder, WorkerMessage};
pub use snapshot::{CounterId, GaugeId, IntervalSnapshot, KeyId, MetricLayout, INTERVAL};
pub use stats::{ErrorCounts, Stats, StatusCounts};
