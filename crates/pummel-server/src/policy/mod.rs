//! What makes the server safe to share: the networks a user's load and the
//! server's own fetches may reach, proof that a user owns the hosts they
//! load, and per-user quotas.
//!
//! - [`network`]: allowed target networks and the addresses refused by
//!   default;
//! - `fetch`: the one function every outbound request of the server goes
//!   through (resolve, check every address, connect to a checked one).

#[allow(
    dead_code,
    reason = "the server's outbound fetches (ownership challenges, git URLs, webhooks) come in with their features"
)]
pub(crate) mod fetch;
pub mod network;

pub use network::{Cidr, CidrError, NetworkPolicy, Refused, Reserved};
