//! A finished run's HTML report, two runs compared, and the trend of one
//! test: the report crate's own renderers, so a page looks exactly as the
//! file `pummel run --html` writes.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pummel_report::compare::CompareOptions;
use pummel_report::ReportOptions;
use pummel_result::result::RunResult;

use super::auth::{session, Session};
use super::page::{render, secure_headers, Chrome, PageError};
use super::runs::{plan_view, visible_run};
use crate::state::AppState;

/// Runs a trend looks back on.
const TREND_RUNS: i64 = 200;

fn parse(id: &str, json: &str) -> Result<RunResult, PageError> {
    pummel_report::result_file::parse_result(json, std::path::Path::new(id))
        .map_err(|e| PageError::Internal(format!("the result of run {id} is unreadable: {e}")))
}

async fn result_of(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<(String, RunResult), PageError> {
    let run = visible_run(state, session, id).await?;
    let json = run.result.ok_or_else(|| {
        PageError::NotFound(format!("run {id} has no result yet (it is {})", run.state))
    })?;
    let result = parse(id, &json)?;
    Ok((json, result))
}

/// A report page: self-contained HTML with its own inline script and
/// styles (the same bytes as the file), so it gets a policy of its own
/// that allows them but nothing from elsewhere.
fn report_page(html: String) -> Response {
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    secure_headers(headers);
    response
}

fn unavailable(e: pummel_report::html::HtmlUnavailable) -> PageError {
    PageError::Internal(e.to_string())
}

pub(super) async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, &format!("/runs/{id}/report")).await?;
    let (_, result) = result_of(&state, &session, &id).await?;
    let html =
        pummel_report::html::report(&result, &ReportOptions::default()).map_err(unavailable)?;
    Ok(report_page(html))
}

pub(super) async fn result_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, &format!("/runs/{id}")).await?;
    let (json, _) = result_of(&state, &session, &id).await?;
    let mut response = json.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"pummel-{id}.json\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    secure_headers(headers);
    Ok(response)
}

pub(super) async fn compare(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/runs").await?;
    let field = |name: &str| {
        query.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            PageError::BadRequest(format!(
                "compare needs ?base=RUN&new=RUN ({name} is missing)"
            ))
        })
    };
    let (base_id, new_id) = (field("base")?, field("new")?);
    let (_, base) = result_of(&state, &session, base_id).await?;
    let (_, new) = result_of(&state, &session, new_id).await?;
    let comparison = pummel_report::compare::compare(&base, &new, &CompareOptions::default())
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    let html = pummel_report::html::comparison(&comparison, &base, &new, base_id, new_id)
        .map_err(unavailable)?;
    Ok(report_page(html))
}

#[derive(Template)]
#[template(path = "web/trends.html")]
struct TrendsPage {
    chrome: Chrome,
    tests: Vec<(String, usize)>,
}

/// `?test=NAME`: that test's trend over its finished runs (a test is a
/// scenario file's name); without it, the tests that have runs.
pub(super) async fn trend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/trend").await?;
    let owner = (!session.user.is_admin()).then_some(session.user.name.as_str());
    let rows = state.store.results_for_trend(owner, TREND_RUNS).await?;
    let mut by_test: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (id, plan, result) in rows {
        by_test
            .entry(plan_view(&plan).test)
            .or_default()
            .push((id, result));
    }
    let Some(test) = query.get("test").filter(|t| !t.is_empty()) else {
        let chrome = Chrome::new(&session.user, &session.csrf, "trend", "Trends".to_owned());
        let tests = by_test
            .iter()
            .map(|(t, runs)| (t.clone(), runs.len()))
            .collect();
        return Ok(render(&TrendsPage { chrome, tests }));
    };
    let runs = by_test
        .remove(test)
        .ok_or_else(|| PageError::NotFound(format!("no finished runs of the test {test:?}")))?;
    let results = runs
        .iter()
        .map(|(id, json)| Ok((id.clone(), parse(id, json)?)))
        .collect::<Result<Vec<_>, PageError>>()?;
    let t = pummel_report::trend::trend(&results, pummel_report::apdex::DEFAULT_T_MS);
    let html = pummel_report::html::trend(&t, &format!("Trend of {test}")).map_err(unavailable)?;
    Ok(report_page(html))
}
