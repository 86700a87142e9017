//! Segments: the share of a plan that one engine runs.
//!
//! A plan (what to run, under which load) is split into segments: a share of
//! the connections or virtual users, of the arrival rate, of the request or
//! iteration count. A local run is the one segment 1/1; inside it, each worker
//! thread runs a sub-segment; a distributed run gives one segment to each
//! agent. The engine never needs to know which: it runs a segment.

/// Segment `index` of `count` equal shares (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub index: u32,
    pub count: u32,
}

impl Segment {
    /// The whole plan.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Segment {
        assert!(
            count > 0 && index < count,
            "segment {index}/{count} is out of range"
        );
        Segment { index, count }
    }

    /// This segment's share of a whole count. Shares differ by at most one
    /// and always add up to `total` exactly.
    pub fn share(&self, total: u64) -> u64 {
        let count = u64::from(self.count);
        let index = u64::from(self.index);
        total / count + u64::from(index < total % count)
    }

    /// This segment's share of a rate.
    pub fn share_rate(&self, total: f64) -> f64 {
        total / f64::from(self.count)
    }

    /// The segments a whole is split into.
    pub fn all(count: u32) -> impl Iterator<Item = Segment> {
        (0..count).map(move |index| Segment { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_exactly() {
        for total in [0u64, 1, 7, 50, 1001] {
            for count in 1..=9 {
                let shares: Vec<u64> = Segment::all(count).map(|s| s.share(total)).collect();
                assert_eq!(shares.iter().sum::<u64>(), total);
                assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
            }
        }
        assert_eq!(Segment::WHOLE.share(42), 42);
        assert_eq!(Segment::new(1, 4).share_rate(200.0), 50.0);
    }
}
