//! The calling thread's own clocks, for tests that time the engine: how
//! long the thread ran on a CPU, and how long it waited, ready to run, for
//! one (Linux's `/proc/thread-self/schedstat`).
//!
//! A wall-clock bound fails when the machine is busy with other work (a
//! build beside the tests, a CI neighbour): the thread under test is simply
//! not running. Measured on these clocks a bound keeps its meaning under
//! any load — CPU time does not grow while others run, and time spent
//! waiting for a CPU is told apart from time the code took — so it can stay
//! tight and still fail on a real regression.

use std::time::Duration;

/// A reading of the calling thread's clocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadClock {
    /// Time spent running on a CPU.
    pub(crate) on_cpu: Duration,
    /// Time spent runnable but waiting for a CPU.
    pub(crate) waiting: Duration,
}

impl ThreadClock {
    /// Reads the calling thread's clocks; `None` where the kernel does not
    /// keep them (not Linux, or scheduler statistics compiled out).
    pub(crate) fn now() -> Option<ThreadClock> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let mut fields = text.split_whitespace().map(str::parse::<u64>);
        let on_cpu = fields.next()?.ok()?;
        let waiting = fields.next()?.ok()?;
        Some(ThreadClock {
            on_cpu: Duration::from_nanos(on_cpu),
            waiting: Duration::from_nanos(waiting),
        })
    }

    /// How long the thread waited for a CPU since `self` was read: zero
    /// where the clocks are not kept.
    pub(crate) fn waited_since(&self) -> Duration {
        ThreadClock::now().map_or(Duration::ZERO, |now| {
            now.waiting.saturating_sub(self.waiting)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_counts_work_and_not_sleep() {
        let Some(before) = ThreadClock::now() else {
            return;
        };
        std::thread::sleep(Duration::from_millis(50));
        let slept = ThreadClock::now().expect("read again");
        assert!(
            slept.on_cpu - before.on_cpu < Duration::from_millis(25),
            "sleeping is not CPU time: {before:?} → {slept:?}"
        );
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(spin.elapsed());
        }
        let worked = ThreadClock::now().expect("read again");
        // The spin ran at least part of its 30 ms on a CPU; on a loaded
        // machine the rest of it was spent waiting for one.
        let ran = worked.on_cpu - slept.on_cpu;
        let waited = worked.waiting - slept.waiting;
        assert!(ran > Duration::ZERO, "{slept:?} → {worked:?}");
        assert!(
            ran + waited >= Duration::from_millis(25),
            "30 ms of spinning is on a CPU or waiting for one: ran {ran:?}, waited {waited:?}"
        );
    }
}
