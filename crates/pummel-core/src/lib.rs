//! pummel's engine: plans and their segments, load models, HTTP clients and
//! metrics. See ARCHITECTURE.md at the repository root for the map.

pub mod bench;
pub mod coordinator;
pub mod error_kind;
pub mod http;
pub mod metrics;
pub mod result;
pub mod segment;

pub use error_kind::ErrorKind;
