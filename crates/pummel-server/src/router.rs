//! The one port's routes: the sockets and the policy's API, the web
//! pages, the jobs, repositories and notifications APIs, on one state.

use axum::Router;

use crate::state::AppState;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::web::routes())
        .merge(crate::repos_api::routes())
        .merge(crate::notify_api::routes())
        .merge(crate::jobs_api::routes())
        .with_state(state)
}
