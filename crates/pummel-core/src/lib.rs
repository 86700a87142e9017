//! pummel's engine: plans and their segments, load models, HTTP clients and
//! metrics. See ARCHITECTURE.md at the repository root for the map.

pub mod bench;
pub mod coordinator;
pub mod http;
pub mod metrics;
pub mod pacer;
pub mod run;
pub mod scenario;
pub mod segment;
pub mod ws;

pub use pummel_result::{error_kind, result, ErrorKind};
