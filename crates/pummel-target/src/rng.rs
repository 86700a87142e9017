//! A tiny per-thread PRNG for `/delay` jitter.
//!
//! Jitter only needs "uniform enough" numbers, so a xorshift64* generator per thread is plenty: no
//! dependency, no lock, no shared state on the request path. Each thread's seed comes from a global
//! splitmix64 sequence so threads do not produce the same stream.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Source of per-thread seeds; its start value is arbitrary (the golden-ratio constant).
static SEED_SEQUENCE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

/// splitmix64 of the next seed-sequence value: never 0 in practice, and forced non-zero because
/// xorshift would stay at 0 forever.
fn seed() -> u64 {
    let mut z = SEED_SEQUENCE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

/// Next 64 random bits (xorshift64*).
fn next_u64() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A uniformly distributed number in `0..bound` (0 when `bound` is 0). Uses the multiply-shift
/// reduction; its bias (at most `bound / 2^64`) is far below anything a timer can show.
pub(crate) fn below(bound: u64) -> u64 {
    ((u128::from(next_u64()) * u128::from(bound)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_range_and_spreads() {
        assert_eq!(below(0), 0);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let v = below(10);
            assert!(v < 10);
            buckets[v as usize] += 1;
        }
        // Uniform: each bucket near 1000; a loose bound that a broken generator fails.
        assert!(
            buckets.iter().all(|&n| (700..1300).contains(&n)),
            "{buckets:?}"
        );
    }
}
