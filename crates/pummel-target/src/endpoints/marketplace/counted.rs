//! `/api/hit`, `/api/flaky` and `/api/hits`: endpoints that count requests per key (in
//! [`Tally`]), for testing retries, loops and branches against the server's own count.

use http::{Response, StatusCode};
use serde_json::json;

use super::error::ApiError;
use super::tally::Tally;
use crate::body::Body;
use crate::params::{number, query_value};
use crate::response;

const MAX_KEY_LEN: usize = 64;

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
    let count = tally.bump(key).ok_or(ApiError::StoreFull)?;
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
    let count = tally.bump(key).ok_or(ApiError::StoreFull)?;
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
    if query_value(query, "key").is_none() {
        return Ok(response::json(
            StatusCode::OK,
            &json!({"counts": tally.all()}),
        ));
    }
    let key = key(query)?;
    let count = tally.get(key);
    Ok(response::json(
        StatusCode::OK,
        &json!({"key": key, "count": count}),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tally::MAX_KEYS;
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
        assert_eq!((t.get("a"), t.get("b")), (7, 2));
    }

    #[test]
    fn hit_counts_and_hits_reads() {
        let t = Tally::default();
        for _ in 0..3 {
            assert_eq!(status(hit(&t, Some("key=x"))), 200);
        }
        assert_eq!(t.get("x"), 3);
        assert_eq!(status(hits(&t, Some("key=x"))), 200);
        assert_eq!(t.get("x"), 3, "reading does not count");
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
