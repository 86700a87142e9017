//! The figures kept for one metric key over one interval (or a whole run).

use std::time::Duration;

use crate::error_kind::ErrorKind;
use crate::histogram::LatencyHistogram;

/// Counts of HTTP status codes.
///
/// A run sees a handful of distinct codes, so a short vector searched
/// linearly beats a map on the hot path and allocates only when a new code
/// first appears.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct StatusCounts {
    counts: Vec<(u16, u64)>,
}

impl StatusCounts {
    #[inline]
    pub fn add(&mut self, code: u16, n: u64) {
        match self.counts.iter_mut().find(|(c, _)| *c == code) {
            Some((_, count)) => *count += n,
            None => self.counts.push((code, n)),
        }
    }

    pub fn merge(&mut self, other: &StatusCounts) {
        for &(code, n) in &other.counts {
            self.add(code, n);
        }
    }

    /// `(code, count)` pairs in ascending order of code.
    pub fn sorted(&self) -> Vec<(u16, u64)> {
        let mut v = self.counts.clone();
        v.sort_unstable();
        v
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    pub fn get(&self, code: u16) -> u64 {
        self.counts
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(0, |(_, n)| *n)
    }
}

/// Counts of failures by kind, in a fixed array indexed by [`ErrorKind::index`].
///
/// Serialised as a map from each non-zero kind's key ([`ErrorKind::as_str`])
/// to its count, so a kind added later does not shift the others; an
/// unknown key is an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    counts: [u64; ErrorKind::COUNT],
}

impl serde::Serialize for ErrorCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.nonzero().map(|(kind, n)| (kind.as_str(), n)))
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCounts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut counts = ErrorCounts::default();
        for (key, n) in map {
            let kind = ErrorKind::from_key(&key)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown error kind {key:?}")))?;
            counts.add(kind, n);
        }
        Ok(counts)
    }
}

impl ErrorCounts {
    #[inline]
    pub fn add(&mut self, kind: ErrorKind, n: u64) {
        self.counts[kind.index()] += n;
    }

    pub fn get(&self, kind: ErrorKind) -> u64 {
        self.counts[kind.index()]
    }

    pub fn merge(&mut self, other: &ErrorCounts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The kinds with a non-zero count, in declaration order.
    pub fn nonzero(&self) -> impl Iterator<Item = (ErrorKind, u64)> + '_ {
        ErrorKind::ALL
            .into_iter()
            .map(|k| (k, self.get(k)))
            .filter(|(_, n)| *n > 0)
    }
}

/// Everything measured for one metric key during one interval.
///
/// `latency` counts from the request's start as the load model intended it:
/// in an open-model run that is the scheduled start, so time spent waiting
/// for a free connection is part of the latency (no coordinated omission).
/// `uncorrected` (open-model runs only) counts from the moment the request
/// actually went out, the figure most other tools report.
///
/// Serialisable (histograms as their base64 V2 encoding) so that snapshots
/// can travel from an agent to a server and merge there exactly.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub latency: LatencyHistogram,
    pub uncorrected: Option<LatencyHistogram>,
    /// Requests that received a complete response (any status).
    pub responses: u64,
    pub errors: ErrorCounts,
    pub status: StatusCounts,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Open model: requests that started later than scheduled.
    pub late: u64,
    /// Open model: scheduled requests that could not start before the run ended.
    pub dropped: u64,
    /// Requests in flight when the run stopped (deadline or interrupt); they
    /// are neither responses nor errors.
    pub aborted: u64,
}

impl Stats {
    pub fn new(open_model: bool) -> Stats {
        Stats {
            uncorrected: open_model.then(LatencyHistogram::new),
            ..Stats::default()
        }
    }

    /// Requests that finished, with a response or with an error.
    pub fn requests(&self) -> u64 {
        self.responses + self.errors.total()
    }

    #[inline]
    pub fn record_response(
        &mut self,
        latency: Duration,
        uncorrected: Option<Duration>,
        status: u16,
        bytes_received: u64,
        bytes_sent: u64,
    ) {
        self.record_message(latency, uncorrected, bytes_received, bytes_sent);
        self.status.add(status, 1);
    }

    /// Records a completed exchange that has no HTTP status (a WebSocket
    /// round trip): counted as a response, without a status code.
    #[inline]
    pub fn record_message(
        &mut self,
        latency: Duration,
        uncorrected: Option<Duration>,
        bytes_received: u64,
        bytes_sent: u64,
    ) {
        self.latency.record(latency);
        if let (Some(h), Some(u)) = (self.uncorrected.as_mut(), uncorrected) {
            h.record(u);
        }
        self.responses += 1;
        self.bytes_received += bytes_received;
        self.bytes_sent += bytes_sent;
    }

    #[inline]
    pub fn record_error(&mut self, kind: ErrorKind, bytes_received: u64, bytes_sent: u64) {
        self.errors.add(kind, 1);
        self.bytes_received += bytes_received;
        self.bytes_sent += bytes_sent;
    }

    /// Adds every figure of `other` into `self`: exact, as histograms merge exactly.
    pub fn merge(&mut self, other: &Stats) {
        self.latency.merge(&other.latency);
        match (&mut self.uncorrected, &other.uncorrected) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.uncorrected = Some(b.clone()),
            _ => {}
        }
        self.responses += other.responses;
        self.errors.merge(&other.errors);
        self.status.merge(&other.status);
        self.bytes_received += other.bytes_received;
        self.bytes_sent += other.bytes_sent;
        self.late += other.late;
        self.dropped += other.dropped;
        self.aborted += other.aborted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_every_figure() {
        let mut a = Stats::new(true);
        a.record_response(
            Duration::from_millis(2),
            Some(Duration::from_millis(1)),
            200,
            10,
            5,
        );
        a.record_error(ErrorKind::Reset, 0, 5);
        let mut b = Stats::new(true);
        b.record_response(
            Duration::from_millis(4),
            Some(Duration::from_millis(3)),
            404,
            7,
            5,
        );
        b.record_response(
            Duration::from_millis(6),
            Some(Duration::from_millis(6)),
            200,
            7,
            5,
        );
        b.late = 2;
        b.dropped = 1;
        b.aborted = 3;
        a.merge(&b);
        assert_eq!(a.responses, 3);
        assert_eq!(a.requests(), 4);
        assert_eq!(a.status.sorted(), vec![(200, 2), (404, 1)]);
        assert_eq!(a.errors.get(ErrorKind::Reset), 1);
        assert_eq!(a.bytes_received, 24);
        assert_eq!(a.bytes_sent, 20);
        assert_eq!((a.late, a.dropped, a.aborted), (2, 1, 3));
        assert_eq!(a.latency.len(), 3);
        assert_eq!(a.uncorrected.as_ref().unwrap().len(), 3);
    }
}
