//! The gate every run passes before it is given to agents: a non-admin's
//! targets must resolve inside their networks and be hosts they proved they
//! own, and the run must fit their quotas. Admins pass unchecked.

use std::time::Duration;

use super::fetch::{self, FetchError};
use super::network::NetworkPolicy;
use super::ownership::{self, OwnershipError};
use super::quota::PlanDemand;
use super::quota::QuotaExceeded;
use crate::backend::PlanBackend;
use crate::store::Store;
use crate::wire::Submit;
use crate::store::StoreError;
use crate::token::{Identity, Role};

/// Why a run is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("refused by your quota: {0}")]
    Quota(#[from] QuotaExceeded),
    #[error("refused: {0}")]
    Ownership(#[from] OwnershipError),
    #[error("refused: the target {0}")]
    Network(FetchError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The networks `who` may reach: None (any) for an admin.
pub(crate) async fn network_of(
    store: &Store,
    who: &Identity,
) -> Result<Option<NetworkPolicy>, StoreError> {
    if who.role == Role::Admin {
        return Ok(None);
    }
    Ok(Some(NetworkPolicy::restricted(
        store.allowed_networks(&who.name).await?,
    )))
}

/// Admits a run of `demand` on `agents` agents for `who`, or says why not;
/// the networks to enforce at the agents come back.
pub(crate) async fn admit(
    store: &Store,
    who: &Identity,
    demand: &PlanDemand,
    agents: Option<u32>,
    ownership_ttl: Duration,
    trust_clients: bool,
) -> Result<Option<NetworkPolicy>, Refusal> {
    let Some(network) = network_of(store, who).await? else {
        return Ok(None);
    };
    if let Some(quota) = store.quota(&who.name).await? {
        quota.check(demand, agents, store.usage(&who.name).await?)?;
    } else if demand.runner {
        // Runners need an admin's leave, quota or not.
        super::quota::Quota::default().check(demand, agents, super::quota::Usage::default())?;
    }
    if trust_clients {
        return Ok(None);
    }
    // Checked here for a clear early answer; the agents check again at
    // connect time, where redirects and DNS changes show.
    for host in &demand.hosts {
        fetch::resolve_checked(&network, host, 0)
            .await
            .map_err(Refusal::Network)?;
    }
    ownership::require(
        store,
        &network,
        &who.name,
        &demand.hosts,
        &demand.dynamic_urls,
        ownership_ttl,
    )
    .await?;
    Ok(Some(network))
}

/// What the gate needs of the server: its store, the plan loader, and
/// the ownership and trust settings. Every way in (the client socket,
/// `POST /v1/jobs`, the web form, repositories) passes a submission here.
pub(crate) struct Gate<'a> {
    pub(crate) store: &'a Store,
    pub(crate) backend: &'a dyn PlanBackend,
    pub(crate) ownership_ttl: Duration,
    pub(crate) trust_clients: bool,
}

impl Gate<'_> {
    /// Passes a submission through the gate: its plan's hosts, networks
    /// and size against the submitter's policy; sets the networks its
    /// agents enforce (never the client's own say). The message says what
    /// was refused and how to fix it.
    pub(crate) async fn pass(&self, who: &Identity, submit: &mut Submit) -> Result<(), String> {
        submit.network = None;
        if who.role == Role::Admin {
            return Ok(());
        }
        let demand = match self.backend.load(&submit.plan) {
            Ok(plan) => plan.demand(),
            Err(message) => return Err(format!("the plan does not load: {message}")),
        };
        let network = admit(
            self.store,
            who,
            &demand,
            submit.agents,
            self.ownership_ttl,
            self.trust_clients,
        )
        .await
        .map_err(|e| e.to_string())?;
        submit.network = network;
        Ok(())
    }
}
