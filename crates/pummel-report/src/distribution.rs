//! The shape of a latency histogram, in forms a chart can draw.
//!
//! An HDR histogram at three significant figures has thousands of buckets;
//! drawn as they are they make a comb. Two views read well:
//!
//! - [`log_bins`]: the share of responses in each of a few dozen bins spaced
//!   evenly on a log scale between the fastest and the slowest response, so a
//!   0.1 ms mode and a 2 s tail both show;
//! - [`percentile_spectrum`]: latency at each percentile, with the percentile
//!   axis stretched towards the tail (90 %, 99 %, 99.9 % … equally spaced),
//!   the classic HdrHistogram plot, which overlays well when comparing runs.

use pummel_result::LatencyHistogram;

/// A bin of [`log_bins`]: responses from `lo_ms` (exclusive) to `hi_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bin {
    pub lo_ms: f64,
    pub hi_ms: f64,
    pub count: u64,
}

impl Bin {
    /// The bin's centre on the log scale.
    pub fn mid_ms(&self) -> f64 {
        (self.lo_ms * self.hi_ms).sqrt()
    }
}

/// Responses counted into `bins` bins spaced evenly on a log scale from the
/// smallest to the largest recorded latency. Empty for an empty histogram.
pub fn log_bins(h: &LatencyHistogram, bins: usize) -> Vec<Bin> {
    match range_ms(h) {
        Some((lo, hi)) => log_bins_between(h, lo, hi, bins),
        None => Vec::new(),
    }
}

/// One point of a percentile spectrum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrumPoint {
    /// The percentile as "nines": 1 is 90 %, 2 is 99 %, 3 is 99.9 %;
    /// `-log10(1 - q)`.
    pub nines: f64,
    pub percentile: f64,
    pub latency_ms: f64,
}

/// The latency at percentiles from 0 to the largest that the sample count
/// supports (99.9 % needs a thousand responses to mean something), up to
/// 99.999 %. Empty for an empty histogram.
pub fn percentile_spectrum(h: &LatencyHistogram) -> Vec<SpectrumPoint> {
    if h.is_empty() {
        return Vec::new();
    }
    nines_axis(h.len())
        .into_iter()
        .map(|nines| {
            let q = quantile_of(nines);
            SpectrumPoint {
                nines,
                percentile: q * 100.0,
                latency_ms: h.quantile_ms(q),
            }
        })
        .collect()
}

/// Points along the percentile axis, in nines, for `samples` responses:
/// from 0 to `log10(samples)` (at least 90 %, at most 99.999 %), 25 a nine.
/// With n samples, percentiles above `1 - 1/n` are all the maximum.
pub fn nines_axis(samples: u64) -> Vec<f64> {
    let max_nines = (samples.max(1) as f64).log10().clamp(1.0, 5.0);
    let steps = (max_nines * 25.0).ceil() as usize;
    (0..=steps)
        .map(|i| max_nines * i as f64 / steps as f64)
        .collect()
}

/// The quantile (0–1) of a point in nines.
pub fn quantile_of(nines: f64) -> f64 {
    1.0 - 10f64.powf(-nines)
}

/// The latency at each point of a nines axis; `None` everywhere for an
/// empty histogram (so a chart draws nothing rather than zeros).
pub fn latency_at(h: &LatencyHistogram, nines: &[f64]) -> Vec<Option<f64>> {
    nines
        .iter()
        .map(|n| (!h.is_empty()).then(|| h.quantile_ms(quantile_of(*n))))
        .collect()
}

/// Like [`log_bins`] but over a given range, so that two histograms (a
/// comparison) share their bins; values outside fall into the end bins.
pub fn log_bins_between(h: &LatencyHistogram, lo_ms: f64, hi_ms: f64, bins: usize) -> Vec<Bin> {
    let bins = bins.max(1);
    let lo = (lo_ms * 0.999).max(0.0005);
    let hi = (hi_ms * 1.001).max(lo * 1.01);
    let ratio = (hi / lo).powf(1.0 / bins as f64);
    let mut out: Vec<Bin> = (0..bins)
        .map(|i| Bin {
            lo_ms: lo * ratio.powi(i as i32),
            hi_ms: lo * ratio.powi(i as i32 + 1),
            count: 0,
        })
        .collect();
    for (ms, n) in h.distribution() {
        let i = (ms / lo).log(ratio).floor();
        let i = if i.is_finite() {
            (i.max(0.0) as usize).min(bins - 1)
        } else {
            0
        };
        out[i].count += n;
    }
    out
}

/// The smallest and largest recorded latency (ms); `None` when empty.
pub fn range_ms(h: &LatencyHistogram) -> Option<(f64, f64)> {
    let d = h.distribution();
    Some((d.first()?.0, d.last()?.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(n: u64) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for i in 1..=n {
            h.record_us(i * 100);
        }
        h
    }

    #[test]
    fn bins_hold_every_response() {
        let h = spread(10_000);
        let bins = log_bins(&h, 40);
        assert_eq!(bins.len(), 40);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 10_000);
        assert!(bins
            .windows(2)
            .all(|w| (w[0].hi_ms - w[1].lo_ms).abs() < 1e-9));
        assert!(bins[0].lo_ms <= 0.1 && bins[39].hi_ms >= 1000.0);
        assert!(log_bins(&LatencyHistogram::new(), 40).is_empty());
    }

    #[test]
    fn one_value_makes_one_full_bin() {
        let mut h = LatencyHistogram::new();
        h.record_us(5000);
        h.record_us(5000);
        let bins = log_bins(&h, 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 2);
    }

    #[test]
    fn spectrum_rises_and_stops_where_the_samples_do() {
        let h = spread(1000);
        let s = percentile_spectrum(&h);
        assert!((s.last().unwrap().nines - 3.0).abs() < 1e-9);
        assert!(s.windows(2).all(|w| w[0].latency_ms <= w[1].latency_ms));
        assert_eq!(s[0].percentile, 0.0);
        assert!(percentile_spectrum(&LatencyHistogram::new()).is_empty());
        assert_eq!(
            latency_at(&LatencyHistogram::new(), &[0.0, 1.0]),
            vec![None, None]
        );
        assert_eq!(nines_axis(10).len(), 26);
    }

    #[test]
    fn shared_bins_hold_both_histograms() {
        let (a, b) = (spread(100), spread(1000));
        let (lo, hi) = (range_ms(&a).unwrap().0, range_ms(&b).unwrap().1);
        let ba = log_bins_between(&a, lo, hi, 20);
        let bb = log_bins_between(&b, lo, hi, 20);
        assert_eq!(ba.iter().map(|x| x.count).sum::<u64>(), 100);
        assert_eq!(bb.iter().map(|x| x.count).sum::<u64>(), 1000);
        assert_eq!(ba[7].lo_ms, bb[7].lo_ms);
    }
}
