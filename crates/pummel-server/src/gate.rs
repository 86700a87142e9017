//! The gate every submission passes, whichever way it came in.

use std::time::Duration;

use crate::backend::PlanBackend;
use crate::policy::admission::admit;
use crate::store::Store;
use crate::token::{Identity, Role};
use crate::wire::Submit;

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
