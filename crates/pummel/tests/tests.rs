//! End-to-end tests of the `pummel` binary: the real executable against a real `pummel target`
//! process on 127.0.0.1, as a user or a script drives them.
//!
//! One test binary (as ripgrep does), one module per area:
//!
//! - `bench`: closed-model runs, the JSON result and text summary, methods, bodies, headers, HTTP/2;
//! - `timing`: the open model's rate, the stall (coordinated omission), percentile truth;
//! - `failures`: failing targets are counted errors and the run goes on;
//! - `cli`: usage errors, Ctrl-C, `pummel demo`, output when not on a terminal;
//! - `outputs`: output paths checked before the load, results saved when a write fails, stdout;
//! - `target`: `pummel target` itself;
//! - `scenarios`: `pummel run`/`validate`/`init` on scenario files: the examples, journeys, browser
//!   behaviour against the target and nginx, thresholds, the open model, cycles, Ctrl-C;
//! - `reports`: HTML, JUnit, CSV and Markdown reports, `pummel compare` and `trend`, the pages in
//!   headless Chromium;
//! - `tls`: HTTPS, HTTP/2 by ALPN and WSS against nginx with a self-signed certificate;
//! - `websocket`: WebSocket benches and scenario steps, against echo and misbehaving peers;
//! - `util`: running the binary and the target, reading results.

mod util;

mod bench;
mod cli;
mod failures;
mod honesty;
mod outputs;
mod reports;
mod scenarios;
mod target;
mod timing;
mod tls;
mod websocket;
