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
}

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
}
