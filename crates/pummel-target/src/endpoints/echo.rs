//! `/echo`: the request body sent straight back, with the request's `Content-Type`.
//!
//! The body is streamed, not buffered: an upload of any size costs the server no memory, and the
//! response keeps the request's framing (a `Content-Length` request gets a `Content-Length`
//! response, a chunked one a chunked response).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use hyper::body::Incoming;

use crate::body::Body;
use crate::response::with_body;

/// `/echo`
pub(crate) fn echo(headers: &HeaderMap, body: Incoming) -> Response<Body> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    with_body(StatusCode::OK, content_type, Body::Echo(body))
}
