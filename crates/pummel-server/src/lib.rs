//! pummel's server: one process, one port — the HTTP API and the agent hub
//! over WebSocket — with its state in an embedded store.
//!
//! - [`wire`]: the versioned protocol agents and clients speak;
//! - [`backend`]: what the server needs of the engine, passed in by the
//!   binary (the server itself never links the engine);
//! - `hub`: the dispatcher task that owns agents and runs in flight;
//! - `store`: tokens, agents, runs, snapshots and results (SQLite in WAL
//!   mode, or PostgreSQL);
//! - `api`: the health probe and the WebSocket endpoints, behind tokens;
//! - `queue`: the job queue's rule; `jobs_api`: its HTTP JSON API (jobs
//!   and schedules);
//! - `tls`: rustls on the same port.
//!
//! The server is never on the hot path: agents measure, and send one
//! snapshot a second.

mod api;
pub mod backend;
pub mod dashboard;
mod gate;
mod hub;
mod jobs_api;
mod notify;
mod notify_api;
pub mod policy;
mod queue;
mod repos;
mod repos_api;
mod router;
mod sealed;
mod state;
mod store;
mod tls;
pub mod token;
mod users;
mod web;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use hub::{HubConfig, LiveMetrics};
pub use notify::{NotifyConfig, NotifyError};
pub use sealed::SealError;

pub use store::{StoreAt, StoreError};
pub use tls::TlsError;
pub use users::UserRole;

use backend::PlanBackend;
use store::Store;
use token::Role;

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: String,
    /// Where the store is: SQLite in a directory, or PostgreSQL.
    pub store: StoreAt,
    /// PEM certificate chain and key: TLS on the port.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub hub: HubConfig,
    /// How long a host's ownership proof stands before a run re-checks it.
    pub ownership_ttl: std::time::Duration,
    /// Client tokens are trusted with any target (a server one team uses):
    /// no network policy and no ownership proof; quotas still apply.
    pub trust_clients: bool,
    /// Email and webhook notifications when runs end.
    pub notify: NotifyConfig,
    /// Where repositories are checked out and the secret key file is kept
    /// (`--data-dir`); the SQLite store's directory when not given.
    pub work_dir: Option<PathBuf>,
}

/// The server could not start or went down.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// Creates the store at `at` and returns the first admin token (to print
/// once).
pub async fn init(at: &StoreAt) -> Result<String, StoreError> {
    let store = Store::open(at, true).await?;
    if store.has_admin().await? {
        return Err(StoreError::AlreadyInitialised(at.describe()));
    }
    store.create_token("admin", Role::Admin).await
}

/// Adds a token for `name` with `role` to the store (created if there is
/// none yet): a fresh random one, returned to be shown once, or `given`
/// (from a secret store), registered unless it is already.
pub async fn create_token(
    at: &StoreAt,
    name: &str,
    role: Role,
    given: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let store = Store::open(at, true).await?;
    match given {
        Some(token) => store.register_token(name, role, token).await.map(|()| None),
        None => store.create_token(name, role).await.map(Some),
    }
}

/// Adds a user of the web UI (or with `replace`, sets the role and
/// password of one), creating the store if there is none yet.
pub async fn create_user(
    at: &StoreAt,
    name: &str,
    role: UserRole,
    password: &str,
    replace: bool,
) -> Result<(), StoreError> {
    if !users::valid_name(name) {
        return Err(StoreError::Malformed(format!(
            "{name:?} is not a user name: 1 to 64 letters, digits, '-', '_', '.' or '@'"
        )));
    }
    if password.chars().count() < users::password::MIN_LENGTH {
        return Err(StoreError::Password(format!(
            "a password has at least {} characters",
            users::password::MIN_LENGTH
        )));
    }
    let store = Store::open(at, true).await?;
    let hash = users::password::hash(password).map_err(|e| StoreError::Password(e.to_string()))?;
    store.put_user(name, role, &hash, replace).await
}

/// Opens (`allow`) or closes a network for `user`, in the store at
/// `at` (as `pummel server network` does, with or without a server
/// running); returns the user's networks after.
pub async fn set_network(
    at: &StoreAt,
    user: &str,
    cidr: policy::Cidr,
    allow: bool,
) -> Result<Vec<policy::Cidr>, StoreError> {
    let store = Store::open(at, false).await?;
    store.set_network(user, cidr, allow).await?;
    store.allowed_networks(user).await
}

/// `user`'s allowed networks.
pub async fn networks(at: &StoreAt, user: &str) -> Result<Vec<policy::Cidr>, StoreError> {
    Store::open(at, false).await?.allowed_networks(user).await
}

/// Sets `user`'s quota (replacing it whole).
pub async fn set_quota(at: &StoreAt, user: &str, quota: &policy::Quota) -> Result<(), StoreError> {
    Store::open(at, false).await?.set_quota(user, quota).await
}

/// `user`'s quota (the default, unlimited, when none was set).
pub async fn quota(at: &StoreAt, user: &str) -> Result<policy::Quota, StoreError> {
    Ok(Store::open(at, false)
        .await?
        .quota(user)
        .await?
        .unwrap_or_default())
}

/// Binds the port; `on_listening` is told the address (port 0 picks one),
/// then serves until the process ends.
pub async fn serve(
    config: ServerConfig,
    backend: Arc<dyn PlanBackend>,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let store = Arc::new(Store::open(&config.store, false).await?);
    // Runs in flight when the server went down are interrupted: what they
    // received is kept, and their agents' late snapshots still go in.
    store.interrupt_unfinished().await?;
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let work_dir = match (&config.work_dir, &config.store) {
        (Some(dir), _) | (None, StoreAt::Dir(dir)) => dir.clone(),
        // PostgreSQL and no --data-dir: checkouts are scratch; the key must
        // then come from PUMMEL_SECRET_KEY(_FILE) to survive a restart.
        (None, StoreAt::Url(_)) => std::env::temp_dir().join("pummel-server"),
    };
    let sealer = Arc::new(sealed::Sealer::from_env_or_dir(&work_dir)?);
    let notifier = Arc::new(notify::Notifier::new(
        store.clone(),
        sealer.clone(),
        &config.notify,
    )?);
    let hub = hub::start(store.clone(), backend.clone(), config.hub);
    notifier.start(hub.ended());
    let repos = Arc::new(repos::Repos::new(
        store.clone(),
        hub.clone(),
        backend.clone(),
        sealer,
        &work_dir,
        (config.ownership_ttl, config.trust_clients),
    ));
    repos.start_scheduler();
    let state = state::AppState {
        store,
        hub,
        next_conn: Arc::new(AtomicU64::new(1)),
        web: Arc::new(state::WebState {
            tls: tls.is_some(),
            ..state::WebState::default()
        }),
        backend,
        ownership_ttl: config.ownership_ttl,
        trust_clients: config.trust_clients,
        repos,
    };
    let app = router::router(state)
        // The sign-in limit per client address needs the peer's address.
        .into_make_service_with_connect_info::<tls::Peer>();
    on_listening(local);
    match tls {
        Some(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor).map_err(ServerError::Serve)?;
            axum::serve(listener, app).await.map_err(ServerError::Serve)
        }
        None => axum::serve(listener, app).await.map_err(ServerError::Serve),
    }
}
