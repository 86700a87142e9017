//! Small constructors for the responses endpoints return.
//!
//! They build `Response` directly instead of through `Response::builder()`, which would add a
//! `Result` to unwrap (and so a panic path) for headers we know are valid.

use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};

use crate::body::Body;

pub(crate) const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A response with a status, a `Content-Type` and a body. hyper adds `Content-Length` (or chunked
/// encoding) from the body's size hint, and `Date`.
pub(crate) fn with_body(
    status: StatusCode,
    content_type: HeaderValue,
    body: Body,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// A constant plain-text response.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    with_body(status, TEXT_PLAIN, Body::from_static(body.as_bytes()))
}

/// A JSON response from a value. Serialising a `serde_json::Value` or a plain derived struct cannot
/// fail (their map keys are strings), so the error branch only exists to avoid a panic path.
pub(crate) fn json<T: serde::Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            with_body(status, APPLICATION_JSON, Body::from(bytes))
        }
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot serialise response\n",
        ),
    }
}

/// 400 with a message saying what was wrong with the request.
pub(crate) fn bad_request(message: String) -> Response<Body> {
    let mut message = message;
    message.push('\n');
    with_body(StatusCode::BAD_REQUEST, TEXT_PLAIN, Body::from(message))
}

/// 404 for any path the router does not know.
pub(crate) fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "not found\n")
}
