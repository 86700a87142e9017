//! The state every connection of one server sees.
//!
//! What the plain endpoints use is kept deliberately small and lock-free: the pause state and the
//! request counter. Constant bodies live in `static`s (see `endpoints`) rather than here, so handing
//! them out never touches a shared reference count. The demo marketplace (behind its own lock) and
//! the WebSocket hub live here too, but only `/api` and `/ws` requests touch them.

use std::sync::Arc;

use crate::config::StallPlan;
use crate::counter::ShardedCounter;
use crate::endpoints::marketplace::{self, Limits, Marketplace};
use crate::endpoints::websocket::WebSocketHub;
use crate::stall::{self, Stall};

/// Server-wide state, behind one `Arc` per server.
pub(crate) struct Shared {
    pub(crate) stall: Stall,
    served: ShardedCounter,
    /// The `/api` demo store, seeded.
    pub(crate) marketplace: Marketplace,
    /// Shared by the `/ws` sessions, which outlive the requests that opened them (hence the `Arc`).
    pub(crate) websockets: Arc<WebSocketHub>,
}

impl Shared {
    pub(crate) fn new(plan: Option<StallPlan>) -> Self {
        let market = Marketplace::new(Limits::default());
        marketplace::seed(&market);
        Shared {
            stall: Stall::new(plan),
            served: ShardedCounter::default(),
            marketplace: market,
            websockets: Arc::new(WebSocketHub::new()),
        }
    }

    /// Bookkeeping done once per request as it reaches the router: count it and, on the very first
    /// request, schedule the configured stall.
    #[inline]
    pub(crate) fn on_request(self: &Arc<Self>) {
        self.served.increment();
        if let Some(plan) = self.stall.take_plan_on_first_request() {
            tokio::spawn(stall::run_plan(Arc::downgrade(self), plan));
        }
    }

    /// Requests that reached the router so far.
    pub(crate) fn requests_served(&self) -> u64 {
        self.served.sum()
    }
}
