//! What makes the server safe to share: the networks a user's load and the
//! server's own fetches may reach, proof that a user owns the hosts they
//! load, and per-user quotas.
//!
//! - [`network`]: allowed target networks and the addresses refused by
//!   default;
//! - `fetch`: the one function every outbound request of the server goes
//!   through (resolve, check every address, connect to a checked one);
//! - [`ownership`]: the challenge a user publishes to prove a host is
//!   theirs;
//! - [`quota`]: per-user limits;
//! - `admission`: the gate a run passes (admins pass unchecked);
//! - `store`: their tables (their HTTP and client-socket requests are in
//!   `api::policy`).

pub(crate) mod admission;
pub(crate) mod fetch;
pub mod network;
pub mod ownership;
pub mod quota;
mod store;

pub use network::{Cidr, CidrError, NetworkPolicy, Refused, Reserved};
pub use ownership::Claim;
pub use quota::{PlanDemand, Quota};
