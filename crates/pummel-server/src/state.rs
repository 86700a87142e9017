//! What every HTTP handler shares: the server's parts (store, hub,
//! repositories, the pages' state, the submission gate's settings) and the
//! token check. The handlers' modules depend on this one, never on each
//! other, so the parts that serve HTTP form no cycle.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::gate::Gate;
use crate::hub::HubHandle;
use crate::store::Store;
use crate::token::{Identity, Role};
use crate::users::limit::SignInLimits;
use crate::wire;

/// What the pages keep between requests.
#[derive(Default)]
pub(crate) struct WebState {
    pub(crate) limits: SignInLimits,
    /// The port speaks TLS: cookies are `Secure`.
    pub(crate) tls: bool,
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) hub: HubHandle,
    pub(crate) next_conn: Arc<AtomicU64>,
    pub(crate) web: Arc<WebState>,
    /// Loads plans for the submission gate (their hosts and size).
    pub(crate) backend: Arc<dyn crate::backend::PlanBackend>,
    /// How long a host's ownership proof stands before a run re-checks it.
    pub(crate) ownership_ttl: Duration,
    /// `--trust-clients`: no network policy nor ownership proof.
    pub(crate) trust_clients: bool,
    pub(crate) repos: Arc<crate::repos::Repos>,
}

impl AppState {
    /// The submission gate, on this server's settings.
    pub(crate) fn gate(&self) -> Gate<'_> {
        Gate {
            store: &self.store,
            backend: self.backend.as_ref(),
            ownership_ttl: self.ownership_ttl,
            trust_clients: self.trust_clients,
        }
    }
}

/// The caller's identity, if its token is known and its role allows `may`.
pub(crate) async fn authorise(
    state: &AppState,
    headers: &HeaderMap,
    may: fn(Role) -> bool,
) -> Result<Identity, Response> {
    let token = headers
        .get(wire::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| (StatusCode::UNAUTHORIZED, "a token is required\n").into_response())?;
    let who = state
        .store
        .identify(token)
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response())?
        .ok_or_else(|| (StatusCode::UNAUTHORIZED, "unknown token\n").into_response())?;
    if !may(who.role) {
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "the token of {:?} has role {}, which may not do this\n",
                who.name,
                who.role.as_str()
            ),
        )
            .into_response());
    }
    Ok(who)
}
