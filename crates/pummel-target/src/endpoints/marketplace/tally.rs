//! Counted endpoints, for testing retries, loops and branches against a count the server keeps:
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

use http::{Response, StatusCode};
use serde_json::json;

use super::error::ApiError;
use crate::body::Body;
use crate::params::{number, query_value};
use crate::response;

const MAX_KEYS: usize = 10_000;
const MAX_KEY_LEN: usize = 64;

/// Requests counted per key.
#[derive(Default)]
pub(crate) struct Tally {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn bump(&self, key: &str) -> Result<u64, ApiError> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if !counts.contains_key(key) && counts.len() >= MAX_KEYS {
            return Err(ApiError::StoreFull);
        }
        let n = counts.entry(key.to_owned()).or_default();
        *n += 1;
        Ok(*n)
    }
}

fn key(query: Option<&str>) -> Result<&str, ApiError> {
    match query_value(query, "key") {
        Some(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => Ok(k),
        _ => Err(ApiError::BadRequest(format!(
            "`key` is required: 1 to {MAX_KEY_LEN} bytes"
        ))),
    }
}

/// `/api/hit`.
pub(crate) fn hit(tally: &Tally, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let key = key(query)?;
    let count = tally.bump(key)?;
    Ok(response::json(
        StatusCode::OK,
        &json!({"key": key, "count": count}),
    ))
}

/// `/api/flaky`.
pub(crate) fn flaky(tally: &Tally, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let key = key(query)?;
    let every = match query_value(query, "every") {
        Some(text) => number("every", text, 1_000_000).map_err(ApiError::BadRequest)?,
        None => 2,
    };
    if every == 0 {
        return Err(ApiError::BadRequest("`every` must be at least 1".into()));
    }
    let count = tally.bump(key)?;
    let fails = (count - 1) % every == 0;
    let status = if fails {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok(response::json(
        status,
        &json!({"key": key, "count": count, "ok": !fails}),
    ))
}

/// `/api/hits`.
pub(crate) fn hits(tally: &Tally, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let counts = tally.counts.lock().unwrap_or_else(PoisonError::into_inner);
    if query_value(query, "key").is_none() {
        return Ok(response::json(StatusCode::OK, &json!({"counts": *counts})));
    }
    let key = key(query)?;
    let count = counts.get(key).copied().unwrap_or(0);
    Ok(response::json(
        StatusCode::OK,
        &json!({"key": key, "count": count}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(r: Result<Response<Body>, ApiError>) -> u16 {
        match r {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.into_response().status().as_u16(),
        }
    }

    #[test]
    fn flaky_fails_the_first_of_every_n_per_key() {
        let t = Tally::default();
        let seq: Vec<u16> = (0..7)
            .map(|_| status(flaky(&t, Some("key=a&every=3"))))
            .collect();
        assert_eq!(seq, [503, 200, 200, 503, 200, 200, 503]);
        // Another key has its own count.
        assert_eq!(status(flaky(&t, Some("key=b&every=3"))), 503);
        assert_eq!(status(flaky(&t, Some("key=b&every=1"))), 503);
        assert_eq!(status(flaky(&t, Some("every=3"))), 400);
        assert_eq!(status(flaky(&t, Some("key=c&every=0"))), 400);
        let counts = t.counts.lock().unwrap();
        assert_eq!((counts["a"], counts["b"]), (7, 2));
    }

    #[test]
    fn hit_counts_and_hits_reads() {
        let t = Tally::default();
        for _ in 0..3 {
            assert_eq!(status(hit(&t, Some("key=x"))), 200);
        }
        assert_eq!(t.counts.lock().unwrap()["x"], 3);
        assert_eq!(status(hits(&t, Some("key=x"))), 200);
        assert_eq!(t.counts.lock().unwrap()["x"], 3, "reading does not count");
        let long = format!("key={}", "k".repeat(65));
        assert_eq!(status(hit(&t, Some(&long))), 400);
    }

    #[test]
    fn keys_are_bounded() {
        let t = Tally::default();
        for i in 0..MAX_KEYS {
            t.bump(&i.to_string()).unwrap();
        }
        assert_eq!(status(hit(&t, Some("key=one-more"))), 507);
        assert_eq!(
            status(hit(&t, Some("key=7"))),
            200,
            "known keys still count"
        );
    }
}
