//! The endpoints, one module per family. Each takes the already-split pieces of the request it
//! needs (path segments, query, headers, body) and returns a response; dispatch is in `routes`.
//!
//! `marketplace` (the stateful demo API under `/api`) and `websocket` (`/ws/...`) are families of
//! several modules each; they are the only endpoints that touch state beyond the lock-free
//! counters, and the plain endpoints never touch theirs.

pub(crate) mod auth;
pub(crate) mod basic;
pub(crate) mod bytes;
pub(crate) mod cookies;
pub(crate) mod delay;
pub(crate) mod echo;
pub(crate) mod gzip;
pub(crate) mod headers;
pub(crate) mod marketplace;
pub(crate) mod redirect;
pub(crate) mod shop;
pub(crate) mod stall;
pub(crate) mod websocket;
