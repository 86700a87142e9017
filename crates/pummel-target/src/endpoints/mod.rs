//! The endpoints, one module per family. Each takes the already-split pieces of the request it
//! needs (path segments, query, headers, body) and returns a response; dispatch is in `routes`.
//!
//! New families (WebSocket `/ws/...`, the demo marketplace under `/api/...`) get a module here and a
//! line in the router.

pub(crate) mod auth;
pub(crate) mod basic;
pub(crate) mod bytes;
pub(crate) mod cookies;
pub(crate) mod delay;
pub(crate) mod echo;
pub(crate) mod gzip;
pub(crate) mod headers;
pub(crate) mod redirect;
pub(crate) mod stall;
