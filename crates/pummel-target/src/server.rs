//! Binding, the accept loop, one task per connection, and graceful shutdown.
//!
//! Shutdown follows the mini-redis pattern: a `watch` channel tells the accept loop and every
//! connection to stop; the accept loop stops accepting and closes the listener, each connection
//! finishes the requests it has in flight (HTTP/1.1 stops keep-alive, HTTP/2 sends GOAWAY), and the
//! loop waits for the connection tasks to end — at most [`SHUTDOWN_GRACE`], after which the rest
//! are aborted so shutdown is always bounded. Upgraded WebSockets have left their hyper connection;
//! they are told separately, close with 1001 (each within a second), and are waited for within the
//! same grace.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::TargetConfig;
use crate::endpoints::gzip;
use crate::routes;
use crate::server_state::ServerState;

/// How long shutdown waits for in-flight requests before cutting connections. Long enough for any
/// normal request, short enough for Ctrl-C to feel responsive even during a long `/delay` or stall.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Pause after an accept error that is not about one connection (typically running out of file
/// descriptors), so the loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

type Builder = auto::Builder<TokioExecutor>;

/// A running target server. It serves until [`Target::shutdown`] is called or the `Target` is
/// dropped (dropping also stops it gracefully, in the background).
pub struct Target {
    local_addr: SocketAddr,
    state: Arc<ServerState>,
    stop: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl Target {
    /// Binds `config.addr`, spawns the server on the current tokio runtime and returns once the
    /// socket is listening, so a client may connect as soon as this returns.
    ///
    /// The caller provides the runtime: it should be multi-threaded (the server spawns a task per
    /// connection and per HTTP/2 stream) with time and I/O enabled. `config.threads` is not used
    /// here; see [`serve_blocking`].
    pub async fn start(config: TargetConfig) -> io::Result<Target> {
        gzip::init()?;
        let listener = TcpListener::bind(config.addr).await?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(ServerState::new(config.stall, config.challenges.clone()));
        let (stop, stop_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&state), stop_rx));
        Ok(Target {
            local_addr,
            state,
            stop,
            accept_task,
        })
    }

    /// The address the server listens on (with the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Requests that have reached the router since start (counted on arrival, so a request still
    /// in progress is included). Cheap, but meant for tests and reports, not for a hot loop.
    pub fn requests_served(&self) -> u64 {
        self.state.requests_served()
    }

    /// The most `/delay` requests the server held at once since start: a client whose requests
    /// overlapped (over several connections, or as HTTP/2 streams) shows here.
    pub fn peak_delayed(&self) -> u64 {
        self.state.delays.peak()
    }

    /// WebSockets currently open (accepted and not yet closed), all `/ws/` endpoints together. A
    /// socket counts from the moment its 101 response is produced, so it is included as soon as the
    /// client's handshake completes; it stops counting when the server side has finished with it.
    /// One relaxed atomic load.
    pub fn open_websockets(&self) -> u64 {
        self.state.websockets.open_sockets()
    }

    /// Messages skipped by `/ws/broadcast` and `/ws/feed` subscribers that read too slowly and
    /// fell behind (they stay connected and carry on with newer messages).
    pub fn websocket_messages_skipped(&self) -> u64 {
        self.state.websockets.skipped_messages()
    }

    /// Graceful stop: stops accepting (the port is closed when this returns), lets in-flight
    /// requests finish for up to a few seconds, closes idle keep-alive connections, then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        // The accept task only ends by itself, after the bounded drain; a join error would mean it
        // panicked or was cancelled by the runtime shutting down, and either way it has stopped.
        let _ = self.accept_task.await;
    }
}

/// Blocking convenience for the CLI: builds a multi-thread runtime (`config.threads` workers, or one
/// per core), starts the server, calls `on_ready` with its address, serves until Ctrl-C, SIGTERM
/// or SIGHUP, then shuts down gracefully.
///
/// Must not be called from inside a tokio runtime (a runtime cannot block on another); that is
/// reported as an error rather than a panic.
pub fn serve_blocking(config: TargetConfig, on_ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(io::Error::other(
            "serve_blocking called from inside a tokio runtime; use Target::start instead",
        ));
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.threads.filter(|&n| n > 0) {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().thread_name("pummel-target").build()?;
    runtime.block_on(async move {
        // The handlers are in place before anyone learns the address: a
        // script that signals the target as soon as it reads the ready line
        // gets a graceful stop, not the default action of the signal.
        let stop = StopSignals::install()?;
        let target = Target::start(config).await?;
        on_ready(target.local_addr());
        let signal = stop.requested().await;
        target.shutdown().await;
        signal
    })
}

/// Ctrl-C, SIGTERM (`kill`, `docker stop`, a cancelled CI job) and SIGHUP (a
/// closed terminal): each asks for the same graceful stop, which closes the
/// open sockets properly instead of dying with them.
struct StopSignals {
    #[cfg(unix)]
    streams: [tokio::signal::unix::Signal; 3],
}

impl StopSignals {
    fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                streams: [
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                    signal(SignalKind::hangup())?,
                ],
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn requested(self) -> io::Result<()> {
        #[cfg(unix)]
        {
            let [mut interrupt, mut terminate, mut hangup] = self.streams;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    }
}

/// The hyper connection builder: HTTP/1.1 and h2c prior knowledge on the same port (the protocol
/// is chosen from the first bytes of each connection).
fn connection_builder() -> Builder {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        // Answer pipelined requests with one write instead of one per response (wrk -pipeline).
        .pipeline_flush(true)
        // No header-read timeout: it would arm a timer per request (a cost on the hot path) and cut
        // keep-alive connections a load generator leaves idle between phases. This is a test
        // target on trusted networks, not an Internet-facing server.
        .header_read_timeout(None);
    builder
}

/// Accepts connections until told to stop, then drains them (bounded).
async fn accept_loop(
    listener: TcpListener,
    state: Arc<ServerState>,
    mut stop: watch::Receiver<bool>,
) {
    let builder = Arc::new(connection_builder());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // `changed` also fails when the `Target` was dropped: stop in both cases.
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(
                        Arc::clone(&builder),
                        stream,
                        Arc::clone(&state),
                        stop.clone(),
                    ));
                }
                Err(error) => {
                    if !is_per_connection_error(&error) {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                }
            },
            // Reap finished connection tasks so the set does not grow with every connection.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // WebSockets left their hyper connections on upgrade, so they are told separately.
    state.websockets.close_all();

    let drain = async {
        while connections.join_next().await.is_some() {}
        state.websockets.wait_all_closed().await;
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.shutdown().await;
    }
}

/// Errors that concern only the connection being accepted (the client gave up during the
/// handshake): retry immediately.
fn is_per_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Serves one connection until the client closes it or shutdown is requested.
async fn serve_connection(
    builder: Arc<Builder>,
    stream: TcpStream,
    state: Arc<ServerState>,
    mut stop: watch::Receiver<bool>,
) {
    // Small responses must leave at once, not wait for Nagle's algorithm to coalesce them. Failure
    // only costs latency, so it is not worth dropping the connection over.
    let _ = stream.set_nodelay(true);

    // Each request future must own a handle to the shared state. Cloning the server-wide `Arc`
    // per request would make every request on every core increment one reference count (a
    // contended cache line); cloning this per-connection `Arc` instead touches a count only this
    // connection uses.
    let per_connection = Arc::new(state);
    let service = service_fn(move |request| {
        let state = Arc::clone(&per_connection);
        async move { Ok::<_, Infallible>(routes::handle(&state, request).await) }
    });

    // With upgrades, so WebSocket endpoints can be added without touching the connection code.
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        // Connection errors (client reset, malformed request) end this connection only; there is
        // nobody to report them to and logging per connection is off the table for speed.
        _ = connection.as_mut() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
