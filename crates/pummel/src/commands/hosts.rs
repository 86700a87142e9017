//! `pummel hosts` (claim a host on a shared server and prove you own it),
//! `pummel server network` and `pummel server quota` (an admin's policy,
//! written to the store).

use pummel_server::policy::{Cidr, Claim, Quota};
use pummel_server::wire::{FromClient, ToClient};

use crate::cli::{HostsAction, HostsArgs, NetworkAction, QuotaAction};
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn run(args: &HostsArgs) -> Result<i32, Failure> {
    let (remote, req) = match &args.action {
        Some(HostsAction::Claim(h)) => (
            &h.remote,
            FromClient::ClaimHost {
                host: h.host.clone(),
            },
        ),
        Some(HostsAction::Verify(h)) => (
            &h.remote,
            FromClient::VerifyHost {
                host: h.host.clone(),
            },
        ),
        None => match &args.remote {
            Some(remote) => (remote, FromClient::Hosts),
            None => {
                return Err(Failure::usage(
                    "pummel hosts needs --server URL and --token TOKEN",
                ))
            }
        },
    };
    let ToClient::Hosts { hosts } = super::remote::one_shot(remote, &req)? else {
        return Err(Failure::runtime("unexpected answer from the server"));
    };
    if args.json {
        let text =
            serde_json::to_string_pretty(&hosts).map_err(|e| Failure::runtime(e.to_string()))?;
        destinations::print(&format!("{text}\n"))?;
        return Ok(exit::SUCCESS);
    }
    let text = match (&args.action, hosts.first()) {
        (Some(HostsAction::Claim(_)), Some(claim)) => claimed(claim),
        (Some(HostsAction::Verify(_)), Some(claim)) => {
            format!("{} is proven: runs may load it.\n", claim.host)
        }
        _ => table(&hosts),
    };
    destinations::print(&text)?;
    Ok(exit::SUCCESS)
}

fn claimed(claim: &Claim) -> String {
    format!(
        "Publish this token as the whole body of\n  {url}\n(or the same path over http), then run `pummel hosts verify {host}`:\n{token}\n",
        url = claim.challenge_url(),
        host = claim.authority,
        token = claim.token,
    )
}

fn table(hosts: &[Claim]) -> String {
    let mut out = format!("{:<32} {:<10} {}\n", "HOST", "PROVEN", "CHALLENGE");
    for claim in hosts {
        let proven = match claim.verified_at {
            Some(_) => "yes",
            None => "no",
        };
        out.push_str(&format!(
            "{:<32} {:<10} {}\n",
            claim.authority,
            proven,
            claim.challenge_url()
        ));
    }
    out
}

fn store_failure(e: pummel_server::StoreError) -> Failure {
    Failure::usage(e.to_string())
}

pub(super) fn network(
    runtime: &tokio::runtime::Runtime,
    action: &NetworkAction,
) -> Result<i32, Failure> {
    let list = match action {
        NetworkAction::Allow(a) | NetworkAction::Deny(a) => {
            let cidr: Cidr = a.cidr.parse().map_err(|e| Failure::usage(format!("{e}")))?;
            let allow = matches!(action, NetworkAction::Allow(_));
            runtime
                .block_on(pummel_server::set_network(
                    &super::store_at::store_at(&a.data)?,
                    &a.user,
                    cidr,
                    allow,
                ))
                .map_err(store_failure)?
        }
        NetworkAction::List(u) => runtime
            .block_on(pummel_server::networks(
                &super::store_at::store_at(&u.data)?,
                &u.user,
            ))
            .map_err(store_failure)?,
    };
    let mut out = String::new();
    for cidr in list {
        out.push_str(&format!("{cidr}\n"));
    }
    destinations::print(&out)?;
    Ok(exit::SUCCESS)
}

pub(super) fn quota(
    runtime: &tokio::runtime::Runtime,
    action: &QuotaAction,
) -> Result<i32, Failure> {
    let (data, user) = match action {
        QuotaAction::Set(s) => {
            let quota = Quota {
                concurrent_jobs: s.concurrent_jobs,
                agents_per_job: s.agents_per_job,
                max_vus: s.max_vus,
                max_rate: s.max_rate,
                max_duration: s.max_duration,
                runs_per_day: s.runs_per_day,
                report_storage: s.report_storage,
                allow_runners: s.allow_runners,
            };
            runtime
                .block_on(pummel_server::set_quota(
                    &super::store_at::store_at(&s.data)?,
                    &s.user,
                    &quota,
                ))
                .map_err(store_failure)?;
            (&s.data, &s.user)
        }
        QuotaAction::Show(u) => (&u.data, &u.user),
    };
    let quota = runtime
        .block_on(pummel_server::quota(
            &super::store_at::store_at(data)?,
            user,
        ))
        .map_err(store_failure)?;
    let text = serde_json::to_string_pretty(&quota).map_err(|e| Failure::runtime(e.to_string()))?;
    destinations::print(&format!("{text}\n"))?;
    Ok(exit::SUCCESS)
}
