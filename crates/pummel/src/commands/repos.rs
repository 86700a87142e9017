//! `pummel repos`: test repositories on a server, through its JSON API.

use serde_json::{json, Value};

use crate::cli::repos::{ReposAction, ReposArgs};
use crate::cli::RemoteArgs;
use crate::exit::{self, Failure};
use crate::output::destinations;
use crate::remote::http;

pub(super) fn run(args: &ReposArgs) -> Result<i32, Failure> {
    match &args.action {
        ReposAction::Add(a) => {
            let token = match &a.token_env {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    Failure::usage(format!(
                        "--token-env {var}: the variable is not set (or not UTF-8)"
                    ))
                })?),
                None => None,
            };
            let deploy_key = match &a.deploy_key {
                Some(file) => Some(std::fs::read_to_string(file).map_err(|e| {
                    Failure::usage(format!("--deploy-key {}: {e}", file.display()))
                })?),
                None => None,
            };
            let host_key =
                match &a.host_key {
                    Some(file) => Some(std::fs::read_to_string(file).map_err(|e| {
                        Failure::usage(format!("--host-key {}: {e}", file.display()))
                    })?),
                    None => None,
                };
            let body = json!({
                "name": a.name, "url": a.url, "branch": a.branch,
                "token": token, "deploy_key": deploy_key, "host_key": host_key,
            });
            let answer = call(&a.remote, "POST", "/v1/repos", Some(&body))?;
            if a.json {
                print_json(&answer)?;
            } else {
                let mut out = describe(&answer["repository"]);
                out.push_str(&format!(
                    "\nPush webhook: {}{}\nWebhook secret (shown once; GitHub/Gitea: the HMAC secret, GitLab: the secret token):\n{}\n",
                    a.remote.server.trim_end_matches('/'),
                    answer["webhook"]["path"].as_str().unwrap_or_default(),
                    answer["webhook"]["secret"].as_str().unwrap_or_default()
                ));
                destinations::print(&out)?;
            }
            Ok(exit::SUCCESS)
        }
        ReposAction::List(a) => {
            let answer = call(&a.remote, "GET", "/v1/repos", None)?;
            if a.json {
                print_json(&answer)?;
                return Ok(exit::SUCCESS);
            }
            let mut out = format!(
                "{:<20} {:<10} {:<12} {:<12} {:>5} {:>8}  {}\n",
                "REPOSITORY", "OWNER", "BRANCH", "COMMIT", "TESTS", "PROBLEMS", "URL"
            );
            for r in answer.as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "{:<20} {:<10} {:<12} {:<12} {:>5} {:>8}  {}\n",
                    text(&r["name"]),
                    text(&r["owner"]),
                    text(&r["branch"]),
                    short(&r["commit"]),
                    r["tests"].as_array().map_or(0, Vec::len),
                    r["problems"].as_array().map_or(0, Vec::len),
                    text(&r["url"]),
                ));
            }
            destinations::print(&out)?;
            Ok(exit::SUCCESS)
        }
        ReposAction::Pull(a) | ReposAction::Tests(a) => {
            let pulling = matches!(args.action, ReposAction::Pull(_));
            let path = format!("/v1/repos/{}{}", a.name, if pulling { "/pull" } else { "" });
            let answer = call(&a.remote, if pulling { "POST" } else { "GET" }, &path, None)?;
            if a.json {
                print_json(&answer)?;
            } else {
                destinations::print(&describe(&answer))?;
            }
            // Problems in pummel.yml or its scenarios are a configuration error.
            let failed = answer["pull_error"].is_string()
                || answer["problems"].as_array().is_some_and(|p| !p.is_empty());
            Ok(if failed { exit::USAGE } else { exit::SUCCESS })
        }
        ReposAction::Run(a) => {
            let path = format!("/v1/repos/{}/tests/{}/run", a.name, a.test);
            let answer = call(&a.remote, "POST", &path, None)?;
            // The test is queued: its job's id (`pummel jobs show` says
            // its place, then its run).
            destinations::print(&format!("{}\n", text(&answer["job"])))?;
            Ok(exit::SUCCESS)
        }
        ReposAction::Remove(a) => {
            call(&a.remote, "DELETE", &format!("/v1/repos/{}", a.name), None)?;
            crate::output::stderr::say(format_args!("repository {} removed", a.name));
            Ok(exit::SUCCESS)
        }
    }
}

/// One request; a refusal becomes a failure naming the server's reason.
fn call(
    remote: &RemoteArgs,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start a runtime: {e}")))?;
    let (status, bytes) = runtime
        .block_on(http::request(
            &remote.server,
            remote.server_ca.as_deref(),
            &remote.token,
            method,
            path,
            body,
        ))
        .map_err(|e| Failure::runtime(e.to_string()))?;
    let value: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).trim().to_owned()))
    };
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let reason = value["error"]
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    let message = format!("the server refused: {reason} (HTTP {status})");
    Err(match status {
        400 | 403 | 404 | 409 => Failure::usage(message),
        _ => Failure::runtime(message),
    })
}

fn print_json(value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::runtime(format!("cannot print JSON: {e}")))?;
    destinations::print(&format!("{text}\n"))
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| "-".to_owned(), str::to_owned)
}

fn short(v: &Value) -> String {
    v.as_str()
        .map_or_else(|| "-".to_owned(), |c| c.chars().take(12).collect())
}

/// A repository, its tests and problems, for people.
fn describe(r: &Value) -> String {
    let mut out = format!(
        "Repository {} ({} @ {}), commit {}\n",
        text(&r["name"]),
        text(&r["url"]),
        text(&r["branch"]),
        short(&r["commit"])
    );
    if let Some(e) = r["pull_error"].as_str() {
        out.push_str(&format!("Last pull failed: {e}\n"));
    }
    if let Some(key) = r["host_key"].as_str() {
        out.push_str(&format!(
            "SSH host key ({}): {key}\n",
            text(&r["host_key_origin"])
        ));
    }
    let tests = r["tests"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("{} test(s):\n", tests.len()));
    for t in &tests {
        let schedule = t["schedule"]
            .as_str()
            .map(|s| format!("  schedule: {s}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<20} {}{schedule}\n",
            text(&t["name"]),
            text(&t["scenario"])
        ));
    }
    let problems = r["problems"].as_array().cloned().unwrap_or_default();
    if !problems.is_empty() {
        out.push_str(&format!("{} problem(s):\n", problems.len()));
        for p in &problems {
            out.push_str(&format!("  {}\n", text(p)));
        }
    }
    out
}
