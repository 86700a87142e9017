//! `/basic-auth/{user}/{pass}`: HTTP Basic authentication against credentials chosen by the URL,
//! to test a client's auth support without a user database.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::response;

/// 200 `{"authenticated": true, "user": ...}` if the `Authorization: Basic` credentials are exactly
/// `user:pass` (path segments taken as they are, without percent-decoding), else 401
/// `{"authenticated": false}` with a `WWW-Authenticate` challenge so browsers and clients retry
/// with credentials.
pub(crate) fn basic_auth(user: &str, pass: &str, headers: &HeaderMap) -> Response<Body> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| decode_basic(v.as_bytes()));
    let expected_len = user.len() + 1 + pass.len();
    let matches = presented.is_some_and(|p| {
        p.len() == expected_len
            && p.starts_with(user.as_bytes())
            && p[user.len()] == b':'
            && p.ends_with(pass.as_bytes())
    });
    if matches {
        return response::json(
            StatusCode::OK,
            &json!({"authenticated": true, "user": user}),
        );
    }
    let mut response = response::json(StatusCode::UNAUTHORIZED, &json!({"authenticated": false}));
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"pummel\", charset=\"UTF-8\""),
    );
    response
}

/// The decoded `user:pass` bytes of a `Basic` credential (scheme case-insensitive, RFC 9110 §11.1).
pub(crate) fn decode_basic(value: &[u8]) -> Option<Vec<u8>> {
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    STANDARD.decode(rest.trim_ascii()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(
            decode_basic(b"Basic dXNlcjpwYXNz").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(
            decode_basic(b"bAsIc  dXNlcjpwYXNz ").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(decode_basic(b"Bearer dXNlcjpwYXNz"), None);
        assert_eq!(decode_basic(b"Basic !!!"), None);
        assert_eq!(decode_basic(b"Basic"), None);
    }
}
