//! Metrics: HDR histograms and counters per metric key per one-second
//! interval, recorded per worker thread (`recorder`) and merged exactly by
//! the collector. The data types and the merge live in `pummel-result`.

pub(crate) mod recorder;

pub(crate) use pummel_result::collector::{Collector, PhaseOf, RunMetrics, TimelinePoint};
pub(crate) use pummel_result::snapshot::{
    CounterId, GaugeId, IntervalSnapshot, KeyId, MetricLayout,
};
pub(crate) use pummel_result::stats::Stats;
pub use recorder::WorkerReport;
pub(crate) use recorder::{Recorder, WorkerMessage};
