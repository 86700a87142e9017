//! `pummel server`: the agent hub and API for distributed runs; `server
//! init` and `server token create` manage its store.

mod backend;

use std::sync::Arc;

use pummel_live::RunsEndpoint;
use pummel_server::token::Role;
use pummel_server::{HubConfig, LiveMetrics, ServerConfig, StoreAt};

use crate::cli::{RoleArg, ServerAction, ServerArgs, TokenAction, UserAction, UserRoleArg};
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn run(args: &ServerArgs) -> Result<i32, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the server's runtime: {e}")))?;
    match &args.action {
        Some(ServerAction::Init(data)) => {
            let at = super::store_at::store_at(data)?;
            let token = runtime
                .block_on(pummel_server::init(&at))
                .map_err(|e| Failure::usage(e.to_string()))?;
            destinations::print(&format!(
                "Created the store in {}.\nThe first admin token (shown once, keep it safe):\n{token}\n",
                at.describe()
            ))?;
            Ok(exit::SUCCESS)
        }
        Some(ServerAction::Token(TokenAction::Create(create))) => {
            let role = match create.role {
                RoleArg::Agent => Role::Agent,
                RoleArg::Client => Role::Client,
                RoleArg::Admin => Role::Admin,
            };
            let given = match &create.value_from_env {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    Failure::usage(format!(
                        "--value-from-env {var}: the variable is not set (or not UTF-8)"
                    ))
                })?),
                None => None,
            };
            let made = runtime
                .block_on(pummel_server::create_token(
                    &super::store_at::store_at(&create.data)?,
                    &create.name,
                    role,
                    given.as_deref(),
                ))
                .map_err(|e| Failure::usage(e.to_string()))?;
            match made {
                Some(token) => destinations::print(&format!("{token}\n"))?,
                None => crate::output::stderr::say(format_args!(
                    "token of {} ({}) registered",
                    create.name,
                    role.as_str()
                )),
            }
            Ok(exit::SUCCESS)
        }
        Some(ServerAction::User(UserAction::Create(create))) => {
            let password = match &create.password_from_env {
                Some(var) => std::env::var(var).map_err(|_| {
                    Failure::usage(format!(
                        "--password-from-env {var}: the variable is not set (or not UTF-8)"
                    ))
                })?,
                None => read_password_line()?,
            };
            let role = match create.role {
                UserRoleArg::Admin => pummel_server::UserRole::Admin,
                UserRoleArg::User => pummel_server::UserRole::User,
            };
            runtime
                .block_on(pummel_server::create_user(
                    &super::store_at::store_at(&create.data)?,
                    &create.name,
                    role,
                    &password,
                    create.update,
                ))
                .map_err(|e| Failure::usage(format!("user {}: {e}", create.name)))?;
            crate::output::stderr::say(format_args!(
                "user {} ({}) {}",
                create.name,
                role.as_str(),
                if create.update { "updated" } else { "created" }
            ));
            Ok(exit::SUCCESS)
        }
        Some(ServerAction::Network(action)) => super::hosts::network(&runtime, action),
        Some(ServerAction::Quota(action)) => super::hosts::quota(&runtime, action),
        None => serve(&runtime, args),
    }
}

/// The password from the first line of standard input (a pipe or a
/// here-string: it never appears in the process list, unlike an argument).
fn read_password_line() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| {
        Failure::usage(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(Failure::usage(
            "no password: give it on standard input or with --password-from-env VAR",
        ));
    }
    Ok(password)
}

fn serve(runtime: &tokio::runtime::Runtime, args: &ServerArgs) -> Result<i32, Failure> {
    let Some(store) = StoreAt::choose(args.data_dir.clone(), args.database.clone()) else {
        return Err(Failure::usage(
            "pummel server needs --data-dir DIR (or PUMMEL_DATA_DIR) or --database URL (or PUMMEL_DATABASE_URL): where its store is",
        ));
    };
    // Bound before the server starts, so a taken port is a usage error; kept
    // (and serving, on a thread of its own) as long as the server runs.
    let endpoint = match args.metrics_listen {
        Some(addr) => {
            let endpoint = RunsEndpoint::start(addr).map_err(|e| Failure::usage(e.to_string()))?;
            crate::output::stderr::say(format_args!(
                "pummel server metrics at http://{}/metrics",
                endpoint.addr()
            ));
            Some(endpoint)
        }
        None => None,
    };
    let config = ServerConfig {
        listen: args.listen.clone(),
        store,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        hub: HubConfig {
            agent_timeout: args.agent_timeout,
            keep_runs: args.keep_runs,
            keep_days: args.keep_days,
            metrics: endpoint.as_ref().map(|e| LiveMetrics {
                runs: e.runs().clone(),
                linger: args.metrics_linger,
            }),
            ..HubConfig::default()
        },
        ownership_ttl: args.ownership_ttl,
        trust_clients: args.trust_clients,
        notify: pummel_server::NotifyConfig {
            smtp: args.smtp.clone(),
            mail_from: args.mail_from.clone(),
            public_url: args.public_url.clone(),
            smtp_ca: args.smtp_ca.clone(),
            webhook_timeout: Some(args.webhook_timeout),
        },
        work_dir: args.data_dir.clone(),
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    runtime
        .block_on(pummel_server::serve(
            config,
            Arc::new(backend::EngineBackend),
            |addr| {
                // The line tests and scripts wait for: where to connect.
                crate::output::stderr::say(format_args!(
                    "pummel server listening on {scheme}://{addr}"
                ));
            },
        ))
        .map_err(|e| match e {
            pummel_server::ServerError::Serve(_) => Failure::runtime(e.to_string()),
            _ => Failure::usage(e.to_string()),
        })?;
    drop(endpoint);
    Ok(exit::SUCCESS)
}
