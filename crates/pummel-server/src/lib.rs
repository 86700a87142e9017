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
mod notify;
mod repos;
mod sealed;
mod store;
mod tls;
pub mod token;
pub mod wire;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use hub::HubConfig;
pub use notify::{NotifyConfig, NotifyError};
pub use sealed::SealError;
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
    /// Email and webhook notifications when runs end.
    pub notify: NotifyConfig,
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
    let sealer = Arc::new(sealed::Sealer::from_env_or_dir(&config.data_dir)?);
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
        backend,
        sealer,
        &config.data_dir,
    ));
    repos.start_scheduler();
    let app = api::router(api::AppState {
        store,
        hub,
        next_conn: Arc::new(AtomicU64::new(1)),
        repos,
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
