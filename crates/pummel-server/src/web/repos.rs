//! The repositories pages: the repositories the user may see and a form to
//! register one; a repository's tests as its last pull discovered them,
//! the problems it found (`file:line:col: message`), a button to start each
//! test, pull now, forget it.
//!
//! Everything goes through the same [`crate::repos::Repos`] service as the
//! `/v1/repos` API, with the signed-in user as the caller, so the page and
//! `pummel repos` obey the same rules (a local path is an admin's; another
//! user's repository is refused).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{form_session, session, Fields, Session};
use super::page::{self, when, Chrome, PageError};
use crate::repos::{Caller, NewRepo, RepoError, RepoInfo};
use crate::state::AppState;

fn caller(session: &Session) -> Caller {
    Caller {
        name: session.user.name.clone(),
        admin: session.user.is_admin(),
    }
}

impl From<RepoError> for PageError {
    fn from(e: RepoError) -> PageError {
        match e {
            RepoError::Forbidden(m) => PageError::Forbidden(m),
            RepoError::NotFound(m) => PageError::NotFound(m),
            RepoError::BadRequest(m) | RepoError::Conflict(m) => PageError::BadRequest(m),
            RepoError::Failed(m) => PageError::Internal(m),
        }
    }
}

/// A row of the repositories list.
struct RepoLine {
    name: String,
    owner: String,
    url: String,
    branch: String,
    commit: String,
    pulled: String,
    tests: usize,
    problems: usize,
    pull_error: String,
}

/// A commit id as people read it.
fn short(commit: Option<&str>) -> String {
    commit
        .map(|c| c.chars().take(12).collect())
        .unwrap_or_default()
}

impl RepoLine {
    fn of(info: &RepoInfo) -> RepoLine {
        RepoLine {
            name: info.name.clone(),
            owner: info.owner.clone(),
            url: info.url.clone(),
            branch: info.branch.clone(),
            commit: short(info.commit.as_deref()),
            pulled: info.pulled_at.map(when).unwrap_or_default(),
            tests: info.tests.len(),
            problems: info.problems.len(),
            pull_error: info.pull_error.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template, Default)]
#[template(path = "web/repos.html")]
struct ReposPage {
    chrome: Chrome,
    repos: Vec<RepoLine>,
    error: String,
    name: String,
    url: String,
    branch: String,
}

async fn repos_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    form: ReposPage,
) -> Result<Response, PageError> {
    let repos = state.repos.list(&caller(session)).await?;
    let page = ReposPage {
        chrome: Chrome::new(
            &session.user,
            &session.csrf,
            "repos",
            "Repositories".to_owned(),
        ),
        repos: repos.iter().map(RepoLine::of).collect(),
        ..form
    };
    let body = page
        .render()
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(page::html(status, body))
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/repos").await?;
    let form = ReposPage {
        branch: "main".to_owned(),
        ..ReposPage::default()
    };
    repos_page(&state, &session, StatusCode::OK, form).await
}

/// A test as its row shows it.
struct TestLine {
    name: String,
    scenario: String,
    load: String,
    agents: String,
    thresholds: String,
    schedule: String,
}

/// A run one of its tests started.
struct RunLine {
    /// Empty while its job waits.
    run: String,
    test: String,
    commit: String,
    trigger: String,
    job: String,
    state: String,
}

#[derive(Template)]
#[template(path = "web/repo.html")]
struct RepoPage {
    chrome: Chrome,
    repo: RepoLine,
    credential: String,
    webhook: String,
    tests: Vec<TestLine>,
    problems: Vec<String>,
    runs: Vec<RunLine>,
    /// The webhook secret, shown once: on the page that registered it.
    fresh_secret: String,
    error: String,
}

/// The repository page; `status` and `error` for a start that was refused.
async fn repo_page(
    session: &Session,
    info: RepoInfo,
    fresh_secret: String,
    (status, error): (StatusCode, String),
) -> Result<Response, PageError> {
    let tests = info
        .tests
        .iter()
        .map(|t| TestLine {
            name: t.name.clone(),
            scenario: t.scenario.clone(),
            load: t.overrides.join(" "),
            agents: {
                let labels = t
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let count = t.agents.map_or("any idle".to_owned(), |n| n.to_string());
                if labels.is_empty() {
                    count
                } else {
                    format!("{count} with {labels}")
                }
            },
            thresholds: t.thresholds.join(", "),
            schedule: t.schedule.clone().unwrap_or_default(),
        })
        .collect();
    let runs = info
        .runs
        .iter()
        .map(|r| RunLine {
            run: r.run.clone(),
            test: r.test.clone(),
            commit: short(r.commit.as_deref()),
            trigger: r.trigger.clone(),
            job: r.job.clone(),
            state: r.state.clone(),
        })
        .collect();
    let page = RepoPage {
        chrome: Chrome::new(
            &session.user,
            &session.csrf,
            "repos",
            format!("Repository {}", info.name),
        ),
        repo: RepoLine::of(&info),
        credential: info.credential.clone().unwrap_or_default(),
        webhook: format!("/v1/hooks/repos/{}", info.name),
        tests,
        problems: info.problems.clone(),
        runs,
        fresh_secret,
        error,
    };
    let body = page
        .render()
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(page::html(status, body))
}

pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, &format!("/repos/{name}")).await?;
    let info = state.repos.get(&caller(&session), &name).await?;
    repo_page(
        &session,
        info,
        String::new(),
        (StatusCode::OK, String::new()),
    )
    .await
}

/// The optional credential fields; at most one.
fn credential(fields: &Fields) -> (Option<String>, Option<String>) {
    let token = fields.get("token").trim();
    let key = fields.get("deploy_key").replace("\r\n", "\n");
    let key = key.trim();
    (
        (!token.is_empty()).then(|| token.to_owned()),
        (!key.is_empty()).then(|| format!("{key}\n")),
    )
}

/// Registers a repository from the form; its page shows the webhook secret
/// this once. A refusal comes back on the form, with what was typed.
pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, fields) = form_session(&state, &headers, &body).await?;
    let (token, deploy_key) = credential(&fields);
    let branch = fields.get("branch").trim();
    let new = NewRepo {
        name: fields.get("name").trim().to_owned(),
        url: fields.get("url").trim().to_owned(),
        branch: (!branch.is_empty()).then(|| branch.to_owned()),
        token,
        deploy_key,
        // The page registers with the host key learnt on the first fetch
        // (trust on first use); `pummel repos add --host-key` gives one.
        host_key: None,
    };
    let form = ReposPage {
        name: new.name.clone(),
        url: new.url.clone(),
        branch: branch.to_owned(),
        ..ReposPage::default()
    };
    match state.repos.add(&caller(&session), new).await {
        Ok((info, secret)) => {
            repo_page(&session, info, secret, (StatusCode::OK, String::new())).await
        }
        Err(e) => {
            let status = match &e {
                RepoError::Forbidden(_) => StatusCode::FORBIDDEN,
                RepoError::Conflict(_) => StatusCode::CONFLICT,
                RepoError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
                RepoError::BadRequest(_) | RepoError::NotFound(_) => StatusCode::BAD_REQUEST,
            };
            let form = ReposPage {
                error: e.to_string(),
                ..form
            };
            repos_page(&state, &session, status, form).await
        }
    }
}

pub(super) async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    state.repos.pull(&caller(&session), &name).await?;
    Ok(Redirect::to(&format!("/repos/{name}")).into_response())
}

pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    state.repos.delete(&caller(&session), &name).await?;
    Ok(Redirect::to("/repos").into_response())
}

/// Starts a test, then follows it on its run's page. A refusal (the
/// gate, no free agent, a scenario that no longer loads) comes back on the
/// repository's page.
pub(super) async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((name, test)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    let who = caller(&session);
    match state.repos.start(&who, &name, &test, "manual").await {
        // The job's page leads on to the run once the queue starts it.
        Ok(job) => Ok(Redirect::to(&format!("/jobs/{job}")).into_response()),
        Err(e @ (RepoError::Forbidden(_) | RepoError::NotFound(_))) => Err(e.into()),
        Err(e) => {
            let info = state.repos.get(&who, &name).await?;
            let message = format!("test {test} was not started: {e}");
            repo_page(
                &session,
                info,
                String::new(),
                (StatusCode::BAD_REQUEST, message),
            )
            .await
        }
    }
}
