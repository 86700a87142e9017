//! `pummel agent`: a thin loop around the engine. It dials out to the
//! server (agents may sit behind NAT), says who it is, heartbeats, runs the
//! segments it is given with the same engine as a local run, and streams
//! each second's snapshot. When the link drops it keeps running, keeps what
//! it measured, and sends it all when it is back (`link`); when the server
//! stays out of reach past `--orphan-timeout`, it stops its load by itself.
//!
//! `segment` runs one run's part on threads of its own: the engine's work
//! never runs on the runtime that keeps the link, so a saturated agent still
//! heartbeats.

mod clock;
mod link;
mod segment;

use crate::cli::AgentArgs;
use crate::exit::Failure;

pub(super) fn run(args: &AgentArgs) -> Result<i32, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the agent's runtime: {e}")))?;
    runtime.block_on(link::serve(args))
}
