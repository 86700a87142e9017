//! `/api/...`: a small stateful demo API — an app marketplace kept in memory — so that scenario
//! examples (register, log in, submit an app, search, review) run offline against `pummel target`.
//!
//! JSON in and out; errors are `{"error": "..."}` with a fitting status. Sessions come from
//! `POST /api/login` (HTTP Basic) and are accepted as the `session` cookie or as
//! `Authorization: Bearer <token>`.
//!
//! | method and path | success | errors |
//! |---|---|---|
//! | `POST /api/register` `{"username","password"}` | 201 `{"id","username"}` | 400, 409 taken |
//! | `POST /api/login` (Basic auth, or JSON credentials) | 200 `{"token"}` + `Set-Cookie: session=…` | 401 |
//! | `POST /api/logout` | 204 | 401 |
//! | `GET /api/me` | 200 `{"id","username"}` | 401 |
//! | `POST /api/apps` `{"name","category","description"}` | 201 app | 400, 401 |
//! | `GET /api/apps?q=&category=&limit=&offset=` | 200 `{"total","items"}` | 400 |
//! | `GET /api/apps/{id}` | 200 app | 400 bad id, 404 |
//! | `DELETE /api/apps/{id}` | 204 | 401, 403 not owner, 404 |
//! | `POST /api/apps/{id}/reviews` `{"rating":1..5,"text"}` | 201 review | 400, 401, 404 |
//! | `GET /api/apps/{id}/reviews?limit=&offset=` | 200 `{"total","items"}` | 400, 404 |
//! | `GET /api/stats` | 200 `{"users","apps","reviews","sessions"}` | |
//! | `GET/POST /api/hit?key=` | 200 `{"key","count"}` | 400 |
//! | `GET/POST /api/flaky?key=&every=N` | 200, or 503 for the 1st of every N per key | 400 |
//! | `GET /api/hits?key=` | 200 `{"key","count"}` (or `{"counts"}`) | 400 |
//! | `POST /api/web/login`, `GET`/`POST /api/web/form`, `POST /api/upload` | see `web` | |
//!
//! Any `/api` request: 405 (with `Allow`) for a wrong method, 404 for an unknown path, 413 for a
//! body over 1 MiB, 507 once the store holds a million objects or 256 MiB of text — so a long load
//! test cannot eat the machine. Every server starts seeded (user `demo`/`demo`, five apps in
//! `games`, `tools` and `music`, three reviews). New apps and reviews are also pushed to
//! `/ws/feed` subscribers.
//!
//! Module map: `records` (the values the API takes in and hands out), `state` (data, rules, the
//! lock), `handlers` (one function per endpoint), `request` (body, session, parameters), `error`
//! (statuses and error bodies), `credentials` (demo-grade password hashing and tokens), `feed`
//! (live events), `seed` (start-up data), `tally` (per-key request counts for testing retries
//! and loops), `web` (a login form that redirects, a CSRF-protected form, an upload) with
//! `multipart` (its body parser). Dependencies run one way, from `handlers` down to
//! `records`.

mod counted;
mod credentials;
mod error;
mod feed;
mod handlers;
mod multipart;
mod records;
mod request;
mod seed;
mod state;
mod tally;
mod web;

use http::request::Parts;
use http::{Method, Response};
use hyper::body::Incoming;

pub(crate) use feed::Feed;
pub(crate) use seed::seed;
pub(crate) use state::{Limits, Marketplace};

use self::error::ApiError;
use crate::body::Body;

/// Answers a request whose first path segment is `api`.
pub(crate) async fn route(market: &Marketplace, parts: &Parts, body: Incoming) -> Response<Body> {
    dispatch(market, parts, body)
        .await
        .unwrap_or_else(ApiError::into_response)
}

/// The `/api` routing table: path segments after `/api`, then the method.
async fn dispatch(
    market: &Marketplace,
    parts: &Parts,
    body: Incoming,
) -> Result<Response<Body>, ApiError> {
    let path = parts.uri.path();
    let query = parts.uri.query();
    let headers = &parts.headers;
    let method = &parts.method;
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;

    let rest = path.strip_prefix("/api/").unwrap_or("");
    let mut segments = rest.split('/');
    let segments = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    );
    match segments {
        (Some("register"), None, ..) if post => handlers::register(market, body).await,
        (Some("login"), None, ..) if post => handlers::login(market, headers, body).await,
        (Some("logout"), None, ..) if post => handlers::logout(market, headers),
        (Some("register" | "login" | "logout"), None, ..) => {
            Err(ApiError::MethodNotAllowed("POST"))
        }

        (Some("hit"), None, ..) if get || post => counted::hit(market.tally(), query),
        (Some("flaky"), None, ..) if get || post => counted::flaky(market.tally(), query),
        (Some("hits"), None, ..) if get => counted::hits(market.tally(), query),
        (Some("hit" | "flaky"), None, ..) => Err(ApiError::MethodNotAllowed("GET, HEAD, POST")),
        (Some("hits"), None, ..) => Err(ApiError::MethodNotAllowed("GET, HEAD")),
        (Some("web"), Some("login"), None, _) if post => web::login(market, body).await,
        (Some("web"), Some("form"), None, _) if get => web::form_page(),
        (Some("web"), Some("form"), None, _) if post => web::submit_form(headers, body).await,
        (Some("web"), Some("login"), None, _) => Err(ApiError::MethodNotAllowed("POST")),
        (Some("web"), Some("form"), None, _) => Err(ApiError::MethodNotAllowed("GET, HEAD, POST")),
        (Some("upload"), None, ..) if post => web::upload(headers, body).await,
        (Some("upload"), None, ..) => Err(ApiError::MethodNotAllowed("POST")),

        (Some("me"), None, ..) if get => handlers::me(market, headers),
        (Some("stats"), None, ..) if get => handlers::stats(market),
        (Some("me" | "stats"), None, ..) => Err(ApiError::MethodNotAllowed("GET, HEAD")),

        (Some("apps"), None, ..) if get => handlers::list_apps(market, query),
        (Some("apps"), None, ..) if post => handlers::create_app(market, headers, body).await,
        (Some("apps"), None, ..) => Err(ApiError::MethodNotAllowed("GET, HEAD, POST")),

        (Some("apps"), Some(id), None, _) if get => handlers::get_app(market, id),
        (Some("apps"), Some(id), None, _) if method == Method::DELETE => {
            handlers::delete_app(market, headers, id)
        }
        (Some("apps"), Some(_), None, _) => Err(ApiError::MethodNotAllowed("GET, HEAD, DELETE")),

        (Some("apps"), Some(id), Some("reviews"), None) if get => {
            handlers::list_reviews(market, id, query)
        }
        (Some("apps"), Some(id), Some("reviews"), None) if post => {
            handlers::add_review(market, headers, id, body).await
        }
        (Some("apps"), Some(_), Some("reviews"), None) => {
            Err(ApiError::MethodNotAllowed("GET, HEAD, POST"))
        }

        _ => Err(ApiError::NotFound("no such API endpoint")),
    }
}
