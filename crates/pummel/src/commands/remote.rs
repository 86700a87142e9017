//! The client side of distributed runs: `run`/`bench --server`, `runs`,
//! `attach`, `stop`, `result`, `agents`. Each command is one connection to
//! the server, one request, and the answers (a followed run streams its
//! seconds until it ends).
//!
//! Exit codes: an attached client exits with its run's code (0, 99 when a
//! threshold failed, 1 when the run failed or lost an agent, 130 when it was
//! stopped); Ctrl-C detaches (130) and the run goes on; `--detach`, `stop`,
//! `runs`, `agents`, `result` exit 0 when the server did what was asked; a
//! refused token, an unknown run or agent, a plan that does not load, too
//! few agents exit 2; a server that cannot be reached exits 1.

use std::collections::BTreeMap;
use std::path::Path;

use pummel_core::result::RunResult;
use pummel_report::format;
use pummel_server::wire::{
    AgentAction, FromClient, JobAction, JobInfo, OnAgentLoss, PlanSpec, Submit, ToClient,
    PROTOCOL_VERSION,
};

use crate::cli::{
    AgentsAction, AgentsArgs, JobsAction, JobsArgs, LiveArgs, OnLoss, OutputArgs, RemoteArgs,
    ResultArgs, RunIdArgs, RunsArgs, SubmitArgs,
};
use crate::exit::{self, Failure};
use crate::output::destinations::{self, Destinations};
use crate::output::stderr::say;
use crate::remote::{connect, ConnectError, Socket};

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start a runtime: {e}")))
}

fn failure(e: ConnectError) -> Failure {
    match e {
        ConnectError::Url { .. } | ConnectError::Ca { .. } | ConnectError::Refused { .. } => {
            Failure::usage(e.to_string())
        }
        _ => Failure::runtime(e.to_string()),
    }
}

/// Opens a client connection and sends one request.
async fn request(
    server: &str,
    token: &str,
    ca: Option<&Path>,
    req: &FromClient,
) -> Result<Socket, Failure> {
    let mut socket = connect(server, "/v1/client", token, ca)
        .await
        .map_err(failure)?;
    let hello = FromClient::Hello {
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    socket.send(&hello).await.map_err(failure)?;
    match socket.receive::<ToClient>().await.map_err(failure)? {
        Some(ToClient::Welcome { .. }) => {}
        Some(ToClient::Error { message }) => return Err(Failure::usage(message)),
        _ => return Err(Failure::runtime("the server closed the connection")),
    }
    socket.send(req).await.map_err(failure)?;
    Ok(socket)
}

/// The one answer to a request.
async fn answer(socket: &mut Socket) -> Result<ToClient, Failure> {
    match socket.receive::<ToClient>().await.map_err(failure)? {
        Some(ToClient::Error { message }) => Err(Failure::usage(message)),
        Some(answer) => Ok(answer),
        None => Err(Failure::runtime("the server closed the connection")),
    }
}

pub(super) fn one_shot(remote: &RemoteArgs, req: &FromClient) -> Result<ToClient, Failure> {
    runtime()?.block_on(async {
        let mut socket = request(
            &remote.server,
            &remote.token,
            remote.server_ca.as_deref(),
            req,
        )
        .await?;
        let reply = answer(&mut socket).await;
        socket.close().await;
        reply
    })
}

pub(super) fn runs(args: &RunsArgs) -> Result<i32, Failure> {
    let ToClient::Runs { runs } = one_shot(&args.remote, &FromClient::Runs)? else {
        return Err(Failure::runtime("unexpected answer from the server"));
    };
    if args.json {
        destinations::print(&json_lines(&runs)?)?;
        return Ok(exit::SUCCESS);
    }
    let mut out = format!(
        "{:<22} {:<12} {:<10} {:>4}  {:<24} {}\n",
        "RUN", "STATE", "OWNER", "EXIT", "AGENTS", "MESSAGE"
    );
    for run in runs {
        out.push_str(&format!(
            "{:<22} {:<12} {:<10} {:>4}  {:<24} {}\n",
            run.id,
            run.state,
            run.owner,
            run.exit_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            run.agents.join(","),
            run.message.unwrap_or_default()
        ));
    }
    destinations::print(&out)?;
    Ok(exit::SUCCESS)
}

fn json_lines<T: serde::Serialize>(list: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(list)
        .map(|text| text + "\n")
        .map_err(|e| Failure::runtime(e.to_string()))
}

pub(super) fn agents(args: &AgentsArgs) -> Result<i32, Failure> {
    let req = match (args.action, &args.name) {
        (Some(action), Some(name)) => FromClient::Agent {
            name: name.clone(),
            action: match action {
                AgentsAction::Disable => AgentAction::Disable,
                AgentsAction::Drain => AgentAction::Drain,
                AgentsAction::Enable => AgentAction::Enable,
            },
        },
        (None, Some(name)) => {
            return Err(Failure::usage(format!(
                "what to do with agent {name}? disable, drain or enable"
            )))
        }
        _ => FromClient::Agents,
    };
    match one_shot(&args.remote, &req)? {
        ToClient::Agents { agents } if args.json => destinations::print(&json_lines(&agents)?)?,
        ToClient::Agents { agents } => {
            let mut out = format!(
                "{:<16} {:<9} {:<9} {:>5}  {:<20} {:<22} {}\n",
                "AGENT", "STATE", "VERSION", "CORES", "LABELS", "RUN", "CLOCK"
            );
            for a in agents {
                let labels: Vec<String> =
                    a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!(
                    "{:<16} {:<9} {:<9} {:>5}  {:<20} {:<22} {}\n",
                    a.name,
                    a.state,
                    a.version,
                    a.cores,
                    labels.join(","),
                    a.run.unwrap_or_else(|| "-".to_owned()),
                    a.clock_offset_ms
                        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:+.1}ms")),
                ));
            }
            destinations::print(&out)?;
        }
        ToClient::Done { message } => destinations::print(&format!("{message}\n"))?,
        _ => return Err(Failure::runtime("unexpected answer from the server")),
    }
    Ok(exit::SUCCESS)
}

pub(super) fn stop(args: &RunIdArgs) -> Result<i32, Failure> {
    match one_shot(
        &args.remote,
        &FromClient::Stop {
            run: args.run.clone(),
        },
    )? {
        ToClient::Done { message } => {
            destinations::print(&format!("{message}\n"))?;
            Ok(exit::SUCCESS)
        }
        _ => Err(Failure::runtime("unexpected answer from the server")),
    }
}

/// A run's result from the server.
async fn fetch_result(remote: &Remote<'_>, run: &str) -> Result<RunResult, Failure> {
    let mut socket = request(
        remote.server,
        remote.token,
        remote.ca,
        &FromClient::Result {
            run: run.to_owned(),
        },
    )
    .await?;
    let reply = answer(&mut socket).await;
    socket.close().await;
    let ToClient::Result { result, .. } = reply? else {
        return Err(Failure::runtime("unexpected answer from the server"));
    };
    serde_json::from_value(result)
        .map_err(|e| Failure::runtime(format!("the server's result is malformed: {e}")))
}

pub(super) fn result(args: &ResultArgs) -> Result<i32, Failure> {
    let outputs = Destinations::for_result(&crate::cli::OutputArgs {
        json: false,
        outs: args
            .out
            .clone()
            .map(crate::cli::Out::File)
            .into_iter()
            .collect(),
        reports: args.reports.clone(),
    })?;
    let remote = Remote::of(&args.remote);
    let result = runtime()?.block_on(fetch_result(&remote, &args.run))?;
    outputs.write(&result, Ok(exit::SUCCESS))
}

pub(super) fn attach(args: &RunIdArgs) -> Result<i32, Failure> {
    let remote = Remote::of(&args.remote);
    runtime()?.block_on(follow(
        &remote,
        FromClient::Attach {
            run: args.run.clone(),
        },
        None,
    ))
}

/// Refuses, before anything is sent, the outputs that a `--server` run cannot honour here: they
/// are fed from the merged figures of every step, which only the server holds, so taking them
/// would run without them and say nothing. Each message says what does the job instead.
pub(super) fn refuse_local_live(live: &LiveArgs, output: &OutputArgs) -> Result<(), Failure> {
    let refused = |flag: &str, instead: &str| {
        Err(Failure::usage(format!(
            "{flag} does not apply to a --server run: {instead}"
        )))
    };
    if live.metrics_listen.is_some() {
        return refused(
            "--metrics-listen",
            "the server publishes every run it coordinates, each under its run label (pummel server --metrics-listen ADDR)",
        );
    }
    if output.remote_writes().next().is_some() {
        return refused(
            "--out prometheus-rw=URL",
            "scrape the server's own endpoint (pummel server --metrics-listen ADDR)",
        );
    }
    if live.out_stream.is_some() {
        return refused(
            "--out-stream",
            "the client prints each second as it follows the run, and the result's timeline holds every second",
        );
    }
    if !live.monitor.is_empty() {
        return refused(
            "--monitor",
            "run the monitor in a local run, or scrape the system under test with the same Prometheus that scrapes the server",
        );
    }
    Ok(())
}

/// `run FILE --server` / `bench URL --server`: submit, then follow (or
/// print the run's id with `--detach`).
pub(super) fn submit(
    args: &SubmitArgs,
    plan: PlanSpec,
    outputs: Destinations,
) -> Result<i32, Failure> {
    let (Some(server), Some(token)) = (&args.server, &args.token) else {
        return Err(Failure::usage(
            "--server needs a token: --token T or PUMMEL_TOKEN",
        ));
    };
    let remote = Remote {
        server,
        token,
        ca: args.server_ca.as_deref(),
    };
    let submit = Submit {
        plan,
        agents: args.agents,
        labels: args.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
        on_agent_loss: match args.on_agent_loss {
            OnLoss::Continue => OnAgentLoss::Continue,
            OnLoss::Stop => OnAgentLoss::Stop,
        },
        follow: !args.detach,
        queue: args.queue,
        test: args.test.clone().unwrap_or_default(),
        source: String::new(),
        schedule: args.schedule.clone(),
        network: None,
    };
    let rt = runtime()?;
    if submit.schedule.is_some() {
        let ToClient::Schedule { schedule } = one_shot_at(&remote, &FromClient::Submit(submit))?
        else {
            return Err(Failure::runtime("unexpected answer from the server"));
        };
        say(format_args!(
            "schedule {} ({}) stored; next at {}; its jobs show in `pummel jobs`",
            schedule.id,
            schedule.cron,
            unix_seconds(schedule.next_at)
        ));
        destinations::print(&format!("{}\n", schedule.id))?;
        return Ok(exit::SUCCESS);
    }
    if args.detach && args.queue {
        return rt.block_on(async {
            let mut socket = request(server, token, remote.ca, &FromClient::Submit(submit)).await?;
            let reply = answer(&mut socket).await;
            socket.close().await;
            let ToClient::Queued { job, position } = reply? else {
                return Err(Failure::runtime("unexpected answer from the server"));
            };
            say(format_args!(
                "job {job} queued, position {position}; see it with `pummel jobs show {job}`"
            ));
            destinations::print(&format!("{job}\n"))?;
            Ok(exit::SUCCESS)
        });
    }
    if args.detach {
        return rt.block_on(async {
            let mut socket = request(server, token, remote.ca, &FromClient::Submit(submit)).await?;
            let reply = answer(&mut socket).await;
            socket.close().await;
            let ToClient::Submitted { run, agents } = reply? else {
                return Err(Failure::runtime("unexpected answer from the server"));
            };
            say(format_args!(
                "run {run} submitted to {} agent{} ({}); follow it with `pummel attach {run}`",
                agents.len(),
                if agents.len() == 1 { "" } else { "s" },
                agents.join(", ")
            ));
            destinations::print(&format!("{run}\n"))?;
            Ok(exit::SUCCESS)
        });
    }
    rt.block_on(follow(&remote, FromClient::Submit(submit), Some(outputs)))
}

struct Remote<'a> {
    server: &'a str,
    token: &'a str,
    ca: Option<&'a Path>,
}

impl<'a> Remote<'a> {
    fn of(args: &'a RemoteArgs) -> Remote<'a> {
        Remote {
            server: &args.server,
            token: &args.token,
            ca: args.server_ca.as_deref(),
        }
    }
}

/// Follows a run until it ends (its exit code) or Ctrl-C (detach, 130).
/// With `outputs`, the result is written as a local run writes it.
async fn follow(
    remote: &Remote<'_>,
    req: FromClient,
    outputs: Option<Destinations>,
) -> Result<i32, Failure> {
    let mut socket = request(remote.server, remote.token, remote.ca, &req).await?;
    let mut run_id = match &req {
        FromClient::Attach { run } => run.clone(),
        _ => String::new(),
    };
    loop {
        let event = tokio::select! {
            event = socket.receive::<ToClient>() => event.map_err(failure)?,
            _ = tokio::signal::ctrl_c() => {
                say(format_args!(
                    "\ndetached: run {run_id} goes on without this client. \
                     Follow it again with `pummel attach {run_id}`; stop it with `pummel stop {run_id}`"
                ));
                return Ok(exit::INTERRUPTED);
            }
        };
        let Some(event) = event else {
            return Err(Failure::runtime(format!(
                "lost the connection to the server; the run goes on: `pummel attach {run_id}`"
            )));
        };
        match event {
            ToClient::Queued { job, position } => {
                say(format_args!(
                    "job {job} queued, position {position}: waiting for free agents \
                     (Ctrl-C leaves it queued; `pummel jobs cancel {job}` cancels)"
                ));
                run_id = job;
            }
            ToClient::Submitted { run, agents } => {
                say(format_args!(
                    "run {run} on {} agent{}: {} (Ctrl-C detaches; `pummel stop {run}` stops)",
                    agents.len(),
                    if agents.len() == 1 { "" } else { "s" },
                    agents.join(", ")
                ));
                run_id = run;
            }
            ToClient::State {
                run,
                state,
                message,
                start_unix_ms,
            } => {
                let since = start_unix_ms.map(|ms| {
                    let at = std::time::UNIX_EPOCH
                        + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
                    format!(" (started {})", humantime::format_rfc3339_millis(at))
                });
                let since = since.unwrap_or_default();
                match message {
                    Some(m) => say(format_args!("run {run}: {state}{since}: {m}")),
                    None => say(format_args!("run {run}: {state}{since}")),
                }
            }
            ToClient::Second { point, .. } => say(format_args!(
                "[{:>4}s] {} requests  {} req/s  {} errors  p50 {}  p99 {}",
                point.t + 1,
                format::count(point.requests),
                format::rate_tenths(point.rps),
                format::count(point.errors),
                format::ms_compact(point.p50_ms),
                format::ms_compact(point.p99_ms),
            )),
            ToClient::Ended {
                run,
                state,
                exit_code,
                message,
            } => {
                socket.close().await;
                return ended(remote, &run, &state, exit_code, message, outputs).await;
            }
            ToClient::Error { message } => return Err(Failure::usage(message)),
            _ => {}
        }
    }
}

async fn ended(
    remote: &Remote<'_>,
    run: &str,
    state: &str,
    code: i32,
    message: Option<String>,
    outputs: Option<Destinations>,
) -> Result<i32, Failure> {
    let note = message.map(|m| format!(": {m}")).unwrap_or_default();
    say(format_args!("run {run} {state} (exit {code}){note}"));
    let Some(outputs) = outputs else {
        return Ok(code);
    };
    match fetch_result(remote, run).await {
        Ok(result) => outputs.write(&result, Ok(code)),
        // A run that ended before any load has no result: its code says why.
        Err(_) if code != exit::SUCCESS => Err(Failure {
            code,
            message: format!("run {run} {state}{note}"),
        }),
        Err(e) => Err(e),
    }
}

/// `pummel jobs [ACTION ID]`: the queue and past jobs, or one job acted on.
pub(super) fn jobs(args: &JobsArgs) -> Result<i32, Failure> {
    let req = match (args.action, &args.id) {
        (Some(JobsAction::Schedules), _) => FromClient::Schedules,
        (Some(JobsAction::Unschedule), Some(id)) => FromClient::Unschedule { id: id.clone() },
        (None, None) => FromClient::Jobs,
        (None, Some(id)) => FromClient::Job {
            id: id.clone(),
            action: None,
        },
        (Some(action), Some(id)) => FromClient::Job {
            id: id.clone(),
            action: match action {
                JobsAction::Show => None,
                JobsAction::Cancel => Some(JobAction::Cancel),
                JobsAction::Rerun => Some(JobAction::Rerun),
                JobsAction::Delete => Some(JobAction::Delete),
                JobsAction::Schedules | JobsAction::Unschedule => None,
            },
        },
        (Some(_), None) => return Err(Failure::usage("which one? give its id")),
    };
    match one_shot(&args.remote, &req)? {
        ToClient::Schedules { schedules } if args.json => {
            destinations::print(&json_lines(&schedules)?)?;
        }
        ToClient::Schedules { schedules } => {
            let mut out = format!(
                "{:<20} {:<10} {:<16} {:<24} {}\n",
                "SCHEDULE", "OWNER", "TEST", "NEXT", "CRON"
            );
            for s in schedules {
                out.push_str(&format!(
                    "{:<20} {:<10} {:<16} {:<24} {}\n",
                    s.id,
                    s.owner,
                    if s.test.is_empty() { "-" } else { &s.test },
                    unix_seconds(s.next_at),
                    s.cron
                ));
            }
            destinations::print(&out)?;
        }
        ToClient::Schedule { schedule } => {
            say(format_args!("unscheduled {}", schedule.id));
        }
        ToClient::Jobs { jobs } if args.json => destinations::print(&json_lines(&jobs)?)?,
        ToClient::Jobs { jobs } => destinations::print(&job_table(&jobs))?,
        ToClient::Job { job } if args.json => destinations::print(&json_lines(&job)?)?,
        ToClient::Job { job } => {
            let done = match args.action {
                Some(JobsAction::Cancel) => "cancelled: ",
                Some(JobsAction::Rerun) => "queued again as ",
                Some(JobsAction::Delete) => "deleted: ",
                _ => "",
            };
            say(format_args!("{done}job {}", job.id));
            destinations::print(&job_table(std::slice::from_ref(&job)))?;
        }
        _ => return Err(Failure::runtime("unexpected answer from the server")),
    }
    Ok(exit::SUCCESS)
}

fn job_table(jobs: &[JobInfo]) -> String {
    let mut out = format!(
        "{:<12} {:<12} {:>4} {:<10} {:<8} {:<16} {:<22} {:>4}  {}\n",
        "JOB", "STATE", "POS", "OWNER", "SOURCE", "TEST", "RUN", "EXIT", "MESSAGE"
    );
    for job in jobs {
        out.push_str(&format!(
            "{:<12} {:<12} {:>4} {:<10} {:<8} {:<16} {:<22} {:>4}  {}\n",
            job.id,
            job.state,
            job.position
                .map_or_else(|| "-".to_owned(), |p| p.to_string()),
            job.owner,
            job.source,
            if job.test.is_empty() { "-" } else { &job.test },
            job.run.as_deref().unwrap_or("-"),
            job.exit_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            job.message.as_deref().unwrap_or_default()
        ));
    }
    out
}

/// A Unix second as RFC 3339 (UTC).
fn unix_seconds(at: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(at).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

fn one_shot_at(remote: &Remote<'_>, req: &FromClient) -> Result<ToClient, Failure> {
    runtime()?.block_on(async {
        let mut socket = request(remote.server, remote.token, remote.ca, req).await?;
        let reply = answer(&mut socket).await;
        socket.close().await;
        reply
    })
}
