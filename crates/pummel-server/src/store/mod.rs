//! The server's store: tokens, agents, runs, their per-second snapshots and
//! their results — and what the service adds beside them (the queue's jobs,
//! users, repositories), each part in its own file and migration.
//!
//! One [`Store`] serves two databases through sqlx's `Any` driver: SQLite
//! (the embedded default, one WAL file in `--data-dir`) and PostgreSQL
//! (`--database postgres://…`, for a server that must outlive its disk).
//! Both run the same migrations and the same SQL text for every query, so
//! the text keeps to what both accept: `$1` placeholders (sqlx's SQLite
//! driver binds them by number), `BIGINT` for every integer (a boolean is
//! 0/1: the `Any` driver has no SQLite boolean), `TEXT` for the rest, `ON
//! CONFLICT` rather than `INSERT OR IGNORE`, and `RETURNING`. Queries are
//! checked at run time, so a fresh clone builds with no database present.
//! The engine never sees the store; the hub writes to it off the agents'
//! hot path.

pub(crate) mod repos;

mod agents;
mod jobs;
mod runs;
mod schedules;
mod tokens;
pub(crate) mod users;
pub(crate) mod web_queries;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

pub(crate) use agents::AgentRow;
pub(crate) use jobs::JobRow;
pub(crate) use runs::{RunRow, SnapshotRow};
pub(crate) use schedules::ScheduleRow;

/// The database file's name in the data directory.
const FILE: &str = "pummel.db";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Where the store lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreAt {
    /// An SQLite file in this directory (made by `pummel server init`).
    Dir(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL.
    Url(String),
}

impl StoreAt {
    /// `--database URL` when given, else `--data-dir DIR`; `None` when
    /// neither is.
    pub fn choose(data_dir: Option<PathBuf>, database: Option<String>) -> Option<StoreAt> {
        database.map(StoreAt::Url).or(data_dir.map(StoreAt::Dir))
    }

    /// How a message names this store: the directory, or the URL without
    /// its password.
    pub fn describe(&self) -> String {
        match self {
            StoreAt::Dir(dir) => dir.display().to_string(),
            StoreAt::Url(url) => redact(url),
        }
    }

    /// The flag that names this store on the command line.
    fn flag(&self) -> String {
        match self {
            StoreAt::Dir(dir) => format!("--data-dir {}", dir.display()),
            StoreAt::Url(url) => format!("--database {}", redact(url)),
        }
    }
}

/// A URL with its password replaced, fit for messages and logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unreadable URL)".to_owned(),
    }
}

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
    #[error("no store in {0}: run `pummel server init {1}` first")]
    NotInitialised(String, String),
    #[error("the store in {0} is already initialised (it has an admin token)")]
    AlreadyInitialised(String),
    #[error("--database {0}: only postgres:// (or postgresql://) URLs are supported; the default store is SQLite in --data-dir")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot make a random token: {0}")]
    Random(getrandom::Error),
    #[error("that token is already registered for {0:?} with another role or name")]
    TokenTaken(String),
    #[error("a token must be at least 32 characters")]
    TokenTooShort,
    #[error("there is already a user named {0:?}")]
    UserTaken(String),
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("{0}")]
    Password(String),
    #[error("a stored row is malformed: {0}")]
    Malformed(String),
}

/// Which database is behind the pool, for the few places that differ
/// (none of them in the SQL text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// What the server keeps. Every method is one short transaction; methods
/// live beside their tables (tokens.rs, agents.rs, runs.rs, …).
pub(crate) struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the store (creating it when `create`) and brings its schema up
    /// to date.
    pub(crate) async fn open(at: &StoreAt, create: bool) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let store = match at {
            StoreAt::Dir(dir) => Store::open_sqlite(dir, create).await?,
            StoreAt::Url(url) => Store::open_postgres(url).await?,
        };
        MIGRATOR.run(&store.pool).await?;
        // A PostgreSQL database has no file to tell whether `init` ran:
        // its admin token does.
        if store.backend == Backend::Postgres && !create && !store.has_admin().await? {
            return Err(StoreError::NotInitialised(at.describe(), at.flag()));
        }
        Ok(store)
    }

    async fn open_sqlite(dir: &Path, create: bool) -> Result<Store, StoreError> {
        let file = dir.join(FILE);
        let at = StoreAt::Dir(dir.to_path_buf());
        if !create && !file.exists() {
            return Err(StoreError::NotInitialised(at.describe(), at.flag()));
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let absolute = std::path::absolute(&file).map_err(|source| StoreError::DataDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let url = url::Url::from_file_path(&absolute).map_err(|()| StoreError::DataDir {
            dir: dir.to_path_buf(),
            source: std::io::Error::other("the path cannot be written as a URL"),
        })?;
        let mode = if create { "rwc" } else { "rw" };
        let url = format!("sqlite://{}?mode={mode}", url.path());
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL with NORMAL is durable across a process crash (the
                    // case of a server killed mid-run); only a power cut may
                    // lose the last commits. A busy timeout lets the
                    // pool's connections wait for each other's writes.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            backend: Backend::Sqlite,
        })
    }

    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        }
        let options = AnyConnectOptions::from_str(url)?;
        // One direct connection first: its error names the cause (refused,
        // authentication, no such database), where the pool's would only
        // say it timed out.
        let probe = sqlx::AnyConnection::connect_with(&options)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        let _ = probe.close().await;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(Store {
            pool,
            backend: Backend::Postgres,
        })
    }

    /// The pool, for the store's parts.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    #[allow(dead_code)] // for parts whose behaviour (not SQL) differs
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A stored integer as an unsigned one, or a clear error naming it.
pub(crate) fn unsigned<T: TryFrom<i64>>(what: &str, value: i64) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::Malformed(format!("{what} {value}")))
}
