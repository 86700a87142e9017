//! The pacer of an open-model (fixed arrival rate) run.
//!
//! Request `k` is *scheduled* at `start + k / rate`, whatever the target is
//! doing. The pacer releases slots at their scheduled moments; lanes (idle
//! connections) take them. When every lane is busy — the target is slow or
//! stalled — released slots wait, and the latency of each counts from its
//! scheduled moment, not from when a lane became free. That is the
//! correction for coordinated omission: a stall shows up in the percentiles
//! as long as it lasted, instead of as one slow request among many fast ones.
//!
//! Slots are counted, not queued: `released` and `taken` are two counters and
//! a slot's schedule is computed from its number, so a long backlog costs no
//! memory.

use std::cell::Cell;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Tokio's timer wakes at millisecond ticks, up to a millisecond after the
/// deadline. The pacer sleeps until this close to a slot and yields for the
/// rest, so requests go out on time to within microseconds.
const TIMER_SLACK: Duration = Duration::from_millis(1);

pub struct Pacer {
    start: Instant,
    period: Duration,
    /// Number of slots in the plan (the segment's share of `-n`), if bounded.
    limit: Option<u64>,
    released: Cell<u64>,
    taken: Cell<u64>,
    closed: Cell<bool>,
    notify: Notify,
}

impl Pacer {
    /// `rate` is in slots per second; must be positive.
    pub fn new(start: Instant, rate: f64, limit: Option<u64>) -> Pacer {
        assert!(rate > 0.0 && rate.is_finite(), "rate must be positive");
        Pacer {
            start,
            period: Duration::from_secs_f64(1.0 / rate),
            limit,
            released: Cell::new(0),
            taken: Cell::new(0),
            closed: Cell::new(false),
            notify: Notify::new(),
        }
    }

    /// When slot `k` is scheduled to start.
    pub fn scheduled(&self, k: u64) -> Instant {
        self.start + self.period.mul_f64(k as f64)
    }

    /// Slots that are due at `now` (scheduled before it), within the limit.
    fn due(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        let due = (elapsed / self.period.as_secs_f64()).ceil() as u64;
        self.limit.map_or(due, |limit| due.min(limit))
    }

    /// Releases slots at their scheduled moments until the limit or the
    /// deadline. Run as one task per worker.
    pub async fn run(&self, deadline: Option<Instant>) {
        loop {
            let next = self.released.get();
            if self.limit.is_some_and(|limit| next >= limit) {
                break;
            }
            let at = self.scheduled(next);
            if deadline.is_some_and(|d| at >= d) {
                break;
            }
            wait_until(at).await;
            // Release everything that is due by now in one go: after a pause
            // of the thread, several slots may be due at once.
            let due = self.due(Instant::now()).max(next + 1);
            let due = deadline.map_or(due, |d| due.min(self.due(d)).max(next + 1));
            for _ in next..due {
                self.notify.notify_one();
            }
            self.released.set(due);
        }
        self.closed.set(true);
        self.notify.notify_waiters();
    }

    /// Takes the next released slot: its number and scheduled start. `None`
    /// once the schedule is over and every released slot was taken.
    pub async fn take(&self) -> Option<(u64, Instant)> {
        loop {
            let taken = self.taken.get();
            if taken < self.released.get() {
                self.taken.set(taken + 1);
                return Some((taken, self.scheduled(taken)));
            }
            if self.closed.get() {
                return None;
            }
            self.notify.notified().await;
        }
    }

    /// Slots that were due by `end` but never taken: the requests the run
    /// should have sent and could not. (Taken slots still in flight at `end`
    /// are counted as aborted, not here.)
    pub fn dropped(&self, end: Instant) -> u64 {
        self.due(end).saturating_sub(self.taken.get())
    }
}

/// Waits until `at` with sub-millisecond precision: the timer for the bulk,
/// cooperative yields (other tasks keep running) for the last stretch.
pub async fn wait_until(at: Instant) {
    let now = Instant::now();
    if at <= now {
        return;
    }
    if at - now > TIMER_SLACK {
        tokio::time::sleep_until((at - TIMER_SLACK).into()).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn releases_on_schedule_and_counts_what_was_not_taken() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let start = Instant::now();
            let pacer = Rc::new(Pacer::new(start, 1000.0, Some(50)));
            let runner = {
                let pacer = pacer.clone();
                tokio::task::spawn_local(async move { pacer.run(None).await })
            };
            let mut late = Duration::ZERO;
            for expected in 0..20u64 {
                let (k, at) = pacer.take().await.unwrap();
                assert_eq!(k, expected);
                assert_eq!(at, start + Duration::from_millis(k));
                let now = Instant::now();
                assert!(now >= at, "slot {k} released early");
                late = late.max(now - at);
            }
            // Released on time (generous bound: shared CI machines).
            assert!(late < Duration::from_millis(20), "late by {late:?}");
            runner.await.unwrap();
            // 50 slots were due; 20 taken.
            assert_eq!(pacer.dropped(Instant::now()), 30);
            // Remaining released slots can still be taken, then the schedule ends.
            for _ in 20..50 {
                assert!(pacer.take().await.is_some());
            }
            assert!(pacer.take().await.is_none());
            assert_eq!(pacer.dropped(Instant::now()), 0);
        });
    }

    #[test]
    fn due_counts_slots_scheduled_before_a_moment() {
        let start = Instant::now();
        let pacer = Pacer::new(start, 200.0, None);
        assert_eq!(pacer.due(start), 0);
        assert_eq!(pacer.due(start + Duration::from_micros(1)), 1);
        assert_eq!(pacer.due(start + Duration::from_secs(10)), 2000);
    }
}
