//! Metrics: HDR histograms and counters per metric key per one-second
//! interval, recorded per worker thread (`recorder`) and merged exactly by
//! the collector. The data types and the merge live in `pummel-result`.

pub mod recorder;

pub use pummel_result::collector::{Collector, PhaseOf, PhaseTotals, RunMetrics, TimelinePoint};
pub use pummel_result::histogram::{LatencyHistogram, LatencySummary};
pub use pummel_result::snapshot::{
    CounterId, GaugeId, IntervalSnapshot, KeyId, MetricLayout, INTERVAL,
};
pub use pummel_result::stats::{ErrorCounts, Stats, StatusCounts};
pub use recorder::{Recorder, WorkerMessage, WorkerReport};
