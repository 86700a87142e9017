//! Flow control in a scenario: loops, conditions, retries and what a
//! failure does to the rest of the iteration.
//!
//! - `loop:` repeats its `steps` a number of times (`count`), while a
//!   condition holds (`while`, at most `max` passes, 1,000 unless set), or
//!   once for each item of a list or row of a data feeder (`over`);
//! - `if:` runs its `steps` when a condition holds, else its `else` steps;
//! - `retry:` on a request step sends it again when the response or the
//!   failure is one it names, after an exponential backoff with full
//!   jitter; every attempt is a request in the metrics, and the retries
//!   are counted apart;
//! - `on_error:` says what a failed step does: end the iteration (the
//!   default, as before), carry on with the next step, or end the virtual
//!   user.
//!
//! Conditions use the template grammar (see [`super::template`]). The
//! steps themselves (`Loop`, `IfStep`) are in the model, which holds steps;
//! this module is what they and request steps are configured with.

use std::time::Duration;

use super::diagnostic::Span;
use super::template::{Condition, Template, VarId};
use crate::ErrorKind;

/// The most passes a `while` loop makes unless its `max` says otherwise: a
/// condition that never turns false must not hold a VU forever.
pub(crate) const DEFAULT_WHILE_MAX: u64 = 1_000;

/// The most passes any loop may be given (`count` or `max`).
pub(crate) const MAX_LOOP_PASSES: u64 = 1_000_000;

/// The most attempts a `retry` may be given.
pub(crate) const MAX_ATTEMPTS: u32 = 100;

/// How many times a loop runs its steps.
#[derive(Clone, Debug)]
pub(crate) enum Repeat {
    /// `count: N`.
    Count(u64),
    /// `while: CONDITION`, checked before each pass, at most `max` passes.
    While { condition: Condition, max: u64 },
    /// `over: [a, b, …]`: one pass per item, the item in the variable `as`
    /// names (`item` unless set).
    List {
        items: Vec<Template>,
        name: String,
        var: VarId,
        span: Span,
    },
    /// `over: FEEDER`: one pass per row of the data feeder, in file order;
    /// `FEEDER.COLUMN` reads the pass's row. Bound by the validator:
    /// `feeder` is `None` until then.
    Feeder {
        name: String,
        span: Span,
        feeder: Option<usize>,
    },
}

/// What a failed step does to the rest of the iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OnError {
    /// End the iteration (the steps after it would act on missing data).
    #[default]
    AbortIteration,
    /// Go on with the next step; the failure is still counted.
    Continue,
    /// End the virtual user: its teardown runs, and the load model starts
    /// a fresh one in its place if it still needs one.
    AbortVu,
}

impl OnError {
    pub(crate) const NAMES: [(&'static str, OnError); 3] = [
        ("continue", OnError::Continue),
        ("abort_iteration", OnError::AbortIteration),
        ("abort_vu", OnError::AbortVu),
    ];
}

/// What a request step's failure means for the flow, beyond its checks.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepFlow {
    pub retry: Option<Retry>,
    /// `None`: the defaults' (or, without one, `abort_iteration`).
    pub on_error: Option<OnError>,
}

/// `retry:` on a request step.
#[derive(Clone, Debug)]
pub(crate) struct Retry {
    /// Attempts in all, the first included (at least 2).
    pub attempts: u32,
    pub on: Vec<RetryOn>,
    /// The first backoff's upper bound, and the cap: the pause before
    /// retry `n` (1-based) is drawn from `[min, min(max, min * 2^(n-1))]`.
    pub backoff: (Duration, Duration),
}

/// An outcome that makes a request step try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryOn {
    /// A status class: `5xx` is `Class(5)`.
    Class(u16),
    /// One status: `429`.
    Status(u16),
    /// A failure with no response: `timeout`, `connect_refused`, …
    Error(ErrorKind),
    /// `error`: any failure with no response.
    AnyError,
}

impl Retry {
    /// Whether an attempt that ended so should be tried again.
    pub(crate) fn wants(&self, outcome: Result<u16, ErrorKind>) -> bool {
        self.on.iter().any(|on| match (on, outcome) {
            (RetryOn::Class(c), Ok(status)) => status / 100 == *c,
            (RetryOn::Status(s), Ok(status)) => status == *s,
            (RetryOn::Error(k), Err(kind)) => *k == kind,
            (RetryOn::AnyError, Err(_)) => true,
            _ => false,
        })
    }

    /// The pause before retry `n` (1 for the first retry): exponential,
    /// with full jitter inside the range.
    pub(crate) fn backoff(&self, n: u32) -> Duration {
        let (min, max) = self.backoff;
        let grown = min.saturating_mul(1u32 << (n.saturating_sub(1)).min(20));
        let ceiling = grown.min(max).max(min);
        let span = (ceiling - min).as_nanos().min(u128::from(u64::MAX)) as u64;
        min + Duration::from_nanos(fastrand::u64(0..=span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_the_range_with_jitter() {
        let r = Retry {
            attempts: 5,
            on: vec![RetryOn::Class(5)],
            backoff: (Duration::from_millis(100), Duration::from_millis(350)),
        };
        let draws = |n| (0..500).map(|_| r.backoff(n)).collect::<Vec<_>>();
        let first = draws(1);
        assert!(first.iter().all(|d| *d == Duration::from_millis(100)));
        let second = draws(2);
        assert!(second.iter().all(|d| (100..=200).contains(&d.as_millis())));
        assert!(second.iter().any(|d| d.as_millis() > 150), "jitter");
        let late = draws(9);
        assert!(late.iter().all(|d| (100..=350).contains(&d.as_millis())));
        assert!(
            late.iter().any(|d| d.as_millis() > 300),
            "capped, not stuck at min"
        );
    }

    #[test]
    fn wants_what_it_names() {
        let r = Retry {
            attempts: 3,
            on: vec![
                RetryOn::Class(5),
                RetryOn::Status(429),
                RetryOn::Error(ErrorKind::Timeout),
            ],
            backoff: (Duration::ZERO, Duration::ZERO),
        };
        assert!(r.wants(Ok(503)) && r.wants(Ok(500)) && r.wants(Ok(429)));
        assert!(!r.wants(Ok(404)) && !r.wants(Ok(200)));
        assert!(r.wants(Err(ErrorKind::Timeout)));
        assert!(!r.wants(Err(ErrorKind::ConnectRefused)));
    }
}
