//! The marketplace as a server-rendered site would serve it, for the journeys of browsers rather
//! than API clients: a login form that answers with a redirect, a form protected by a CSRF token,
//! and a file upload.
//!
//! | method and path | success | errors |
//! |---|---|---|
//! | `POST /api/web/login` form `username`, `password` | 302 `Location: /api/me` + `Set-Cookie: session=…` | 401 |
//! | `GET /api/web/form` | 200 HTML, a hidden `csrf` input + `Set-Cookie: csrf=…` | |
//! | `POST /api/web/form` form `csrf`, any fields | 200 `{"accepted":true,"fields":{…}}` | 403 wrong token |
//! | `POST /api/upload` multipart | 200 `{"parts":[{"name","filename","content_type","size"}]}` | 400, 413 |
//!
//! The CSRF check is the double-submit pattern: the token in the form must equal the `csrf` cookie
//! the page set, so a client must read the page to post the form.

use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::multipart;
use super::request::{MAX_BODY, SESSION_COOKIE};
use super::state::Marketplace;
use crate::body::Body;
use crate::{params, response, rng};

type ApiResult = Result<Response<Body>, ApiError>;

/// Name of the CSRF cookie and of the form field that must match it.
const CSRF: &str = "csrf";

/// `POST /api/web/login`: form credentials → 302 to `/api/me` with the session cookie.
pub(crate) async fn login(market: &Marketplace, body: Incoming) -> ApiResult {
    let fields = form_fields(&read_body(body).await?)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(username), Some(password)) = (field("username"), field("password")) else {
        return Err(ApiError::BadRequest(
            "the form needs `username` and `password`".to_owned(),
        ));
    };
    let token = market
        .login(username, password.as_bytes())?
        .ok_or(ApiError::BadCredentials)?;
    let cookie = HeaderValue::try_from(format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly"))
        .map_err(|_| ApiError::BadCredentials)?;
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/api/me"));
    headers.insert(SET_COOKIE, cookie);
    Ok(response)
}

/// `GET /api/web/form`: an HTML page whose form carries a fresh CSRF token, also set as a cookie.
pub(crate) fn form_page() -> ApiResult {
    let token = format!("{:016x}{:016x}", rng::below(u64::MAX), rng::below(u64::MAX));
    let html = format!(
        "<!doctype html>\n<html><head><title>Submit an app</title></head><body>\n\
         <h1 class=\"title\">Submit an app</h1>\n\
         <form method=\"post\" action=\"/api/web/form\">\n\
         <input type=\"hidden\" name=\"{CSRF}\" value=\"{token}\">\n\
         <input type=\"text\" name=\"name\">\n\
         <button type=\"submit\">Send</button>\n\
         </form>\n</body></html>\n"
    );
    let mut response = response::with_body(
        StatusCode::OK,
        HeaderValue::from_static("text/html; charset=utf-8"),
        Body::from(html.into_bytes()),
    );
    let cookie = HeaderValue::try_from(format!("{CSRF}={token}; Path=/api/web; HttpOnly"))
        .map_err(|_| ApiError::BadRequest("invalid token".to_owned()))?;
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /api/web/form`: accepted only when the form's `csrf` field equals the `csrf` cookie.
pub(crate) async fn submit_form(headers: &HeaderMap, body: Incoming) -> ApiResult {
    let fields = form_fields(&read_body(body).await?)?;
    let sent = fields.iter().find(|(k, _)| k == CSRF).map(|(_, v)| v);
    let expected = cookie(headers, CSRF);
    match (sent, expected) {
        (Some(sent), Some(expected)) if !expected.is_empty() && sent == expected => {}
        _ => return Err(ApiError::Forbidden("missing or wrong CSRF token")),
    }
    let echoed: Map<String, Value> = fields
        .into_iter()
        .filter(|(k, _)| k != CSRF)
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(response::json(
        StatusCode::OK,
        &json!({ "accepted": true, "fields": echoed }),
    ))
}

/// `POST /api/upload`: a `multipart/form-data` body, described part by part.
pub(crate) async fn upload(headers: &HeaderMap, body: Incoming) -> ApiResult {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multipart::boundary(content_type).ok_or_else(|| {
        ApiError::BadRequest("expected Content-Type: multipart/form-data; boundary=…".to_owned())
    })?;
    let bytes = read_body(body).await?;
    let parts = multipart::parse(&bytes, boundary).map_err(ApiError::BadRequest)?;
    let described: Vec<Value> = parts
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "filename": p.filename,
                "content_type": p.content_type,
                "size": p.content.len(),
                "text": std::str::from_utf8(p.content).ok().filter(|_| p.filename.is_none()),
            })
        })
        .collect();
    Ok(response::json(
        StatusCode::OK,
        &json!({ "parts": described }),
    ))
}

async fn read_body(body: Incoming) -> Result<bytes::Bytes, ApiError> {
    if body.size_hint().lower() > MAX_BODY as u64 {
        return Err(ApiError::PayloadTooLarge);
    }
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge),
        Err(_) => Err(ApiError::BadRequest(
            "could not read the request body".to_owned(),
        )),
    }
}

/// `application/x-www-form-urlencoded` fields, decoded.
fn form_fields(bytes: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::BadRequest("the form body is not UTF-8".to_owned()))?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                params::decode_component("a form field name", k).map_err(ApiError::BadRequest)?,
                params::decode_component("a form field", v).map_err(ApiError::BadRequest)?,
            ))
        })
        .collect()
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}
