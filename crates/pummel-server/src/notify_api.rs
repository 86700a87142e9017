//! `/v1/notifications`: a user's own notification targets, told of every
//! run of theirs that ends. Webhooks are signed with a secret made on the
//! first save and shown then (and again with `"rotate": true`).
//!
//! `/v1/runs/{id}/notifications`: what was sent about a run, to whom, in
//! how many attempts, and how it ended.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::repos::config::Targets;
use crate::state::{authorise, AppState};
use crate::store::repos::NotifyRow;
use crate::token::Role;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/notifications", get(show).put(save))
        .route("/v1/runs/{id}/notifications", get(deliveries))
}

/// The run's notifications, for its owner or an admin.
async fn deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.store.run(&id).await {
        Ok(Some(run)) if run.owner == who.name || who.role == Role::Admin => {}
        Ok(_) => return error(StatusCode::NOT_FOUND, format!("no run {id:?} of yours")),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    match state.store.deliveries(&id).await {
        Ok(list) => Json::<Vec<crate::notify::Delivery>>(list).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match state.store.notification_settings(&who.name).await {
        Ok(Some(row)) => {
            let targets: Targets = serde_json::from_str(&row.targets).unwrap_or_default();
            Json(serde_json::json!({ "targets": targets })).into_response()
        }
        Ok(None) => Json(serde_json::json!({ "targets": Targets::default() })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Save {
    #[serde(default)]
    email: Vec<String>,
    #[serde(default)]
    webhooks: Vec<String>,
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    rotate: bool,
}

async fn save(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    let save: Save = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let targets = Targets {
        email: save.email,
        webhooks: save.webhooks,
        on: save.on,
    };
    let t = &targets;
    for address in &t.email {
        if address.parse::<lettre::Address>().is_err() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("{address:?} is not an email address"),
            );
        }
    }
    for url in &t.webhooks {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return error(
                StatusCode::BAD_REQUEST,
                format!("webhook {url:?} must be an http(s) URL"),
            );
        }
    }
    if t.on
        .as_deref()
        .is_some_and(|on| on != "always" && on != "failure")
    {
        return error(
            StatusCode::BAD_REQUEST,
            "on: expected always or failure".to_owned(),
        );
    }
    let existing = match state.store.notification_settings(&who.name).await {
        Ok(row) => row,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let (sealed, shown) = match existing.and_then(|r| r.webhook_secret) {
        Some(sealed) if !save.rotate => (sealed, None),
        _ => {
            let secret = match crate::token::generate() {
                Ok(s) => s,
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            };
            match state
                .repos
                .sealer
                .seal(&crate::notify::purpose(&who.name), secret.as_bytes())
            {
                Ok(sealed) => (sealed, Some(secret)),
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
    };
    let row = NotifyRow {
        targets: serde_json::to_string(&targets).unwrap_or_else(|_| "{}".to_owned()),
        trusted: who.role == Role::Admin,
        webhook_secret: Some(sealed),
    };
    if let Err(e) = state.store.set_notification_settings(&who.name, &row).await {
        return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    Json(serde_json::json!({ "targets": targets, "webhook_secret": shown })).into_response()
}
