//! Segments: the share of a plan that one engine runs.
//!
//! A plan (what to run, under which load) is split into segments: a share of
//! the connections or virtual users, of the request or iteration count, and
//! of the open model's schedule. A local run is the one segment 1/1; inside
//! it, each worker thread runs a sub-segment; a distributed run gives one
//! segment to each agent. The engine never needs to know which: it runs a
//! segment.
//!
//! A rate is not divided: segment `i` of `n` takes the slots `i`, `i + n`,
//! `i + 2n`, … of the one schedule of the whole plan (an offset and a
//! stride). Whatever the arrival process, the target then sees the whole
//! plan's schedule; `n` schedules each at `1/n` of the rate would all start
//! at zero and send their requests in bunches of `n`.

//!
//! Segments compose: a distributed run gives agent `i` of `n` its segment,
//! and that agent's worker threads split it again ([`Segment::within`]):
//! thread `j` of `m` inside agent `i` of `n` is the segment `i + j·n` of
//! `n·m` of the whole plan. Every count, feeder row and schedule slot of the
//! whole then falls to exactly one thread of one agent.

use std::time::Instant;

/// Segment `index` of `count` equal shares (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// and always add up to `total` exactly. It is also the number of this
    /// segment's slots among the first `total` slots of a schedule.
    pub fn share(&self, total: u64) -> u64 {
        let count = u64::from(self.count);
        let index = u64::from(self.index);
        total / count + u64::from(index < total % count)
    }

    /// The slot of the whole schedule that is this segment's `k`-th (both
    /// 0-based): `index + k · count`. `None` past the last slot a `u64` numbers.
    pub fn slot(&self, k: u64) -> Option<u64> {
        k.checked_mul(u64::from(self.count))?
            .checked_add(u64::from(self.index))
    }

    /// This segment (a share of `outer`, as if `outer` were the whole)
    /// as a segment of the whole plan: `outer.index + self.index ·
    /// outer.count` of `outer.count · self.count`. Its slots of the whole
    /// schedule are this segment's slots of `outer`'s, and its share of any
    /// count is this segment's share of `outer`'s share. `None` when the
    /// product of the counts is past `u32`.
    pub fn within(self, outer: Segment) -> Option<Segment> {
        let count = outer.count.checked_mul(self.count)?;
        let index = self
            .index
            .checked_mul(outer.count)?
            .checked_add(outer.index)?;
        (index < count).then_some(Segment { index, count })
    }

    /// Whether `index < count`, as every segment the engine runs must be.
    pub fn is_valid(&self) -> bool {
        self.index < self.count
    }

    /// The segments a whole is split into.
    pub fn all(count: u32) -> impl Iterator<Item = Segment> {
        (0..count).map(move |index| Segment { index, count })
    }
}

/// How one process takes part in a run: which share of the plan it runs,
/// and when. A local run is the whole plan, started at once; an agent of a
/// distributed run is given its segment and the run's start on its own
/// clock, so that every agent's second `k` is the same second.
#[derive(Clone, Copy, Debug)]
pub struct SegmentOptions {
    /// This process's share of the plan; its worker threads split it again.
    pub segment: Segment,
    /// When the load starts: second 0 of the run's intervals, timeline and
    /// schedule. The workers are started (threads, runtimes, per-thread
    /// state) before it and wait for it. `None`: at once. An instant in the
    /// past starts at once, behind schedule: an open model then catches up
    /// (its slots are counted late).
    pub start_at: Option<Instant>,
}

impl Default for SegmentOptions {
    fn default() -> SegmentOptions {
        SegmentOptions {
            segment: Segment::WHOLE,
            start_at: None,
        }
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
    }

    #[test]
    fn slots_interleave_to_the_whole_schedule() {
        for count in 1..=7u32 {
            // Every slot of the whole belongs to exactly one segment, and a
            // segment's k-th slot is the k-th of its slots in the whole.
            let mut owner = vec![None; 100];
            for segment in Segment::all(count) {
                for k in 0.. {
                    let Some(slot) = segment.slot(k).filter(|&s| s < 100) else {
                        break;
                    };
                    assert!(owner[slot as usize].is_none(), "slot {slot} taken twice");
                    owner[slot as usize] = Some(segment.index);
                    // `share` counts the segment's slots before any point.
                    assert_eq!(segment.share(slot), k);
                    assert_eq!(segment.share(slot + 1), k + 1);
                }
            }
            for (slot, index) in owner.iter().enumerate() {
                assert_eq!(*index, Some(slot as u32 % count), "slot {slot} of {count}");
            }
        }
        assert_eq!(Segment::new(1, 2).slot(3), Some(7));
        assert_eq!(Segment::new(1, 2).slot(u64::MAX), None);
    }

    #[test]
    fn segments_within_segments_are_segments_of_the_whole() {
        for outer_count in 1..=5u32 {
            for inner_count in 1..=4u32 {
                let mut owner = vec![None; 240];
                for outer in Segment::all(outer_count) {
                    for inner in Segment::all(inner_count) {
                        let composed = inner.within(outer).unwrap();
                        assert_eq!(composed.count, outer_count * inner_count);
                        // Shares of shares are shares of the whole.
                        for total in [0u64, 1, 7, 59, 240] {
                            assert_eq!(composed.share(total), inner.share(outer.share(total)));
                        }
                        // The inner segment's k-th slot of the outer's slots
                        // is the composed segment's k-th slot of the whole.
                        for k in 0..10 {
                            let of_outer = inner.slot(k).unwrap();
                            assert_eq!(composed.slot(k), outer.slot(of_outer));
                        }
                        for k in 0.. {
                            let Some(slot) = composed.slot(k).filter(|&s| s < 240) else {
                                break;
                            };
                            assert!(owner[slot as usize].is_none(), "slot {slot} twice");
                            owner[slot as usize] = Some((outer.index, inner.index));
                        }
                    }
                }
                assert!(owner.iter().all(Option::is_some));
            }
        }
        assert_eq!(Segment::new(0, 2).within(Segment::new(0, u32::MAX)), None);
        assert_eq!(
            Segment::WHOLE.within(Segment::new(2, 3)),
            Some(Segment::new(2, 3))
        );
    }
}
