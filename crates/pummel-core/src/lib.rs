//! pummel's engine: plans and their segments, load models, HTTP and
//! WebSocket clients, the workers that run them and the coordinator that
//! merges what they measure. See ARCHITECTURE.md at the repository root for
//! the map.
//!
//! # API boundary
//!
//! What a front end (the CLI today, an agent tomorrow) needs, and nothing
//! else; `docs/api/pummel-core.txt` lists every public item and a test keeps
//! it true:
//! - [`bench`]: a [`bench::BenchPlan`], its [`segment`](bench::BenchPlan::segment)
//!   for a share of the load, [`bench::run`] and [`bench::result`];
//! - [`scenario`]: [`scenario::load_with`] a scenario file into a
//!   [`scenario::Plan`], or [`scenario::Diagnostics`] naming every problem;
//! - [`run`]: [`run::run`] a plan into a [`run::RunOutcome`];
//! - a distributed run's parts: [`run::run_segment`] and
//!   [`bench::run_segment`] run one [`Segment`] of a plan from a given
//!   start ([`SegmentOptions`]) and hand out each second's snapshot;
//!   [`run::global_setup`] and [`run::global_teardown`] run once with their
//!   [`run::Captures`]; [`run::collector`] and [`bench::layout`] merge
//!   segments, [`run::AbortWatch`] judges aborting thresholds on the merge,
//!   [`run::finish`] and [`bench::result`] build the outcome;
//! - [`Segment`], [`SegmentOptions`], [`StopSignal`], [`Progress`],
//!   [`Measured`], [`WorkerReport`];
//! - [`http`] and [`ws`]: the URL and request types a bench plan is made of;
//! - the measurements themselves come from `pummel-result`, re-exported as
//!   [`result`].
//!
//! The engine does no terminal output, no file I/O beyond what a plan asks
//! for, and never exits the process.

pub(crate) mod arrivals;
pub mod bench;
pub(crate) mod coordinator;
pub mod http;
pub mod limits;
pub(crate) mod metrics;
pub(crate) mod pacer;
pub mod run;
pub mod scenario;
pub(crate) mod segment;
#[cfg(test)]
mod thread_clock;
pub mod ws;

pub use coordinator::{Measured, Progress, SpawnError, StopSignal};
pub use metrics::WorkerReport;
pub use pummel_result::{result, ErrorKind};
pub use segment::{Segment, SegmentOptions};
