//! The metric keys and counters a runner's names land in.
//!
//! A YAML scenario's step names are known when it is compiled; a runner's
//! are known only as its hits arrive (`self.step("buy")`, `METHOD /path`).
//! The layout every snapshot shares is fixed before the run, so a runner's
//! program sets aside pools of keys and counters, and this table gives each
//! new name the next free one, run-wide, the first time any process reports
//! it. The result and the thresholds read the names back from the table.
//! A name past a pool's size shares one last slot, named as such.
//!
//! In a distributed run each agent's table fills in its own order; every
//! snapshot it sends carries its table ([`RunnerNames`]), and the server's
//! one table for the run takes the names as they come and moves each
//! figure from the agent's slot to the run's slot of the same name
//! ([`RunnerSlots::rename`]) before anything is merged.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use pummel_result::{IntervalSnapshot, Stats};

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
    names: Mutex<RunnerNames>,
}

/// The names a runner's journey has given so far, in slot order: what an
/// agent sends beside each snapshot of a runner's run.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunnerNames {
    pub steps: Vec<String>,
    /// (step slot, label).
    pub checks: Vec<(usize, String)>,
    pub counters: Vec<String>,
    pub gauges: Vec<String>,
    pub trends: Vec<String>,
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
            names: Mutex::new(RunnerNames::default()),
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, RunnerNames> {
        // A panic elsewhere while holding the lock leaves the names as they
        // were: still a valid table.
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The names given so far.
    pub(crate) fn snapshot(&self) -> RunnerNames {
        self.names().clone()
    }

    /// Moves the figures of `snapshot`, whose runner slots are named by
    /// `theirs` (another process's table), to this table's slots of the
    /// same names, naming here the names it has not met. `snapshot` must
    /// already have the layout's shape; a table that names slots it does
    /// not have is refused, and the snapshot is then left as it was.
    pub(crate) fn rename(
        &self,
        snapshot: &mut IntervalSnapshot,
        theirs: &RunnerNames,
    ) -> Result<(), String> {
        for (pool, named, size) in [
            ("steps", theirs.steps.len(), self.steps.len()),
            ("checks", theirs.checks.len(), self.checks.len()),
            ("counters", theirs.counters.len(), self.counters.len()),
            ("gauges", theirs.gauges.len(), self.gauges.len()),
            ("trends", theirs.trends.len(), self.trends.len()),
        ] {
            if named > size {
                return Err(format!(
                    "runner names: {named} {pool} named, but a runner has {size}"
                ));
            }
        }
        if let Some((step, _)) = theirs.checks.iter().find(|(s, _)| *s >= theirs.steps.len()) {
            return Err(format!(
                "runner names: a check of step slot {step}, which has no name"
            ));
        }
        let mut ours = self.names();
        let steps = slots_of(&mut ours.steps, &theirs.steps, self.steps.len());
        let checks: Vec<usize> = theirs
            .checks
            .iter()
            .map(|(step, label)| {
                check_slot_of(&mut ours.checks, (steps[*step], label), self.checks.len())
            })
            .collect();
        let counters = slots_of(&mut ours.counters, &theirs.counters, self.counters.len());
        let gauges = slots_of(&mut ours.gauges, &theirs.gauges, self.gauges.len());
        let trends = slots_of(&mut ours.trends, &theirs.trends, self.trends.len());
        drop(ours);
        move_stats(&mut snapshot.stats, &self.steps, &steps);
        move_stats(&mut snapshot.stats, &self.gauges, &gauges);
        move_stats(&mut snapshot.stats, &self.trends, &trends);
        move_counts(&mut snapshot.counters, &self.counters, &counters);
        let (pass, fail): (Vec<CounterId>, Vec<CounterId>) = self.checks.iter().copied().unzip();
        move_counts(&mut snapshot.counters, &pass, &checks);
        move_counts(&mut snapshot.counters, &fail, &checks);
        Ok(())
    }

    pub(crate) fn incident(&self, incident: Incident) -> CounterId {
        let i = Incident::ALL
            .iter()
            .position(|x| *x == incident)
            .unwrap_or_default();
        self.incidents[i]
    }
}

/// The slots here of `theirs`, another table's names of one pool, in order.
fn slots_of(ours: &mut Vec<String>, theirs: &[String], pool: usize) -> Vec<usize> {
    theirs.iter().map(|n| slot_of(ours, n, pool)).collect()
}

/// The slot of a check (its step's slot here, and its label), as
/// [`slot_of`] gives a name's.
fn check_slot_of(checks: &mut Vec<(usize, String)>, key: (usize, &str), pool: usize) -> usize {
    if let Some(i) = checks.iter().position(|(s, l)| *s == key.0 && l == key.1) {
        return i;
    }
    if checks.len() + 1 < pool {
        checks.push((key.0, key.1.to_owned()));
        return checks.len() - 1;
    }
    if checks.len() + 1 == pool {
        checks.push((key.0, OVERFLOW_NAME.to_owned()));
    }
    pool - 1
}

/// Moves the figures of slot `i` of `keys` to slot `to[i]`, adding them to
/// what is there (a pool's last slot takes every name past its size).
fn move_stats(stats: &mut [Stats], keys: &[KeyId], to: &[usize]) {
    if to.iter().enumerate().all(|(i, j)| i == *j) {
        return;
    }
    let taken: Vec<Stats> = (0..to.len())
        .map(|i| {
            let slot = &mut stats[keys[i].index()];
            let open_model = slot.uncorrected.is_some();
            std::mem::replace(slot, Stats::new(open_model))
        })
        .collect();
    for (figures, j) in taken.iter().zip(to) {
        stats[keys[*j].index()].merge(figures);
    }
}

/// [`move_stats`] for counters.
fn move_counts(counts: &mut [u64], ids: &[CounterId], to: &[usize]) {
    if to.iter().enumerate().all(|(i, j)| i == *j) {
        return;
    }
    let taken: Vec<u64> = (0..to.len())
        .map(|i| std::mem::take(&mut counts[ids[i].0 as usize]))
        .collect();
    for (n, j) in taken.iter().zip(to) {
        counts[ids[*j].0 as usize] += n;
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
        let i = check_slot_of(&mut slots.names().checks, (step, label), slots.checks.len());
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

    /// Pools of `n` with ids apart: steps keys 0.., gauges 10.., trends
    /// 20..; checks counters 0.. (pass even, fail odd), counters 40...
    fn apart(n: u32) -> RunnerSlots {
        RunnerSlots::new(
            (0..n).map(KeyId).collect(),
            (0..n)
                .map(|i| (CounterId(2 * i), CounterId(2 * i + 1)))
                .collect(),
            (0..n).map(|i| CounterId(40 + i)).collect(),
            (0..n).map(|i| KeyId(10 + i)).collect(),
            (0..n).map(|i| KeyId(20 + i)).collect(),
            Vec::new(),
        )
    }

    fn snapshot() -> IntervalSnapshot {
        IntervalSnapshot {
            index: 0,
            stats: (0..30).map(|_| Stats::new(false)).collect(),
            counters: vec![0; 50],
            gauges: Vec::new(),
        }
    }

    fn names(steps: &[&str], checks: &[(usize, &str)], counters: &[&str]) -> RunnerNames {
        RunnerNames {
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
            checks: checks.iter().map(|(s, l)| (*s, (*l).to_owned())).collect(),
            counters: counters.iter().map(|s| (*s).to_owned()).collect(),
            gauges: Vec::new(),
            trends: Vec::new(),
        }
    }

    #[test]
    fn another_tables_figures_move_to_this_tables_slots_of_the_same_names() {
        let run = apart(4);
        // One agent met login then buy; the other buy then login.
        let first = names(&["login", "buy"], &[(0, "ok"), (1, "ok")], &["orders"]);
        let mut a = snapshot();
        a.stats[0].responses = 1; // login
        a.stats[1].responses = 20; // buy
        a.counters[0] = 3; // login ok, passed
        a.counters[3] = 4; // buy ok, failed
        a.counters[40] = 5;
        run.rename(&mut a, &first).expect("renamed");
        assert_eq!((a.stats[0].responses, a.stats[1].responses), (1, 20));
        let second = names(
            &["buy", "login"],
            &[(0, "ok"), (1, "ok")],
            &["refunds", "orders"],
        );
        let mut b = snapshot();
        b.stats[0].responses = 200; // buy
        b.stats[1].responses = 10; // login
        b.counters[1] = 7; // buy ok, failed
        b.counters[2] = 30; // login ok, passed
        b.counters[40] = 9; // refunds
        b.counters[41] = 50; // orders
        run.rename(&mut b, &second).expect("renamed");
        assert_eq!((b.stats[0].responses, b.stats[1].responses), (10, 200));
        assert_eq!((b.counters[0], b.counters[1]), (30, 0), "login ok");
        assert_eq!((b.counters[2], b.counters[3]), (0, 7), "buy ok");
        assert_eq!((b.counters[40], b.counters[41]), (50, 9), "orders, refunds");
        let table = run.snapshot();
        assert_eq!(table.steps, vec!["login", "buy"]);
        assert_eq!(table.counters, vec!["orders", "refunds"]);
        assert_eq!(
            table.checks,
            vec![(0, "ok".to_owned()), (1, "ok".to_owned())]
        );
    }

    #[test]
    fn a_table_naming_slots_a_runner_does_not_have_is_refused() {
        let run = apart(2);
        let mut s = snapshot();
        let too_many = names(&["a", "b", "c"], &[], &[]);
        assert!(run.rename(&mut s, &too_many).is_err());
        let orphan = names(&["a"], &[(3, "ok")], &[]);
        assert!(run.rename(&mut s, &orphan).is_err());
        assert!(
            run.snapshot().steps.is_empty(),
            "nothing named by a refused table"
        );
    }
}
