//! Apdex: one number for "were users happy with the response time?".
//!
//! With a threshold T, a response within T *satisfies*, one within 4T is
//! *tolerated*, anything slower *frustrates*, and the score is
//! `(satisfied + tolerating / 2) / total`. Following the Apdex specification,
//! a request that failed counts as frustrated whatever its time: one with no
//! response (refused, reset, timed out), and one answered with a status of
//! 400 or more (see [`Apdex::from_histogram`]).
//!
//! The counts come from the exact latency histogram of the result, never from
//! percentiles, so they are exact to the histogram's precision (0.1 %): a
//! response of T plus 0.1 % may fall on either side of T.

use pummel_result::LatencyHistogram;

/// The Apdex threshold when none is given: 500 ms, the specification's
/// example and a common choice for interactive web requests.
pub const DEFAULT_T_MS: f64 = 500.0;

/// Apdex counts for one set of requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Apdex {
    /// The threshold T, in milliseconds.
    pub t_ms: f64,
    pub satisfied: u64,
    pub tolerating: u64,
    pub frustrated: u64,
}

impl Apdex {
    /// Counts the responses of `histogram` against T. Requests that failed
    /// count as frustrated: the `no_response` ones (not in the histogram), and
    /// `error_responses` of the histogram's samples (a status of 400 or more:
    /// the user was not served). The histogram does not say which samples the
    /// errors were, so the satisfied and tolerating counts shrink in
    /// proportion — exact when errors are as fast as the rest, and a score of
    /// exactly 0 when every response was an error.
    pub fn from_histogram(
        histogram: &LatencyHistogram,
        no_response: u64,
        error_responses: u64,
        t_ms: f64,
    ) -> Apdex {
        let (mut satisfied, mut tolerating, mut slow) = (0u64, 0u64, 0u64);
        for (latency_ms, n) in histogram.distribution() {
            if latency_ms <= t_ms {
                satisfied += n;
            } else if latency_ms <= 4.0 * t_ms {
                tolerating += n;
            } else {
                slow += n;
            }
        }
        let responses = satisfied + tolerating + slow;
        if error_responses > 0 && responses > 0 {
            let served = 1.0 - (error_responses as f64 / responses as f64).min(1.0);
            satisfied = (satisfied as f64 * served).round() as u64;
            tolerating = (tolerating as f64 * served).round() as u64;
            slow = responses - satisfied - tolerating;
        }
        Apdex {
            t_ms,
            satisfied,
            tolerating,
            frustrated: slow + no_response,
        }
    }

    /// [`Apdex::from_histogram`] of a base64 histogram as a result stores
    /// it; `None` when it does not decode (a hand-edited or truncated file).
    pub fn from_encoded(
        histogram: &str,
        no_response: u64,
        error_responses: u64,
        t_ms: f64,
    ) -> Option<Apdex> {
        let h = LatencyHistogram::from_base64(histogram).ok()?;
        Some(Apdex::from_histogram(
            &h,
            no_response,
            error_responses,
            t_ms,
        ))
    }

    pub fn total(&self) -> u64 {
        self.satisfied + self.tolerating + self.frustrated
    }

    /// The score, 0.0 to 1.0; `None` when there was nothing to score.
    pub fn score(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| (self.satisfied as f64 + self.tolerating as f64 / 2.0) / total as f64)
    }

    /// The specification's rating of the score.
    pub fn rating(&self) -> &'static str {
        match self.score() {
            None => "no data",
            Some(s) if s >= 0.94 => "excellent",
            Some(s) if s >= 0.85 => "good",
            Some(s) if s >= 0.70 => "fair",
            Some(s) if s >= 0.50 => "poor",
            Some(_) => "unacceptable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_satisfied_tolerating_frustrated() {
        let mut h = LatencyHistogram::new();
        for ms in [10u64, 100, 400, 600, 1500, 2500] {
            h.record_us(ms * 1000);
        }
        let a = Apdex::from_histogram(&h, 2, 0, 500.0);
        assert_eq!((a.satisfied, a.tolerating, a.frustrated), (3, 2, 3));
        assert_eq!(a.total(), 8);
        assert_eq!(a.score(), Some((3.0 + 1.0) / 8.0));
        assert_eq!(a.rating(), "poor");
    }

    #[test]
    fn ratings_and_empty() {
        let mut h = LatencyHistogram::new();
        for _ in 0..99 {
            h.record_us(1000);
        }
        assert_eq!(Apdex::from_histogram(&h, 1, 0, 500.0).rating(), "excellent");
        let empty = Apdex::from_histogram(&LatencyHistogram::new(), 0, 0, 500.0);
        assert_eq!(empty.score(), None);
        assert_eq!(empty.rating(), "no data");
        assert!(Apdex::from_encoded("garbage", 0, 0, 500.0).is_none());
        let all_errors = Apdex::from_histogram(&h, 0, 99, 500.0);
        assert_eq!(
            (
                all_errors.satisfied,
                all_errors.frustrated,
                all_errors.score()
            ),
            (0, 99, Some(0.0))
        );
        let some = Apdex::from_histogram(&h, 1, 50, 500.0);
        assert_eq!(
            (some.satisfied, some.tolerating, some.frustrated),
            (49, 0, 51)
        );
        assert_eq!(
            Apdex::from_encoded(&h.to_base64(), 0, 0, 0.5)
                .unwrap()
                .satisfied,
            0
        );
    }
}
