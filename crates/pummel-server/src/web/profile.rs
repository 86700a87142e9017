//! The profile page: the user's API tokens, for the command line and CI
//! (`pummel run --server … --token`). A new token is shown once, on the
//! page that made it; only its hash is kept.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{form_session, session, Session};
use super::page::{render, when, Chrome, PageError};
use crate::state::AppState;

pub(crate) struct TokenLine {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) created: String,
}

#[derive(Template)]
#[template(path = "web/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    role: &'static str,
    tokens: Vec<TokenLine>,
    /// A token just made, shown this once.
    fresh: String,
    fresh_label: String,
}

async fn profile(
    state: &AppState,
    session: &Session,
    fresh: String,
    fresh_label: String,
) -> Result<Response, PageError> {
    let tokens = state
        .store
        .user_tokens(&session.user.name)
        .await?
        .into_iter()
        .map(|t| TokenLine {
            id: t.id,
            label: t.label,
            created: when(t.created_at),
        })
        .collect();
    let chrome = Chrome::new(
        &session.user,
        &session.csrf,
        "profile",
        "Profile".to_owned(),
    );
    Ok(render(&ProfilePage {
        chrome,
        role: session.user.role.as_str(),
        tokens,
        fresh,
        fresh_label,
    }))
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/profile").await?;
    profile(&state, &session, String::new(), String::new()).await
}

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, fields) = form_session(&state, &headers, &body).await?;
    let label = fields.required("label")?.to_owned();
    if label.len() > 100 {
        return Err(PageError::BadRequest(
            "a token's label is at most 100 characters".to_owned(),
        ));
    }
    let token = state.store.create_user_token(&session.user, &label).await?;
    profile(&state, &session, token, label).await
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    if !state
        .store
        .revoke_user_token(&session.user.name, &id)
        .await?
    {
        return Err(PageError::NotFound(format!("you have no token {id}")));
    }
    Ok(Redirect::to("/profile").into_response())
}
