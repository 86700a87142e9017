//! The queue on the web: the jobs list (the queue with each job's place,
//! then the jobs that ran) and a job's page, with cancel, re-run and
//! delete. The new-run form queues a job and leads here; a job that has a
//! run *is* that run, so its page sends the browser on to the run's live
//! page as soon as the queue starts it.
//!
//! Like every page, these ask the hub (which owns the queue) as the
//! signed-in user: a user sees and controls their own jobs, an admin every
//! job.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{form_session, session, Session};
use super::page::{render, when, Chrome, PageError};
use crate::state::AppState;
use crate::wire::{FromClient, JobAction, JobInfo, ToClient};

/// A job's row, as the pages show it.
pub(crate) struct JobLine {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) source: String,
    pub(crate) test: String,
    pub(crate) state: String,
    /// "1" for the job that starts next; empty once it is not queued.
    pub(crate) position: String,
    /// How many agents, and which labels.
    pub(crate) wants: String,
    pub(crate) run: String,
    pub(crate) created: String,
    pub(crate) message: String,
    /// Queued or running: it can be cancelled. Neither: it can be deleted.
    pub(crate) active: bool,
}

impl From<JobInfo> for JobLine {
    fn from(job: JobInfo) -> JobLine {
        let agents = job.agents.unwrap_or(1);
        let mut wants = format!("{agents} agent{}", if agents == 1 { "" } else { "s" });
        if !job.labels.is_empty() {
            let labels: Vec<String> = job.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            wants = format!("{wants} with {}", labels.join(", "));
        }
        JobLine {
            active: job.state == "queued" || job.state == "running",
            position: job.position.map(|p| p.to_string()).unwrap_or_default(),
            run: job.run.unwrap_or_default(),
            created: when(job.created_at),
            message: job.message.unwrap_or_default(),
            id: job.id,
            owner: job.owner,
            source: job.source,
            test: job.test,
            state: job.state,
            wants,
        }
    }
}

#[derive(Template)]
#[template(path = "web/jobs_table.html")]
struct JobsTable {
    jobs: Vec<JobLine>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "web/jobs.html")]
struct JobsPage {
    chrome: Chrome,
    table: JobsTable,
}

#[derive(Template)]
#[template(path = "web/job.html")]
struct JobPage {
    chrome: Chrome,
    job: JobLine,
}

/// The hub's refusal, as a page: a job that is not there, or not theirs.
fn refused(message: String) -> PageError {
    if message.starts_with("no job") {
        PageError::NotFound(message)
    } else if message.contains("belongs to") {
        PageError::Forbidden(message)
    } else {
        PageError::BadRequest(message)
    }
}

async fn jobs_table(state: &AppState, session: &Session) -> Result<JobsTable, PageError> {
    match super::ask(state, &session.user, FromClient::Jobs).await {
        Some(ToClient::Jobs { jobs }) => Ok(JobsTable {
            jobs: jobs.into_iter().map(JobLine::from).collect(),
            csrf: session.csrf.clone(),
        }),
        Some(ToClient::Error { message }) => Err(refused(message)),
        _ => Err(PageError::Internal("the hub did not answer".to_owned())),
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/jobs").await?;
    let table = jobs_table(&state, &session).await?;
    let chrome = Chrome::new(&session.user, &session.csrf, "jobs", "Jobs".to_owned());
    Ok(render(&JobsPage { chrome, table }))
}

pub(super) async fn table(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/jobs").await?;
    Ok(render(&jobs_table(&state, &session).await?))
}

async fn job(
    state: &AppState,
    session: &Session,
    id: String,
    action: Option<JobAction>,
) -> Result<JobInfo, PageError> {
    match super::ask(state, &session.user, FromClient::Job { id, action }).await {
        Some(ToClient::Job { job }) => Ok(job),
        Some(ToClient::Error { message }) => Err(refused(message)),
        _ => Err(PageError::Internal("the hub did not answer".to_owned())),
    }
}

/// A job with a run is its run: on to the run's page. A job without one
/// (queued, or ended before it ran) is shown, and reloads itself while it
/// waits.
pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, &format!("/jobs/{id}")).await?;
    let info = job(&state, &session, id, None).await?;
    if let Some(run) = info.run.as_deref().filter(|r| !r.is_empty()) {
        return Ok(Redirect::to(&format!("/runs/{run}")).into_response());
    }
    let title = format!("Job {}", info.id);
    let chrome = Chrome::new(&session.user, &session.csrf, "jobs", title);
    Ok(render(&JobPage {
        chrome,
        job: info.into(),
    }))
}

/// Cancel, re-run (on to the new job) or delete a job.
pub(super) async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    let action = match action.as_str() {
        "cancel" => JobAction::Cancel,
        "rerun" => JobAction::Rerun,
        "delete" => JobAction::Delete,
        other => {
            return Err(PageError::NotFound(format!(
                "{other:?} is not a job action (cancel, rerun, delete)"
            )))
        }
    };
    let after = job(&state, &session, id, Some(action)).await?;
    Ok(match action {
        JobAction::Rerun => Redirect::to(&format!("/jobs/{}", after.id)),
        JobAction::Cancel | JobAction::Delete => Redirect::to("/jobs"),
    }
    .into_response())
}
