//! `/redirect/{n}`: a chain of `n` redirects ending at `/`, to test redirect following and limits.

use http::header::LOCATION;
use http::{HeaderValue, Response, StatusCode};

use crate::body::Body;
use crate::{params, response};

/// `/redirect/{n}` → 302 with a relative `Location`: `/redirect/{n-1}`, and `/` from
/// `/redirect/1`. So `/redirect/n` takes exactly `n` hops to reach `/`; `n` = 0 is a 400.
pub(crate) fn redirect(n_text: &str) -> Response<Body> {
    let n = match params::number("redirect count", n_text, u64::MAX) {
        Ok(0) => return response::bad_request("redirect count must be at least 1".to_owned()),
        Ok(n) => n,
        Err(message) => return response::bad_request(message),
    };
    let location = if n == 1 {
        HeaderValue::from_static("/")
    } else {
        // Digits and slashes only: always a valid header value.
        match HeaderValue::try_from(format!("/redirect/{}", n - 1)) {
            Ok(value) => value,
            Err(_) => return response::bad_request("invalid redirect count".to_owned()),
        }
    };
    found(location)
}

/// A 302 to `location`, without a body.
pub(crate) fn found(location: HeaderValue) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(LOCATION, location);
    response
}
