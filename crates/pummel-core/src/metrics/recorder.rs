//! The per-worker recorder: where the hot path writes its measurements.
//!
//! One recorder per worker thread, owned by that thread alone: recording is a
//! few additions and a histogram increment, with no lock and no atomic shared
//! with other threads. When an interval ends, the recorder sends its snapshot
//! to the collector over a channel (once a second, not per request).

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::snapshot::{IntervalSnapshot, KeyId, INTERVAL};
use super::stats::Stats;

/// What a worker tells the collector.
#[derive(Debug)]
pub enum WorkerMessage {
    /// The snapshot of a finished interval. A worker sends every interval
    /// index exactly once, in increasing order, empty ones included.
    Interval { worker: usize, snapshot: IntervalSnapshot },
    /// The worker has stopped; it sends nothing more.
    Finished { worker: usize },
}

pub struct Recorder {
    worker: usize,
    start: Instant,
    keys: usize,
    open_model: bool,
    current: IntervalSnapshot,
    interval_end: Instant,
    sink: Sender<WorkerMessage>,
}

impl Recorder {
    pub fn new(
        worker: usize,
        start: Instant,
        keys: usize,
        open_model: bool,
        sink: Sender<WorkerMessage>,
    ) -> Recorder {
        Recorder {
            worker,
            start,
            keys,
            open_model,
            current: IntervalSnapshot::empty(0, keys, open_model),
            interval_end: start + INTERVAL,
            sink,
        }
    }

    /// The stats of `key` for the interval that contains `now`, the moment
    /// the measurement completed. Rolls the interval over when `now` has
    /// passed its end, so a sample always lands in the second it completed in.
    #[inline]
    pub fn stats(&mut self, key: KeyId, now: Instant) -> &mut Stats {
        if now >= self.interval_end {
            self.roll_to(now);
        }
        &mut self.current.stats[key.index()]
    }

    /// Rolls the interval over if `now` has passed its end. A worker calls
    /// this on a timer, so quiet intervals are still reported on time.
    pub fn tick(&mut self, now: Instant) {
        if now >= self.interval_end {
            self.roll_to(now);
        }
    }

    /// Sends the current (partial) interval and says this worker is done.
    /// Call once; the recorder must not record afterwards.
    pub fn finish(&mut self) {
        let last = std::mem::replace(&mut self.current, IntervalSnapshot::empty(0, 0, false));
        self.send(last);
        // The collector may be gone if the run is being torn down; nothing to do then.
        let _ = self.sink.send(WorkerMessage::Finished { worker: self.worker });
    }

    #[cold]
    fn roll_to(&mut self, now: Instant) {
        let target = interval_index(self.start, now);
        while self.current.index < target {
            let next = IntervalSnapshot::empty(self.current.index + 1, self.keys, self.open_model);
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

/// The index of the interval that contains `now`.
pub fn interval_index(start: Instant, now: Instant) -> u32 {
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
        let mut rec = Recorder::new(3, start, 2, false, tx);
        rec.stats(KeyId(1), start + Duration::from_millis(10)).responses += 1;
        rec.stats(KeyId(0), start + Duration::from_millis(2500)).responses += 1;
        rec.tick(start + Duration::from_millis(3100));
        rec.finish();
        let msgs: Vec<_> = rx.try_iter().collect();
        let mut indexes = Vec::new();
        for m in &msgs[..msgs.len() - 1] {
            match m {
                WorkerMessage::Interval { worker, snapshot } => {
                    assert_eq!(*worker, 3);
                    indexes.push(snapshot.index);
                    let per_key: Vec<u64> = snapshot.stats.iter().map(|s| s.responses).collect();
                    match snapshot.index {
                        0 => assert_eq!(per_key, vec![0, 1]),
                        2 => assert_eq!(per_key, vec![1, 0]),
                        _ => assert_eq!(per_key, vec![0, 0]),
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(indexes, vec![0, 1, 2, 3]);
        assert!(matches!(msgs.last(), Some(WorkerMessage::Finished { worker: 3 })));
    }
}
