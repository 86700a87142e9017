//! The state of one whole server: what the router hands out, piece by piece, to the endpoints.
//!
//! Only `server` and `routes` know this type; each endpoint gets the one piece it uses (the stall
//! gate, the marketplace, the WebSocket hub), so no endpoint module depends on the whole.
//!
//! What the plain endpoints use is kept deliberately small and lock-free: the pause state and the
//! request counter. Constant bodies live in `static`s (see `endpoints`) rather than here, so handing
//! them out never touches a shared reference count. The demo marketplace (behind its own lock) and
//! the WebSocket hub live here too, but only `/api` and `/ws` requests touch them.

use std::sync::{Arc, Weak};

use crate::config::StallPlan;
use crate::counter::ShardedCounter;
use crate::endpoints::marketplace::{self, Limits, Marketplace};
use crate::endpoints::shop::Shop;
use crate::endpoints::websocket::WebSocketHub;
use crate::stall::Stall;

/// Server-wide state, behind one `Arc` per server.
pub(crate) struct ServerState {
    /// The pause gate every response waits at, and `/stall/{ms}` sets.
    pub(crate) stall: Stall,
    /// `/delay` requests held, now and at most.
    pub(crate) delays: crate::endpoints::delay::Held,
    served: ShardedCounter,
    /// The `/api` demo store, seeded.
    pub(crate) marketplace: Marketplace,
    /// The `/shop` HTML flow's sessions.
    pub(crate) shop: Shop,
    /// Shared by the `/ws` sessions, which outlive the requests that opened them (hence the `Arc`).
    pub(crate) websockets: Arc<WebSocketHub>,
    /// Ownership challenges: id → token.
    pub(crate) challenges: Vec<(String, String)>,
}

impl ServerState {
    pub(crate) fn new(plan: Option<StallPlan>, challenges: Vec<(String, String)>) -> Self {
        let market = Marketplace::new(Limits::default());
        marketplace::seed(&market);
        ServerState {
            stall: Stall::new(plan),
            delays: Default::default(),
            served: ShardedCounter::default(),
            marketplace: market,
            shop: Shop::default(),
            websockets: Arc::new(WebSocketHub::new()),
            challenges,
        }
    }

    /// Bookkeeping done once per request as it reaches the router: count it and, on the very first
    /// request, schedule the configured stall.
    #[inline]
    pub(crate) fn on_request(self: &Arc<Self>) {
        self.served.increment();
        if let Some(plan) = self.stall.take_plan_on_first_request() {
            tokio::spawn(run_stall_plan(Arc::downgrade(self), plan));
        }
    }

    /// Requests that reached the router so far.
    pub(crate) fn requests_served(&self) -> u64 {
        self.served.sum()
    }
}

/// Runs a stall plan: waits `after`, then pauses for `duration`. Holds only a weak reference so that
/// a server shut down meanwhile is not kept alive, and the pause is skipped.
async fn run_stall_plan(state: Weak<ServerState>, plan: StallPlan) {
    tokio::time::sleep(plan.after).await;
    if let Some(state) = state.upgrade() {
        state.stall.pause_for_duration(plan.duration);
    }
}
