//! `/gzip`: a gzip-encoded JSON body, to test a client's decompression.
//!
//! The body is compressed once per process and kept in a `static`, so serving it is as cheap as
//! serving `/json`. It is sent whatever the request's `Accept-Encoding` says (as httpbin does): the
//! point is to exercise the client's decoder.

use std::io::Write as _;
use std::sync::OnceLock;

use flate2::write::GzEncoder;
use flate2::Compression;
use http::header::CONTENT_ENCODING;
use http::{HeaderValue, Response, StatusCode};

use crate::body::Body;
use crate::response::{self, APPLICATION_JSON};

/// The JSON inside the gzip stream (what a client must see after decoding).
pub(crate) const JSON: &str = "{\"gzipped\":true,\"message\":\"Hello from pummel target\"}\n";

static COMPRESSED: OnceLock<Vec<u8>> = OnceLock::new();

/// Compresses the body if not done yet. Called from `Target::start`, so that the (theoretical)
/// error surfaces there instead of in a request.
pub(crate) fn init() -> std::io::Result<()> {
    if COMPRESSED.get().is_none() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(JSON.as_bytes())?;
        // Another server starting concurrently may win the race; both values are identical.
        let _ = COMPRESSED.set(encoder.finish()?);
    }
    Ok(())
}

/// `/gzip`
pub(crate) fn gzip() -> Response<Body> {
    let Some(compressed) = COMPRESSED.get() else {
        return response::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "gzip body not initialised\n",
        );
    };
    let mut response = response::with_body(
        StatusCode::OK,
        APPLICATION_JSON,
        Body::from_static(compressed),
    );
    response
        .headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    response
}
