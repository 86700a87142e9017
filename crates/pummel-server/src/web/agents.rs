//! The agents page: every agent the hub knows (connected or remembered)
//! with its labels, version, cores, state and run, and its last heartbeat;
//! admins enable, disable and drain them.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{form_session, session, Session};
use super::page::{render, when, Chrome, PageError};
use crate::state::AppState;
use crate::wire::{AgentAction, AgentInfo, FromClient, ToClient};

/// An agent's row.
pub(crate) struct AgentLine {
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) labels: String,
    pub(crate) version: String,
    pub(crate) cores: u32,
    pub(crate) run: String,
    /// The run is the viewer's (or they are an admin): link to it.
    pub(crate) run_visible: bool,
    pub(crate) last_seen: String,
}

#[derive(Template)]
#[template(path = "web/agents_table.html")]
struct AgentsTable {
    agents: Vec<AgentLine>,
    admin: bool,
    csrf: String,
}

#[derive(Template)]
#[template(path = "web/agents.html")]
struct AgentsPage {
    chrome: Chrome,
    table: AgentsTable,
}

async fn agents_table(state: &AppState, session: &Session) -> Result<AgentsTable, PageError> {
    let Some(ToClient::Agents { agents }) =
        super::ask(state, &session.user, FromClient::Agents).await
    else {
        return Err(PageError::Internal("the hub did not answer".to_owned()));
    };
    // Last heartbeats are the store's (written as agents are heard).
    let seen: std::collections::HashMap<String, i64> = state
        .store
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.name, a.last_seen))
        .collect();
    let mut lines = Vec::with_capacity(agents.len());
    for AgentInfo {
        name,
        state: agent_state,
        labels,
        version,
        cores,
        run,
        ..
    } in agents
    {
        let run_visible = match &run {
            Some(id) if session.user.is_admin() => !id.is_empty(),
            Some(id) => state
                .store
                .run(id)
                .await?
                .is_some_and(|r| r.owner == session.user.name),
            None => false,
        };
        lines.push(AgentLine {
            last_seen: seen.get(&name).map(|t| when(*t)).unwrap_or_default(),
            labels: labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            run: run.unwrap_or_default(),
            run_visible,
            name,
            state: agent_state,
            version,
            cores,
        });
    }
    Ok(AgentsTable {
        agents: lines,
        admin: session.user.is_admin(),
        csrf: session.csrf.clone(),
    })
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/agents").await?;
    let table = agents_table(&state, &session).await?;
    let chrome = Chrome::new(&session.user, &session.csrf, "agents", "Agents".to_owned());
    Ok(render(&AgentsPage { chrome, table }))
}

pub(super) async fn table(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/agents").await?;
    Ok(render(&agents_table(&state, &session).await?))
}

pub(super) async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, _) = form_session(&state, &headers, &body).await?;
    if !session.user.is_admin() {
        return Err(PageError::Forbidden(
            "only an admin may enable, disable or drain agents".to_owned(),
        ));
    }
    let action = match action.as_str() {
        "enable" => AgentAction::Enable,
        "disable" => AgentAction::Disable,
        "drain" => AgentAction::Drain,
        other => {
            return Err(PageError::NotFound(format!(
                "{other:?} is not an agent action (enable, disable, drain)"
            )))
        }
    };
    match super::ask(&state, &session.user, FromClient::Agent { name, action }).await {
        Some(ToClient::Done { .. }) => Ok(Redirect::to("/agents").into_response()),
        Some(ToClient::Error { message }) => Err(PageError::BadRequest(message)),
        _ => Err(PageError::Internal("the hub did not answer".to_owned())),
    }
}
