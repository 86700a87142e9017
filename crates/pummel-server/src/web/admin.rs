//! The admin page: users (create, delete), with places for the service's
//! other settings (quotas, allowed target networks) as they arrive.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{form_session, session, Session};
use super::page::{render, when, Chrome, PageError};
use crate::state::AppState;
use crate::store::StoreError;
use crate::users::{password, valid_name, UserRole};

pub(crate) struct UserLine {
    pub(crate) name: String,
    pub(crate) role: &'static str,
    pub(crate) created: String,
}

#[derive(Template)]
#[template(path = "web/admin.html")]
struct AdminPage {
    chrome: Chrome,
    users: Vec<UserLine>,
    message: String,
}

fn admin_only(session: &Session) -> Result<(), PageError> {
    if session.user.is_admin() {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "the admin pages are for admins only".to_owned(),
        ))
    }
}

async fn admin_page(
    state: &AppState,
    session: &Session,
    message: String,
) -> Result<Response, PageError> {
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserLine {
            name: u.name,
            role: u.role.as_str(),
            created: when(u.created_at),
        })
        .collect();
    let chrome = Chrome::new(&session.user, &session.csrf, "admin", "Admin".to_owned());
    Ok(render(&AdminPage {
        chrome,
        users,
        message,
    }))
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/admin").await?;
    admin_only(&session)?;
    admin_page(&state, &session, String::new()).await
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, fields) = form_session(&state, &headers, &body).await?;
    admin_only(&session)?;
    let name = fields.required("name")?.to_owned();
    if !valid_name(&name) {
        return Err(PageError::BadRequest(format!(
            "{name:?} is not a user name: 1 to 64 letters, digits, '-', '_', '.' or '@'"
        )));
    }
    let role = UserRole::parse(fields.get("role"))
        .ok_or_else(|| PageError::BadRequest("role: admin or user".to_owned()))?;
    let given = fields.get("password").to_owned();
    if given.chars().count() < password::MIN_LENGTH {
        return Err(PageError::BadRequest(format!(
            "a password has at least {} characters",
            password::MIN_LENGTH
        )));
    }
    let hash = tokio::task::spawn_blocking(move || password::hash(&given))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    match state.store.put_user(&name, role, &hash, false).await {
        Ok(()) => admin_page(&state, &session, format!("User {name} created.")).await,
        Err(StoreError::UserTaken(_)) => Err(PageError::BadRequest(format!(
            "there is already a user named {name:?}"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    admin_only(&session)?;
    if name == session.user.name {
        return Err(PageError::BadRequest(
            "you cannot delete yourself (another admin can)".to_owned(),
        ));
    }
    match state.store.delete_user(&name).await {
        Ok(()) => Ok(Redirect::to("/admin").into_response()),
        Err(StoreError::NoSuchUser(_)) => {
            Err(PageError::NotFound(format!("there is no user {name:?}")))
        }
        Err(e) => Err(e.into()),
    }
}
