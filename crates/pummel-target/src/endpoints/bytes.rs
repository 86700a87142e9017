//! `/bytes/{n}[?chunked=1]`: a body of a chosen size, to measure throughput and body handling.
//!
//! The content is a deterministic pattern, generated as it is sent (see `body::pattern`).

use http::{Response, StatusCode};

use crate::body::{Body, Pattern};
use crate::params;
use crate::response::{self, with_body};

/// Largest body served. The body is generated as it is sent and costs the
/// server no memory, so the bound is high: tests need bodies larger than any
/// client should keep (pummel's `max_body`), to show that it does not.
const MAX_BYTES: u64 = 16 << 30;

/// `/bytes/{n}`
pub(crate) fn bytes(n_text: &str, query: Option<&str>) -> Response<Body> {
    let len = match params::number("byte count", n_text, MAX_BYTES) {
        Ok(len) => len,
        Err(message) => return response::bad_request(message),
    };
    let chunked = match params::flag(query, "chunked") {
        Ok(chunked) => chunked,
        Err(message) => return response::bad_request(message),
    };
    with_body(
        StatusCode::OK,
        http::HeaderValue::from_static("application/octet-stream"),
        Body::Pattern(Pattern::new(len, chunked)),
    )
}
