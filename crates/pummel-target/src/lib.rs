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
//! | `/delay/{ms}[?jitter={ms}]` | 200 after `ms` (+ uniform `0..jitter`) milliseconds; at most 10 minutes ([`Target::peak_delayed`] counts them held at once) |
//! | `/status/{code}` | that status (200..=599) |
//! | `/bytes/{n}[?chunked=1]` | `n` bytes of a repeating pattern (≤ 16 GiB, generated as sent), optionally chunked |
//! | `/echo` | the request body, with the request's `Content-Type` |
//! | `/headers` | JSON `{"headers": {...}, "version": "HTTP/1.1"}`: the request headers and HTTP version |
//! | `/redirect/{n}` | 302 to `/redirect/{n-1}`, the last one to `/` |
//! | `/cookies/set?name=value&...` | sets the cookies, 302 to `/cookies` |
//! | `/cookies` | JSON `{"cookies": {...}}` of the cookies received |
//! | `/basic-auth/{user}/{pass}` | 200 if HTTP Basic credentials match, else 401 |
//! | `/gzip` | a gzip-encoded JSON body (`Content-Encoding: gzip`) |
//! | `/stall/{ms}` | pauses the whole server for `ms` milliseconds (see [`StallPlan`]) |
//! | `/api/...` | a stateful demo API, an app marketplace in memory (below) |
//! | `/ws/{echo,broadcast,feed,close,garbage,silent}` | WebSocket endpoints (below) |
//!
//! Anything else is 404; malformed numbers and out-of-range values are 400, never a panic.
//!
//! # The demo marketplace (`/api`)
//!
//! So that scenario examples (register, log in, submit, search, review) run offline. JSON in and
//! out, errors as `{"error": "..."}`. Sessions from `POST /api/login` (HTTP Basic) are accepted as
//! the `session` cookie or `Authorization: Bearer <token>`.
//!
//! | method and path | success | errors |
//! |---|---|---|
//! | `POST /api/register` `{"username","password"}` | 201 `{"id","username"}` | 400, 409 |
//! | `POST /api/login` (Basic auth, or a JSON `{"username","password"}` body) | 200 `{"token"}` + `Set-Cookie: session=<token>; Path=/; HttpOnly` | 401 |
//! | `POST /api/logout` | 204 | 401 |
//! | `GET /api/me` | 200 `{"id","username"}` | 401 |
//! | `POST /api/apps` `{"name","category","description"}` | 201 `{"id","name","category","description","owner","created_at","rating","reviews"}` | 400, 401 |
//! | `GET /api/apps?q=&category=&limit=&offset=` | 200 `{"total","items"}` (limit 20 by default, at most 100) | 400 |
//! | `GET /api/apps/{id}` | 200 the app | 400, 404 |
//! | `DELETE /api/apps/{id}` | 204 (owner only) | 401, 403, 404 |
//! | `POST /api/apps/{id}/reviews` `{"rating":1..5,"text"}` | 201 `{"id","app_id","author","rating","text","created_at"}` | 400, 401, 404 |
//! | `GET /api/apps/{id}/reviews?limit=&offset=` | 200 `{"total","items"}` | 400, 404 |
//! | `GET /api/stats` | 200 `{"users","apps","reviews","sessions"}` | |
//!
//! Also: 405 with `Allow` for a wrong method, 413 for a body over 1 MiB, 507 once the store holds a
//! million objects or 256 MiB of text. Every server starts with user `demo` (password `demo`), five
//! apps in `games`, `tools` and `music`, and three reviews. Passwords are hashed, but only with a
//! salted SipHash: this is a demo, not a place for real credentials. The store sits behind one
//! `RwLock` that only `/api` requests (and feed events) take.
//!
//! # WebSocket endpoints (`/ws`)
//!
//! | path | behaviour |
//! |---|---|
//! | `/ws/echo` | every text and binary message comes back; pings answered; close honoured |
//! | `/ws/broadcast` | every message from any subscriber goes to every subscriber, the sender included |
//! | `/ws/feed` | each new app and review: `{"type":"app","app":{...}}`, `{"type":"review","review":{...}}` |
//! | `/ws/close` | accepts, then closes at once with 1011 "going away for a test" |
//! | `/ws/garbage` | accepts, then writes bytes that are not WebSocket frames and closes |
//! | `/ws/silent` | accepts and never sends anything |
//!
//! The first subprotocol a client offers is selected. A request that is not a handshake gets 426
//! (HTTP/2 included: it cannot upgrade). Subscribers that fall behind on `/ws/broadcast` or
//! `/ws/feed` skip messages ([`Target::websocket_messages_skipped`]) rather than being
//! disconnected. An idle socket costs about 8 KiB (measured with 9,000 open), so 10,000 fit in
//! well under 100 MiB; [`Target::open_websockets`] counts them. Shutdown closes them with 1001.
//!
//! # Code map
//!
//! Modules depend one way: `server` → `routes` → `endpoints` → building blocks.
//!
//! - `server`: binding, the accept loop, per-connection tasks, graceful shutdown.
//! - `server_state`: `ServerState`, the state all connections see (stall gate, request counter,
//!   marketplace, WebSocket hub). Only `server` and `routes` know the whole of it.
//! - `routes`: request dispatch (a `match` on path segments), the stall gate and `HEAD` handling;
//!   it hands each endpoint the one piece of state that endpoint uses.
//! - `endpoints/*`: one module per endpoint family; `endpoints/marketplace/` (the `/api` demo:
//!   records, state, handlers, request parsing, errors, credentials, feed, seed) and
//!   `endpoints/websocket/` (handshake, sessions, hub) are families of modules.
//! - `stall`, `counter`: the lock-free state the plain endpoints touch; the marketplace's lock is
//!   only taken by `/api` requests.
//! - `body` (with `body::pattern`, the generated `/bytes` body), `response`, `params`, `rng`,
//!   `timestamp`: small building blocks for the endpoints.

mod body;
mod config;
mod counter;
mod endpoints;
mod params;
mod response;
mod rng;
mod routes;
mod server;
mod server_state;
mod stall;
mod timestamp;

pub use config::{StallPlan, TargetConfig};
pub use server::{serve_blocking, Target};
