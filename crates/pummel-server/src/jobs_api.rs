//! The jobs' HTTP JSON API, behind the same client tokens as the rest: a
//! user sees and controls their own jobs, an admin every job.
//!
//! - `GET /v1/jobs`: the newest jobs, the queued ones with their place;
//! - `POST /v1/jobs`: queue a run request (`Submit` JSON); 201 and the job;
//! - `GET /v1/jobs/{id}`: one job;
//! - `POST /v1/jobs/{id}/cancel`, `POST /v1/jobs/{id}/rerun`: the job after
//!   (a rerun: the new job);
//! - `DELETE /v1/jobs/{id}`: forget a job that is not running, with its run;
//! - `GET /v1/schedules`: the schedules, each with its next firing;
//! - `POST /v1/schedules`: store a run request (`Submit` JSON) with its
//!   `schedule` (cron, UTC); 201 and the schedule; each firing queues a job
//!   (source `schedule`);
//! - `DELETE /v1/schedules/{id}`: remove one; the schedule as it was.
//!
//! Each handler is one message to the hub, which owns the queue, and its
//! one answer.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::mpsc;

use crate::hub::HubMsg;
use crate::state::{authorise, AppState};
use crate::token::Role;
use crate::wire::{FromClient, JobAction, Submit, ToClient};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/jobs", get(list).post(submit))
        .route("/v1/jobs/{id}", get(one).delete(delete))
        .route("/v1/jobs/{id}/cancel", post(cancel))
        .route("/v1/jobs/{id}/rerun", post(rerun))
        .route("/v1/schedules", get(schedules).post(schedule))
        .route("/v1/schedules/{id}", axum::routing::delete(unschedule))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Sends `req` to the hub as the caller and returns its first answer.
async fn ask(
    state: &AppState,
    headers: &HeaderMap,
    mut req: FromClient,
) -> Result<ToClient, Response> {
    let who = authorise(state, headers, Role::may_use_client).await?;
    // A queued job passes the same gate as a run submitted now.
    if let FromClient::Submit(submit) = &mut req {
        if let Err(message) = state.gate().pass(&who, submit).await {
            return Err(error(StatusCode::FORBIDDEN, &message));
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sent = state.hub.send(HubMsg::Client {
        admin: who.role == Role::Admin,
        owner: who.name,
        req,
        tx,
    });
    if !sent {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping",
        ));
    }
    match rx.recv().await {
        Some(ToClient::Error { message }) => {
            let status = if message.starts_with("no job") || message.starts_with("no schedule") {
                StatusCode::NOT_FOUND
            } else if message.contains("belongs to") {
                StatusCode::FORBIDDEN
            } else if message.contains("running: cancel it first")
                || message.contains("has already ended")
            {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Err(error(status, &message))
        }
        Some(answer) => Ok(answer),
        None => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping",
        )),
    }
}

fn job_answer(answer: ToClient, status: StatusCode) -> Response {
    match answer {
        ToClient::Job { job } => (status, Json(job)).into_response(),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer"),
    }
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match ask(&state, &headers, FromClient::Jobs).await {
        Ok(ToClient::Jobs { jobs }) => Json(jobs).into_response(),
        Ok(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer"),
        Err(refusal) => refusal,
    }
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(mut submit): Json<Submit>,
) -> Response {
    if submit.schedule.is_some() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a request with a schedule goes to POST /v1/schedules",
        );
    }
    submit.queue = true;
    submit.follow = false;
    submit.source = "api".to_owned();
    let queued = match ask(&state, &headers, FromClient::Submit(submit)).await {
        Ok(ToClient::Queued { job, .. }) => job,
        Ok(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer"),
        Err(refusal) => return refusal,
    };
    match ask(
        &state,
        &headers,
        FromClient::Job {
            id: queued,
            action: None,
        },
    )
    .await
    {
        Ok(answer) => job_answer(answer, StatusCode::CREATED),
        Err(refusal) => refusal,
    }
}

async fn on_job(
    state: &AppState,
    headers: &HeaderMap,
    id: String,
    action: Option<JobAction>,
    status: StatusCode,
) -> Response {
    match ask(state, headers, FromClient::Job { id, action }).await {
        Ok(answer) => job_answer(answer, status),
        Err(refusal) => refusal,
    }
}

async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    on_job(&state, &headers, id, None, StatusCode::OK).await
}

async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    on_job(
        &state,
        &headers,
        id,
        Some(JobAction::Cancel),
        StatusCode::OK,
    )
    .await
}

async fn rerun(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    on_job(
        &state,
        &headers,
        id,
        Some(JobAction::Rerun),
        StatusCode::CREATED,
    )
    .await
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    on_job(
        &state,
        &headers,
        id,
        Some(JobAction::Delete),
        StatusCode::OK,
    )
    .await
}

fn schedule_answer(answer: ToClient, status: StatusCode) -> Response {
    match answer {
        ToClient::Schedule { schedule } => (status, Json(schedule)).into_response(),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer"),
    }
}

async fn schedules(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match ask(&state, &headers, FromClient::Schedules).await {
        Ok(ToClient::Schedules { schedules }) => Json(schedules).into_response(),
        Ok(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer"),
        Err(refusal) => refusal,
    }
}

async fn schedule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(mut submit): Json<Submit>,
) -> Response {
    if submit
        .schedule
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a schedule needs its cron expression in \"schedule\" (a run to queue once goes to POST /v1/jobs)",
        );
    }
    submit.queue = true;
    submit.follow = false;
    submit.source = "api".to_owned();
    match ask(&state, &headers, FromClient::Submit(submit)).await {
        Ok(answer) => schedule_answer(answer, StatusCode::CREATED),
        Err(refusal) => refusal,
    }
}

async fn unschedule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match ask(&state, &headers, FromClient::Unschedule { id }).await {
        Ok(answer) => schedule_answer(answer, StatusCode::OK),
        Err(refusal) => refusal,
    }
}
