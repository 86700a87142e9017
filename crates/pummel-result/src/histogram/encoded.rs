//! A histogram kept in its V2 encoding (uncompressed: cookie first), as it
//! arrived: checked once, then merged straight from its recorded buckets,
//! or made into a histogram only when something reads it as one.
//!
//! The encoding's header gives the range the writer's histogram had, and a
//! decoder that honours it allocates and zeroes that whole range, thousands
//! of buckets, for the few dozen a second of latencies uses. Here each count
//! goes to its bucket's lowest value, in a histogram of the writer's
//! precision, so every bucket (and with them the count, min, max, mean and
//! every percentile) is the one the writer had.

use hdrhistogram::Histogram;

use super::{HistogramDecodeError, SIGNIFICANT_FIGURES};

/// A checked V2 encoding.
#[derive(Clone, Debug)]
pub(super) struct Encoded {
    bytes: Vec<u8>,
    low: u64,
    digits: u8,
    layout: BucketLayout,
    /// Samples recorded: the sum of the counts.
    count: u64,
}

/// Header: cookie, payload length, normalising offset, digits, lowest,
/// highest, integer-to-double ratio.
const HEADER_BYTES: usize = 40;

impl Encoded {
    /// Checks `bytes` (a whole V2 encoding) without allocating for its range:
    /// every count must fall on a bucket a `u64` value has.
    pub(super) fn parse(bytes: Vec<u8>) -> Result<Encoded, HistogramDecodeError> {
        let bad = |what: &str| HistogramDecodeError(what.to_owned());
        let u32_at = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| bad("truncated header"))
        };
        let u64_at = |at: usize| {
            bytes
                .get(at..at + 8)
                .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .ok_or_else(|| bad("truncated header"))
        };
        if u32_at(0)? != 0x1c84_9313 {
            return Err(bad("not an HdrHistogram V2 encoding"));
        }
        let payload_len = u32_at(4)? as usize;
        if u32_at(8)? != 0 {
            return Err(bad("a normalising index offset (pummel writes none)"));
        }
        // The precision fixes the size of the counts array allocated for the
        // range: pummel records three figures, and five would make a
        // histogram of a hostile range take tens of MiB.
        let digits = u32_at(12)?;
        if digits > u32::from(SIGNIFICANT_FIGURES) {
            return Err(HistogramDecodeError(format!(
                "{digits} significant figures: pummel records {SIGNIFICANT_FIGURES}"
            )));
        }
        let digits = digits as u8;
        let low = u64_at(16)?;
        if f64::from_bits(u64_at(32)?) != 1.0 {
            return Err(bad("an integer-to-double ratio (pummel writes none)"));
        }
        if bytes.len() < HEADER_BYTES + payload_len {
            return Err(bad("the header claims more counts than the encoding holds"));
        }
        // The bounds a histogram of this precision starts with: refused
        // here, not when it is first needed.
        Histogram::<u64>::new_with_bounds(low, low.saturating_mul(2), digits)
            .map_err(|e| HistogramDecodeError(format!("bad bounds: {e:?}")))?;
        let mut encoded = Encoded {
            layout: BucketLayout::of(low, digits),
            bytes,
            low,
            digits,
            count: 0,
        };
        let mut count = 0_u64;
        let mut fault = None;
        encoded.walk(|_, n| count = count.saturating_add(n), &mut fault);
        if let Some(fault) = fault {
            return Err(bad(fault));
        }
        encoded.count = count;
        Ok(encoded)
    }

    /// The whole encoding.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn count(&self) -> u64 {
        self.count
    }

    /// Each recorded bucket's lowest value and its count, in order.
    pub(super) fn for_each(&self, f: impl FnMut(u64, u64)) {
        // Checked by `parse`: no fault left to find.
        let mut fault = None;
        self.walk(f, &mut fault);
    }

    /// The histogram: only as large as its largest value needs.
    pub(super) fn histogram(&self) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(self.low, self.low.saturating_mul(2), self.digits)
            .expect("bounds checked by parse");
        h.auto(true);
        self.for_each(|value, count| {
            if h.record_n(value, count).is_err() {
                h.saturating_record_n(value, count);
            }
        });
        h
    }

    /// Walks the payload's zig-zag varints: a positive number is the count
    /// of the next bucket, a negative one a run of empty buckets. Stops at
    /// the first fault, named in `fault`.
    fn walk(&self, mut f: impl FnMut(u64, u64), fault: &mut Option<&'static str>) {
        let payload_len =
            u32::from_be_bytes([self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]]);
        let payload = &self.bytes[HEADER_BYTES..HEADER_BYTES + payload_len as usize];
        let mut index: u64 = 0;
        let mut at = 0;
        while at < payload.len() {
            let Some((zig_zag, read)) = varint(&payload[at..]) else {
                *fault = Some("truncated count");
                return;
            };
            at += read;
            let n = ((zig_zag >> 1) as i64) ^ -((zig_zag & 1) as i64);
            if n < 0 {
                index = index.saturating_add(n.unsigned_abs());
                continue;
            }
            if n > 0 {
                let Some(value) = self.layout.value_for(index) else {
                    *fault = Some("a count past the largest value");
                    return;
                };
                f(value, n.unsigned_abs());
            }
            index += 1;
        }
    }
}

/// Where HdrHistogram puts values: for a lowest discernible value and a
/// precision, the lowest value of each bucket index (the same arithmetic
/// as the histogram's own, which keeps it private).
#[derive(Clone, Copy, Debug)]
struct BucketLayout {
    unit_magnitude: u32,
    sub_bucket_half_count_magnitude: u32,
    sub_bucket_half_count: u64,
}

impl BucketLayout {
    fn of(low: u64, digits: u8) -> BucketLayout {
        let unit_magnitude = low.max(1).ilog2();
        let single_unit_resolution = 2 * 10_u64.pow(u32::from(digits));
        let sub_bucket_count_magnitude = single_unit_resolution.next_power_of_two().ilog2();
        let sub_bucket_half_count_magnitude = sub_bucket_count_magnitude.max(1) - 1;
        BucketLayout {
            unit_magnitude,
            sub_bucket_half_count_magnitude,
            sub_bucket_half_count: 1 << sub_bucket_half_count_magnitude,
        }
    }

    /// The lowest value that falls in bucket `index`; `None` past `u64`.
    fn value_for(&self, index: u64) -> Option<u64> {
        let mut bucket = i64::try_from(index >> self.sub_bucket_half_count_magnitude).ok()? - 1;
        let mut sub_bucket =
            (index & (self.sub_bucket_half_count - 1)) + self.sub_bucket_half_count;
        if bucket < 0 {
            sub_bucket -= self.sub_bucket_half_count;
            bucket = 0;
        }
        let shift = u32::try_from(bucket)
            .ok()?
            .checked_add(self.unit_magnitude)?;
        let value = sub_bucket.checked_shl(shift)?;
        // A shift that drops high bits is past u64, not a value.
        (value >> shift == sub_bucket).then_some(value)
    }
}

/// One LEB128-64b9B varint (the V2 encoding's: seven bits a byte, the
/// ninth byte whole): the number and the bytes it took.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0_u64;
    for (i, b) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Some((value | (u64::from(*b) << 56), 9));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}
