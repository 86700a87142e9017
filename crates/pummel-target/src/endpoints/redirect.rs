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

/// `/redirect-to?url=URL` → 302 to `URL`, whatever it is (as httpbin's): to test where a client
/// lets a redirect take it.
pub(crate) fn redirect_to(query: Option<&str>) -> Response<Body> {
    let Some(raw) = params::query_value(query, "url") else {
        return response::bad_request("give the target as ?url=URL".to_owned());
    };
    let url = match params::decode_component("url", raw) {
        Ok(url) => url,
        Err(message) => return response::bad_request(message),
    };
    match HeaderValue::try_from(url) {
        Ok(location) => found(location),
        Err(_) => response::bad_request("url is not a valid Location".to_owned()),
    }
}

/// A 302 to `location`, without a body.
pub(crate) fn found(location: HeaderValue) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(LOCATION, location);
    response
}
