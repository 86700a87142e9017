//! The metric keys and counters a runner's names land in.
//!
//! A YAML scenario's step names are known when it is compiled; a runner's
//! are known only as its hits arrive (`self.step("buy")`, `METHOD /path`).
//! The layout every snapshot shares is fixed before the run, so a runner's
//! program sets aside pools of keys and counters, and this table gives each
//! new name the next free one, run-wide, the first time any process reports
//! it. The result and the thresholds read the names back from the table.
//! A name past a pool's size shares one last slot, named as such.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::metrics::{CounterId, KeyId};

/// Step names a runner's journey may use.
pub(crate) const MAX_RUNNER_STEPS: usize = 100;
/// Checks (step and label) a runner's journey may use.
pub(crate) const MAX_RUNNER_CHECKS: usize = 200;
/// Custom metrics of each kind (counter, gauge, trend).
pub(crate) const MAX_RUNNER_METRICS: usize = 50;
/// The name of the slot that names past a pool's size share.
pub(crate) const OVERFLOW_NAME: &str = "(other names: too many)";

/// What went wrong with a runner, each counted under its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Incident {
    /// The process exited (or closed its output) while it hosted VUs.
    Crashed,
    /// The process wrote something that is not the protocol (garbage, a
    /// line over the size limit, a message that breaks the rules).
    Protocol,
    /// An iteration outlived `--iteration-timeout`; its VU was replaced.
    Hung,
    /// A process was started again after a crash, a protocol failure or a
    /// hang it did not let go of.
    Restarted,
    /// Log lines (stderr and `log` messages) over the rate limit, not kept.
    LogDropped,
}

impl Incident {
    pub(crate) const ALL: [Incident; 5] = [
        Incident::Crashed,
        Incident::Protocol,
        Incident::Hung,
        Incident::Restarted,
        Incident::LogDropped,
    ];

    /// The named kind results and summaries use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Incident::Crashed => "runner_crashed",
            Incident::Protocol => "runner_protocol",
            Incident::Hung => "iteration_hung",
            Incident::Restarted => "runner_restarted",
            Incident::LogDropped => "runner_log_dropped",
        }
    }
}

/// The custom metric kinds, as the protocol names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MetricKind {
    Counter,
    Gauge,
    Trend,
}

impl MetricKind {
    pub(crate) fn parse(text: &str) -> Option<MetricKind> {
        match text {
            "counter" => Some(MetricKind::Counter),
            "gauge" => Some(MetricKind::Gauge),
            "trend" => Some(MetricKind::Trend),
            _ => None,
        }
    }
}

/// A runner program's pools, allocated when the program is compiled.
#[derive(Debug)]
pub(crate) struct RunnerSlots {
    pub(crate) steps: Vec<KeyId>,
    pub(crate) checks: Vec<(CounterId, CounterId)>,
    pub(crate) counters: Vec<CounterId>,
    pub(crate) gauges: Vec<KeyId>,
    pub(crate) trends: Vec<KeyId>,
    /// One counter per [`Incident`], in `Incident::ALL` order.
    pub(crate) incidents: Vec<CounterId>,
    names: Mutex<Names>,
}

/// The names given so far, in slot order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names {
    pub(crate) steps: Vec<String>,
    /// (step slot, label).
    pub(crate) checks: Vec<(usize, String)>,
    pub(crate) counters: Vec<String>,
    pub(crate) gauges: Vec<String>,
    pub(crate) trends: Vec<String>,
}

fn slot_of(names: &mut Vec<String>, name: &str, pool: usize) -> usize {
    if let Some(i) = names.iter().position(|n| n == name) {
        return i;
    }
    if names.len() + 1 < pool {
        names.push(name.to_owned());
        return names.len() - 1;
    }
    if names.len() + 1 == pool {
        names.push(OVERFLOW_NAME.to_owned());
    }
    pool - 1
}

impl RunnerSlots {
    pub(crate) fn new(
        steps: Vec<KeyId>,
        checks: Vec<(CounterId, CounterId)>,
        counters: Vec<CounterId>,
        gauges: Vec<KeyId>,
        trends: Vec<KeyId>,
        incidents: Vec<CounterId>,
    ) -> RunnerSlots {
        RunnerSlots {
            steps,
            checks,
            counters,
            gauges,
            trends,
            incidents,
            names: Mutex::new(Names::default()),
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, Names> {
        // A panic elsewhere while holding the lock leaves the names as they
        // were: still a valid table.
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The names given so far.
    pub(crate) fn snapshot(&self) -> Names {
        self.names().clone()
    }

    pub(crate) fn incident(&self, incident: Incident) -> CounterId {
        let i = Incident::ALL
            .iter()
            .position(|x| *x == incident)
            .unwrap_or_default();
        self.incidents[i]
    }
}

/// One worker's view of the table: names it has met map to slots without
/// taking the lock again.
#[derive(Default)]
pub(crate) struct NameCache {
    steps: HashMap<String, (usize, KeyId)>,
    checks: HashMap<(usize, String), (CounterId, CounterId)>,
    metrics: HashMap<(MetricKind, String), usize>,
}

impl NameCache {
    /// The slot and key of a step name.
    pub(crate) fn step(&mut self, slots: &RunnerSlots, name: &str) -> (usize, KeyId) {
        if let Some(found) = self.steps.get(name) {
            return *found;
        }
        let i = slot_of(&mut slots.names().steps, name, slots.steps.len());
        let found = (i, slots.steps[i]);
        self.steps.insert(name.to_owned(), found);
        found
    }

    /// The pass and fail counters of a check of a step.
    pub(crate) fn check(
        &mut self,
        slots: &RunnerSlots,
        step: usize,
        label: &str,
    ) -> (CounterId, CounterId) {
        let key = (step, label.to_owned());
        if let Some(found) = self.checks.get(&key) {
            return *found;
        }
        let i = {
            let mut names = slots.names();
            match names.checks.iter().position(|c| *c == key) {
                Some(i) => i,
                None if names.checks.len() + 1 < slots.checks.len() => {
                    names.checks.push(key.clone());
                    names.checks.len() - 1
                }
                None => {
                    if names.checks.len() + 1 == slots.checks.len() {
                        names.checks.push((step, OVERFLOW_NAME.to_owned()));
                    }
                    slots.checks.len() - 1
                }
            }
        };
        let found = slots.checks[i];
        self.checks.insert(key, found);
        found
    }

    /// The slot of a custom metric of a kind, in that kind's pool.
    pub(crate) fn metric(&mut self, slots: &RunnerSlots, kind: MetricKind, name: &str) -> usize {
        let key = (kind, name.to_owned());
        if let Some(found) = self.metrics.get(&key) {
            return *found;
        }
        let mut names = slots.names();
        let i = match kind {
            MetricKind::Counter => slot_of(&mut names.counters, name, slots.counters.len()),
            MetricKind::Gauge => slot_of(&mut names.gauges, name, slots.gauges.len()),
            MetricKind::Trend => slot_of(&mut names.trends, name, slots.trends.len()),
        };
        drop(names);
        self.metrics.insert(key, i);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(n: usize) -> RunnerSlots {
        RunnerSlots::new(
            (0..n as u32).map(KeyId).collect(),
            (0..n as u32)
                .map(|i| (CounterId(2 * i), CounterId(2 * i + 1)))
                .collect(),
            (0..n as u32).map(CounterId).collect(),
            (0..n as u32).map(KeyId).collect(),
            (0..n as u32).map(KeyId).collect(),
            Vec::new(),
        )
    }

    #[test]
    fn names_get_slots_in_order_run_wide() {
        let s = slots(4);
        let (mut a, mut b) = (NameCache::default(), NameCache::default());
        assert_eq!(a.step(&s, "login").1, KeyId(0));
        assert_eq!(b.step(&s, "buy").1, KeyId(1));
        assert_eq!(b.step(&s, "login").1, KeyId(0), "another worker's name");
        assert_eq!(a.step(&s, "buy").1, KeyId(1));
        assert_eq!(s.snapshot().steps, vec!["login", "buy"]);
    }

    #[test]
    fn names_past_the_pool_share_its_last_slot() {
        let s = slots(3);
        let mut c = NameCache::default();
        for name in ["a", "b", "c", "d"] {
            c.step(&s, name);
        }
        assert_eq!(c.step(&s, "c").1, KeyId(2));
        assert_eq!(c.step(&s, "d").1, KeyId(2));
        assert_eq!(s.snapshot().steps, vec!["a", "b", OVERFLOW_NAME]);
    }
}
