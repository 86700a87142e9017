//! Command-line flags of a shared server's safety: allowed networks and
//! quotas (`pummel server network`, `pummel server quota`, on the store) and
//! host ownership (`pummel hosts`, through the server).

use clap::{Args, Subcommand};

use super::distributed::{DataDirArgs, RemoteArgs};

#[derive(Debug, Subcommand)]
pub(crate) enum NetworkAction {
    /// Let USER's runs reach a network refused by default (loopback, private, link-local, …)
    Allow(NetworkArgs),
    /// Take a network back from USER
    Deny(NetworkArgs),
    /// List the networks USER may reach beyond the public ones
    List(UserArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NetworkArgs {
    /// An address (127.0.0.2) or a CIDR (10.1.0.0/16, fd00::/8)
    pub cidr: String,

    /// Whose runs (a token's owner name)
    #[arg(long)]
    pub user: String,

    #[command(flatten)]
    pub data: DataDirArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UserArgs {
    /// The user (a token's owner name)
    pub user: String,

    #[command(flatten)]
    pub data: DataDirArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum QuotaAction {
    /// Set USER's quota (replacing it whole: a limit not given is unlimited)
    Set(QuotaSetArgs),
    /// Show USER's quota as JSON
    Show(UserArgs),
}

#[derive(Debug, Args)]
pub(crate) struct QuotaSetArgs {
    /// The user (a token's owner name)
    pub user: String,

    /// Runs pending or running at once
    #[arg(long, value_name = "N")]
    pub concurrent_jobs: Option<u32>,

    /// Agents one run may take
    #[arg(long, value_name = "N")]
    pub agents_per_job: Option<u32>,

    /// VUs one run may run at once
    #[arg(long, value_name = "N")]
    pub max_vus: Option<u32>,

    /// Arrival rate (iterations per second) one run may reach
    #[arg(long, value_name = "R")]
    pub max_rate: Option<f64>,

    /// How long one run may last: 30s, 10m, 2h
    #[arg(long, value_name = "D", value_parser = pummel_server::policy::quota::parse_duration)]
    pub max_duration: Option<std::time::Duration>,

    /// Runs started in any 24 hours
    #[arg(long, value_name = "N")]
    pub runs_per_day: Option<u32>,

    /// Bytes of stored results
    #[arg(long, value_name = "BYTES")]
    pub report_storage: Option<u64>,

    /// May run plans with a runner (test code in Python or JS)
    #[arg(long)]
    pub allow_runners: bool,

    #[command(flatten)]
    pub data: DataDirArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct HostsArgs {
    #[command(subcommand)]
    pub action: Option<HostsAction>,

    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub remote: Option<RemoteArgs>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HostsAction {
    /// Get a challenge token for HOST (or HOST:PORT) to publish at
    /// /.well-known/pummel-challenge/<id> on it
    Claim(HostArgs),
    /// Have the server fetch HOST's challenge now
    Verify(HostArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HostArgs {
    /// example.com, example.com:8443 or 127.0.0.2:8080
    pub host: String,

    #[command(flatten)]
    pub remote: RemoteArgs,
}
