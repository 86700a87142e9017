//! pummel's server: one process, one port — the HTTP API and the agent hub
//! over WebSocket — with its state in an embedded store.
//!
//! - [`wire`]: the versioned protocol agents and clients speak;
//! - [`backend`]: what the server needs of the engine, passed in by the
//!   binary (the server itself never links the engine);
//! - `hub`: the dispatcher task that owns agents and runs in flight;
//! - `store`: tokens, agents, runs, snapshots and results (SQLite, WAL);
//! - `api`: the health probe and the WebSocket endpoints, behind tokens;
//! - `tls`: rustls on the same port.
//!
//! The server is never on the hot path: agents measure, and send one
//! snapshot a second.

mod api;
pub mod backend;
mod hub;
pub mod policy;
mod store;
mod tls;
pub mod token;
pub mod wire;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use hub::{HubConfig, LiveMetrics};
pub use store::StoreError;
pub use tls::TlsError;

use backend::PlanBackend;
use store::sqlite::SqliteStore;
use store::Store as _;
use token::Role;

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    /// PEM certificate chain and key: TLS on the port.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub hub: HubConfig,
    /// How long a host's ownership proof stands before a run re-checks it.
    pub ownership_ttl: std::time::Duration,
    /// Client tokens are trusted with any target (a server one team uses):
    /// no network policy and no ownership proof; quotas still apply.
    pub trust_clients: bool,
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
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// Creates the store in `data_dir` and returns the first admin token (to
/// print once).
pub async fn init(data_dir: &Path) -> Result<String, StoreError> {
    let store = SqliteStore::open(data_dir, true).await?;
    if store.has_admin().await? {
        return Err(StoreError::AlreadyInitialised(data_dir.to_path_buf()));
    }
    store.create_token("admin", Role::Admin).await
}

/// Adds a token for `name` with `role` to the store (created if there is
/// none yet): a fresh random one, returned to be shown once, or `given`
/// (from a secret store), registered unless it is already.
pub async fn create_token(
    data_dir: &Path,
    name: &str,
    role: Role,
    given: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let store = SqliteStore::open(data_dir, true).await?;
    match given {
        Some(token) => store.register_token(name, role, token).await.map(|()| None),
        None => store.create_token(name, role).await.map(Some),
    }
}

/// Opens (`allow`) or closes a network for `user`, in the store of
/// `data_dir` (as `pummel server network` does, with or without a server
/// running); returns the user's networks after.
pub async fn set_network(
    data_dir: &Path,
    user: &str,
    cidr: policy::Cidr,
    allow: bool,
) -> Result<Vec<policy::Cidr>, StoreError> {
    let store = SqliteStore::open(data_dir, false).await?;
    store.set_network(user, cidr, allow).await?;
    store.allowed_networks(user).await
}

/// `user`'s allowed networks.
pub async fn networks(data_dir: &Path, user: &str) -> Result<Vec<policy::Cidr>, StoreError> {
    SqliteStore::open(data_dir, false)
        .await?
        .allowed_networks(user)
        .await
}

/// Sets `user`'s quota (replacing it whole).
pub async fn set_quota(
    data_dir: &Path,
    user: &str,
    quota: &policy::Quota,
) -> Result<(), StoreError> {
    SqliteStore::open(data_dir, false)
        .await?
        .set_quota(user, quota)
        .await
}

/// `user`'s quota (the default, unlimited, when none was set).
pub async fn quota(data_dir: &Path, user: &str) -> Result<policy::Quota, StoreError> {
    Ok(SqliteStore::open(data_dir, false)
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
    let store = Arc::new(SqliteStore::open(&config.data_dir, false).await?);
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
    let hub = hub::start(store.clone(), backend.clone(), config.hub);
    let app = api::router(api::AppState {
        store,
        hub,
        next_conn: Arc::new(AtomicU64::new(1)),
        backend,
        ownership_ttl: config.ownership_ttl,
        trust_clients: config.trust_clients,
    });
    on_listening(local);
    match tls {
        Some(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor).map_err(ServerError::Serve)?;
            axum::serve(listener, app).await.map_err(ServerError::Serve)
        }
        None => axum::serve(listener, app).await.map_err(ServerError::Serve),
    }
}
