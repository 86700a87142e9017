//! The pacer of an open-model (arrival rate) run.
//!
//! Request (or iteration) `k` is *scheduled* at a moment fixed by the load
//! model — `start + k / rate` for a constant rate — whatever the target is
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
//!
//! A schedule is the whole plan's; a worker (or an agent) paces its
//! [`Share`] of it: every `n`-th slot from its offset, so that all the
//! shares together release exactly the whole schedule's slots at their
//! moments, whatever the arrival process.

use std::cell::Cell;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::segment::Segment;

/// Tokio's timer wakes at millisecond ticks, up to a millisecond after the
/// deadline. The pacer sleeps until this close to a slot and yields for the
/// rest, so requests go out on time to within microseconds.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Up to this many slots released at once wake lanes one by one.
const WAKE_ONE_BY_ONE: u64 = 64;

/// An open-model request (or iteration) counts as late when it starts this
/// long after its scheduled moment (its latency still counts from the
/// schedule).
pub(crate) const LATE_AFTER: Duration = Duration::from_millis(1);

/// Whether a slot scheduled `at` and started at `started` started late.
pub(crate) fn is_late(at: Instant, started: Instant) -> bool {
    started.saturating_duration_since(at) > LATE_AFTER
}

/// When slots are due, as offsets from the run's start.
pub(crate) trait Schedule {
    /// When slot `k` is scheduled, or `None` when the schedule ends before it.
    fn at(&self, k: u64) -> Option<Duration>;
    /// How many slots are scheduled before `t` (and within the schedule).
    fn due(&self, t: Duration) -> u64;
    /// When the schedule is over: the end of the time it covers, not the
    /// moment of its last slot (a rate of 5/s for 2 s covers 2 s, its last
    /// slot is at 1.8 s). `None` when it never ends.
    fn end(&self) -> Option<Duration>;
}

/// A segment's share of a schedule: its `k`-th slot is the whole schedule's
/// slot [`Segment::slot`]`(k)`, at that slot's moment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Share<S> {
    whole: S,
    segment: Segment,
}

impl<S: Schedule> Share<S> {
    pub(crate) fn new(whole: S, segment: Segment) -> Share<S> {
        Share { whole, segment }
    }
}

impl<S: Schedule> Schedule for Share<S> {
    fn at(&self, k: u64) -> Option<Duration> {
        self.whole.at(self.segment.slot(k)?)
    }

    fn due(&self, t: Duration) -> u64 {
        self.segment.share(self.whole.due(t))
    }

    /// The whole schedule's end: every share of a run ends with the run,
    /// not at its own last slot.
    fn end(&self) -> Option<Duration> {
        self.whole.end()
    }
}

/// A constant rate, optionally bounded in slots and in time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConstantRate {
    period: Duration,
    limit: Option<u64>,
    end: Option<Duration>,
}

impl ConstantRate {
    /// `rate` in slots per second; must be positive and finite.
    pub(crate) fn new(rate: f64, limit: Option<u64>, end: Option<Duration>) -> ConstantRate {
        assert!(rate > 0.0 && rate.is_finite(), "rate must be positive");
        ConstantRate {
            period: Duration::from_secs_f64(1.0 / rate),
            limit,
            end,
        }
    }
}

impl Schedule for ConstantRate {
    fn at(&self, k: u64) -> Option<Duration> {
        if self.limit.is_some_and(|limit| k >= limit) {
            return None;
        }
        let at = self.period.mul_f64(k as f64);
        self.end.is_none_or(|end| at < end).then_some(at)
    }

    fn due(&self, t: Duration) -> u64 {
        let t = self.end.map_or(t, |end| t.min(end));
        let due = (t.as_secs_f64() / self.period.as_secs_f64()).ceil() as u64;
        self.limit.map_or(due, |limit| due.min(limit))
    }

    /// The end of its time, or one period after the last of its slots when
    /// the count runs out first: `n` slots at rate `r` cover `n / r`.
    fn end(&self) -> Option<Duration> {
        let by_count = self.limit.map(|n| self.period.mul_f64(n as f64));
        match (by_count, self.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

pub(crate) struct Pacer {
    start: Instant,
    schedule: Box<dyn Schedule>,
    released: Cell<u64>,
    taken: Cell<u64>,
    closed: Cell<bool>,
    notify: Notify,
}

impl Pacer {
    pub(crate) fn new(start: Instant, schedule: Box<dyn Schedule>) -> Pacer {
        Pacer {
            start,
            schedule,
            released: Cell::new(0),
            taken: Cell::new(0),
            closed: Cell::new(false),
            notify: Notify::new(),
        }
    }

    /// When slot `k` is scheduled to start (for a slot the schedule has, the
    /// run's start plus its offset).
    fn scheduled(&self, k: u64) -> Instant {
        self.start + self.schedule.at(k).unwrap_or_default()
    }

    /// Slots that are due at `now` (scheduled before it).
    fn due(&self, now: Instant) -> u64 {
        self.schedule.due(now.saturating_duration_since(self.start))
    }

    /// Waits until the schedule is over (forever for one without an end).
    /// An open-model run lasts until then even when its share of the slots
    /// ran out earlier: its elapsed time is the time the schedule covers
    /// (to within microseconds, not the timer's millisecond).
    pub(crate) async fn until_end(&self) {
        match self
            .schedule
            .end()
            .and_then(|end| self.start.checked_add(end))
        {
            Some(end) => wait_until(end).await,
            None => std::future::pending().await,
        }
    }

    /// Releases slots at their scheduled moments until the schedule ends.
    /// Run as one task per worker.
    pub(crate) async fn run(&self) {
        self.run_with(|_| {}).await;
    }

    /// As [`Pacer::run`], calling `on_release` with the backlog (released
    /// slots not yet taken) after each release: an open-model run starts
    /// another virtual user when the backlog shows none is free.
    pub(crate) async fn run_with(&self, mut on_release: impl FnMut(u64)) {
        loop {
            let next = self.released.get();
            let Some(offset) = self.schedule.at(next) else {
                break;
            };
            let at = self.start + offset;
            if at <= Instant::now() {
                // Behind schedule: when releasing takes longer than the
                // period, every slot is already due and `wait_until` never
                // waits. Yield anyway, or this task would spin through the
                // whole schedule while the lanes (and the stop signal) on
                // its thread never run.
                tokio::task::yield_now().await;
            } else {
                wait_until(at).await;
            }
            // Release everything that is due by now in one go: after a pause
            // of the thread, several slots may be due at once.
            let due = self.due(Instant::now()).max(next + 1);
            self.wake(due - next);
            self.released.set(due);
            on_release(due - self.taken.get());
        }
        self.closed.set(true);
        self.notify.notify_waiters();
    }

    /// Wakes lanes for `count` newly released slots. One wake per slot
    /// while the count is small; past that, every waiting lane at once: a
    /// backlog of millions of slots (a rate far above what the target
    /// answers, after a pause of the thread) must not cost a loop of
    /// millions of wakes, which once kept this task from ever yielding.
    fn wake(&self, count: u64) {
        if count <= WAKE_ONE_BY_ONE {
            for _ in 0..count {
                self.notify.notify_one();
            }
        } else {
            self.notify.notify_waiters();
            // And a permit for a lane between its check and its wait.
            self.notify.notify_one();
        }
    }

    /// Takes the next released slot: its number and scheduled start. `None`
    /// once the schedule is over and every released slot was taken.
    pub(crate) async fn take(&self) -> Option<(u64, Instant)> {
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
    pub(crate) fn dropped(&self, end: Instant) -> u64 {
        self.due(end).saturating_sub(self.taken.get())
    }
}

/// Waits until `at` with sub-millisecond precision: the timer for the bulk,
/// cooperative yields (other tasks keep running) for the last stretch.
pub(crate) async fn wait_until(at: Instant) {
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
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let start = Instant::now();
            let pacer = Rc::new(Pacer::new(
                start,
                Box::new(ConstantRate::new(1000.0, Some(50), None)),
            ));
            let runner = {
                let pacer = pacer.clone();
                tokio::task::spawn_local(async move { pacer.run().await })
            };
            // Time this thread spent waiting for a CPU held by other work
            // on the machine: a slot released that much late was released
            // on time by the pacer.
            let clock = crate::thread_clock::ThreadClock::now();
            let starved_so_far = || clock.map_or(Duration::ZERO, |c| c.waited_since());
            for expected in 0..20u64 {
                let (k, at) = pacer.take().await.unwrap();
                assert_eq!(k, expected);
                assert_eq!(at, start + Duration::from_millis(k));
                let now = Instant::now();
                assert!(now >= at, "slot {k} released early");
                // Released on time (a bound for shared CI machines), save
                // for the time the thread could not run at all.
                let (late, starved) = (now - at, starved_so_far());
                assert!(
                    late < Duration::from_millis(20) + starved,
                    "slot {k} late by {late:?}, of which {starved:?} waiting for a CPU"
                );
            }
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
    fn a_rate_beyond_reach_does_not_starve_the_thread() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let start = Instant::now();
            let schedule =
                ConstantRate::new(crate::limits::MAX_RATE, None, Some(Duration::from_secs(3)));
            let pacer = Rc::new(Pacer::new(start, Box::new(schedule)));
            let runner = {
                let pacer = pacer.clone();
                tokio::task::spawn_local(async move { pacer.run().await })
            };
            // Releasing one slot takes longer than the period (100 ns), so
            // the pacer is always behind: it must still let this task (a
            // lane, the stop signal) run, long before the schedule ends.
            assert!(pacer.take().await.is_some());
            let waited = start.elapsed();
            runner.abort();
            assert!(
                waited < Duration::from_secs(1),
                "first slot taken after {waited:?}"
            );
        });
    }

    #[test]
    fn constant_rate_schedule() {
        let s = ConstantRate::new(200.0, None, Some(Duration::from_secs(10)));
        assert_eq!(s.due(Duration::ZERO), 0);
        assert_eq!(s.due(Duration::from_micros(1)), 1);
        assert_eq!(s.due(Duration::from_secs(10)), 2000);
        assert_eq!(s.due(Duration::from_secs(11)), 2000);
        assert_eq!(s.at(1999), Some(Duration::from_millis(9995)));
        assert_eq!(s.at(2000), None);
        let bounded = ConstantRate::new(200.0, Some(3), None);
        assert_eq!(bounded.at(3), None);
        assert_eq!(bounded.due(Duration::from_secs(1)), 3);
    }

    #[test]
    fn a_schedule_ends_with_its_time_or_its_count() {
        let ms = Duration::from_millis;
        // 5/s for 2 s: the last slot is at 1.8 s, the schedule covers 2 s.
        let timed = ConstantRate::new(5.0, None, Some(ms(2000)));
        assert_eq!(timed.at(9), Some(ms(1800)));
        assert_eq!(timed.end(), Some(ms(2000)));
        // 10 slots at 5/s cover 2 s, unless the time runs out first.
        assert_eq!(ConstantRate::new(5.0, Some(10), None).end(), Some(ms(2000)));
        let both = ConstantRate::new(5.0, Some(10), Some(ms(1000)));
        assert_eq!(both.end(), Some(ms(1000)));
        assert_eq!(ConstantRate::new(5.0, None, None).end(), None);
        // A share ends with the whole schedule, not at its own last slot.
        let share = Share::new(timed, Segment::new(0, 2));
        assert_eq!(share.at(4), Some(ms(1600)));
        assert_eq!(share.at(5), None);
        assert_eq!(share.end(), Some(ms(2000)));
    }

    /// The shares of a schedule are the schedule: together they hold every
    /// slot once, each at the whole schedule's moment for it, and what is
    /// due at any moment adds up to what the whole has due. Checked on an
    /// even rate and on an uneven one (arrivals unevenly spaced, as a ramp
    /// or a random arrival process has them).
    #[test]
    fn shares_interleave_to_exactly_the_whole_schedule() {
        /// Slot `k` at `k²` ms, for 40 ms.
        #[derive(Clone, Copy)]
        struct Squares;
        impl Schedule for Squares {
            fn at(&self, k: u64) -> Option<Duration> {
                (k * k < 40).then(|| Duration::from_millis(k * k))
            }
            fn due(&self, t: Duration) -> u64 {
                (0..)
                    .take_while(|&k| k * k < 40 && Duration::from_millis(k * k) < t)
                    .count() as u64
            }
            fn end(&self) -> Option<Duration> {
                Some(Duration::from_millis(40))
            }
        }
        fn check(whole: &(impl Schedule + Copy), what: &str) {
            let all: Vec<Duration> = (0..).map_while(|k| whole.at(k)).collect();
            for count in 1..=5 {
                let mut merged: Vec<Duration> = Vec::new();
                for segment in Segment::all(count) {
                    let share = Share::new(*whole, segment);
                    let mine: Vec<Duration> = (0..).map_while(|k| share.at(k)).collect();
                    assert!(mine.windows(2).all(|w| w[0] <= w[1]), "{what}: in order");
                    merged.extend(mine);
                    assert_eq!(share.end(), whole.end(), "{what}");
                }
                merged.sort();
                assert_eq!(merged, all, "{what}: {count} shares");
                for t in (0..=45).map(Duration::from_millis) {
                    let due: u64 = Segment::all(count)
                        .map(|segment| Share::new(*whole, segment).due(t))
                        .sum();
                    assert_eq!(due, whole.due(t), "{what}: due at {t:?}, {count} shares");
                }
            }
        }
        check(&ConstantRate::new(1000.0, Some(37), None), "even");
        check(&Squares, "uneven");
        // Two shares of 50/s: slots 20 ms apart, alternating, none at the
        // same moment (two schedules of 25/s would both start at zero).
        let whole = ConstantRate::new(50.0, None, Some(Duration::from_secs(1)));
        let first = Share::new(whole, Segment::new(0, 2));
        let second = Share::new(whole, Segment::new(1, 2));
        assert_eq!(first.at(1), Some(Duration::from_millis(40)));
        assert_eq!(second.at(0), Some(Duration::from_millis(20)));
        assert_eq!(second.at(24), Some(Duration::from_millis(980)));
        assert_eq!(second.at(25), None);
    }
}
