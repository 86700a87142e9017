//! The collector: merges the workers' interval snapshots into a run's figures.
//!
//! It owns all aggregated state and is fed by messages only (the workers never
//! share memory with it). An interval is *closed* once every worker has
//! reported it or has finished; closing merges the workers' snapshots into one,
//! appends a point to the timeline, adds it into the run totals, and drops the
//! interval's histograms — so memory stays flat however long the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::snapshot::{IntervalSnapshot, MetricLayout};
use crate::stats::Stats;

/// One second of the run, all metric keys together.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimelinePoint {
    /// Start of the interval, in seconds since the run started.
    pub t: u32,
    /// Length of the interval in seconds (1, except for the last one).
    pub duration_s: f64,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub late: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
    /// Levels at the end of the second (`vus`, `sockets`, …); absent in a bench.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gauges: BTreeMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TimelinePoint {
    fn from_interval(index: u32, stats: &Stats) -> TimelinePoint {
        TimelinePoint {
            t: index,
            duration_s: 1.0,
            requests: stats.requests(),
            errors: stats.errors.total(),
            rps: stats.requests() as f64,
            p50_ms: stats.latency.quantile_ms(0.50),
            p90_ms: stats.latency.quantile_ms(0.90),
            p99_ms: stats.latency.quantile_ms(0.99),
            max_ms: stats.latency.max_ms(),
            bytes_received: stats.bytes_received,
            bytes_sent: stats.bytes_sent,
            late: stats.late,
            dropped: stats.dropped,
            gauges: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct WorkerState {
    /// The next interval index this worker will report.
    next_index: u32,
    finished: bool,
    /// The gauges of the last interval it reported: a worker that finished
    /// before an interval still holds its levels in it (sockets it left
    /// open, say), so they count until the run's end.
    last_gauges: Vec<u64>,
}

/// Assigns an interval to a phase of the run (a cycle of a cycles run), or
/// to none (a cycle's start-up delay).
pub type PhaseOf = Box<dyn Fn(u32) -> Option<usize> + Send>;

pub struct Collector {
    layout: Arc<MetricLayout>,
    workers: Vec<WorkerState>,
    /// Intervals some workers have reported and others not yet.
    pending: BTreeMap<u32, IntervalSnapshot>,
    /// Every interval below this index is closed.
    next_to_close: u32,
    totals: Vec<Stats>,
    counters: Vec<u64>,
    phases: Option<(PhaseOf, Vec<PhaseTotals>)>,
    timeline: Vec<TimelinePoint>,
    /// The combined figures of the last two closed intervals: enough to
    /// fold a final sliver into the second before it (see `finish`).
    recent: [Option<Stats>; 2],
    /// When kept ([`Collector::keeping_closed`]): the merged snapshots of
    /// the intervals closed since the last [`Collector::take_closed`].
    closed: Option<Vec<IntervalSnapshot>>,
}

/// A last interval narrower than this is folded into the second before it:
/// a run that stops a moment after a whole second would otherwise end its
/// timeline with a point a millisecond wide, whose per-second rates (its
/// requests or drops divided by its width) say nothing true.
const SLIVER_S: f64 = 0.1;

/// Figures of one phase of a run (a cycle): every interval assigned to it.
#[derive(Clone, Debug, Default)]
pub struct PhaseTotals {
    /// Per metric key, indexed by `KeyId`.
    pub stats: Vec<Stats>,
    pub counters: Vec<u64>,
    /// Seconds covered.
    pub intervals: u32,
    /// Highest gauge levels seen, indexed by `GaugeId`.
    pub gauges_max: Vec<u64>,
}

/// What a finished run measured: totals per key, counters, the timeline.
#[derive(Clone, Debug)]
pub struct RunMetrics {
    pub layout: Arc<MetricLayout>,
    /// Whole-run figures per metric key, indexed by `KeyId`.
    pub totals: Vec<Stats>,
    /// Whole-run counts, indexed by `CounterId`.
    pub counters: Vec<u64>,
    /// Per phase, when the run has phases.
    pub phases: Vec<PhaseTotals>,
    pub timeline: Vec<TimelinePoint>,
}

impl RunMetrics {
    /// The whole run, aggregating keys merged.
    pub fn combined(&self) -> Stats {
        self.layout.combine(&self.totals)
    }
}

impl Collector {
    pub fn new(layout: Arc<MetricLayout>, workers: usize) -> Collector {
        let totals = (0..layout.len())
            .map(|_| Stats::new(layout.open_model))
            .collect();
        Collector {
            counters: vec![0; layout.counters().len()],
            phases: None,
            recent: [None, None],
            layout,
            workers: vec![WorkerState::default(); workers],
            pending: BTreeMap::new(),
            next_to_close: 0,
            totals,
            timeline: Vec::new(),
            closed: None,
        }
    }

    /// Also keeps each closed interval's merged snapshot (all sources, gaps
    /// filled with empty seconds, finished sources' gauges carried) until
    /// [`Collector::take_closed`]: what one agent of a distributed run sends
    /// its server, one snapshot a second for the whole process.
    pub fn keeping_closed(mut self) -> Collector {
        self.closed = Some(Vec::new());
        self
    }

    /// The merged snapshots of the intervals closed since the last call, in
    /// order (empty unless [`Collector::keeping_closed`]).
    pub fn take_closed(&mut self) -> Vec<IntervalSnapshot> {
        self.closed.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records that every source has finished, closing what is pending;
    /// returns the number of intervals that closes. [`Collector::finish`]
    /// does this too; call it first to [`Collector::take_closed`] the last
    /// intervals.
    pub fn all_sources_finished(&mut self) -> usize {
        for w in &mut self.workers {
            w.finished = true;
        }
        self.close_ready()
    }

    /// Keeps totals per phase too: `phase_of` assigns each interval to one of
    /// `count` phases (or to none).
    pub fn with_phases(mut self, count: usize, phase_of: PhaseOf) -> Collector {
        let empty = PhaseTotals {
            stats: (0..self.layout.len())
                .map(|_| Stats::new(self.layout.open_model))
                .collect(),
            counters: vec![0; self.layout.counters().len()],
            intervals: 0,
            gauges_max: vec![0; self.layout.gauges().len()],
        };
        self.phases = Some((phase_of, vec![empty; count]));
        self
    }

    /// Takes one source's snapshot of an interval; returns the number of
    /// intervals it closed. A source sends every interval index once, in
    /// increasing order, empty ones included.
    ///
    /// Sources may be remote (agents that resend after a reconnect), so:
    /// a snapshot of an index the source already sent is a resend and is
    /// ignored (idempotent by source and index); one of an interval that
    /// already closed without it (its source was taken for finished) still
    /// adds into the totals and counters, not the timeline, so nothing
    /// measured is lost; an unknown source is ignored.
    pub fn accept(&mut self, source: usize, snapshot: IntervalSnapshot) -> usize {
        let Some(state) = self.workers.get_mut(source) else {
            return 0;
        };
        if snapshot.index < state.next_index {
            return 0;
        }
        state.next_index = snapshot.index + 1;
        state.last_gauges.clone_from(&snapshot.gauges);
        if snapshot.index < self.next_to_close {
            for (total, s) in self.totals.iter_mut().zip(&snapshot.stats) {
                total.merge(s);
            }
            for (total, n) in self.counters.iter_mut().zip(&snapshot.counters) {
                *total += n;
            }
            return 0;
        }
        match self.pending.get_mut(&snapshot.index) {
            Some(merged) => merged.merge(&snapshot),
            None => {
                self.pending.insert(snapshot.index, snapshot);
            }
        }
        self.close_ready()
    }

    /// Records that `source` will send nothing more; returns the number of
    /// intervals that closes.
    pub fn source_finished(&mut self, source: usize) -> usize {
        let Some(state) = self.workers.get_mut(source) else {
            return 0;
        };
        state.finished = true;
        self.close_ready()
    }

    pub fn all_finished(&self) -> bool {
        self.workers.iter().all(|w| w.finished)
    }

    /// Closes every interval that no worker will add to any more.
    fn close_ready(&mut self) -> usize {
        let mut closed = 0;
        while let Some((&index, _)) = self.pending.first_key_value() {
            let complete = self
                .workers
                .iter()
                .all(|w| w.finished || w.next_index > index);
            if !complete {
                break;
            }
            let mut snapshot = self.pending.pop_first().expect("checked above").1;
            for w in self.workers.iter().filter(|w| w.next_index <= index) {
                for (level, last) in snapshot.gauges.iter_mut().zip(&w.last_gauges) {
                    *level += last;
                }
            }
            self.close(snapshot);
            closed += 1;
        }
        closed
    }

    fn close(&mut self, snapshot: IntervalSnapshot) {
        // Intervals nobody reported (a worker can only skip none, but a
        // restarted or late collector could see gaps) still get a point, so the
        // timeline has one entry per second.
        while self.next_to_close < snapshot.index {
            let empty = IntervalSnapshot::empty(self.next_to_close, &self.layout);
            self.close(empty);
        }
        if let Some(closed) = &mut self.closed {
            closed.push(snapshot.clone());
        }
        let combined = self.layout.combine(&snapshot.stats);
        let mut point = TimelinePoint::from_interval(snapshot.index, &combined);
        for (name, level) in self.layout.gauges().iter().zip(&snapshot.gauges) {
            point.gauges.insert(name.clone(), *level);
        }
        self.timeline.push(point);
        self.recent.swap(0, 1);
        self.recent[1] = Some(combined);
        for (total, s) in self.totals.iter_mut().zip(&snapshot.stats) {
            total.merge(s);
        }
        for (total, n) in self.counters.iter_mut().zip(&snapshot.counters) {
            *total += n;
        }
        if let Some((phase_of, phases)) = &mut self.phases {
            if let Some(phase) = phase_of(snapshot.index).and_then(|p| phases.get_mut(p)) {
                for (total, s) in phase.stats.iter_mut().zip(&snapshot.stats) {
                    total.merge(s);
                }
                for (total, n) in phase.counters.iter_mut().zip(&snapshot.counters) {
                    *total += n;
                }
                for (max, level) in phase.gauges_max.iter_mut().zip(&snapshot.gauges) {
                    *max = (*max).max(*level);
                }
                phase.intervals += 1;
            }
        }
        self.next_to_close = snapshot.index + 1;
    }

    /// The layout its snapshots share (what each key and counter is).
    pub fn layout(&self) -> &MetricLayout {
        &self.layout
    }

    /// The closed part of the timeline, for live progress.
    pub fn timeline(&self) -> &[TimelinePoint] {
        &self.timeline
    }

    /// Totals of the closed intervals, aggregating keys merged, for live progress.
    pub fn combined_totals(&self) -> Stats {
        self.layout.combine(&self.totals)
    }

    /// Totals of the closed intervals per key.
    pub fn totals(&self) -> &[Stats] {
        &self.totals
    }

    /// Counts of the closed intervals.
    pub fn counters(&self) -> &[u64] {
        &self.counters
    }

    /// Folds a last interval narrower than [`SLIVER_S`] into the second
    /// before it, merging their histograms exactly; the merged point is as
    /// wide as both together. It keeps that second's levels: the sliver's
    /// are read after the run stopped its users, which says nothing of the
    /// level the run held.
    fn fold_final_sliver(&mut self, elapsed_s: f64) {
        let n = self.timeline.len();
        if n < 2 {
            return;
        }
        let (last_t, prev_t) = (self.timeline[n - 1].t, self.timeline[n - 2].t);
        let width = elapsed_s - f64::from(last_t);
        if !(0.0..SLIVER_S).contains(&width) || prev_t + 1 != last_t {
            return;
        }
        let [Some(prev), Some(last)] = &mut self.recent else {
            return;
        };
        prev.merge(last);
        self.timeline.pop();
        let mut merged = TimelinePoint::from_interval(prev_t, prev);
        merged.gauges = std::mem::take(&mut self.timeline[n - 2].gauges);
        merged.duration_s = 1.0 + width;
        merged.rps = merged.requests as f64 / merged.duration_s;
        self.timeline[n - 2] = merged;
    }

    /// Closes everything still pending and returns the run's figures.
    /// `elapsed` is the run's length, which fixes the last interval's width.
    pub fn finish(mut self, elapsed: Duration) -> RunMetrics {
        self.all_sources_finished();
        let secs = elapsed.as_secs_f64();
        self.fold_final_sliver(secs);
        for point in &mut self.timeline {
            let width = (secs - f64::from(point.t)).clamp(0.0, 1.0);
            if width < 1.0 && point.duration_s <= 1.0 {
                point.duration_s = width;
                point.rps = if width > 0.0 {
                    point.requests as f64 / width
                } else {
                    0.0
                };
            }
        }
        RunMetrics {
            layout: self.layout,
            totals: self.totals,
            counters: self.counters,
            phases: self.phases.map(|(_, p)| p).unwrap_or_default(),
            timeline: self.timeline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::KeyId;

    fn layout() -> Arc<MetricLayout> {
        Arc::new(MetricLayout::new(vec!["all".into()], false))
    }

    fn snapshot(index: u32, responses: u64, latency_ms: u64) -> IntervalSnapshot {
        let mut s = IntervalSnapshot::empty(index, &layout());
        for _ in 0..responses {
            s.stats[KeyId(0).index()].record_response(
                Duration::from_millis(latency_ms),
                None,
                200,
                1,
                1,
            );
        }
        s
    }

    fn interval(index: u32, responses: u64, latency_ms: u64) -> IntervalSnapshot {
        snapshot(index, responses, latency_ms)
    }

    #[test]
    fn an_interval_closes_only_when_every_worker_reported_it() {
        let mut c = Collector::new(layout(), 2).with_phases(2, Box::new(|i| Some(i as usize)));
        assert_eq!(c.accept(0, interval(0, 10, 1)), 0);
        assert_eq!(c.accept(0, interval(1, 10, 1)), 0);
        assert_eq!(c.accept(1, interval(0, 30, 100)), 1);
        assert_eq!(c.timeline().len(), 1);
        assert_eq!(c.timeline()[0].requests, 40);
        // Worker 1 finishes without reporting interval 1: it closes.
        assert_eq!(c.source_finished(1), 1);
        assert!(!c.all_finished());
        let metrics = c.finish(Duration::from_millis(1500));
        assert_eq!(metrics.timeline.len(), 2);
        assert_eq!(metrics.timeline[1].duration_s, 0.5);
        assert_eq!(metrics.timeline[1].rps, 20.0);
        let total = metrics.combined();
        assert_eq!(total.responses, 50);
        // Exact merge: 30 of 50 samples at 100 ms puts the median at 100 ms.
        assert!((total.latency.quantile_ms(0.5) - 100.0).abs() < 0.1);
        assert_eq!(metrics.phases[0].stats[0].responses, 40);
        assert_eq!(metrics.phases[1].stats[0].responses, 10);
        assert_eq!(metrics.phases[1].intervals, 1);
    }

    #[test]
    fn a_finished_workers_gauges_count_in_later_intervals() {
        let layout = Arc::new(
            MetricLayout::new(vec!["all".into()], false).with_gauges(vec!["sockets".into()]),
        );
        let mut c = Collector::new(layout.clone(), 2);
        let with_gauge = |index, level| {
            let mut s = IntervalSnapshot::empty(index, &layout);
            s.gauges[0] = level;
            s
        };
        c.accept(0, with_gauge(0, 10));
        c.accept(1, with_gauge(0, 5));
        // Worker 1 stops during interval 1 without reporting it; worker 0 reports it.
        c.source_finished(1);
        c.accept(0, with_gauge(1, 10));
        c.source_finished(0);
        let metrics = c.finish(Duration::from_millis(1500));
        let levels: Vec<u64> = metrics
            .timeline
            .iter()
            .map(|p| p.gauges["sockets"])
            .collect();
        assert_eq!(levels, vec![15, 15]);
    }

    #[test]
    fn a_final_sliver_is_folded_into_the_second_before_it() {
        let mut c = Collector::new(layout(), 1);
        c.accept(0, interval(0, 10, 1));
        c.accept(0, interval(1, 10, 1));
        c.accept(0, interval(2, 2, 100));
        c.source_finished(0);
        let metrics = c.finish(Duration::from_millis(2004));
        assert_eq!(metrics.timeline.len(), 2);
        let last = &metrics.timeline[1];
        assert_eq!(last.t, 1);
        assert_eq!(last.requests, 12);
        assert!(
            (last.duration_s - 1.004).abs() < 1e-9,
            "{}",
            last.duration_s
        );
        assert!((last.rps - 12.0 / 1.004).abs() < 1e-9);
        // The merge is exact: 2 of 12 samples at 100 ms put the max there.
        assert!((last.max_ms - 100.0).abs() < 0.1);
        assert_eq!(metrics.combined().responses, 22);

        // A last second that is wide enough stays a point of its own.
        let mut c = Collector::new(layout(), 1);
        c.accept(0, interval(0, 10, 1));
        c.accept(0, interval(1, 5, 1));
        c.source_finished(0);
        let metrics = c.finish(Duration::from_millis(1500));
        assert_eq!(metrics.timeline.len(), 2);
        assert_eq!(metrics.timeline[1].duration_s, 0.5);
    }

    #[test]
    fn remote_sources_resend_arrive_late_or_are_unknown_and_nothing_counts_twice() {
        let mut c = Collector::new(layout(), 2).keeping_closed();
        c.accept(0, interval(0, 10, 1));
        // A resend of a second already received (after a reconnect) is ignored.
        assert_eq!(c.accept(0, interval(0, 10, 1)), 0);
        assert_eq!(c.accept(1, interval(0, 5, 1)), 1);
        assert_eq!(c.accept(1, interval(0, 5, 1)), 0);
        // An unknown source changes nothing and does not panic.
        assert_eq!(c.accept(9, interval(1, 100, 1)), 0);
        assert_eq!(c.source_finished(9), 0);
        // Source 1 is taken for finished; its second 1 arrives after that
        // second closed: it counts in the totals, not in the closed timeline.
        c.accept(0, interval(1, 1, 1));
        assert_eq!(c.source_finished(1), 1);
        assert_eq!(c.accept(1, interval(1, 7, 1)), 0);
        let closed = c.take_closed();
        let per_second: Vec<(u32, u64)> = closed
            .iter()
            .map(|s| (s.index, s.stats[0].responses))
            .collect();
        assert_eq!(per_second, vec![(0, 15), (1, 1)]);
        assert!(c.take_closed().is_empty(), "taken once");
        // With source 1 finished, source 0's second 3 closes at once, and
        // the second it skipped closes empty before it.
        assert_eq!(c.accept(0, interval(3, 2, 1)), 1);
        assert_eq!(c.all_sources_finished(), 0);
        let gap_filled: Vec<u32> = c.take_closed().iter().map(|s| s.index).collect();
        assert_eq!(gap_filled, vec![2, 3]);
        let metrics = c.finish(Duration::from_secs(4));
        assert_eq!(metrics.combined().responses, 15 + 1 + 7 + 2);
        let timeline: u64 = metrics.timeline.iter().map(|p| p.requests).sum();
        assert_eq!(timeline, 15 + 1 + 2);
    }

    #[test]
    fn a_timeline_point_reads_back_exactly_from_json() {
        // A report made later from the result file must equal the one made
        // at the end of the run: every float must survive the round trip to
        // the last bit (serde_json's `float_roundtrip`).
        let mut point = TimelinePoint::from_interval(1, &Stats::new(false));
        point.rps = 1340.1195736968193;
        point.duration_s = 1.0020317;
        let text = serde_json::to_string(&point).expect("serialise");
        let back: TimelinePoint = serde_json::from_str(&text).expect("parse");
        assert_eq!(back.rps.to_bits(), point.rps.to_bits(), "{text}");
        assert_eq!(back, point);
    }
}
