//! The policy over HTTP (`/v1/hosts`, `/v1/quotas/{user}`,
//! `/v1/networks/{user}`) and over the client socket (`pummel hosts`), and
//! the gate a submission passes through.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::policy::admission;
use crate::policy::network::Cidr;
use crate::policy::ownership::{self, OwnershipError};
use crate::policy::quota::Quota;
use crate::state::{authorise, AppState};
use crate::token::{Identity, Role};
use crate::wire::{FromClient, Submit, ToClient};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/hosts", get(list_hosts))
        .route("/v1/hosts/{host}/claim", post(claim_host))
        .route("/v1/hosts/{host}/verify", post(verify_host))
        .route("/v1/quotas/{user}", get(get_quota).put(put_quota))
        .route("/v1/networks/{user}", get(get_networks).put(put_networks))
}

fn failure(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": message.to_string() })),
    )
        .into_response()
}

fn ownership_status(e: &OwnershipError) -> StatusCode {
    match e {
        OwnershipError::Store(_) | OwnershipError::Random(_) => StatusCode::INTERNAL_SERVER_ERROR,
        OwnershipError::BadHost(_) => StatusCode::BAD_REQUEST,
        OwnershipError::NoClaim { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn list_hosts(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    match state.store.claims(&who.name).await {
        Ok(claims) => Json(claims).into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn claim_host(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(host): Path<String>,
) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    match ownership::claim(&state.store, &who.name, &host).await {
        Ok(claim) => (StatusCode::CREATED, Json(claim)).into_response(),
        Err(e) => failure(ownership_status(&e), e),
    }
}

async fn verify_host(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(host): Path<String>,
) -> Response {
    let who = match authorise(&state, &headers, Role::may_use_client).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    match verify(&state, &who, &host).await {
        Ok(claim) => Json(claim).into_response(),
        Err(e) => failure(ownership_status(&e), e),
    }
}

/// Verifies under the user's own networks (an admin's fetch is not
/// restricted).
async fn verify(
    state: &AppState,
    who: &Identity,
    host: &str,
) -> Result<ownership::Claim, OwnershipError> {
    let network = admission::network_of(&state.store, who)
        .await?
        .unwrap_or_else(crate::policy::NetworkPolicy::unrestricted);
    ownership::verify(&state.store, &network, &who.name, host).await
}

/// The caller, if an admin, or the user themself (reading their own).
async fn admin_or_self(
    state: &AppState,
    headers: &HeaderMap,
    user: &str,
    write: bool,
) -> Result<Identity, Response> {
    let who = authorise(state, headers, Role::may_use_client).await?;
    if who.role == Role::Admin || (!write && who.name == user) {
        return Ok(who);
    }
    Err(failure(
        StatusCode::FORBIDDEN,
        format!(
            "only an admin may {} the policy of {user:?}",
            if write { "change" } else { "read" }
        ),
    ))
}

async fn get_quota(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Response {
    if let Err(refusal) = admin_or_self(&state, &headers, &user, false).await {
        return refusal;
    }
    match state.store.quota(&user).await {
        Ok(quota) => Json(quota.unwrap_or_default()).into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn put_quota(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Json(quota): Json<Quota>,
) -> Response {
    if let Err(refusal) = admin_or_self(&state, &headers, &user, true).await {
        return refusal;
    }
    match state.store.set_quota(&user, &quota).await {
        Ok(()) => Json(quota).into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn get_networks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Response {
    if let Err(refusal) = admin_or_self(&state, &headers, &user, false).await {
        return refusal;
    }
    match state.store.allowed_networks(&user).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Replaces the user's allowed networks with the list given.
async fn put_networks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Json(list): Json<Vec<Cidr>>,
) -> Response {
    if let Err(refusal) = admin_or_self(&state, &headers, &user, true).await {
        return refusal;
    }
    let result = async {
        for old in state.store.allowed_networks(&user).await? {
            if !list.contains(&old) {
                state.store.set_network(&user, old, false).await?;
            }
        }
        for new in &list {
            state.store.set_network(&user, *new, true).await?;
        }
        state.store.allowed_networks(&user).await
    }
    .await;
    match result {
        Ok(list) => Json(list).into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Answers a client socket's policy request (`pummel hosts`); None for
/// every other request.
pub(crate) async fn answer(state: &AppState, who: &Identity, req: &FromClient) -> Option<ToClient> {
    let result = match req {
        FromClient::Hosts => state
            .store
            .claims(&who.name)
            .await
            .map_err(OwnershipError::from),
        FromClient::ClaimHost { host } => ownership::claim(&state.store, &who.name, host)
            .await
            .map(|c| vec![c]),
        FromClient::VerifyHost { host } => verify(state, who, host).await.map(|c| vec![c]),
        _ => return None,
    };
    Some(match result {
        Ok(hosts) => ToClient::Hosts { hosts },
        Err(e) => ToClient::Error {
            message: e.to_string(),
        },
    })
}

/// Passes a submission through the gate (see [`admission::Gate`]).
pub(crate) async fn gate(
    state: &AppState,
    who: &Identity,
    submit: &mut Submit,
) -> Result<(), String> {
    state.gate().pass(who, submit).await
}
