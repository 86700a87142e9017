//! The runs list (its rows refresh themselves), the live run page, its
//! event stream (Server-Sent Events fed by the hub's merged seconds) and
//! the stop button.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use tokio::sync::mpsc;

use super::auth::{form_session, session, Session};
use super::page::{render, when, Chrome, PageError};
use crate::hub::HubMsg;
use crate::state::AppState;
use crate::store::web_queries::RunSummary;
use crate::store::RunRow;
use crate::wire::{FromClient, PlanSpec, ToClient};

/// Runs a list page shows.
pub(crate) const PAGE_SIZE: i64 = 50;

pub(super) async fn home() -> Redirect {
    Redirect::to("/runs")
}

/// A row of the runs list.
pub(crate) struct RunLine {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) state: String,
    pub(crate) created: String,
    pub(crate) exit_code: String,
    pub(crate) message: String,
    pub(crate) live: bool,
    /// What the exit code means, once the run ended.
    pub(crate) verdict: &'static str,
}

/// The verdict an ended run's exit code gives: the words of the service's
/// notifications (`passed`, `failed` by a threshold, `stopped`, `error`).
pub(crate) fn verdict(exit_code: Option<i32>) -> &'static str {
    match exit_code {
        None => "",
        Some(0) => "passed",
        Some(99) => "failed",
        Some(130) => "stopped",
        Some(_) => "error",
    }
}

impl RunLine {
    fn of(run: RunSummary) -> RunLine {
        RunLine {
            live: matches!(run.state.as_str(), "pending" | "running"),
            verdict: verdict(run.exit_code),
            created: when(run.created_at),
            exit_code: run.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            message: run.message.unwrap_or_default(),
            id: run.id,
            owner: run.owner,
            state: run.state,
        }
    }
}

#[derive(Template)]
#[template(path = "web/runs_table.html")]
struct RunsTable {
    runs: Vec<RunLine>,
    page: i64,
    pages: i64,
    total: i64,
}

#[derive(Template)]
#[template(path = "web/runs.html")]
struct RunsPage {
    chrome: Chrome,
    table: RunsTable,
}

async fn runs_table(
    state: &AppState,
    session: &Session,
    query: &HashMap<String, String>,
) -> Result<RunsTable, PageError> {
    let owner = (!session.user.is_admin()).then_some(session.user.name.as_str());
    let total = state.store.run_count(owner).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let runs = state
        .store
        .run_page(owner, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await?;
    Ok(RunsTable {
        runs: runs.into_iter().map(RunLine::of).collect(),
        page,
        pages,
        total,
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/runs").await?;
    let table = runs_table(&state, &session, &query).await?;
    let chrome = Chrome::new(&session.user, &session.csrf, "runs", "Runs".to_owned());
    Ok(render(&RunsPage { chrome, table }))
}

/// The table alone, for htmx to swap in every few seconds.
pub(super) async fn table(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/runs").await?;
    Ok(render(&runs_table(&state, &session, &query).await?))
}

/// The run `id`, if the session's user may see it.
pub(crate) async fn visible_run(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<RunRow, PageError> {
    let run = state
        .store
        .run(id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("there is no run {id:?}")))?;
    if !session.user.may_see(&run.owner) {
        return Err(PageError::Forbidden(format!(
            "run {id} belongs to another user"
        )));
    }
    Ok(run)
}

/// What the run page says of the plan.
pub(crate) struct PlanView {
    pub(crate) test: String,
    pub(crate) overrides: String,
    pub(crate) text: String,
}

pub(crate) fn plan_view(plan: &str) -> PlanView {
    match serde_json::from_str::<PlanSpec>(plan) {
        Ok(PlanSpec::Scenario {
            file_name,
            text,
            overrides,
            ..
        }) => PlanView {
            test: file_name,
            overrides: overrides.join(" "),
            text,
        },
        Ok(PlanSpec::Bench { args }) => PlanView {
            test: "bench".to_owned(),
            overrides: args.join(" "),
            text: String::new(),
        },
        Err(_) => PlanView {
            test: "?".to_owned(),
            overrides: String::new(),
            text: String::new(),
        },
    }
}

#[derive(Template)]
#[template(path = "web/run.html")]
struct RunPage {
    chrome: Chrome,
    message: String,
    stop_url: String,
    form_token: String,
    report_url: String,
    result_url: String,
    events_url: String,
    run: RunLine,
    plan: PlanView,
    agents: Vec<String>,
    finished: bool,
    has_result: bool,
    others: Vec<RunLine>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, &format!("/runs/{id}")).await?;
    let run = visible_run(&state, &session, &id).await?;
    let agents: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&run.agents)
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect();
    let owner = (!session.user.is_admin()).then_some(session.user.name.as_str());
    // Runs to compare with: the same user's latest, this one left out.
    let others = state
        .store
        .run_page(owner, PAGE_SIZE, 0)
        .await?
        .into_iter()
        .filter(|r| r.id != run.id && r.exit_code.is_some())
        .map(RunLine::of)
        .collect();
    let line = RunLine::of(RunSummary {
        id: run.id.clone(),
        owner: run.owner.clone(),
        state: run.state.clone(),
        created_at: run.created_at,
        exit_code: run.exit_code,
        message: run.message.clone(),
    });
    let chrome = Chrome::new(
        &session.user,
        &session.csrf,
        "runs",
        format!("Run {}", run.id),
    );
    Ok(render(&RunPage {
        message: run.message.clone().unwrap_or_default(),
        stop_url: format!("/runs/{}/stop", run.id),
        form_token: session.csrf.clone(),
        report_url: format!("/runs/{}/report", run.id),
        result_url: format!("/runs/{}/result.json", run.id),
        events_url: format!("/runs/{}/events", run.id),
        chrome,
        finished: !line.live,
        has_result: run.result.is_some(),
        plan: plan_view(&run.plan),
        run: line,
        agents,
        others,
    }))
}

/// An SSE event named `name` carrying `data` as JSON.
fn event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned()))
}

/// The hub's events for one run as SSE: `point` for each merged second
/// (replayed from the start, then live), `state` when it changes, `ended`
/// once, then the stream closes.
pub(super) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let session = session(&state, &headers, &format!("/runs/{id}")).await?;
    visible_run(&state, &session, &id).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    state.hub.send(HubMsg::Client {
        owner: session.user.name.clone(),
        admin: session.user.is_admin(),
        req: FromClient::Attach { run: id },
        tx,
    });
    let stream = futures_util::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        let message = rx.recv().await?;
        let (event, last) = match message {
            ToClient::Second { point, .. } => (event("point", &point), false),
            // The start instant lets a page (and bench/web.sh) tell how far
            // behind the agents each point arrives.
            ToClient::State {
                state,
                message,
                start_unix_ms,
                ..
            } => (
                event(
                    "state",
                    &serde_json::json!({
                        "state": state,
                        "message": message,
                        "start_unix_ms": start_unix_ms,
                    }),
                ),
                false,
            ),
            ToClient::Ended {
                state,
                exit_code,
                message,
                ..
            } => (
                event(
                    "ended",
                    &serde_json::json!({ "state": state, "exit_code": exit_code, "message": message }),
                ),
                true,
            ),
            ToClient::Error { message } => (event("failure", &message), true),
            _ => (Event::default().comment("ignored"), false),
        };
        Some((Ok(event), (rx, last)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10))))
}

pub(super) async fn stop(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    visible_run(&state, &session, &id).await?;
    match super::ask(&state, &session.user, FromClient::Stop { run: id.clone() }).await {
        Some(ToClient::Done { .. }) => Ok(Redirect::to(&format!("/runs/{id}")).into_response()),
        Some(ToClient::Error { message }) => Err(PageError::BadRequest(message)),
        _ => Err(PageError::Internal("the hub did not answer".to_owned())),
    }
}
