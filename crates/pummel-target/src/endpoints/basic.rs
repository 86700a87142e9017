//! The constant endpoints (`/`, `/json`) and `/status/{code}`: what benchmarks hit.
//!
//! Their bodies are `'static` so a response costs no allocation beyond what hyper itself needs.

use http::{Response, StatusCode};

use crate::body::Body;
use crate::params;
use crate::response::{self, APPLICATION_JSON};

/// Body of `GET /`: small and constant, so a benchmark measures the HTTP stack, not the payload.
pub(crate) const HELLO: &str = "Hello from pummel target\n";

/// Body of `/json`: a small fixed object, for scenario checks and JSONPath captures.
pub(crate) const JSON: &str =
    "{\"message\":\"Hello from pummel target\",\"ok\":true,\"items\":[1,2,3]}\n";

/// `/`
pub(crate) fn hello() -> Response<Body> {
    response::text(StatusCode::OK, HELLO)
}

/// `/json`
pub(crate) fn json() -> Response<Body> {
    response::with_body(
        StatusCode::OK,
        APPLICATION_JSON,
        Body::from_static(JSON.as_bytes()),
    )
}

/// `/status/{code}`: any final status, 200..=599. Informational (1xx) codes are refused with 400:
/// they are not final responses and hyper cannot send one as such.
pub(crate) fn status(code_text: &str) -> Response<Body> {
    let code = match params::number("status code", code_text, 599) {
        Ok(code) if code >= 200 => code,
        Ok(_) => {
            return response::bad_request(format!("status code must be 200..=599, got {code_text}"))
        }
        Err(message) => return response::bad_request(message),
    };
    let Some(status) = u16::try_from(code)
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
    else {
        return response::bad_request(format!("invalid status code {code_text}"));
    };
    match status {
        // These statuses must not carry content (RFC 9110 §15.3.5, §15.3.6, §15.4.5).
        StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT | StatusCode::NOT_MODIFIED => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = status;
            response
        }
        // The canonical reason is `'static`, so no formatting; unknown codes get an empty body.
        _ => response::text(status, status.canonical_reason().unwrap_or("")),
    }
}
