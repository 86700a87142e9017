//! The repositories' HTTP endpoints (JSON), behind client tokens, and the
//! push webhook, behind each forge's own check instead.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::repos::{webhook, Caller, NewRepo, RepoError};
use crate::state::{authorise, AppState};
use crate::token::Role;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/repos", get(list).post(add))
        .route("/v1/repos/{name}", get(one).delete(remove))
        .route("/v1/repos/{name}/pull", post(pull))
        .route("/v1/repos/{name}/tests/{test}/run", post(start))
        .route("/v1/hooks/repos/{name}", post(hook))
}

impl IntoResponse for RepoError {
    fn into_response(self) -> Response {
        let status = match &self {
            RepoError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RepoError::Forbidden(_) => StatusCode::FORBIDDEN,
            RepoError::NotFound(_) => StatusCode::NOT_FOUND,
            RepoError::Conflict(_) => StatusCode::CONFLICT,
            RepoError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let who = authorise(state, headers, Role::may_use_client).await?;
    Ok(Caller {
        admin: who.role == Role::Admin,
        name: who.name,
    })
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match caller(&state, &headers).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.repos.list(&who).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn add(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let who = match caller(&state, &headers).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    let new: NewRepo = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(e) => return RepoError::BadRequest(format!("bad request body: {e}")).into_response(),
    };
    match state.repos.add(&who, new).await {
        Ok((info, secret)) => {
            let hook = format!("/v1/hooks/repos/{}", info.name);
            (
                StatusCode::CREATED,
                Json(serde_json::json!({
                    "repository": info,
                    "webhook": { "path": hook, "secret": secret },
                })),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = match caller(&state, &headers).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.repos.get(&who, &name).await {
        Ok(info) => Json(info).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = match caller(&state, &headers).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.repos.delete(&who, &name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = match caller(&state, &headers).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.repos.pull(&who, &name).await {
        Ok(info) => Json(info).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((name, test)): Path<(String, String)>,
) -> Response {
    let who = match caller(&state, &headers).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.repos.start(&who, &name, &test, "manual").await {
        Ok(job) => (StatusCode::CREATED, Json(serde_json::json!({ "job": job }))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A forge's push: checked, then answered at once (forges wait only a few
/// seconds); the pull and the runs go on in the background.
async fn hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let refused = |why: String| {
        eprintln!("pummel server: refused a push webhook for repository {name:?}: {why}");
        (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": why })),
        )
            .into_response()
    };
    // An unknown repository is refused like a bad signature: the endpoint
    // does not say which names exist.
    let row = match state.repos.store.repo(&name).await {
        Ok(Some(row)) => row,
        Ok(None) => return refused("no such repository".to_owned()),
        Err(e) => return RepoError::from(e).into_response(),
    };
    let secret = match state.repos.webhook_secret(&row) {
        Ok(secret) => secret,
        Err(e) => return e.into_response(),
    };
    let forge = match webhook::verify(&headers, &body, &secret) {
        Ok(forge) => forge,
        Err(why) => return refused(why),
    };
    if !webhook::is_push(&headers) {
        return (
            StatusCode::OK,
            Json(serde_json::json!({ "ignored": "not a push" })),
        )
            .into_response();
    }
    let push = match webhook::push(&body) {
        Ok(push) => push,
        Err(e) => return RepoError::BadRequest(e).into_response(),
    };
    if push.branch.as_deref() != Some(row.branch.as_str()) {
        return (
            StatusCode::OK,
            Json(serde_json::json!({
                "ignored": format!("a push to {:?}, not to branch {}", push.branch, row.branch)
            })),
        )
            .into_response();
    }
    let repos = state.repos.clone();
    tokio::spawn(async move {
        if let Err(e) = repos.pushed(&name, push.after.as_deref()).await {
            eprintln!("pummel server: push to repository {name}: {e}");
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "accepted": format!("{forge:?} push: pulling, then running its tests") })),
    )
        .into_response()
}
