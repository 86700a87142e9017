//! One function per `/api` endpoint: read and validate the input, call the [`Marketplace`], shape
//! the response. Dispatch (path and method) is in `mod.rs`.

use http::header::{LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::records::{NewApp, NewReview};
use super::request::{self, SESSION_COOKIE};
use super::state::Marketplace;
use crate::body::Body;
use crate::response;

/// Field limits, in characters. Generous for real data, small enough that a single object cannot
/// be a memory problem (request bodies are capped at 1 MiB anyway).
const MAX_USERNAME: usize = 64;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_NAME: usize = 100;
const MAX_CATEGORY: usize = 50;
const MAX_TEXT: usize = 4096;

type ApiResult = Result<Response<Body>, ApiError>;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct AppSubmission {
    name: String,
    category: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct ReviewSubmission {
    rating: i64,
    #[serde(default)]
    text: String,
}

/// `POST /api/register` `{"username","password"}` → 201 `{"id","username"}`; 409 if taken.
pub(crate) async fn register(market: &Marketplace, body: Incoming) -> ApiResult {
    let credentials: Credentials = request::json_body(body).await?;
    validate_username(&credentials.username)?;
    let password = credentials.password.as_bytes();
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::BadRequest(format!(
            "password must be 1 to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let user = market.register(&credentials.username, password)?;
    Ok(response::json(StatusCode::CREATED, &user))
}

fn validate_username(username: &str) -> Result<(), ApiError> {
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_USERNAME {
        return Err(ApiError::BadRequest(format!(
            "username must be 1 to {MAX_USERNAME} characters"
        )));
    }
    // A colon could never log in with Basic auth, which splits at the first one.
    if username
        .chars()
        .any(|c| c == ':' || c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::BadRequest(
            "username must not contain ':', spaces or control characters".to_owned(),
        ));
    }
    Ok(())
}

/// `POST /api/login` with Basic credentials (or, for convenience, a JSON body
/// `{"username","password"}` when there is no `Authorization` header) → 200 `{"token"}` and
/// `Set-Cookie: session=<token>; Path=/; HttpOnly`; 401 otherwise.
pub(crate) async fn login(market: &Marketplace, headers: &HeaderMap, body: Incoming) -> ApiResult {
    let (username, password) = if headers.contains_key(http::header::AUTHORIZATION) {
        request::basic_credentials(headers).ok_or(ApiError::BadCredentials)?
    } else {
        match request::json_body::<Credentials>(body).await {
            Ok(c) => (c.username, c.password.into_bytes()),
            // No credentials at all: the Basic challenge tells the client what to send.
            Err(ApiError::BadRequest(_)) => return Err(ApiError::BadCredentials),
            Err(other) => return Err(other),
        }
    };
    let token = market
        .login(&username, &password)?
        .ok_or(ApiError::BadCredentials)?;
    let cookie = HeaderValue::try_from(format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly"))
        .map_err(|_| ApiError::BadCredentials)?;
    let mut response = response::json(StatusCode::OK, &json!({ "token": token }));
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /api/logout` → 204 and the session is gone (the cookie is cleared too); 401 without one.
pub(crate) fn logout(market: &Marketplace, headers: &HeaderMap) -> ApiResult {
    let closed = request::session_tokens(headers).any(|token| market.logout(token));
    if !closed {
        return Err(ApiError::LoginRequired);
    }
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("session=; Path=/; HttpOnly; Max-Age=0"),
    );
    Ok(response)
}

/// `GET /api/me` → `{"id","username"}` of the session's user.
pub(crate) fn me(market: &Marketplace, headers: &HeaderMap) -> ApiResult {
    let user = request::session_user(market, headers)?;
    Ok(response::json(StatusCode::OK, &user))
}

/// `POST /api/apps` `{"name","category","description"}` → 201 with the app.
pub(crate) async fn create_app(
    market: &Marketplace,
    headers: &HeaderMap,
    body: Incoming,
) -> ApiResult {
    // Authenticate before reading the body: 401 wins over 400.
    let owner = request::session_user(market, headers)?;
    let submission: AppSubmission = request::json_body(body).await?;
    let app = NewApp {
        name: required_text("name", &submission.name, MAX_NAME)?,
        category: required_text("category", &submission.category, MAX_CATEGORY)?,
        description: bounded_text("description", submission.description, MAX_TEXT)?,
    };
    let app = market.create_app(&owner, app)?;
    let mut response = response::json(StatusCode::CREATED, &app);
    if let Ok(location) = HeaderValue::try_from(format!("/api/apps/{}", app.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// A trimmed, non-empty string of at most `max` characters.
fn required_text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::BadRequest(format!(
            "{field} must be 1 to {max} characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// A string of at most `max` characters (may be empty).
fn bounded_text(field: &str, value: String, max: usize) -> Result<String, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(value)
}

/// `GET /api/apps?q=&category=&limit=&offset=` → `{"total","items"}`.
pub(crate) fn list_apps(market: &Marketplace, query: Option<&str>) -> ApiResult {
    let query = request::app_query(query)?;
    Ok(response::json(StatusCode::OK, &market.search(&query)))
}

/// `GET /api/apps/{id}` → the app.
pub(crate) fn get_app(market: &Marketplace, id: &str) -> ApiResult {
    let id = request::app_id(id)?;
    let app = market.app(id).ok_or(ApiError::NotFound("no such app"))?;
    Ok(response::json(StatusCode::OK, &app))
}

/// `DELETE /api/apps/{id}` → 204 for the owner, 403 for anyone else.
pub(crate) fn delete_app(market: &Marketplace, headers: &HeaderMap, id: &str) -> ApiResult {
    let user = request::session_user(market, headers)?;
    let id = request::app_id(id)?;
    market.delete_app(id, &user)?;
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// `POST /api/apps/{id}/reviews` `{"rating": 1..=5, "text"}` → 201 with the review.
pub(crate) async fn add_review(
    market: &Marketplace,
    headers: &HeaderMap,
    id: &str,
    body: Incoming,
) -> ApiResult {
    let author = request::session_user(market, headers)?;
    let id = request::app_id(id)?;
    let submission: ReviewSubmission = request::json_body(body).await?;
    let rating = u8::try_from(submission.rating)
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "rating must be an integer from 1 to 5, got {}",
                submission.rating
            ))
        })?;
    let review = NewReview {
        rating,
        text: bounded_text("text", submission.text, MAX_TEXT)?,
    };
    let review = market.add_review(id, &author, review)?;
    Ok(response::json(StatusCode::CREATED, &review))
}

/// `GET /api/apps/{id}/reviews?limit=&offset=` → `{"total","items"}`.
pub(crate) fn list_reviews(market: &Marketplace, id: &str, query: Option<&str>) -> ApiResult {
    let id = request::app_id(id)?;
    let window = request::window(query)?;
    Ok(response::json(StatusCode::OK, &market.reviews(id, window)?))
}

/// `GET /api/stats` → `{"users","apps","reviews","sessions"}`.
pub(crate) fn stats(market: &Marketplace) -> ApiResult {
    Ok(response::json(StatusCode::OK, &market.stats()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_usernames_and_texts() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("élodie_42").is_ok());
        for bad in ["", "a:b", "a b", "tab\t", &"x".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
        assert_eq!(required_text("name", "  App  ", 10).unwrap(), "App");
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", &"é".repeat(11), 10).is_err());
        assert!(required_text("name", &"é".repeat(10), 10).is_ok());
        assert!(bounded_text("d", String::new(), 3).is_ok());
        assert!(bounded_text("d", "abcd".to_owned(), 3).is_err());
    }
}
