//! The server-wide pause behind `/stall/{ms}` and [`StallPlan`](crate::StallPlan).
//!
//! A load generator is judged by how it reports a target that freezes: does it keep sending on
//! schedule and count the waiting time (as an open model must), or does it quietly slow down with the
//! server (coordinated omission)? A stall makes the question testable: for a while, every request the
//! server holds or receives waits until the stall ends before it is answered.
//!
//! The state is a single "paused until" instant, kept as milliseconds since the server's epoch in an
//! `AtomicU64` (0 = not paused). Every request checks it before answering, so when the server is
//! not paused — nearly always — the whole cost is one relaxed load. Once a pause is over, the first
//! request to notice resets the value to 0, returning everyone to that single load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::StallPlan;

/// Longest pause accepted, from `/stall/{ms}` or a plan: long enough for any test, short enough
/// that a typo cannot wedge a server for days (and far from `u64` overflow).
pub(crate) const MAX_STALL_MS: u64 = 10 * 60 * 1000;

/// The pause state of one server.
pub(crate) struct Stall {
    /// Time zero for `paused_until_ms`.
    epoch: Instant,
    /// End of the current pause in ms since `epoch`; 0 when no pause has been set or it has ended.
    paused_until_ms: AtomicU64,
    /// The configured automatic pause, if any.
    plan: Option<StallPlan>,
    /// Set by the first request, so the plan is scheduled exactly once.
    plan_armed: AtomicBool,
}

impl Stall {
    pub(crate) fn new(plan: Option<StallPlan>) -> Self {
        Stall {
            epoch: Instant::now(),
            paused_until_ms: AtomicU64::new(0),
            plan,
            plan_armed: AtomicBool::new(false),
        }
    }

    /// Pauses the server for `ms` from now. Overlapping pauses merge: the later end wins.
    pub(crate) fn pause_for(&self, ms: u64) {
        let ms = ms.min(MAX_STALL_MS);
        if ms == 0 {
            return;
        }
        // Round "now" up so that the pause lasts at least `ms` despite the millisecond resolution.
        let until = self.now_ms_ceil().saturating_add(ms);
        self.paused_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// Pauses the server for `duration` from now (a plan's pause), capped like any other.
    pub(crate) fn pause_for_duration(&self, duration: Duration) {
        self.pause_for(u64::try_from(duration.as_millis()).unwrap_or(MAX_STALL_MS));
    }

    /// When the current pause ends, or `None` if the server is not paused.
    ///
    /// The fast path is one relaxed load; a stale read only means a request arriving within
    /// nanoseconds of a `/stall` may or may not be held, which no client can tell apart.
    #[inline]
    pub(crate) fn paused_until(&self) -> Option<Instant> {
        let until = self.paused_until_ms.load(Ordering::Relaxed);
        if until == 0 {
            return None;
        }
        self.paused_until_slow(until)
    }

    #[cold]
    fn paused_until_slow(&self, until: u64) -> Option<Instant> {
        let deadline = self.epoch + Duration::from_millis(until);
        if Instant::now() < deadline {
            return Some(deadline);
        }
        // The pause is over: clear it, unless another pause replaced it meanwhile.
        let _ =
            self.paused_until_ms
                .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed);
        None
    }

    /// Waits while the server is paused. Re-checks after each wait because a longer pause may have
    /// been set meanwhile.
    pub(crate) async fn wait_while_paused(&self) {
        while let Some(deadline) = self.paused_until() {
            tokio::time::sleep_until(deadline.into()).await;
        }
    }

    /// The plan to schedule now, if this call is the first of the server's life to ask and a plan
    /// exists. Cheap when there is no plan (one branch) and, after the first request, one relaxed
    /// load of a line that is never written again.
    #[inline]
    pub(crate) fn take_plan_on_first_request(&self) -> Option<StallPlan> {
        let plan = self.plan?;
        if self.plan_armed.load(Ordering::Relaxed) || self.plan_armed.swap(true, Ordering::Relaxed)
        {
            return None;
        }
        Some(plan)
    }

    fn now_ms_ceil(&self) -> u64 {
        let nanos = self.epoch.elapsed().as_nanos();
        u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_paused_by_default() {
        let stall = Stall::new(None);
        assert!(stall.paused_until().is_none());
    }

    #[test]
    fn pause_sets_a_deadline_at_least_that_far() {
        let stall = Stall::new(None);
        let before = Instant::now();
        stall.pause_for(200);
        let deadline = stall.paused_until().expect("paused");
        assert!(deadline >= before + Duration::from_millis(200));
    }

    #[test]
    fn zero_pause_is_a_no_op_and_longest_pause_wins() {
        let stall = Stall::new(None);
        stall.pause_for(0);
        assert!(stall.paused_until().is_none());
        stall.pause_for(5_000);
        let long = stall.paused_until().expect("paused");
        stall.pause_for(10);
        assert_eq!(stall.paused_until(), Some(long));
    }

    #[test]
    fn huge_pause_is_capped() {
        let stall = Stall::new(None);
        stall.pause_for(u64::MAX);
        let deadline = stall.paused_until().expect("paused");
        assert!(deadline <= Instant::now() + Duration::from_millis(MAX_STALL_MS + 10));
    }

    #[test]
    fn expired_pause_is_cleared() {
        let stall = Stall::new(None);
        stall.paused_until_ms.store(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(2));
        assert!(stall.paused_until().is_none());
        assert_eq!(stall.paused_until_ms.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn plan_is_taken_once() {
        let plan = StallPlan {
            after: Duration::from_millis(1),
            duration: Duration::from_millis(2),
        };
        let stall = Stall::new(Some(plan));
        assert_eq!(stall.take_plan_on_first_request(), Some(plan));
        assert_eq!(stall.take_plan_on_first_request(), None);
        assert_eq!(Stall::new(None).take_plan_on_first_request(), None);
    }
}
