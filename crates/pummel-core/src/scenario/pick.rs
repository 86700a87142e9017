//! Weighted choice of a scenario for each VU iteration.
//!
//! Built once per plan; a pick is one random number and a binary search
//! over cumulative weights — no allocation, no shared state.

/// Picks an index with probability proportional to its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WeightedPick {
    cumulative: Vec<u64>,
}

impl WeightedPick {
    /// From weights, each at least 1 (validation guarantees it for scenarios;
    /// a zero weight here is never picked).
    pub(crate) fn new(weights: impl IntoIterator<Item = u32>) -> WeightedPick {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        WeightedPick { cumulative }
    }

    pub(crate) fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The index for `r` in `0..total()`; `r` beyond the total is folded in.
    pub(crate) fn pick_with(&self, r: u64) -> usize {
        let total = self.total();
        if total == 0 {
            return 0;
        }
        let r = r % total;
        self.cumulative.partition_point(|&c| c <= r)
    }

    /// A random pick.
    pub(crate) fn pick(&self) -> usize {
        self.pick_with(fastrand::u64(..self.total().max(1)))
    }

    /// `n` picks, counted per index: what `n` calls of [`Self::pick`]
    /// would have drawn. Beyond [`DRAWN_ONE_BY_ONE`] picks, each index gets
    /// its share by weight and only the remainder is drawn, so that
    /// attributing millions of slots (an open model's dropped iterations)
    /// takes no noticeable time; at that size a draw would differ from its
    /// expectation by well under a percent anyway.
    pub(crate) fn pick_many(&self, n: u64) -> Vec<u64> {
        let mut counts = vec![0u64; self.cumulative.len().max(1)];
        let total = self.total();
        let mut left = n;
        if n > DRAWN_ONE_BY_ONE && total > 0 {
            let mut previous = 0u64;
            for (count, &c) in counts.iter_mut().zip(&self.cumulative) {
                let weight = c - previous;
                previous = c;
                let share = (u128::from(n) * u128::from(weight) / u128::from(total)) as u64;
                *count = share;
                left -= share;
            }
        }
        for _ in 0..left {
            counts[self.pick()] += 1;
        }
        counts
    }
}

/// [`WeightedPick::pick_many`] draws up to this many picks one by one.
const DRAWN_ONE_BY_ONE: u64 = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_weight() {
        let p = WeightedPick::new([3, 1, 0, 2]);
        assert_eq!(p.total(), 6);
        let picks: Vec<usize> = (0..6).map(|r| p.pick_with(r)).collect();
        assert_eq!(picks, vec![0, 0, 0, 1, 3, 3]);
        let mut counts = [0usize; 4];
        for _ in 0..6000 {
            counts[p.pick()] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!((2700..3300).contains(&counts[0]), "{counts:?}");
        assert_eq!(WeightedPick::new([]).pick(), 0);
    }

    #[test]
    fn many_picks_follow_the_weights() {
        let p = WeightedPick::new([1, 9]);
        // Drawn one by one: 100 expected on the first, a standard deviation
        // of 9.5; 50..=150 is over five of them.
        let counts = p.pick_many(1_000);
        assert_eq!(counts.iter().sum::<u64>(), 1_000);
        assert!((50..=150).contains(&counts[0]), "{counts:?}");
        // Shared out by weight.
        assert_eq!(p.pick_many(10_000_000), vec![1_000_000, 9_000_000]);
        let uneven = WeightedPick::new([1, 1, 1]).pick_many(1_000_001);
        assert_eq!(uneven.iter().sum::<u64>(), 1_000_001);
        assert!(uneven.iter().all(|&c| c >= 333_333), "{uneven:?}");
        assert_eq!(WeightedPick::new([]).pick_many(3), vec![3]);
        assert_eq!(p.pick_many(0), vec![0, 0]);
    }
}
