//! Latency histograms: HDR histograms with microsecond resolution.
//!
//! Every latency pummel measures goes into one of these, never into a list of
//! samples, so memory stays flat however many requests a run makes, and two
//! histograms (two threads, two seconds, two agents) merge exactly: the
//! percentiles of a merge are the percentiles of all the samples, never an
//! average of percentiles.

use std::time::Duration;

use std::borrow::Cow;

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use encoded::Encoded;

mod encoded;

/// Three significant figures: a recorded value is exact to 0.1%, which keeps a
/// 10 ms latency exact to 10 µs, and a histogram small (tens of KB).
const SIGNIFICANT_FIGURES: u8 = 3;

/// The initial highest trackable value (100 ms, in µs). Histograms resize
/// themselves if a longer latency arrives, so this is only a starting size:
/// most latencies fit, and a histogram of this range is half the buckets of
/// one of a minute's. Every second of every key starts one, and a server
/// merging many agents' seconds zeroes and walks their buckets.
const INITIAL_MAX_US: u64 = 100_000;

/// A histogram of latencies in microseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    repr: Repr,
}

/// A histogram is recorded into as one; one that was decoded stays in its
/// encoding until something needs more than its count or to merge it
/// elsewhere. A server merging fifty agents' seconds decodes thousands of
/// histograms a second only to add them into its own: each would otherwise
/// allocate and zero a few thousand buckets for a few dozen counts.
#[derive(Clone, Debug)]
enum Repr {
    Live(Histogram<u64>),
    Encoded(Encoded),
}

/// The figures a summary shows of a latency histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min: f64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// A histogram that could not be decoded from its serialised form.
#[derive(Debug, thiserror::Error)]
#[error("invalid histogram encoding: {0}")]
pub struct HistogramDecodeError(String);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        let mut inner = Histogram::new_with_bounds(1, INITIAL_MAX_US, SIGNIFICANT_FIGURES)
            .expect("constant histogram bounds are valid");
        inner.auto(true);
        LatencyHistogram {
            repr: Repr::Live(inner),
        }
    }

    /// The histogram, to read (a decoded one's buckets, made for the call).
    fn live(&self) -> Cow<'_, Histogram<u64>> {
        match &self.repr {
            Repr::Live(h) => Cow::Borrowed(h),
            Repr::Encoded(e) => Cow::Owned(e.histogram()),
        }
    }

    /// The histogram, to change (a decoded one becomes one for good).
    fn live_mut(&mut self) -> &mut Histogram<u64> {
        if let Repr::Encoded(e) = &self.repr {
            self.repr = Repr::Live(e.histogram());
        }
        match &mut self.repr {
            Repr::Live(h) => h,
            Repr::Encoded(_) => unreachable!("made live just above"),
        }
    }

    /// Records one latency. Sub-microsecond latencies count as 1 µs, so that
    /// every recorded sample is visible in the count.
    #[inline]
    pub fn record(&mut self, latency: Duration) {
        self.record_us(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one latency given in microseconds.
    #[inline]
    pub fn record_us(&mut self, us: u64) {
        // With auto-resize, `record` grows the histogram for a value beyond
        // its range (`saturating_record` would clamp instead). It can fail only
        // past the largest representable range; clamping keeps that counted.
        let us = us.max(1);
        let h = self.live_mut();
        if h.record(us).is_err() {
            h.saturating_record(us);
        }
    }

    /// Adds every sample of `other` into this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        match &other.repr {
            // Cannot fail: `self` auto-resizes to hold any value of `other`.
            Repr::Live(o) => {
                let _ = self.live_mut().add(o);
            }
            // Only the recorded buckets, straight from the encoding.
            Repr::Encoded(e) if e.count() == 0 => {}
            Repr::Encoded(e) => {
                let h = self.live_mut();
                e.for_each(|value, count| {
                    if h.record_n(value, count).is_err() {
                        h.saturating_record_n(value, count);
                    }
                });
            }
        }
    }

    pub fn len(&self) -> u64 {
        match &self.repr {
            Repr::Live(h) => h.len(),
            Repr::Encoded(e) => e.count(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&mut self) {
        match &mut self.repr {
            Repr::Live(h) => h.reset(),
            Repr::Encoded(_) => *self = LatencyHistogram::new(),
        }
    }

    /// The value at quantile `q` (0.0..=1.0), in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        us_to_ms(self.live().value_at_quantile(q))
    }

    pub fn max_ms(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        us_to_ms(self.live().max())
    }

    /// The summary figures, in milliseconds. All zero for an empty histogram.
    pub fn summary(&self) -> LatencySummary {
        if self.is_empty() {
            return LatencySummary::default();
        }
        let h = self.live();
        LatencySummary {
            min: us_to_ms(h.min()),
            mean: h.mean() / 1000.0,
            stdev: h.stdev() / 1000.0,
            p50: us_to_ms(h.value_at_quantile(0.50)),
            p90: us_to_ms(h.value_at_quantile(0.90)),
            p95: us_to_ms(h.value_at_quantile(0.95)),
            p99: us_to_ms(h.value_at_quantile(0.99)),
            p999: us_to_ms(h.value_at_quantile(0.999)),
            max: us_to_ms(h.max()),
        }
    }

    /// Samples at or below `us` microseconds, to the histogram's precision
    /// (three significant figures): what a cumulative bucket of a classic
    /// Prometheus histogram counts.
    pub fn count_at_or_below_us(&self, us: u64) -> u64 {
        if self.is_empty() {
            return 0;
        }
        self.live().count_between(0, us)
    }

    /// The sum of all samples in microseconds, as the histogram knows them
    /// (each at its bucket's middle): a Prometheus histogram's `_sum`.
    pub fn sum_us(&self) -> f64 {
        let h = self.live();
        h.mean() * h.len() as f64
    }

    /// `(latency_ms, count)` for each distinct recorded bucket, in ascending
    /// order: the latency distribution a report draws.
    pub fn distribution(&self) -> Vec<(f64, u64)> {
        self.live()
            .iter_recorded()
            .map(|v| {
                (
                    us_to_ms(v.value_iterated_to()),
                    v.count_since_last_iteration(),
                )
            })
            .collect()
    }

    /// The standard HdrHistogram V2 encoding, in base64: compact (runs of
    /// empty buckets take a byte or two), and readable by every HdrHistogram
    /// implementation. Not the compressed variant: a server that merges many
    /// agents' seconds decodes thousands of histograms a second, and setting
    /// up an inflater for each cost more than all the rest of the decoding.
    pub fn to_base64(&self) -> String {
        let h = match &self.repr {
            Repr::Live(h) => h,
            // Already a V2 encoding of exactly these buckets.
            Repr::Encoded(e) => return base64::engine::general_purpose::STANDARD.encode(e.bytes()),
        };
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(h, &mut bytes)
            .expect("serialising into a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Decodes what [`LatencyHistogram::to_base64`] produced.
    ///
    /// The encoding comes from a file anyone may have written: its sizes are
    /// checked against the bytes there are before anything is allocated for
    /// them (the decoder would otherwise reserve what a 70-byte string's
    /// header claims, up to 4 GiB).
    pub fn from_base64(encoded: &str) -> Result<LatencyHistogram, HistogramDecodeError> {
        let bad = |what: &str| HistogramDecodeError(what.to_owned());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| HistogramDecodeError(e.to_string()))?;
        let plain = match bytes.get(..8) {
            Some([0x1c, 0x84, 0x93, 0x14, ..]) => inflate(&bytes[8..])?,
            Some([0x1c, 0x84, 0x93, 0x13, ..]) => bytes,
            _ => return Err(bad("not an HdrHistogram V2 encoding")),
        };
        Ok(LatencyHistogram {
            repr: Repr::Encoded(Encoded::parse(plain)?),
        })
    }
}

/// The largest decompressed histogram accepted: a histogram of any latency
/// up to days, at three significant figures, is well under 1 MiB.
const MAX_DECODED_BYTES: u64 = 16 << 20;

/// Inflates a V2 compressed histogram's zlib stream, at most
/// [`MAX_DECODED_BYTES`] of it.
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, HistogramDecodeError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| HistogramDecodeError(format!("not a zlib stream: {e}")))?;
    if out.len() as u64 > MAX_DECODED_BYTES {
        return Err(HistogramDecodeError(format!(
            "decompresses to more than {} MiB",
            MAX_DECODED_BYTES >> 20
        )));
    }
    Ok(out)
}

/// On the wire and in files, a histogram is its V2 encoding in base64
/// ([`LatencyHistogram::to_base64`]); decoding checks it as
/// [`LatencyHistogram::from_base64`] does, so bad input is an error.
impl Serialize for LatencyHistogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let encoded = String::deserialize(deserializer)?;
        LatencyHistogram::from_base64(&encoded).map_err(serde::de::Error::custom)
    }
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_to_three_figures() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert!((s.p50 - 500.0).abs() <= 0.5, "p50 {}", s.p50);
        assert!((s.p99 - 990.0).abs() <= 1.0, "p99 {}", s.p99);
        assert!((s.min - 1.0).abs() < 0.01);
        assert!((s.max - 1000.0).abs() <= 1.0);
        assert!((s.mean - 500.5).abs() <= 0.5);
    }

    #[test]
    fn decoding_keeps_every_bucket_in_a_histogram_only_as_large_as_its_values() {
        let mut h = LatencyHistogram::new();
        for i in 0..20_000u64 {
            h.record_us((i * 7919) % 3_000 + 1);
        }
        // One sample past the initial range, in a histogram of its own.
        let mut wide = h.clone();
        wide.record_us(7_200_000_000);
        for original in [&h, &wide] {
            let back = LatencyHistogram::from_base64(&original.to_base64()).unwrap();
            assert_eq!(back.summary(), original.summary());
            assert_eq!(back.len(), original.len());
            assert_eq!(back.distribution(), original.distribution());
            for q in [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(back.quantile_ms(q), original.quantile_ms(q), "q {q}");
            }
        }
        let small = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert!(
            small.live().distinct_values() * 2 < h.live().distinct_values(),
            "{} buckets decoded for values under 3 ms, of {}",
            small.live().distinct_values(),
            h.live().distinct_values()
        );
        // The compressed variant other tools (and earlier pummels) write still reads.
        let mut compressed = Vec::new();
        hdrhistogram::serialization::V2DeflateSerializer::new()
            .serialize(&*h.live(), &mut compressed)
            .unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(compressed);
        let back = LatencyHistogram::from_base64(&encoded).unwrap();
        assert_eq!(back.summary(), h.summary());
    }

    #[test]
    fn counts_past_the_largest_value_are_refused() {
        let mut h = LatencyHistogram::new();
        h.record_us(10);
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(h.to_base64())
            .unwrap();
        // A run of 2^62 empty buckets, then a count: zig-zag of -2^62 is 2^63 - 1.
        let mut run = Vec::new();
        let mut n: u64 = (1 << 63) - 1;
        for _ in 0..8 {
            run.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        run.push(n as u8);
        run.push(2); // a count of 1
        bytes.extend_from_slice(&run);
        let len = (bytes.len() - 40) as u32;
        bytes[4..8].copy_from_slice(&len.to_be_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(LatencyHistogram::from_base64(&encoded).is_err());
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        let mut all = LatencyHistogram::new();
        for i in 0..5000u64 {
            let us = (i * 7919) % 250_000 + 1;
            if i % 3 == 0 {
                a.record_us(us)
            } else {
                b.record_us(us)
            }
            all.record_us(us);
        }
        a.merge(&b);
        assert_eq!(a.len(), all.len());
        assert_eq!(a.summary(), all.summary());
    }

    #[test]
    fn grows_beyond_the_initial_range() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_secs(3600));
        h.record_us(0);
        assert_eq!(h.len(), 2);
        assert!((h.max_ms() - 3_600_000.0).abs() < 3_600.0);
        assert!((h.summary().min - 0.001).abs() < 1e-9);
        let mut small = LatencyHistogram::new();
        small.merge(&h);
        assert_eq!(small.len(), 2);
    }

    #[test]
    fn base64_round_trip() {
        let mut h = LatencyHistogram::new();
        for us in [5, 50, 500, 5000, 50_000] {
            h.record_us(us);
        }
        let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back.summary(), h.summary());
        assert!(LatencyHistogram::from_base64("not base64!").is_err());
        assert!(LatencyHistogram::from_base64("aGVsbG8=").is_err());
    }

    /// A 70-byte string whose header claims 4 GiB of counts is refused at
    /// once, not allocated; a real encoding, compressed or not, decodes.
    #[test]
    fn an_encoding_claiming_more_than_it_holds_is_refused() {
        let bomb = "HISTFAAAABx4nJNpmSz8////DwwQwAylGaE0kz1UBgDBsgZp";
        let started = std::time::Instant::now();
        let e = LatencyHistogram::from_base64(bomb).unwrap_err().to_string();
        assert!(
            e.contains("claims more counts than the encoding holds"),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_millis(3));
        let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back.summary().max, h.summary().max);
        let mut plain = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&*h.live(), &mut plain)
            .unwrap();
        let plain = base64::engine::general_purpose::STANDARD.encode(plain);
        assert_eq!(
            LatencyHistogram::from_base64(&plain).unwrap().summary().max,
            h.summary().max
        );
        for garbage in ["", "!!!!", "AAAA", "HISTFAAAAAA="] {
            assert!(LatencyHistogram::from_base64(garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        let h = LatencyHistogram::new();
        assert_eq!(h.summary(), LatencySummary::default());
        assert_eq!(h.quantile_ms(0.99), 0.0);
    }
}
