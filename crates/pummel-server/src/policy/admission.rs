//! The gate every run passes before it is given to agents: a non-admin's
//! targets must resolve inside their networks and be hosts they proved they
//! own, and the run must fit their quotas. Admins pass unchecked.

use std::time::Duration;

use super::fetch::{self, FetchError};
use super::network::NetworkPolicy;
use super::ownership::{self, OwnershipError};
use super::quota::PlanDemand;
use super::quota::QuotaExceeded;
use crate::store::Store;
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
