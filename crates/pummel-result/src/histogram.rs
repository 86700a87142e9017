//! Latency histograms: HDR histograms with microsecond resolution.
//!
//! Every latency pummel measures goes into one of these, never into a list of
//! samples, so memory stays flat however many requests a run makes, and two
//! histograms (two threads, two seconds, two agents) merge exactly: the
//! percentiles of a merge are the percentiles of all the samples, never an
//! average of percentiles.

use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Three significant figures: a recorded value is exact to 0.1%, which keeps a
/// 10 ms latency exact to 10 µs, and a histogram small (tens of KB).
const SIGNIFICANT_FIGURES: u8 = 3;

/// The initial highest trackable value (60 s, in µs). Histograms resize
/// themselves if a longer latency arrives, so this is only a starting size.
const INITIAL_MAX_US: u64 = 60_000_000;

/// A histogram of latencies in microseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
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
        LatencyHistogram { inner }
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
        if self.inner.record(us).is_err() {
            self.inner.saturating_record(us);
        }
    }

    /// Adds every sample of `other` into this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Cannot fail: `self` auto-resizes to hold any value of `other`.
        let _ = self.inner.add(&other.inner);
    }

    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// The value at quantile `q` (0.0..=1.0), in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        us_to_ms(self.inner.value_at_quantile(q))
    }

    pub fn max_ms(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        us_to_ms(self.inner.max())
    }

    /// The summary figures, in milliseconds. All zero for an empty histogram.
    pub fn summary(&self) -> LatencySummary {
        if self.is_empty() {
            return LatencySummary::default();
        }
        let h = &self.inner;
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
        self.inner.count_between(0, us)
    }

    /// The sum of all samples in microseconds, as the histogram knows them
    /// (each at its bucket's middle): a Prometheus histogram's `_sum`.
    pub fn sum_us(&self) -> f64 {
        self.inner.mean() * self.inner.len() as f64
    }

    /// `(latency_ms, count)` for each distinct recorded bucket, in ascending
    /// order: the latency distribution a report draws.
    pub fn distribution(&self) -> Vec<(f64, u64)> {
        self.inner
            .iter_recorded()
            .map(|v| {
                (
                    us_to_ms(v.value_iterated_to()),
                    v.count_since_last_iteration(),
                )
            })
            .collect()
    }

    /// The standard HdrHistogram V2 compressed encoding, in base64: compact,
    /// and readable by every HdrHistogram implementation.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.inner, &mut bytes)
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
        // Cookie, payload length, offset, digits, low, high, ratio: 40 bytes.
        let claimed = plain
            .get(4..8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| bad("truncated header"))?;
        if claimed > plain.len().saturating_sub(40) {
            return Err(bad("the header claims more counts than the encoding holds"));
        }
        // The precision fixes the size of the counts array allocated for the
        // range: pummel records three figures, and five would make a
        // histogram of a hostile range take tens of MiB.
        let digits = plain
            .get(12..16)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| bad("truncated header"))?;
        if digits > u32::from(SIGNIFICANT_FIGURES) {
            return Err(bad(&format!(
                "{digits} significant figures: pummel records {SIGNIFICANT_FIGURES}"
            )));
        }
        let mut inner: Histogram<u64> = Deserializer::new()
            .deserialize(&mut plain.as_slice())
            .map_err(|e| HistogramDecodeError(format!("{e:?}")))?;
        inner.auto(true);
        Ok(LatencyHistogram { inner })
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
            .serialize(&h.inner, &mut plain)
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
