//! The server's store: tokens, agents, runs, their per-second snapshots and
//! their results.
//!
//! Behind a trait so that the embedded default ([`sqlite`]) and a database
//! that outlives its disk (PostgreSQL, later) serve the same server. The
//! engine never sees it; the hub writes to it off the agents' hot path.

pub(crate) mod repos;
pub(crate) mod sqlite;

use crate::token::{Identity, Role};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the data directory {dir}: {source}")]
    DataDir {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("no store in {0}: run `pummel server init --data-dir {0}` first")]
    NotInitialised(std::path::PathBuf),
    #[error("the store in {0} is already initialised (it has an admin token)")]
    AlreadyInitialised(std::path::PathBuf),
    #[error("cannot make a random token: {0}")]
    Random(getrandom::Error),
    #[error("that token is already registered for {0:?} with another role or name")]
    TokenTaken(String),
    #[error("a token must be at least 32 characters")]
    TokenTooShort,
    #[error("a stored row is malformed: {0}")]
    Malformed(String),
}

/// An agent as the store remembers it (between connections and restarts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AgentRow {
    pub(crate) name: String,
    /// JSON object of labels.
    pub(crate) labels: String,
    pub(crate) version: String,
    pub(crate) cores: u32,
    pub(crate) disabled: bool,
    /// Unix seconds.
    pub(crate) last_seen: i64,
}

/// A run as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunRow {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) state: String,
    /// Unix seconds.
    pub(crate) created_at: i64,
    /// The shipped plan, JSON.
    pub(crate) plan: String,
    /// Who ran which share, JSON.
    pub(crate) agents: String,
    /// The result file's JSON, once there is one.
    pub(crate) result: Option<String>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) message: Option<String>,
}

/// One agent's one second of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotRow {
    pub(crate) agent: String,
    pub(crate) second: u64,
    pub(crate) body: String,
}

/// What the server keeps. Every method is one short transaction.
#[allow(async_fn_in_trait)] // used with concrete types inside this crate only
pub(crate) trait Store: Send + Sync + 'static {
    /// Stores a new token for `name` with `role`; returns the token, shown
    /// once.
    async fn create_token(&self, name: &str, role: Role) -> Result<String, StoreError>;
    /// Stores a token given by the caller (from a secret store): a token
    /// already there with the same owner and role is left as it is, so
    /// registering it at every start is harmless.
    async fn register_token(&self, name: &str, role: Role, token: &str) -> Result<(), StoreError>;
    /// Whose token this is, if any.
    async fn identify(&self, token: &str) -> Result<Option<Identity>, StoreError>;
    async fn has_admin(&self) -> Result<bool, StoreError>;

    async fn upsert_agent(&self, agent: &AgentRow) -> Result<(), StoreError>;
    async fn set_agent_disabled(&self, name: &str, disabled: bool) -> Result<bool, StoreError>;
    async fn agents(&self) -> Result<Vec<AgentRow>, StoreError>;

    async fn insert_run(&self, run: &RunRow) -> Result<(), StoreError>;
    async fn update_run(
        &self,
        id: &str,
        state: &str,
        agents: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn finish_run(
        &self,
        id: &str,
        state: &str,
        result: &str,
        exit_code: i32,
        message: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError>;
    async fn runs(&self) -> Result<Vec<RunRow>, StoreError>;
    /// Marks every run that was in flight as `interrupted` (after a
    /// restart); returns their ids.
    async fn interrupt_unfinished(&self) -> Result<Vec<String>, StoreError>;

    /// Keeps a snapshot unless that (run, agent, second) is already kept;
    /// true when it was new.
    async fn put_snapshot(
        &self,
        run: &str,
        agent: &str,
        second: u64,
        body: &str,
    ) -> Result<bool, StoreError>;
    /// A run's snapshots, by second then agent.
    async fn snapshots(&self, run: &str) -> Result<Vec<SnapshotRow>, StoreError>;
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
