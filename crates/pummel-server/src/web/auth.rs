//! Sign-in, sign-out, the session behind every page and the CSRF check of
//! every form.

use std::collections::HashMap;
use std::time::Instant;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{self, PageError};
use crate::state::AppState;
use crate::tls::Peer;
use crate::token;
use crate::users::{password, session, User};

/// A form's fields. Forms are read by hand rather than by a typed
/// extractor so that a form without its CSRF token is always a 403, never
/// a 422 about some other field.
pub(crate) struct Fields(HashMap<String, String>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The trimmed field, or a 400 naming it.
    pub(crate) fn required(&self, name: &str) -> Result<&str, PageError> {
        match self.get(name).trim() {
            "" => Err(PageError::BadRequest(format!(
                "the field {name:?} is required"
            ))),
            value => Ok(value),
        }
    }
}

/// The signed-in user and their session's CSRF token.
pub(crate) struct Session {
    pub(crate) user: User,
    pub(crate) csrf: String,
}

fn cookie_header(headers: &HeaderMap) -> &str {
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The session of the request; not signed in sends a page to the sign-in
/// form (and back to `next` afterwards).
pub(crate) async fn session(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
) -> Result<Session, PageError> {
    let sign_in = || PageError::SignIn {
        next: next.to_owned(),
    };
    let value = session::cookie(cookie_header(headers), session::COOKIE).ok_or_else(sign_in)?;
    let (user, csrf) = state
        .store
        .session(&token::hash(value))
        .await?
        .ok_or_else(sign_in)?;
    Ok(Session { user, csrf })
}

/// The session of a form's POST, with its fields, once the form's CSRF
/// token matched the session's.
pub(crate) async fn form_session(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Session, Fields), PageError> {
    let session = session(state, headers, "/").await.map_err(|e| match e {
        // A POST without a session is refused, not redirected: there is
        // nothing to come back to.
        PageError::SignIn { .. } => {
            PageError::Forbidden("not signed in (or the session expired): sign in again".to_owned())
        }
        other => other,
    })?;
    let fields = Fields::parse(body);
    if !session::csrf_matches(&session.csrf, fields.get("csrf")) {
        return Err(PageError::Csrf);
    }
    Ok((session, fields))
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    name: &'a str,
    error: &'a str,
}

/// Where to go after signing in: a path of this server only, so the form
/// cannot be made to redirect elsewhere.
fn safe_next(next: Option<&String>) -> &str {
    match next.map(String::as_str) {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/runs",
    }
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    next: &str,
    name: &str,
    error: &str,
) -> Response {
    let Ok(token) = session::secret() else {
        return PageError::Internal("no randomness for the sign-in form".to_owned())
            .into_response();
    };
    let page = LoginPage {
        csrf: &token,
        next,
        name,
        error,
    };
    let mut response = match page.render() {
        Ok(body) => page::html(status, body),
        Err(e) => return PageError::Internal(e.to_string()).into_response(),
    };
    let cookie = session::set_cookie(session::LOGIN_COOKIE, &token, 3600, state.web.tls);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn login_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    login_form(&state, StatusCode::OK, safe_next(query.get("next")), "", "")
}

pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    let expected = session::cookie(cookie_header(&headers), session::LOGIN_COOKIE).unwrap_or("");
    if !session::csrf_matches(expected, fields.get("csrf")) {
        return PageError::Csrf.into_response();
    }
    let next = fields.get("next").to_owned();
    let next = safe_next(Some(&next));
    let name = fields.get("name").trim();
    let given = fields.get("password");
    let now = Instant::now();
    let account_key = format!("account:{name}");
    let address_key = format!("address:{}", peer.ip());
    let limits = &state.web.limits;
    let blocked = limits
        .accounts
        .blocked_for(&account_key, now)
        .map(|wait| (format!("the account {name:?}"), wait))
        .or_else(|| {
            limits
                .addresses
                .blocked_for(&address_key, now)
                .map(|wait| (format!("your address {}", peer.ip()), wait))
        });
    if let Some((who, wait)) = blocked {
        let minutes = wait.as_secs().div_ceil(60);
        let message = format!(
            "too many failed sign-ins for {who}: try again in {minutes} minute{}",
            if minutes == 1 { "" } else { "s" }
        );
        return login_form(&state, StatusCode::TOO_MANY_REQUESTS, next, name, &message);
    }
    let stored = match state.store.user_password(name).await {
        Ok(stored) => stored,
        Err(e) => return PageError::from(e).into_response(),
    };
    let given_owned = given.to_owned();
    // argon2id takes tens of milliseconds of CPU on purpose: off the
    // async workers.
    let verified = tokio::task::spawn_blocking(move || match &stored {
        Some((role, phc)) => password::verify(&given_owned, phc).then_some(*role),
        None => {
            password::burn_time(&given_owned);
            None
        }
    })
    .await
    .ok()
    .flatten();
    let Some(_role) = verified else {
        limits.accounts.failed(&account_key, now);
        limits.addresses.failed(&address_key, now);
        return login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            next,
            name,
            "wrong user name or password",
        );
    };
    limits.accounts.succeeded(&account_key);
    match start_session(&state, name).await {
        Ok(cookie) => {
            let mut response = Redirect::to(next).into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, cookie);
            // The sign-in form's token is spent.
            if let Ok(clear) = HeaderValue::from_str(&session::set_cookie(
                session::LOGIN_COOKIE,
                "",
                0,
                state.web.tls,
            )) {
                headers.append(header::SET_COOKIE, clear);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// Stores a fresh session for `name`; returns its cookie.
async fn start_session(state: &AppState, name: &str) -> Result<HeaderValue, PageError> {
    let value = session::secret().map_err(|e| PageError::Internal(e.to_string()))?;
    let csrf = session::secret().map_err(|e| PageError::Internal(e.to_string()))?;
    state
        .store
        .create_session(&token::hash(&value), name, &csrf, session::LIFETIME_S)
        .await?;
    let cookie = session::set_cookie(session::COOKIE, &value, session::LIFETIME_S, state.web.tls);
    HeaderValue::from_str(&cookie).map_err(|e| PageError::Internal(e.to_string()))
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    form_session(&state, &headers, &body).await?;
    if let Some(value) = session::cookie(cookie_header(&headers), session::COOKIE) {
        state.store.delete_session(&token::hash(value)).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    let clear = session::set_cookie(session::COOKIE, "", 0, state.web.tls);
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
