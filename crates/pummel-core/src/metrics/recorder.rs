//! The per-worker recorder: where the hot path writes its measurements.
//!
//! One recorder per worker thread, owned by that thread alone: recording is a
//! few additions and a histogram increment, with no lock and no atomic shared
//! with other threads. When an interval ends, the recorder sends its snapshot
//! to the collector over a channel (once a second, not per request).

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use std::sync::Arc;

use pummel_result::snapshot::{
    CounterId, GaugeId, IntervalSnapshot, KeyId, MetricLayout, INTERVAL,
};
use pummel_result::stats::Stats;

/// What a worker tells the collector.
#[derive(Debug)]
pub(crate) enum WorkerMessage {
    /// The snapshot of a finished interval. A worker sends every interval
    /// index exactly once, in increasing order, empty ones included.
    Interval {
        worker: usize,
        snapshot: IntervalSnapshot,
    },
    /// The worker has stopped; it sends nothing more.
    Finished { worker: usize, report: WorkerReport },
}

/// What a worker reports when it ends, besides its snapshots (serialisable:
/// an agent sends its workers' reports to the server with its last second).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerReport {
    /// A few failure messages, as examples for the summary.
    pub failures: Vec<String>,
    /// A failure that ended the run early (a unique feeder ran dry).
    pub fatal: Option<String>,
}

pub(crate) struct Recorder {
    worker: usize,
    start: Instant,
    layout: Arc<MetricLayout>,
    current: IntervalSnapshot,
    interval_end: Instant,
    sink: Sender<WorkerMessage>,
}

impl Recorder {
    pub(crate) fn new(
        worker: usize,
        start: Instant,
        layout: Arc<MetricLayout>,
        sink: Sender<WorkerMessage>,
    ) -> Recorder {
        Recorder {
            worker,
            start,
            current: IntervalSnapshot::empty(0, &layout),
            layout,
            interval_end: start + INTERVAL,
            sink,
        }
    }

    /// The stats of `key` for the interval that contains `now`, the moment
    /// the measurement completed. Rolls the interval over when `now` has
    /// passed its end, so a sample always lands in the second it completed in.
    #[inline]
    pub(crate) fn stats(&mut self, key: KeyId, now: Instant) -> &mut Stats {
        if now >= self.interval_end {
            self.roll_to(now);
        }
        &mut self.current.stats[key.index()]
    }

    /// Adds to a counter of the interval that contains `now`.
    #[inline]
    pub(crate) fn count(&mut self, id: CounterId, n: u64, now: Instant) {
        if now >= self.interval_end {
            self.roll_to(now);
        }
        self.current.counters[id.0 as usize] += n;
    }

    /// Sets a gauge's level; it carries over into later intervals until set again.
    pub(crate) fn set_gauge(&mut self, id: GaugeId, value: u64, now: Instant) {
        if now >= self.interval_end {
            self.roll_to(now);
        }
        self.current.gauges[id.0 as usize] = value;
    }

    /// Rolls the interval over if `now` has passed its end. A worker calls
    /// this on a timer, so quiet intervals are still reported on time.
    pub(crate) fn tick(&mut self, now: Instant) {
        if now >= self.interval_end {
            self.roll_to(now);
        }
    }

    /// Sends the current (partial) interval and says this worker is done,
    /// with its `report`. Call once; the recorder must not record afterwards.
    pub(crate) fn finish(&mut self, report: WorkerReport) {
        let last = std::mem::replace(&mut self.current, IntervalSnapshot::empty(0, &self.layout));
        self.send(last);
        // The collector may be gone if the run is being torn down; nothing to do then.
        let _ = self.sink.send(WorkerMessage::Finished {
            worker: self.worker,
            report,
        });
    }

    #[cold]
    fn roll_to(&mut self, now: Instant) {
        let target = interval_index(self.start, now);
        while self.current.index < target {
            let mut next = IntervalSnapshot::empty(self.current.index + 1, &self.layout);
            next.gauges.clone_from(&self.current.gauges);
            let done = std::mem::replace(&mut self.current, next);
            self.send(done);
        }
        self.interval_end = self.start + INTERVAL * (self.current.index + 1);
    }

    fn send(&self, snapshot: IntervalSnapshot) {
        let _ = self.sink.send(WorkerMessage::Interval {
            worker: self.worker,
            snapshot,
        });
    }
}

/// Rolls `recorder`'s interval over just after each second boundary, for
/// ever (a worker runs it as a task and aborts it when done), so quiet
/// seconds are reported on time too.
pub(crate) async fn roll_each_second(recorder: &std::cell::RefCell<Recorder>, start: Instant) {
    loop {
        let next = interval_index(start, Instant::now()) + 1;
        let at = start + INTERVAL * next + Duration::from_millis(2);
        tokio::time::sleep_until(at.into()).await;
        recorder.borrow_mut().tick(Instant::now());
    }
}

/// The index of the interval that contains `now`.
pub(crate) fn interval_index(start: Instant, now: Instant) -> u32 {
    let elapsed: Duration = now.saturating_duration_since(start);
    u32::try_from(elapsed.as_secs()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn samples_land_in_the_interval_they_completed_in() {
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let layout = MetricLayout::new(vec!["a".into(), "b".into()], false)
            .with_counters(vec!["c".into()])
            .with_gauges(vec!["g".into()]);
        let mut rec = Recorder::new(3, start, Arc::new(layout), tx);
        rec.stats(KeyId(1), start + Duration::from_millis(10))
            .responses += 1;
        rec.set_gauge(GaugeId(0), 7, start + Duration::from_millis(20));
        rec.count(CounterId(0), 2, start + Duration::from_millis(1500));
        rec.stats(KeyId(0), start + Duration::from_millis(2500))
            .responses += 1;
        rec.tick(start + Duration::from_millis(3100));
        rec.finish(WorkerReport::default());
        let msgs: Vec<_> = rx.try_iter().collect();
        let mut indexes = Vec::new();
        for m in &msgs[..msgs.len() - 1] {
            match m {
                WorkerMessage::Interval { worker, snapshot } => {
                    assert_eq!(*worker, 3);
                    indexes.push(snapshot.index);
                    let per_key: Vec<u64> = snapshot.stats.iter().map(|s| s.responses).collect();
                    assert_eq!(snapshot.gauges, vec![7], "gauges carry over");
                    assert_eq!(snapshot.counters, vec![u64::from(snapshot.index == 1) * 2]);
                    match snapshot.index {
                        0 => assert_eq!(per_key, vec![0, 1]),
                        2 => assert_eq!(per_key, vec![1, 0]),
                        _ => assert_eq!(per_key, vec![0, 0]),
                    }
                }
                other @ WorkerMessage::Finished { .. } => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(indexes, vec![0, 1, 2, 3]);
        assert!(matches!(
            msgs.last(),
            Some(WorkerMessage::Finished { worker: 3, .. })
        ));
    }
}
