//! The web UI, served by the same port as the API: askama templates, htmx
//! for the parts that refresh themselves, uPlot for the live charts, and
//! every asset embedded in the binary.
//!
//! The pages talk to the hub exactly as a command-line client does (by
//! [`HubMsg::Client`] messages), so a run started from the page and one
//! started with `pummel run --server` are the same thing. Who may see what
//! is decided here, from the signed-in [`User`]: a user sees and controls
//! their own runs, an admin every run, the agents and the users.
//!
//! - `auth`: sign-in, sessions and the CSRF check of every form;
//! - `runs`: the runs list, the live run page and its event stream, stop;
//! - `reports`: a finished run's HTML report, compare, trend;
//! - `launch`: the new-run form, which queues a job;
//! - `jobs`: the queue and its jobs, cancel, re-run and delete;
//! - `repos`: the test repositories, their tests and problems, a test's start;
//! - `agents`, `profile`, `admin`: the other pages;
//! - `assets`: the embedded files;
//! - `page`: what every page shares (its layout, errors).

mod admin;
mod agents;
mod assets;
mod auth;
mod jobs;
mod launch;
pub(crate) mod page;
mod profile;
mod reports;
mod repos;
mod runs;

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::mpsc;

use crate::hub::HubMsg;
use crate::state::AppState;
use crate::wire::{FromClient, ToClient};

pub(crate) use assets::serve as dashboard_assets;
pub(crate) use auth::Fields;

/// The pages' routes, merged into the server's router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(runs::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/runs", get(runs::list))
        .route("/runs/table", get(runs::table))
        .route("/runs/new", get(launch::form).post(launch::submit))
        .route("/jobs", get(jobs::list))
        .route("/jobs/table", get(jobs::table))
        .route("/jobs/{id}", get(jobs::page))
        .route("/jobs/{id}/{action}", post(jobs::act))
        .route("/runs/{id}", get(runs::page))
        .route("/runs/{id}/events", get(runs::events))
        .route("/runs/{id}/stop", post(runs::stop))
        .route("/runs/{id}/report", get(reports::report))
        .route("/runs/{id}/result.json", get(reports::result_json))
        .route("/compare", get(reports::compare))
        .route("/trend", get(reports::trend))
        .route("/repos", get(repos::list).post(repos::add))
        .route("/repos/{name}", get(repos::one))
        .route("/repos/{name}/pull", post(repos::pull))
        .route("/repos/{name}/delete", post(repos::remove))
        .route("/repos/{name}/tests/{test}/run", post(repos::start))
        .route("/agents", get(agents::page))
        .route("/agents/table", get(agents::table))
        .route("/agents/{name}/{action}", post(agents::act))
        .route("/profile", get(profile::page))
        .route("/profile/tokens", post(profile::create))
        .route("/profile/tokens/{id}/revoke", post(profile::revoke))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{name}/delete", post(admin::delete_user))
        .route("/assets/{file}", get(assets::serve))
        .route_layer(axum::middleware::from_fn(server_timing))
}

/// Adds `Server-Timing: app;dur=MS` to every page: how long the server took
/// to make it (store queries, templates), which the browser's developer
/// tools show and `bench/web.sh` measures — the server's own share, without
/// the network or the client.
async fn server_timing(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

/// Asks the hub as `user` (an admin controls every job) and returns its
/// one answer.
async fn ask(state: &AppState, user: &crate::users::User, mut req: FromClient) -> Option<ToClient> {
    // A run from the form passes the same gate as one from the CLI.
    if let FromClient::Submit(submit) = &mut req {
        let who = crate::token::Identity {
            name: user.name.clone(),
            role: user.role.token_role(),
        };
        if let Err(message) = state.gate().pass(&who, submit).await {
            return Some(ToClient::Error { message });
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    if !state.hub.send(HubMsg::Client {
        owner: user.name.clone(),
        admin: user.is_admin(),
        req,
        tx,
    }) {
        return None;
    }
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .ok()
        .flatten()
}
