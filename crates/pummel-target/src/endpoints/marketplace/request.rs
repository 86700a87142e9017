//! Reading what an `/api` request carries: a size-capped JSON body, the session (cookie or bearer
//! token), Basic credentials, ids and listing parameters. Every failure is an [`ApiError`], never a
//! panic.

use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::records::{AppQuery, UserInfo, Window};
use super::state::Marketplace;
use crate::endpoints::auth::decode_basic;
use crate::params;

/// Largest request body `/api` reads; larger ones get 413.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Default and largest page size of the listings.
pub(crate) const DEFAULT_LIMIT: usize = 20;
pub(crate) const MAX_LIMIT: usize = 100;

/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "session";

/// Reads the body (at most [`MAX_BODY`] bytes) and parses it as JSON into `T`.
pub(crate) async fn json_body<T: DeserializeOwned>(body: Incoming) -> Result<T, ApiError> {
    // A declared length over the cap is refused before reading a byte.
    if body.size_hint().lower() > MAX_BODY as u64 {
        return Err(ApiError::PayloadTooLarge);
    }
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge),
        Err(_) => {
            return Err(ApiError::BadRequest(
                "could not read the request body".to_owned(),
            ))
        }
    };
    parse_json(&bytes)
}

/// Parses a JSON document into `T`; serde's message names the missing field or the wrong type.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::BadRequest(format!("invalid JSON body: {error}")))
}

/// The user of the request's session: `Authorization: Bearer <token>` or the `session` cookie.
pub(crate) fn session_user(
    market: &Marketplace,
    headers: &HeaderMap,
) -> Result<UserInfo, ApiError> {
    session_tokens(headers)
        .find_map(|token| market.session_user(token))
        .ok_or(ApiError::LoginRequired)
}

/// Every session token the request presents, bearer first, then cookies.
pub(crate) fn session_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let bearer = headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|value| bearer_token(value.to_str().ok()?));
    let cookies = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value)
        });
    bearer.chain(cookies)
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// HTTP Basic credentials as (username, password). `None` when absent or malformed, including a
/// user name that is not UTF-8.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, Vec<u8>)> {
    let decoded = decode_basic(headers.get(AUTHORIZATION)?.as_bytes())?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let username = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((username, decoded[colon + 1..].to_vec()))
}

/// An app id from the path: digits only. Anything else is 400; 0 is a well-formed id no app has.
pub(crate) fn app_id(text: &str) -> Result<u64, ApiError> {
    params::number("app id", text, u64::MAX).map_err(ApiError::BadRequest)
}

/// `limit` (default [`DEFAULT_LIMIT`], capped at [`MAX_LIMIT`]) and `offset` (default 0).
pub(crate) fn window(query: Option<&str>) -> Result<Window, ApiError> {
    let number = |name: &str, default: u64| match params::query_value(query, name) {
        None | Some("") => Ok(default),
        Some(text) => params::number(name, text, u64::MAX).map_err(ApiError::BadRequest),
    };
    let limit = number("limit", DEFAULT_LIMIT as u64)?.min(MAX_LIMIT as u64);
    let offset = number("offset", 0)?;
    Ok(Window {
        limit: usize::try_from(limit).unwrap_or(MAX_LIMIT),
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
    })
}

/// `q`, `category`, `limit` and `offset` of `GET /api/apps`. Empty `q` or `category` means no filter.
pub(crate) fn app_query(query: Option<&str>) -> Result<AppQuery, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match params::query_value(query, name) {
            None => Ok(None),
            Some(raw) => {
                let decoded = params::decode_component(name, raw).map_err(ApiError::BadRequest)?;
                Ok(Some(decoded).filter(|s| !s.is_empty()))
            }
        }
    };
    Ok(AppQuery {
        text: text("q")?,
        category: text("category")?,
        window: window(query)?,
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn finds_bearer_and_cookie_tokens() {
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "a=1; session=def"),
            ("cookie", "session=ghi"),
        ]);
        assert_eq!(
            session_tokens(&h).collect::<Vec<_>>(),
            ["abc", "def", "ghi"]
        );
        let h = headers(&[("authorization", "Basic abc"), ("cookie", "sessions=x")]);
        assert_eq!(session_tokens(&h).count(), 0);
        let h = headers(&[("authorization", "bearer   tok  ")]);
        assert_eq!(session_tokens(&h).collect::<Vec<_>>(), ["tok"]);
    }

    #[test]
    fn splits_basic_credentials_at_the_first_colon() {
        // "alice:pa:ss"
        let h = headers(&[("authorization", "Basic YWxpY2U6cGE6c3M=")]);
        assert_eq!(
            basic_credentials(&h),
            Some(("alice".to_owned(), b"pa:ss".to_vec()))
        );
        // "nocolon"
        let h = headers(&[("authorization", "Basic bm9jb2xvbg==")]);
        assert_eq!(basic_credentials(&h), None);
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn parses_listing_parameters() {
        assert_eq!(
            window(None),
            Ok(Window {
                limit: 20,
                offset: 0
            })
        );
        assert_eq!(
            window(Some("limit=500&offset=3")),
            Ok(Window {
                limit: 100,
                offset: 3
            })
        );
        assert!(window(Some("limit=-1")).is_err());
        assert!(window(Some("offset=x")).is_err());
        let query = app_query(Some("q=Pixel+quest&category=games&limit=5")).unwrap();
        assert_eq!(query.text.as_deref(), Some("Pixel quest"));
        assert_eq!(query.category.as_deref(), Some("games"));
        assert_eq!(query.window.limit, 5);
        assert_eq!(app_query(Some("q=&category=")).unwrap().text, None);
        assert!(app_query(Some("q=%zz")).is_err());
    }

    #[test]
    fn app_ids_are_digits() {
        assert_eq!(app_id("42"), Ok(42));
        for bad in ["", "x", "-1", "1.0", "99999999999999999999999"] {
            assert!(app_id(bad).is_err(), "{bad}");
        }
    }
}
