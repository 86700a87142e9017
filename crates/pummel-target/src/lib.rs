//! `pummel-target`: the HTTP server pummel hammers in demos, tests and benchmarks.
//!
//! `pummel target` runs it from the CLI; tests start it in-process on `127.0.0.1:0`. Because pummel's
//! own throughput is measured against it, the server has to be faster than the client it serves: it
//! is plain hyper 1.x (no framework), HTTP/1.1 and h2c (prior-knowledge HTTP/2) on one port, with
//! keep-alive, no per-request logging, and no lock anywhere on the path of the plain endpoints.
//!
//! # Endpoints
//!
//! All methods are accepted everywhere; `HEAD` gets the headers (with the `Content-Length` the body
//! would have had) and no body.
//!
//! | path | response |
//! |---|---|
//! | `/` | 200 `text/plain`, a small constant body |
//! | `/json` | 200 `application/json`, a small constant object |
//! | `/delay/{ms}[?jitter={ms}]` | 200 after `ms` (+ uniform `0..jitter`) milliseconds; at most 10 minutes |
//! | `/status/{code}` | that status (200..=599) |
//! | `/bytes/{n}[?chunked=1]` | `n` bytes of a repeating pattern (≤ 100 MiB), optionally chunked |
//! | `/echo` | the request body, with the request's `Content-Type` |
//! | `/headers` | JSON `{"headers": {...}}` of the request headers |
//! | `/redirect/{n}` | 302 to `/redirect/{n-1}`, the last one to `/` |
//! | `/cookies/set?name=value&...` | sets the cookies, 302 to `/cookies` |
//! | `/cookies` | JSON `{"cookies": {...}}` of the cookies received |
//! | `/basic-auth/{user}/{pass}` | 200 if HTTP Basic credentials match, else 401 |
//! | `/gzip` | a gzip-encoded JSON body (`Content-Encoding: gzip`) |
//! | `/stall/{ms}` | pauses the whole server for `ms` milliseconds (see [`StallPlan`]) |
//!
//! Anything else is 404; malformed numbers and out-of-range values are 400, never a panic.
//!
//! # Code map
//!
//! - `server`: binding, the accept loop, per-connection tasks, graceful shutdown.
//! - `routes`: request dispatch (a `match` on path segments), the stall gate and `HEAD` handling.
//! - `endpoints/*`: one module per endpoint family.
//! - `shared`, `stall`, `counter`: the state all connections see, kept lock-free.
//! - `body`, `response`, `params`, `rng`: small building blocks for the endpoints.

mod body;
mod config;
mod counter;
mod endpoints;
mod params;
mod response;
mod rng;
mod routes;
mod server;
mod shared;
mod stall;

pub use config::{StallPlan, TargetConfig};
pub use server::{serve_blocking, Target};
