//! Requests counted per key, for the counted endpoints (see `counted`), which test retries, loops
//! and branches against a count the server keeps:
//!
//! - `GET|POST /api/hit?key=K`: counts one request for `K`; 200 `{"key","count"}`;
//! - `GET|POST /api/flaky?key=K&every=N`: counts like `hit`, and fails the first request of every
//!   `N` for that key (the 1st, the N+1th, …) with 503 — deterministic, so a client that retries
//!   once always gets through when `N >= 2`;
//! - `GET /api/hits?key=K`: the count for `K`, not counting this request; without `key`, every
//!   count `{"counts": {K: n}}`.
//!
//! Keys are at most 64 bytes and at most 10,000 of them are kept: more is a 507, so a long run
//! with a key per request cannot eat the machine.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// The most keys kept.
pub(crate) const MAX_KEYS: usize = 10_000;

/// Requests counted per key.
#[derive(Default)]
pub(crate) struct Tally {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    /// Counts one request for `key`; the count so far, `None` when the key is new and
    /// [`MAX_KEYS`] are kept already.
    pub(crate) fn bump(&self, key: &str) -> Option<u64> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if !counts.contains_key(key) && counts.len() >= MAX_KEYS {
            return None;
        }
        let n = counts.entry(key.to_owned()).or_default();
        *n += 1;
        Some(*n)
    }

    /// The count for `key`.
    pub(crate) fn get(&self, key: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(key).copied().unwrap_or(0)
    }

    /// Every count.
    pub(crate) fn all(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
