//! Interval snapshots: the only form in which metrics leave the engine.
//!
//! Each worker thread keeps its own [`Stats`] per metric key for the current
//! interval (one second of the run) and hands them over as an
//! [`IntervalSnapshot`] when the interval ends. Snapshots from any number of
//! workers — or, later, agents on other machines — merge exactly.

use super::stats::Stats;

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

/// The names of a plan's metric keys, indexed by [`KeyId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricKeys {
    names: Vec<String>,
}

impl MetricKeys {
    pub fn new(names: Vec<String>) -> MetricKeys {
        assert!(!names.is_empty(), "a plan has at least one metric key");
        MetricKeys { names }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, key: KeyId) -> &str {
        &self.names[key.index()]
    }

    pub fn ids(&self) -> impl Iterator<Item = KeyId> {
        (0..self.names.len() as u32).map(KeyId)
    }
}

/// What one worker measured during one interval, per metric key.
#[derive(Clone, Debug)]
pub struct IntervalSnapshot {
    /// The interval's position: it covers `[index, index + 1)` seconds after
    /// the run's start.
    pub index: u32,
    /// One entry per metric key, indexed by [`KeyId`].
    pub stats: Vec<Stats>,
}

impl IntervalSnapshot {
    pub fn empty(index: u32, keys: usize, open_model: bool) -> IntervalSnapshot {
        IntervalSnapshot {
            index,
            stats: (0..keys).map(|_| Stats::new(open_model)).collect(),
        }
    }

    /// Adds `other` (the same interval, from another worker) into `self`.
    pub fn merge(&mut self, other: &IntervalSnapshot) {
        debug_assert_eq!(self.index, other.index);
        for (a, b) in self.stats.iter_mut().zip(&other.stats) {
            a.merge(b);
        }
    }

    /// All keys merged into one.
    pub fn combined(&self) -> Stats {
        let mut all = Stats::default();
        for s in &self.stats {
            all.merge(s);
        }
        all
    }
}
