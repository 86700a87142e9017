//! Interval snapshots: the only form in which metrics leave the engine.
//!
//! Each worker thread keeps its own [`Stats`] per metric key for the current
//! interval (one second of the run) and hands them over as an
//! [`IntervalSnapshot`] when the interval ends. Snapshots from any number of
//! workers — or, later, agents on other machines — merge exactly.

use crate::stats::Stats;

/// The length of one metrics interval.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Identifies a metric key (for a bench: the one target; for a scenario run:
/// a step). Keys are fixed by the plan before the run starts, so the hot path
/// indexes a vector instead of hashing a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Identifies a counter (a check's passes, an iteration count, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterId(pub u32);

/// Identifies a gauge: a level sampled at the end of each interval (active
/// virtual users, open sockets). Workers' gauges add up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GaugeId(pub u32);

/// What a plan measures: the names of its stats keys, counters and gauges,
/// indexed by their ids. Fixed before the run starts, so the hot path indexes
/// vectors instead of hashing names, and every worker's snapshots line up.
///
/// The layout is derived from the plan alone (never from what happened), so
/// every agent of a distributed run that loads the same plan has the same
/// layout, and a server merges their snapshots by key id. It is
/// serialisable, so that an agent can send its layout and the server can
/// check it equals its own; decoding checks that it is well formed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "LayoutFields")]
pub struct MetricLayout {
    stats: Vec<String>,
    counters: Vec<String>,
    gauges: Vec<String>,
    /// Whether each stats key counts in the run's combined figures and
    /// timeline (request steps do; iteration durations do not).
    aggregate: Vec<bool>,
    /// Open-model runs also keep the uncorrected latency.
    pub open_model: bool,
}

impl MetricLayout {
    pub fn new(stats: Vec<String>, open_model: bool) -> MetricLayout {
        assert!(!stats.is_empty(), "a plan has at least one metric key");
        let aggregate = vec![true; stats.len()];
        MetricLayout {
            stats,
            counters: Vec::new(),
            gauges: Vec::new(),
            aggregate,
            open_model,
        }
    }

    /// Leaves `key` out of the combined figures and the timeline.
    pub fn without_aggregate(mut self, key: KeyId) -> MetricLayout {
        self.aggregate[key.index()] = false;
        self
    }

    /// Whether `key` counts in the combined figures.
    pub fn aggregates(&self, key: KeyId) -> bool {
        self.aggregate[key.index()]
    }

    /// `stats` (indexed by key) merged over the keys that aggregate, plus
    /// the schedule's counts (`late`, `dropped`) of every key.
    ///
    /// An open model's schedule releases whatever the run repeats: requests
    /// in a bench, iterations in a scenario run. Iteration keys stay out of
    /// the request figures, but what their schedule missed is the run's: it
    /// belongs in the totals and in each second of the timeline.
    pub fn combine<'a>(&self, stats: impl IntoIterator<Item = &'a Stats>) -> Stats {
        let mut all = Stats::default();
        for (s, include) in stats.into_iter().zip(&self.aggregate) {
            if *include {
                all.merge(s);
            } else {
                all.late += s.late;
                all.dropped += s.dropped;
            }
        }
        all
    }

    pub fn with_counters(mut self, counters: Vec<String>) -> MetricLayout {
        self.counters = counters;
        self
    }

    pub fn with_gauges(mut self, gauges: Vec<String>) -> MetricLayout {
        self.gauges = gauges;
        self
    }

    pub fn len(&self) -> usize {
        self.stats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    pub fn name(&self, key: KeyId) -> &str {
        &self.stats[key.index()]
    }

    pub fn counters(&self) -> &[String] {
        &self.counters
    }

    pub fn gauges(&self) -> &[String] {
        &self.gauges
    }
}

/// [`MetricLayout`] as it is read, before it is checked.
#[derive(serde::Deserialize)]
struct LayoutFields {
    stats: Vec<String>,
    counters: Vec<String>,
    gauges: Vec<String>,
    aggregate: Vec<bool>,
    open_model: bool,
}

impl TryFrom<LayoutFields> for MetricLayout {
    type Error = String;

    fn try_from(f: LayoutFields) -> Result<MetricLayout, String> {
        if f.stats.is_empty() {
            return Err("a metric layout has at least one stats key".into());
        }
        if f.aggregate.len() != f.stats.len() {
            return Err(format!(
                "a metric layout has {} stats keys but {} aggregate flags",
                f.stats.len(),
                f.aggregate.len()
            ));
        }
        Ok(MetricLayout {
            stats: f.stats,
            counters: f.counters,
            gauges: f.gauges,
            aggregate: f.aggregate,
            open_model: f.open_model,
        })
    }
}

/// What one worker measured during one interval, per metric key.
///
/// Serialisable (see [`IntervalSnapshot::encode`] and
/// [`IntervalSnapshot::decode`]), so that an agent can send its seconds to a
/// server that merges them with other agents' exactly.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct IntervalSnapshot {
    /// The interval's position: it covers `[index, index + 1)` seconds after
    /// the run's start.
    pub index: u32,
    /// One entry per metric key, indexed by [`KeyId`].
    pub stats: Vec<Stats>,
    /// Counts during the interval, indexed by [`CounterId`].
    pub counters: Vec<u64>,
    /// Levels at the end of the interval, indexed by [`GaugeId`].
    pub gauges: Vec<u64>,
}

impl IntervalSnapshot {
    pub fn empty(index: u32, layout: &MetricLayout) -> IntervalSnapshot {
        IntervalSnapshot {
            index,
            stats: (0..layout.stats.len())
                .map(|_| Stats::new(layout.open_model))
                .collect(),
            counters: vec![0; layout.counters.len()],
            gauges: vec![0; layout.gauges.len()],
        }
    }

    /// The snapshot as JSON bytes (histograms in their base64 V2 encoding):
    /// what an agent sends, and [`IntervalSnapshot::decode`] reads.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain data (strings, numbers, vectors) into a vector
        // cannot fail; an empty message would be refused by `decode`.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a snapshot that [`IntervalSnapshot::encode`] wrote, from a
    /// source that may be wrong or hostile: at most [`MAX_SNAPSHOT_BYTES`],
    /// every histogram checked, and its shape (keys, counters, gauges,
    /// corrected and uncorrected latencies) must be `layout`'s. Any problem
    /// is an error saying what, never a panic.
    pub fn decode(bytes: &[u8], layout: &MetricLayout) -> Result<IntervalSnapshot, SnapshotError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(SnapshotError::TooLarge { bytes: bytes.len() });
        }
        let snapshot: IntervalSnapshot =
            serde_json::from_slice(bytes).map_err(|e| SnapshotError::Invalid(e.to_string()))?;
        snapshot.check_shape(layout)?;
        Ok(snapshot)
    }

    /// Checks that this snapshot has `layout`'s shape, so that merging it
    /// lines every figure up with its key.
    pub fn check_shape(&self, layout: &MetricLayout) -> Result<(), SnapshotError> {
        let mismatch = |what: &str, got: usize, want: usize| {
            Err(SnapshotError::Shape(format!(
                "{got} {what}, but the layout has {want}"
            )))
        };
        if self.stats.len() != layout.stats.len() {
            return mismatch("stats keys", self.stats.len(), layout.stats.len());
        }
        if self.counters.len() != layout.counters.len() {
            return mismatch("counters", self.counters.len(), layout.counters.len());
        }
        if self.gauges.len() != layout.gauges.len() {
            return mismatch("gauges", self.gauges.len(), layout.gauges.len());
        }
        if let Some(key) = self
            .stats
            .iter()
            .position(|s| s.uncorrected.is_some() != layout.open_model)
        {
            return Err(SnapshotError::Shape(format!(
                "key {key} {} uncorrected latencies, but the layout is {} open model's",
                if layout.open_model { "lacks" } else { "has" },
                if layout.open_model { "an" } else { "not an" },
            )));
        }
        Ok(())
    }

    /// Adds `other` (the same interval, from another worker) into `self`.
    pub fn merge(&mut self, other: &IntervalSnapshot) {
        debug_assert_eq!(self.index, other.index);
        for (a, b) in self.stats.iter_mut().zip(&other.stats) {
            a.merge(b);
        }
        for (a, b) in self.counters.iter_mut().zip(&other.counters) {
            *a += b;
        }
        for (a, b) in self.gauges.iter_mut().zip(&other.gauges) {
            *a += b;
        }
    }
}

/// The largest encoded snapshot [`IntervalSnapshot::decode`] reads: a
/// second of a plan with hundreds of metric keys, each with its histograms,
/// is a few hundred KiB.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;

/// A snapshot that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot of {bytes} bytes is over the limit of {} MiB", MAX_SNAPSHOT_BYTES >> 20)]
    TooLarge { bytes: usize },
    /// Not JSON, or not a snapshot (a bad histogram, an unknown error kind).
    #[error("invalid snapshot: {0}")]
    Invalid(String),
    /// A well-formed snapshot of another plan's layout.
    #[error("snapshot does not match the run's metric layout: {0}")]
    Shape(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn combined_figures_keep_the_schedule_counts_of_keys_left_out() {
        let layout = MetricLayout::new(vec!["step".into(), "iteration".into()], true)
            .without_aggregate(KeyId(1));
        let mut step = Stats::new(true);
        step.record_response(Duration::from_millis(2), None, 200, 1, 1);
        step.aborted = 1;
        let mut iteration = Stats::new(true);
        iteration.record_response(Duration::from_millis(9), None, 0, 0, 0);
        (iteration.late, iteration.dropped, iteration.aborted) = (3, 4, 5);
        let all = layout.combine([&step, &iteration]);
        // Requests are the step's alone; what the schedule missed is the run's.
        assert_eq!((all.requests(), all.aborted), (1, 1));
        assert_eq!((all.late, all.dropped), (3, 4));
        assert_eq!(all.latency.len(), 1);
    }
}
