//! The marketplace's errors and how each becomes a response: a status code and a JSON body
//! `{"error": "..."}` that says what went wrong.

use http::header::{ALLOW, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;

use super::state::StoreError;
use crate::body::Body;
use crate::response;

/// Why an `/api` request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400: malformed JSON, a missing or invalid field, a bad query parameter.
    BadRequest(String),
    /// 401: the endpoint needs a session and the request has no valid one.
    LoginRequired,
    /// 401 on `/api/login`, with a `WWW-Authenticate: Basic` challenge.
    BadCredentials,
    /// 403: logged in, but not allowed (deleting someone else's app).
    Forbidden(&'static str),
    /// 404.
    NotFound(&'static str),
    /// 405, with the methods the path does accept.
    MethodNotAllowed(&'static str),
    /// 409.
    Conflict(&'static str),
    /// 413: the request body is over the `/api` cap.
    PayloadTooLarge,
    /// 507: the store reached its size cap.
    StoreFull,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UsernameTaken => ApiError::Conflict("username already taken"),
            StoreError::NoSuchUser => ApiError::LoginRequired,
            StoreError::NoSuchApp => ApiError::NotFound("no such app"),
            StoreError::NotOwner => ApiError::Forbidden("only the app's owner may do that"),
            StoreError::Full => ApiError::StoreFull,
        }
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::LoginRequired | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::StoreFull => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(message) => message,
            ApiError::LoginRequired => "login required: send the session cookie or a bearer token",
            ApiError::BadCredentials => "invalid username or password",
            ApiError::Forbidden(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message) => message,
            ApiError::MethodNotAllowed(_) => "method not allowed",
            ApiError::PayloadTooLarge => "request body too large (the limit is 1 MiB)",
            ApiError::StoreFull => "the demo store is full; restart the target to empty it",
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = response::json(self.status(), &json!({ "error": self.message() }));
        match self {
            ApiError::BadCredentials => {
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"pummel\", charset=\"UTF-8\""),
                );
            }
            ApiError::MethodNotAllowed(allow) => {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}
