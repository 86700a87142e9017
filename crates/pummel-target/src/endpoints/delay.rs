//! `/delay/{ms}?jitter={ms}`: a response after a known delay, to give a load test a known latency
//! distribution (fixed part plus uniform jitter) it can check its percentiles against.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Response, StatusCode};

use crate::body::Body;
use crate::response;
use crate::{params, rng};

/// Longest total delay (delay + jitter), so a typo cannot hold a connection for days.
pub(crate) const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

/// `/delay` requests being held now, and the most held at once since the server started: what
/// shows a test, from the server's side, that a client's requests overlapped. Only `/delay`
/// requests touch it.
#[derive(Default)]
pub(crate) struct Held {
    now: AtomicU64,
    peak: AtomicU64,
}

impl Held {
    /// The most `/delay` requests held at once so far.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// One request held; released when dropped (answered, or the client went away).
struct Holding<'a>(&'a Held);

impl<'a> Holding<'a> {
    fn new(held: &'a Held) -> Holding<'a> {
        let now = held.now.fetch_add(1, Ordering::Relaxed) + 1;
        held.peak.fetch_max(now, Ordering::Relaxed);
        Holding(held)
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits `ms` plus a uniform `0..jitter` ms (drawn at microsecond resolution, so the extra delay
/// is close to continuous), then answers 200.
pub(crate) async fn delay(ms_text: &str, query: Option<&str>, held: &Held) -> Response<Body> {
    let wait = match parse(ms_text, query) {
        Ok(wait) => wait,
        Err(message) => return response::bad_request(message),
    };
    let _holding = Holding::new(held);
    tokio::time::sleep(wait).await;
    response::text(StatusCode::OK, "delayed\n")
}

/// The total wait for a request, or a 400 message.
fn parse(ms_text: &str, query: Option<&str>) -> Result<Duration, String> {
    let ms = params::number("delay", ms_text, MAX_DELAY_MS)?;
    let jitter = match params::query_value(query, "jitter") {
        Some(text) => params::number("jitter", text, MAX_DELAY_MS)?,
        None => 0,
    };
    if ms + jitter > MAX_DELAY_MS {
        return Err(format!("delay + jitter must be at most {MAX_DELAY_MS} ms"));
    }
    let extra_micros = rng::below(jitter * 1000);
    Ok(Duration::from_millis(ms) + Duration::from_micros(extra_micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_delay_and_jitter() {
        assert_eq!(parse("150", None), Ok(Duration::from_millis(150)));
        for _ in 0..100 {
            let d = parse("10", Some("jitter=5")).unwrap();
            assert!(
                d >= Duration::from_millis(10) && d < Duration::from_millis(15),
                "{d:?}"
            );
        }
        assert!(parse("600000", None).is_ok());
        assert!(parse("600001", None).is_err());
        assert!(parse("599999", Some("jitter=2")).is_err());
        assert!(parse("1", Some("jitter=x")).is_err());
        assert!(parse("abc", None).is_err());
        assert!(parse("99999999999999999999999", None).is_err());
    }
}
