//! Flags of `pummel repos`: test repositories on a server.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::distributed::RemoteArgs;

#[derive(Debug, Args)]
pub(crate) struct ReposArgs {
    #[command(subcommand)]
    pub action: ReposAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReposAction {
    /// Register a git repository (a URL the server can reach, or a path on the server); it is
    /// pulled at once and its webhook secret printed (once)
    Add(RepoAddArgs),
    /// List the repositories you may see
    List(RepoListArgs),
    /// Pull a repository now and check its pummel.yml and scenarios
    Pull(RepoNameArgs),
    /// The tests a repository's pummel.yml lists, and the problems found in it
    Tests(RepoNameArgs),
    /// Queue one of a repository's tests; prints the job's id
    Run(RepoRunArgs),
    /// Forget a repository (its runs stay)
    Remove(RepoNameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RepoAddArgs {
    /// A short name for it (letters, digits, '-', '_', '.')
    pub name: String,
    /// Its git URL (https://, ssh://, git://, user@host:path) or, for an admin, a path on the
    /// server
    pub url: String,
    /// The branch to pull
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Read an access token (TOKEN or USER:TOKEN) from this environment variable; it is stored
    /// encrypted
    #[arg(long, value_name = "VAR", conflicts_with = "deploy_key")]
    pub token_env: Option<String>,
    /// A deploy key (an SSH private key file) to pull with; it is stored encrypted
    #[arg(long, value_name = "FILE")]
    pub deploy_key: Option<PathBuf>,
    /// The ssh host's key(s) the server must find there: a file with a public key line or
    /// known_hosts lines (`ssh-keyscan -p PORT HOST > FILE`). Without it the key shown on the
    /// first fetch is recorded and required from then on
    #[arg(long, value_name = "FILE")]
    pub host_key: Option<PathBuf>,
    /// Print the answer as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RepoListArgs {
    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RepoNameArgs {
    /// The repository's name
    pub name: String,
    /// Print the answer as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RepoRunArgs {
    /// The repository's name
    pub name: String,
    /// The test's name in its pummel.yml
    pub test: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
}
