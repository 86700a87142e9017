//! `/stall/{ms}`: pause the whole server on demand (see the `stall` module for what a pause does).

use http::{Response, StatusCode};

use crate::body::Body;
use crate::stall::{Stall, MAX_STALL_MS};
use crate::{params, response};

/// Starts a pause of `ms` milliseconds and answers at once: the request that causes the pause is
/// the one request not held by it, so the caller knows exactly when the pause began.
pub(crate) fn stall(gate: &Stall, ms_text: &str) -> Response<Body> {
    match params::number("stall", ms_text, MAX_STALL_MS) {
        Ok(ms) => {
            gate.pause_for(ms);
            response::text(StatusCode::OK, "stalled\n")
        }
        Err(message) => response::bad_request(message),
    }
}
