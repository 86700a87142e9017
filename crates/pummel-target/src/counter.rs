//! A request counter that does not become the bottleneck it is meant to observe.
//!
//! A single `AtomicU64` bumped by every request on every worker thread makes its cache line bounce
//! between cores; at a million requests a second on a many-core machine that alone costs real
//! throughput. So the count is split into slots, each on its own cache line, and a thread always
//! bumps "its" slot (assigned round-robin the first time the thread counts anything). Reading sums
//! the slots: slower, but only tests and reports read it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Number of slots; a power of two so picking one is a mask. Threads beyond this share slots,
/// which stays correct and only brings back a little contention.
const SLOTS: usize = 16;

/// One counter on its own cache line (128 bytes covers adjacent-line prefetching on x86 and the
/// 128-byte lines of Apple silicon).
#[repr(align(128))]
#[derive(Default)]
struct Slot(AtomicU64);

/// Hands each thread a slot index, round-robin.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot index, shared by every counter in the process (tests run several servers).
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
}

/// A monotonically increasing count, cheap to increment from many threads at once.
#[derive(Default)]
pub(crate) struct ShardedCounter {
    slots: [Slot; SLOTS],
}

impl ShardedCounter {
    /// Adds one. Relaxed: the count orders nothing else.
    #[inline]
    pub(crate) fn increment(&self) {
        let slot = SLOT.with(|s| *s);
        self.slots[slot].0.fetch_add(1, Ordering::Relaxed);
    }

    /// The total so far; increments racing with the read may or may not be included.
    pub(crate) fn sum(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_increments_from_many_threads() {
        let counter = ShardedCounter::default();
        std::thread::scope(|s| {
            for _ in 0..(SLOTS + 3) {
                s.spawn(|| {
                    for _ in 0..1000 {
                        counter.increment();
                    }
                });
            }
        });
        assert_eq!(counter.sum(), (SLOTS as u64 + 3) * 1000);
    }
}
