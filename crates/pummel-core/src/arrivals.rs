//! Poisson arrivals for open models (`arrivals: poisson`): independent
//! users, whose gaps are exponential, instead of one every `1 / rate`.
//!
//! The pacer's [`Schedule`](crate::pacer::Schedule) is random access — the
//! moment of slot `k` from `k` alone, and the number of slots due by `t` —
//! so that a schedule costs no memory per slot and any share of it (a
//! worker's, an agent's) releases exactly its own slots of the one
//! schedule. A running sum of exponential gaps is not random access. So
//! slots are *positions* on the unit-rate line, which the load model maps
//! to time (an even schedule puts slot `k` at position `k`; a ramping rate
//! then stretches the line as it does for even arrivals):
//!
//! slots come in blocks of [`BLOCK`]; the `BLOCK` slots of block `j` sit at
//! sorted uniform positions in `[j·BLOCK, (j+1)·BLOCK)`, drawn from the
//! seed and `j` alone. That is exactly a unit-rate Poisson process
//! conditioned on `BLOCK` arrivals per block: within a block the gaps are
//! exponential (their coefficient of variation is 1), and the count over
//! every `BLOCK` arrivals is pinned to the mean, so the long-run rate is the
//! model's, exactly, and the schedule is the same for the same seed on any
//! number of threads.
//!
//! A worker keeps the one block it is in (8 KiB); slots are taken in order,
//! so a block is drawn once per `BLOCK` slots per worker.

use std::cell::RefCell;

/// Slots per block (see the module docs).
pub(crate) const BLOCK: u64 = 1024;

/// The positions of Poisson-spaced slots on the unit-rate line.
pub(crate) struct PoissonSlots {
    seed: u64,
    /// The block last drawn: its number and its slots' positions.
    block: RefCell<(u64, Vec<f64>)>,
}

impl PoissonSlots {
    pub(crate) fn new(seed: u64) -> PoissonSlots {
        let first = draw(seed, 0);
        PoissonSlots {
            seed,
            block: RefCell::new((0, first)),
        }
    }

    /// The position of slot `k`: in `[k', k' + BLOCK)` for the block's first
    /// slot `k'`, increasing with `k`.
    pub(crate) fn position(&self, k: u64) -> f64 {
        self.with_block(k / BLOCK, |positions| {
            positions
                .get((k % BLOCK) as usize)
                .copied()
                .unwrap_or_default()
        })
    }

    /// How many slots have a position before `x`.
    pub(crate) fn count_before(&self, x: f64) -> u64 {
        if x.is_nan() || x <= 0.0 {
            return 0;
        }
        if x >= (u64::MAX / 2) as f64 {
            return u64::MAX / 2;
        }
        let j = (x / BLOCK as f64).floor() as u64;
        let within = self.with_block(j, |positions| positions.partition_point(|&p| p < x));
        j * BLOCK + within as u64
    }

    fn with_block<R>(&self, j: u64, f: impl FnOnce(&[f64]) -> R) -> R {
        let mut block = self.block.borrow_mut();
        if block.0 != j {
            *block = (j, draw(self.seed, j));
        }
        f(&block.1)
    }
}

/// Block `j`'s positions: the running sums of `BLOCK + 1` exponential draws,
/// scaled to span the block — sorted uniforms, without a sort.
fn draw(seed: u64, j: u64) -> Vec<f64> {
    let mut state = seed ^ j.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut sums = Vec::with_capacity(BLOCK as usize + 1);
    let mut total = 0.0f64;
    for _ in 0..=BLOCK {
        total += exponential(&mut state);
        sums.push(total);
    }
    let start = (j * BLOCK) as f64;
    let scale = BLOCK as f64 / total;
    sums.truncate(BLOCK as usize);
    for s in &mut sums {
        *s = (*s).mul_add(scale, start);
    }
    sums
}

/// An exponential draw of mean 1 from a splitmix64 stream.
fn exponential(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // A uniform in (0, 1]: 53 random bits, never 0 (whose log is infinite).
    let u = ((z >> 11) + 1) as f64 / (1u64 << 53) as f64;
    -u.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_increase_within_their_blocks_and_are_counted_back() {
        let p = PoissonSlots::new(7);
        let mut last = -1.0;
        for k in 0..3 * BLOCK {
            let x = p.position(k);
            let j = k / BLOCK;
            assert!(x > last, "slot {k}");
            assert!((j * BLOCK) as f64 <= x && x < ((j + 1) * BLOCK) as f64);
            last = x;
            // Exactly k slots come before slot k's position.
            assert_eq!(p.count_before(x), k);
            assert_eq!(p.count_before(x + 1e-9), k + 1);
        }
        assert_eq!(p.count_before(0.0), 0);
        assert_eq!(p.count_before(f64::NAN), 0);
        assert_eq!(p.count_before((2 * BLOCK) as f64), 2 * BLOCK);
    }

    #[test]
    fn gaps_are_exponential_and_the_seed_fixes_them() {
        let p = PoissonSlots::new(42);
        let gaps: Vec<f64> = (1..20 * BLOCK)
            .map(|k| p.position(k) - p.position(k - 1))
            .collect();
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n;
        let cv = var.sqrt() / mean;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((cv - 1.0).abs() < 0.05, "coefficient of variation {cv}");
        let again = PoissonSlots::new(42);
        let other = PoissonSlots::new(43);
        assert_eq!(p.position(12_345), again.position(12_345));
        assert_ne!(p.position(12_345), other.position(12_345));
    }
}
