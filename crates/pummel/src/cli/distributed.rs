//! Command-line flags of distributed runs: the server, the agent, and the
//! client side (`run`/`bench --server`, `runs`, `attach`, `stop`, `result`,
//! `agents`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::{parse_duration, ReportArgs};

/// Where a server is and who is asking.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub(crate) struct RemoteArgs {
    /// The server's URL: http://HOST:PORT or https://HOST:PORT
    #[arg(long = "server", env = "PUMMEL_SERVER", value_name = "URL")]
    pub server: String,

    /// A client (or admin) token from `pummel server token create`
    #[arg(long, env = "PUMMEL_TOKEN", hide_env_values = true)]
    pub token: String,

    /// Trust this CA certificate (PEM) for the server's TLS, beside the public roots
    #[arg(long, value_name = "FILE.pem")]
    pub server_ca: Option<PathBuf>,
}

/// `run` and `bench` through a server instead of on this machine.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Distributed")]
pub(crate) struct SubmitArgs {
    /// Run on this server's agents instead of here
    #[arg(long = "server", env = "PUMMEL_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// A client token (with --server)
    #[arg(
        long,
        env = "PUMMEL_TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub token: Option<String>,

    /// Trust this CA certificate (PEM) for the server's TLS
    #[arg(long, value_name = "FILE.pem", requires = "server")]
    pub server_ca: Option<PathBuf>,

    /// Split the run over this many agents (default: every idle agent that matches)
    #[arg(long, requires = "server", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub agents: Option<u32>,

    /// Only agents with this label: k=v (repeatable)
    #[arg(long = "label", value_name = "K=V", requires = "server", value_parser = super::parse_env_pair)]
    pub labels: Vec<(String, String)>,

    /// Submit and print the run's id; follow it later with `pummel attach`
    #[arg(long, requires = "server")]
    pub detach: bool,

    /// Queue it as a job that waits for free agents (its place shown) instead of failing when
    /// there are too few now; --agents defaults to 1
    #[arg(long, requires = "server")]
    pub queue: bool,

    /// The test name the job's runs are grouped by (with --queue)
    #[arg(long, value_name = "NAME", requires = "queue")]
    pub test: Option<String>,

    /// Store the request and queue it whenever this cron expression fires (UTC; 5 fields, or 6
    /// with seconds first), e.g. "30 2 * * *" nightly; prints the schedule's id
    #[arg(long, value_name = "CRON", requires = "queue")]
    pub schedule: Option<String>,

    /// When an agent is lost mid-run: go on with the others, or stop the run
    #[arg(long, value_enum, default_value_t = OnLoss::Continue, requires = "server")]
    pub on_agent_loss: OnLoss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnLoss {
    Continue,
    Stop,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ServerArgs {
    #[command(subcommand)]
    pub action: Option<ServerAction>,

    /// Address to listen on (HTTP API and agent hub, one port)
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: String,

    /// Where the server keeps its store (made by `pummel server init`)
    #[arg(long, env = "PUMMEL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Keep the store in PostgreSQL instead (postgres://USER:PASSWORD@HOST/DB)
    #[arg(long, env = "PUMMEL_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,

    /// TLS certificate chain (PEM); with --tls-key, the port speaks only TLS
    #[arg(long, value_name = "FILE.pem", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM)
    #[arg(long, value_name = "FILE.pem", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// An agent silent this long is lost (agents heartbeat every second)
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub agent_timeout: Duration,

    /// Send notification emails through this SMTP relay: smtp://HOST:PORT (plain),
    /// smtp://HOST:PORT?tls=required (STARTTLS) or smtps://HOST:PORT (TLS); USER:PASS@ before
    /// the host to log in
    #[arg(long, env = "PUMMEL_SMTP", hide_env_values = true, value_name = "URL")]
    pub smtp: Option<String>,

    /// The sender of notification emails (with --smtp)
    #[arg(
        long,
        env = "PUMMEL_MAIL_FROM",
        value_name = "ADDRESS",
        requires = "smtp"
    )]
    pub mail_from: Option<String>,

    /// Trust this CA certificate (PEM) for the SMTP relay's certificate, besides the public roots
    /// (with smtps:// or ?tls=required)
    #[arg(long, value_name = "FILE.pem", requires = "smtp")]
    pub smtp_ca: Option<PathBuf>,

    /// How long one attempt to deliver a notification webhook may take (4 attempts in all,
    /// 0.5 s, 1 s and 2 s apart)
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// The server's URL as its users reach it, for the links in notifications
    #[arg(long, env = "PUMMEL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Retention: keep this many ended jobs per test name (with their runs and results)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_runs: Option<u32>,

    /// Retention: delete ended jobs (with their runs and results) older than this many days
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_days: Option<u32>,

    /// How long a host's ownership proof stands before a run fetches its challenge again
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ownership_ttl: Duration,

    /// Trust client tokens with any target, as admins (a server one team uses): no allowed-network
    /// check and no ownership proof; quotas still apply
    #[arg(long)]
    pub trust_clients: bool,
    /// Serve the merged live figures of the runs this server coordinates at
    /// http://ADDR/metrics (Prometheus/OpenMetrics; every series labelled with its `run`)
    #[arg(long, value_name = "ADDR", value_parser = super::parse_listen)]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Keep a finished run's final series on the metrics endpoint this long, so its last seconds
    /// are scraped, then drop them
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = super::parse_linger, requires = "metrics_listen")]
    pub metrics_linger: Duration,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DataDirArgs {
    /// Where the server keeps its store (SQLite)
    #[arg(
        long,
        env = "PUMMEL_DATA_DIR",
        value_name = "DIR",
        required_unless_present = "database"
    )]
    pub data_dir: Option<PathBuf>,

    /// Keep the store in PostgreSQL instead (postgres://USER:PASSWORD@HOST/DB)
    #[arg(long, env = "PUMMEL_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServerAction {
    /// Create the store and print the first admin token (once)
    Init(DataDirArgs),
    /// Manage tokens
    #[command(subcommand)]
    Token(TokenAction),
    /// The networks a user's runs may reach beyond the public ones
    #[command(subcommand)]
    Network(NetworkAction),
    /// A user's quotas: concurrent jobs, agents, VUs, rate, duration, runs per day, storage
    #[command(subcommand)]
    Quota(QuotaAction),
    /// Manage the users who sign in to the web UI
    #[command(subcommand)]
    User(UserAction),
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserAction {
    /// Create a user (argon2id password hash); the password is read from the variable named by
    /// --password-from-env, else from the first line of standard input
    Create(UserCreateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UserCreateArgs {
    #[command(flatten)]
    pub data: DataDirArgs,

    /// The user's name (letters, digits, '-', '_', '.', '@'): they sign in with it, and it owns
    /// their runs and API tokens
    pub name: String,

    /// What they may do: `admin` sees and controls every run, the agents and the users; `user`
    /// their own runs
    #[arg(long, value_enum)]
    pub role: UserRoleArg,

    /// Read the password from this environment variable (at least 10 characters)
    #[arg(long, value_name = "VAR")]
    pub password_from_env: Option<String>,

    /// Set the role and password of a user that exists (signing them out everywhere) instead of
    /// refusing
    #[arg(long)]
    pub update: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UserRoleArg {
    Admin,
    User,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenAction {
    /// Create a token and print it (it is stored hashed: it cannot be shown again)
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TokenCreateArgs {
    #[command(flatten)]
    pub data: DataDirArgs,

    /// The token's owner (a person, a CI job, an agent pool)
    #[arg(long)]
    pub name: String,

    /// What it may do
    #[arg(long, value_enum)]
    pub role: RoleArg,

    /// Register the token held in this environment variable (from a secret store) instead of
    /// making one; one already registered with the same name and role is left as it is
    #[arg(long, value_name = "VAR")]
    pub value_from_env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    Agent,
    Client,
    Admin,
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The server's URL: http://HOST:PORT or https://HOST:PORT
    #[arg(long = "server", env = "PUMMEL_SERVER", value_name = "URL")]
    pub server: String,

    /// An agent token from `pummel server token create --role agent`
    #[arg(long, env = "PUMMEL_TOKEN", hide_env_values = true)]
    pub token: String,

    /// This agent's name (default: the host name)
    #[arg(long)]
    pub name: Option<String>,

    /// A label runs can select this agent by: k=v (repeatable)
    #[arg(long = "label", value_name = "K=V", value_parser = super::parse_env_pair)]
    pub labels: Vec<(String, String)>,

    /// Trust this CA certificate (PEM) for the server's TLS
    #[arg(long, value_name = "FILE.pem")]
    pub server_ca: Option<PathBuf>,

    /// Stop the load by itself when the server has been unreachable this long
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub orphan_timeout: Duration,

    /// Run runner journeys (Python, Node): code shipped by the server's clients runs on this
    /// machine as this user, so an agent refuses them unless started with this flag
    #[arg(long)]
    pub allow_runners: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunIdArgs {
    /// The run's id (see `pummel runs`)
    pub run: String,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ResultArgs {
    /// The run's id (see `pummel runs`)
    pub run: String,

    /// Write the JSON result to this file ('-' for stdout)
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AgentsArgs {
    /// disable: give the agent no new run (one it runs goes on); drain: let it finish what it
    /// runs, then give it nothing new; enable: give it runs again
    #[arg(value_enum, requires = "name")]
    pub action: Option<AgentsAction>,

    /// The agent to act on
    pub name: Option<String>,

    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    /// show, cancel (a queued job never starts; a running one is stopped), rerun (queue the same
    /// request again) or delete (forget a job that is not running, with its run and result);
    /// schedules (list them) or unschedule ID
    #[arg(value_enum)]
    pub action: Option<JobsAction>,

    /// The job to act on
    pub id: Option<String>,

    /// Print as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum JobsAction {
    Show,
    Cancel,
    Rerun,
    Delete,
    Schedules,
    Unschedule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AgentsAction {
    Disable,
    Drain,
    Enable,
}

// A shared server's safety: allowed networks and quotas (`pummel server network`, `pummel
// server quota`, on the store) and host ownership (`pummel hosts`, through the server).

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
