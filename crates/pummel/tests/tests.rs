//! End-to-end tests of the `pummel` binary: the real executable against a real `pummel target`
//! process on 127.0.0.1, as a user or a script drives them.
//!
//! One test binary (as ripgrep does), one module per area:
//!
//! - `accounting`: every request and iteration accounted for, against the target's own count;
//! - `bench`: closed-model runs, the JSON result and text summary, methods, bodies, headers, HTTP/2;
//! - `arrivals`: the open model's schedule as a server sees it, on any number of threads; the
//!   duration of a timed rate run;
//! - `bench_scripts`: the scripts in `bench/` exit 1 when a goal is missed;
//! - `timing`: the open model's rate, the stall (coordinated omission), percentile truth;
//! - `deploy`: the Kubernetes manifests, systemd units and Dockerfile, rendered, validated and run as
//!   they say;
//! - `failures`: failing targets are counted errors and the run goes on;
//! - `flow`: `retry`, `loop`, `if`/`else`, `on_error` and expressions, judged by the target's count;
//! - `live_metrics`: `--metrics-listen`, remote write and `--out-stream` against Debian's
//!   Prometheus (counts exact, every Grafana panel has data); `monitor:` of a node exporter in the
//!   result and the HTML report; shell completions and the man page;
//! - `server_metrics`: `pummel server --metrics-listen` scraped by Debian's Prometheus during two
//!   runs at once: each run's series under its `run` label equal its merged result; the dashboard
//!   set to one run has data;
//! - `limits`: the documented limits hold for files and flags alike; memory stays bounded;
//! - `convert`: `pummel convert` of a HAR recorded in headless Chromium and of a Postman collection
//!   run by newman, replayed with every check passing;
//! - `cli`: usage errors, Ctrl-C, `pummel demo`, output when not on a terminal;
//! - `outputs`: output paths checked before the load, results saved when a write fails, stdout;
//! - `parallel`: `parallel:` batches overlapping within their connections (as the target sees
//!   them), failures and `on_error` in a batch; `http2:` over TLS and h2c, one connection per origin;
//! - `peers`: servers that break HTTP on purpose (answers nobody asked for, …), signals and
//!   failing outputs: counted once, named, never a silent success;
//! - `repos`: test repositories (by path and over git://, pummel.yml checked with file:line:col,
//!   GitHub/Gitea/GitLab push webhooks, credentials sealed) and run notifications (email to an
//!   SMTP sink, signed webhooks);
//! - `repos_fetch`: repository fetches under the owner's network policy with real git (dumb
//!   HTTP, `git daemon`, a redirect not followed) and over SSH from a real sshd with a deploy key,
//!   the host key learned on first use or given, a wrong key named;
//! - `notify_delivery`: webhook retries with backoff, delivered once or given up and recorded;
//!   email over STARTTLS to a relay of a private CA (and a wrong CA recorded); a scheduled
//!   repository test run at its time and notified;
//! - `target`: `pummel target` itself;
//! - `scenarios`: `pummel run`/`validate`/`init` on scenario files: the examples, journeys, browser
//!   behaviour against the target and nginx, thresholds, the open model, cycles, Ctrl-C;
//! - `reports`: HTML, JUnit, CSV and Markdown reports, `pummel compare` and `trend`, the pages in
//!   headless Chromium;
//! - `requests`: request options (redirects not followed, multipart, `hosts:`), scenario and target
//!   selection, `--once`/`--http-debug`, Poisson arrivals;
//! - `proxy`: http forwarded and https, HTTP/2 and WebSockets tunnelled through a real tinyproxy
//!   with credentials; refusals counted under named kinds; `proxy:` values checked;
//! - `tls`: HTTPS, HTTP/2 by ALPN and WSS against nginx with a self-signed certificate;
//! - `websocket`: WebSocket benches and scenario steps, against echo and misbehaving peers;
//! - `load_models`: ramping VUs, a ramping rate, cycles, pacing and an abort grace, as files write
//!   them;
//! - `wire`: what reaches the server: headers, HTTP/2 connections, cookies, resets and malformed
//!   answers counted exactly, thousands of WebSockets;
//! - `distributed`: `pummel server` and `pummel agent` on loopback: exact merges, the shared
//!   schedule, unique rows, detach/attach/stop, tokens, lost agents, cut links, restarts, skew;
//! - `distributed_failures`: `abort_on_fail` and `--on-agent-loss stop` across agents, a plan an
//!   agent cannot load, an orphaned agent stopping itself, a server behind TLS with a private CA;
//! - `cluster`: a server, agents and a freezable TCP proxy for `distributed`;
//! - `runners`: journeys in Python and JavaScript run by runner processes (closed, open, cycles),
//!   `python -m unittest` on the same file, runners that crash, hang, speak garbage or flood;
//! - `runner_clients`: the Python and JS clients' WebSocket helpers against the target's echo,
//!   timed; Node runners that crash, hang or print garbage, each counted by name;
//! - `runners_distributed`: runner journeys shipped with their test directory to agents that lack
//!   it (`--runner` and a `runner:` section), and refused by an agent without `--allow-runners`;
//! - `scenload`: tags inherited and thresholds scoped by tag and group, groups rolled up, custom
//!   metrics (counters, gauges, trends) and thresholds on them; load per scenario (own `load`,
//!   `start_after`, `iterations_per_vu`, per-scenario timelines);
//! - `queue`: the server's store on SQLite and on PostgreSQL, runs kept across a `kill -9`;
//! - `postgres`: one PostgreSQL started for the tests, a database per test;
//! - `web`: the server's web UI over HTTP: sign-in and its limit, sessions, CSRF on every form,
//!   profile tokens used by the CLI, a run from the form followed live to its report, ownership;
//! - `web_jobs`: the queue on the web: a waiting job's place, the jobs list, cancel and delete;
//! - `safety`: a shared server's network policy (enforced by the agent at connect time, redirects
//!   included), host ownership proof, quotas and the admin's exemption;
//! - `servers`: tiny recording and misbehaving servers for `load_models` and `wire`;
//! - `util`: running the binary and the target, reading results.

mod util;

mod accounting;
mod arrivals;
mod bench;
mod bench_scripts;
mod cli;
mod cluster;
mod convert;
mod deploy;
mod distributed;
mod distributed_failures;
mod failures;
mod flow;
mod honesty;
mod limits;
mod live_metrics;
mod load_models;
mod notify_delivery;
mod outputs;
mod parallel;
mod peers;
mod postgres;
mod proxy;
mod queue;
mod reports;
mod repos;
mod repos_fetch;
mod requests;
mod runner_clients;
mod runners;
mod runners_distributed;
mod safety;
mod scenarios;
mod scenload;
mod server_metrics;
mod servers;
mod target;
mod timing;
mod tls;
mod web;
mod web_jobs;
mod websocket;
mod wire;
