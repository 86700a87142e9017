//! The state every connection of one server sees.
//!
//! Kept deliberately small and lock-free: the pause state and the request counter. Constant bodies
//! live in `static`s (see `endpoints`) rather than here, so handing them out never touches a shared
//! reference count.

use std::sync::Arc;

use crate::config::StallPlan;
use crate::counter::ShardedCounter;
use crate::stall::{self, Stall};

/// Server-wide state, behind one `Arc` per server.
pub(crate) struct Shared {
    pub(crate) stall: Stall,
    served: ShardedCounter,
}

impl Shared {
    pub(crate) fn new(plan: Option<StallPlan>) -> Self {
        Shared {
            stall: Stall::new(plan),
            served: ShardedCounter::default(),
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
