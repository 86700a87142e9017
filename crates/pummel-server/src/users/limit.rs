//! The limit on failed sign-ins, per account and per client address, so
//! that guessing a password takes years, not minutes.
//!
//! A fixed window per key: after `max` failures within `window`, further
//! attempts are refused until the window (counted from the first failure)
//! has passed, whatever the password. A success clears the account's count
//! (not the address's, so one valid account cannot launder guesses at
//! others). Kept in memory: a restart forgets, which only gives an attacker
//! what a restart costs them to cause.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account within the window.
pub(crate) const PER_ACCOUNT: u32 = 5;
/// Failures allowed per client address within the window (several people
/// behind one NAT mistype too).
pub(crate) const PER_ADDRESS: u32 = 20;
/// The window.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Keys this many before old windows are swept, so that sprayed names do
/// not grow the map without bound.
const SWEEP_AT: usize = 10_000;

struct Window {
    first: Instant,
    failures: u32,
}

/// Counts failures by key.
pub(crate) struct Limiter {
    max: u32,
    window: Duration,
    keys: Mutex<HashMap<String, Window>>,
}

impl Limiter {
    pub(crate) fn new(max: u32, window: Duration) -> Limiter {
        Limiter {
            max,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must wait before trying again; None when it may try
    /// now.
    pub(crate) fn blocked_for(&self, key: &str, now: Instant) -> Option<Duration> {
        let keys = self.keys.lock().ok()?;
        let w = keys.get(key)?;
        let until = w.first + self.window;
        (w.failures >= self.max && now < until).then(|| until - now)
    }

    pub(crate) fn failed(&self, key: &str, now: Instant) {
        let Ok(mut keys) = self.keys.lock() else {
            return;
        };
        if keys.len() >= SWEEP_AT {
            let window = self.window;
            keys.retain(|_, w| now.duration_since(w.first) < window);
        }
        let w = keys.entry(key.to_owned()).or_insert(Window {
            first: now,
            failures: 0,
        });
        if now.duration_since(w.first) >= self.window {
            *w = Window {
                first: now,
                failures: 0,
            };
        }
        w.failures += 1;
    }

    pub(crate) fn succeeded(&self, key: &str) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(key);
        }
    }
}

/// Both limits, as the sign-in page uses them.
pub(crate) struct SignInLimits {
    pub(crate) accounts: Limiter,
    pub(crate) addresses: Limiter,
}

impl Default for SignInLimits {
    fn default() -> SignInLimits {
        SignInLimits {
            accounts: Limiter::new(PER_ACCOUNT, WINDOW),
            addresses: Limiter::new(PER_ADDRESS, WINDOW),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_the_window_passes() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.blocked_for("ada", t0), None, "attempt {i}");
            limiter.failed("ada", t0 + Duration::from_secs(i));
        }
        let wait = limiter.blocked_for("ada", t0 + Duration::from_secs(10));
        assert_eq!(wait, Some(Duration::from_secs(50)));
        assert_eq!(limiter.blocked_for("bob", t0), None, "other keys untouched");
        assert_eq!(
            limiter.blocked_for("ada", t0 + Duration::from_secs(60)),
            None
        );
        // A new window starts afresh.
        limiter.failed("ada", t0 + Duration::from_secs(61));
        assert_eq!(
            limiter.blocked_for("ada", t0 + Duration::from_secs(62)),
            None
        );
    }

    #[test]
    fn success_clears_the_count() {
        let limiter = Limiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.failed("ada", t0);
        limiter.succeeded("ada");
        limiter.failed("ada", t0);
        assert_eq!(limiter.blocked_for("ada", t0), None);
        limiter.failed("ada", t0);
        assert!(limiter.blocked_for("ada", t0).is_some());
    }
}
