//! `/cookies/set?name=value&...` and `/cookies`: a cookie round trip, to test a client's cookie jar.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use crate::body::Body;
use crate::endpoints::redirect::found;
use crate::params::shorten;
use crate::response;

/// `/cookies/set?name=value&...` → one `Set-Cookie: name=value; Path=/` per pair, then 302 to
/// `/cookies` so a client with a cookie jar shows what it stored. Names must be RFC 6265 tokens and
/// values cookie-octets (taken as they are, without percent-decoding); anything else is a 400, which
/// beats sending a header a client would reject.
pub(crate) fn set(query: Option<&str>) -> Response<Body> {
    let mut response = found(HeaderValue::from_static("/cookies"));
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !is_token(name) {
            return response::bad_request(format!("invalid cookie name {:?}", shorten(name)));
        }
        if !value.bytes().all(is_cookie_octet) {
            return response::bad_request(format!("invalid cookie value {:?}", shorten(value)));
        }
        match HeaderValue::try_from(format!("{name}={value}; Path=/")) {
            Ok(header) => {
                response.headers_mut().append(SET_COOKIE, header);
            }
            Err(_) => return response::bad_request(format!("invalid cookie {:?}", shorten(pair))),
        }
    }
    response
}

/// `/cookies` → `{"cookies": {"name": "value", ...}}` from every `Cookie` header (HTTP/2 clients
/// may split them into several).
pub(crate) fn list(headers: &HeaderMap) -> Response<Body> {
    let mut cookies = Map::new();
    for header in headers.get_all(COOKIE) {
        let text = String::from_utf8_lossy(header.as_bytes());
        for pair in text.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            cookies.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    let mut root = Map::new();
    root.insert("cookies".to_owned(), Value::Object(cookies));
    response::json(StatusCode::OK, &Value::Object(root))
}

/// An RFC 9110 token (the RFC 6265 cookie-name).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 cookie-octet: visible ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names_and_values() {
        assert!(is_token("session_id"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a;b"));
        assert!(b"abc%20XYZ-._~".iter().all(|&b| is_cookie_octet(b)));
        assert!(![b' ', b';', b',', b'"', b'\\', 0x7f, 0x80]
            .iter()
            .any(|&b| is_cookie_octet(b)));
    }

    #[test]
    fn set_builds_one_header_per_pair() {
        let response = set(Some("a=1&b=two&&c="));
        assert_eq!(response.status(), StatusCode::FOUND);
        let cookies: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1; Path=/", "b=two; Path=/", "c=; Path=/"]);
        assert_eq!(set(Some("a b=1")).status(), StatusCode::BAD_REQUEST);
        assert_eq!(set(Some("a=x;y")).status(), StatusCode::BAD_REQUEST);
    }
}
