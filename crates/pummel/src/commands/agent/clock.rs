//! The agent's clock, as the server sees it.
//!
//! The server measures each agent's offset at connect (ping/pong, the
//! sample with the shortest round trip) and gives the start instant in the
//! agent's own clock; the agent turns it into a local `Instant`. Both ends
//! of that exchange read [`now_unix_ns`], so whatever offset this clock
//! has cancels.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Test-only: shifts this agent's wall clock by this many milliseconds, to
/// show that the offset measurement cancels clock skew (one host cannot
/// have real skew between its processes). Not for production use.
const TEST_OFFSET_VAR: &str = "PUMMEL_TEST_CLOCK_OFFSET_MS";

fn test_offset_ns() -> i64 {
    std::env::var(TEST_OFFSET_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(0, |ms| ms.saturating_mul(1_000_000))
}

/// This agent's wall clock, Unix ns.
pub(super) fn now_unix_ns() -> i64 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    real.saturating_add(test_offset_ns())
}

/// The local instant of `unix_ns` in this agent's clock. One already past
/// stays in the past: the engine then starts at once, behind schedule, and
/// its seconds still line up with the other agents'.
pub(super) fn instant_of(unix_ns: i64) -> Instant {
    let ahead = unix_ns.saturating_sub(now_unix_ns());
    let now = Instant::now();
    let by = Duration::from_nanos(ahead.unsigned_abs());
    if ahead >= 0 {
        now + by
    } else {
        now.checked_sub(by).unwrap_or(now)
    }
}
