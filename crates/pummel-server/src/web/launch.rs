//! The new-run page: a scenario (typed, pasted or read from a file by the
//! browser), the agents to use and the load to override. The run is queued
//! as a job exactly as `pummel run --server --queue` queues it, and the hub
//! checks the plan the same way, so a bad scenario is refused with the
//! same message (file:line:column) as on the command line. The form leads
//! to the job's page, which opens the run's live page once the queue
//! starts it.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{form_session, session, Fields};
use super::page::{self, render, Chrome, PageError};
use crate::repos::{Caller, Overrides};
use crate::state::AppState;
use crate::wire::{FromClient, OnAgentLoss, PlanSpec, Submit, ToClient};

/// The largest scenario the form takes (the wire's own limit is larger;
/// a scenario past this is a data file pasted by mistake).
const MAX_SCENARIO_BYTES: usize = 1 << 20;

#[derive(Template, Default)]
#[template(path = "web/new_run.html")]
struct NewRunPage {
    chrome: Chrome,
    error: String,
    /// The repository tests the user may start, as `repository/test`.
    repo_tests: Vec<String>,
    /// The one chosen, if any.
    repo_test: String,
    file_name: String,
    scenario: String,
    agents: String,
    labels: String,
    vus: String,
    duration: String,
    rate: String,
    iterations: String,
    target: String,
}

pub(super) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = session(&state, &headers, "/runs/new").await?;
    let chrome = Chrome::new(&session.user, &session.csrf, "new", "New run".to_owned());
    Ok(render(&NewRunPage {
        chrome,
        file_name: "scenario.yaml".to_owned(),
        repo_tests: repo_tests(&state, &session.user).await,
        ..NewRunPage::default()
    }))
}

fn caller(user: &crate::users::User) -> Caller {
    Caller {
        name: user.name.clone(),
        admin: user.is_admin(),
    }
}

/// Every test of every repository `user` may see, as `repository/test`.
async fn repo_tests(state: &AppState, user: &crate::users::User) -> Vec<String> {
    let repos = state.repos.list(&caller(user)).await.unwrap_or_default();
    repos
        .iter()
        .flat_map(|r| {
            r.tests
                .iter()
                .map(move |t| format!("{}/{}", r.name, t.name))
        })
        .collect()
}

/// The command-line flags the agents apply over the scenario's own load,
/// each checked for its shape here so a typo is named on the form.
fn overrides(fields: &Fields) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (field, flag) in [
        ("vus", "--vus"),
        ("rate", "--rate"),
        ("iterations", "--iterations"),
    ] {
        let value = fields.get(field).trim();
        if value.is_empty() {
            continue;
        }
        if value.parse::<u64>().map_or(true, |n| n == 0) {
            return Err(format!("{field}: {value:?} is not a whole number above 0"));
        }
        out.extend([flag.to_owned(), value.to_owned()]);
    }
    let duration = fields.get("duration").trim();
    if !duration.is_empty() {
        out.extend(["--duration".to_owned(), duration.to_owned()]);
    }
    let target = fields.get("target").trim();
    if !target.is_empty() {
        out.extend(["--target".to_owned(), target.to_owned()]);
    }
    Ok(out)
}

/// `key=value` pairs, separated by commas or spaces.
fn labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split([',', ' '])
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.trim().split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("labels: {pair:?} is not key=value")),
        })
        .collect()
}

fn agents(text: &str) -> Result<Option<u32>, String> {
    match text.trim() {
        "" => Ok(None),
        n => match n.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!("agents: {n:?} is not a whole number above 0")),
        },
    }
}

/// A file's name without its directory and its `.yaml`/`.yml`.
fn test_of(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    base.strip_suffix(".yaml")
        .or_else(|| base.strip_suffix(".yml"))
        .unwrap_or(base)
        .to_owned()
}

pub(super) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, fields) = form_session(&state, &headers, &body).await?;
    let mut page = NewRunPage {
        chrome: Chrome::new(&session.user, &session.csrf, "new", "New run".to_owned()),
        error: String::new(),
        repo_tests: repo_tests(&state, &session.user).await,
        repo_test: fields.get("repo_test").trim().to_owned(),
        file_name: fields.get("file_name").trim().to_owned(),
        scenario: fields.get("scenario").to_owned(),
        agents: fields.get("agents").to_owned(),
        labels: fields.get("labels").to_owned(),
        vus: fields.get("vus").to_owned(),
        duration: fields.get("duration").to_owned(),
        rate: fields.get("rate").to_owned(),
        iterations: fields.get("iterations").to_owned(),
        target: fields.get("target").to_owned(),
    };
    if !page.repo_test.is_empty() {
        return start_repo_test(&state, &session.user, &fields, page).await;
    }
    let checked = (|| {
        if page.scenario.trim().is_empty() {
            return Err("the scenario is empty: paste it or choose its file".to_owned());
        }
        if page.scenario.len() > MAX_SCENARIO_BYTES {
            return Err(format!(
                "the scenario is {} bytes, more than the {MAX_SCENARIO_BYTES} this form takes",
                page.scenario.len()
            ));
        }
        let file_name = if page.file_name.is_empty() {
            "scenario.yaml".to_owned()
        } else {
            page.file_name.clone()
        };
        Ok(Submit {
            // The job's test is its file's name: the runs of one file are
            // one test's history (retention, the jobs list).
            test: test_of(&file_name),
            plan: PlanSpec::Scenario {
                file_name,
                // Browsers send a textarea's lines with CRLF.
                text: page.scenario.replace("\r\n", "\n"),
                files: BTreeMap::new(),
                env: BTreeMap::new(),
                overrides: overrides(&fields)?,
            },
            agents: agents(&page.agents)?,
            labels: labels(&page.labels)?,
            on_agent_loss: OnAgentLoss::Continue,
            follow: false,
            queue: true,
            source: "web".to_owned(),
            schedule: None,
            network: None,
        })
    })();
    let outcome = match checked {
        Ok(submit) => super::ask(&state, &session.user, FromClient::Submit(submit)).await,
        Err(message) => Some(ToClient::Error { message }),
    };
    match outcome {
        Some(ToClient::Queued { job, .. }) => {
            Ok(Redirect::to(&format!("/jobs/{job}")).into_response())
        }
        Some(ToClient::Error { message }) => {
            page.error = message;
            let body = page
                .render()
                .map_err(|e| PageError::Internal(e.to_string()))?;
            Ok(page::html(StatusCode::BAD_REQUEST, body))
        }
        _ => Err(PageError::Internal("the hub did not answer".to_owned())),
    }
}

/// The form with a repository test chosen: queued as the repository's
/// page would, with the form's agents, labels and load over the test's own.
async fn start_repo_test(
    state: &AppState,
    user: &crate::users::User,
    fields: &Fields,
    mut page: NewRunPage,
) -> Result<Response, PageError> {
    let chosen = (|| {
        let (repository, test) = page
            .repo_test
            .split_once('/')
            .ok_or_else(|| format!("{:?} is not repository/test", page.repo_test))?;
        let overrides = Overrides {
            flags: overrides(fields)?,
            agents: agents(&page.agents)?,
            labels: labels(&page.labels)?,
        };
        Ok::<_, String>((repository.to_owned(), test.to_owned(), overrides))
    })();
    let outcome = match chosen {
        Ok((repository, test, overrides)) => state
            .repos
            .start_with(&caller(user), &repository, &test, "manual", &overrides)
            .await
            .map_err(|e| format!("test {} was not started: {e}", page.repo_test)),
        Err(message) => Err(message),
    };
    match outcome {
        Ok(job) => Ok(Redirect::to(&format!("/jobs/{job}")).into_response()),
        Err(message) => {
            page.error = message;
            let body = page
                .render()
                .map_err(|e| PageError::Internal(e.to_string()))?;
            Ok(page::html(StatusCode::BAD_REQUEST, body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_overrides_and_labels_are_checked() {
        let fields = Fields::parse(b"vus=5&duration=3s&rate=&target=http%3A%2F%2F127.0.0.1%3A1");
        assert_eq!(
            overrides(&fields).unwrap(),
            [
                "--vus",
                "5",
                "--duration",
                "3s",
                "--target",
                "http://127.0.0.1:1"
            ]
        );
        let bad = Fields::parse(b"vus=five");
        assert!(overrides(&bad).unwrap_err().contains("vus"));
        assert_eq!(
            labels("zone=eu, size=big").unwrap(),
            BTreeMap::from([
                ("size".to_owned(), "big".to_owned()),
                ("zone".to_owned(), "eu".to_owned())
            ])
        );
        assert!(labels("zone").is_err());
        assert_eq!(agents("").unwrap(), None);
        assert_eq!(agents("2").unwrap(), Some(2));
        assert!(agents("0").is_err());
        assert_eq!(test_of("browse.yaml"), "browse");
        assert_eq!(test_of("tests/checkout.yml"), "checkout");
        assert_eq!(test_of("notes"), "notes");
    }
}
