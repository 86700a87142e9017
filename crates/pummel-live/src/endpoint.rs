//! The scrape endpoint: a small HTTP server on its own thread and runtime,
//! far from the load's threads, that answers `GET /metrics` with the
//! figures last published.
//!
//! The run publishes once a second from the coordinator's side; a scrape
//! only renders what was published, so a scraper never touches the
//! workers. [`Published`] and [`respond`] are what another server (such
//! as `pummel server`) mounts on its own router instead of starting this
//! one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use crate::exposition::{render, Format};
use crate::figures::LiveFigures;
use crate::runs::PublishedRuns;
use crate::series::{families, Family};

/// The figures last published, shared between the run and the endpoint.
#[derive(Clone, Debug, Default)]
pub struct Published(Arc<Mutex<Arc<LiveFigures>>>);

impl Published {
    pub fn new() -> Published {
        Published::default()
    }

    /// Replaces what scrapes see.
    pub fn publish(&self, figures: LiveFigures) {
        // A poisoned lock only means a scrape panicked mid-read; the value
        // is still whole (it is replaced, never edited in place).
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(figures);
    }

    /// What scrapes see now.
    pub fn current(&self) -> Arc<LiveFigures> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What an endpoint serves: the families a scrape renders.
pub trait Scrape: Clone + Send + Sync + 'static {
    fn families(&self) -> Vec<Family>;
}

impl Scrape for Published {
    fn families(&self) -> Vec<Family> {
        families(&self.current())
    }
}

impl Scrape for PublishedRuns {
    fn families(&self) -> Vec<Family> {
        PublishedRuns::families(self)
    }
}

/// The answer to one request: `GET /metrics` (or `/`) renders the figures
/// in the format the `Accept` header asks for; anything else is 404 or 405.
pub fn respond<B>(published: &impl Scrape, request: &Request<B>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if path != "/metrics" && path != "/" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    let format = Format::negotiate(
        request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let text = render(&published.families(), format);
    let mut response = Response::new(Full::new(Bytes::from(text)));
    if let Ok(value) = header::HeaderValue::from_str(format.content_type()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("cannot listen on {addr} for metrics: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the metrics endpoint's thread: {0}")]
    Thread(std::io::Error),
}

/// A running endpoint; stops when dropped or [`stop`](MetricsEndpoint::stop)ped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    serving: Serving,
    published: Published,
}

impl MetricsEndpoint {
    /// Binds `addr` now (so a taken port is an error before the run starts)
    /// and serves on a thread of its own.
    pub fn start(addr: SocketAddr) -> Result<MetricsEndpoint, EndpointError> {
        let published = Published::new();
        let serving = Serving::start(addr, published.clone())?;
        Ok(MetricsEndpoint { serving, published })
    }

    /// The address it listens on (the port chosen when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.serving.addr
    }

    pub fn published(&self) -> &Published {
        &self.published
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.serving.shut();
    }
}

/// The endpoint of a server that coordinates many runs at once
/// (`pummel server --metrics-listen`): every series carries a `run` label.
#[derive(Debug)]
pub struct RunsEndpoint {
    serving: Serving,
    runs: PublishedRuns,
}

impl RunsEndpoint {
    /// Binds `addr` now and serves on a thread of its own.
    pub fn start(addr: SocketAddr) -> Result<RunsEndpoint, EndpointError> {
        let runs = PublishedRuns::new();
        let serving = Serving::start(addr, runs.clone())?;
        Ok(RunsEndpoint { serving, runs })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.serving.addr
    }

    /// Where the coordinator publishes each run's figures.
    pub fn runs(&self) -> &PublishedRuns {
        &self.runs
    }
}

/// An endpoint's thread; stopped when dropped.
#[derive(Debug)]
struct Serving {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Serving {
    fn start(addr: SocketAddr, source: impl Scrape) -> Result<Serving, EndpointError> {
        let bind = |source| EndpointError::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(EndpointError::Thread)?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("pummel-metrics".to_owned())
            .spawn(move || runtime.block_on(serve(listener, source, stopped)))
            .map_err(EndpointError::Thread)?;
        Ok(Serving {
            addr: local,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    fn shut(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.shut();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    published: impl Scrape,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let published = published.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let response = respond(&published, &request);
                        async move { Ok::<_, std::convert::Infallible>(response) }
                    });
                    // A scraper that hangs up early is its own business.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}
