//! `pummel run --dashboard`: the server's live run page for a local run,
//! with no server, no store and no sign-in — served on a loopback address
//! while the run lasts, as k6's web dashboard is.
//!
//! The binary feeds it each merged second ([`Dashboard::point`]) from the
//! run's progress callback and says how the run ended ([`Dashboard::end`]);
//! pages follow over the same Server-Sent Events as the server's run page,
//! drawn by the same template and script. Its stop button (behind a random
//! form token, so another site cannot post it) calls the binary's stop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::Stream;
use pummel_result::TimelinePoint;
use tokio::sync::{oneshot, watch};

use crate::users::session;
use crate::web::{dashboard_assets, page};

/// The dashboard could not start.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("--dashboard {addr}: only a loopback address (127.0.0.0/8 or [::1]) may serve it: the page has no sign-in")]
    NotLoopback { addr: SocketAddr },
    #[error("--dashboard {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("--dashboard: {0}")]
    Start(String),
}

#[derive(Default)]
struct Timeline {
    points: Vec<TimelinePoint>,
    /// The run's end: its state and exit code.
    ended: Option<(String, i32)>,
}

struct Shared {
    test: String,
    scenario: String,
    started: String,
    token: String,
    timeline: Mutex<Timeline>,
    /// Bumped at each change; streams wait on it.
    changed: watch::Sender<u64>,
    on_stop: Box<dyn Fn() + Send + Sync>,
}

/// A running dashboard; dropping it stops serving.
pub struct Dashboard {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    /// Tells the server to stop accepting and to close each connection
    /// once its response is done.
    shutdown: Option<oneshot::Sender<()>>,
    /// The server's task: it ends when every connection has closed.
    serving: Option<tokio::task::JoinHandle<()>>,
}

impl Dashboard {
    /// Serves the dashboard of a run of `test` (its scenario `text`) on
    /// `addr` (port 0 picks one), on a thread of its own; `on_stop` is what
    /// the stop button does.
    pub fn start(
        addr: SocketAddr,
        test: &str,
        text: &str,
        on_stop: Box<dyn Fn() + Send + Sync>,
    ) -> Result<Dashboard, DashboardError> {
        if !addr.ip().is_loopback() {
            return Err(DashboardError::NotLoopback { addr });
        }
        let token = session::secret().map_err(|e| DashboardError::Start(e.to_string()))?;
        let shared = Arc::new(Shared {
            test: test.to_owned(),
            scenario: text.to_owned(),
            started: page::when(crate::store::unix_now()),
            token,
            timeline: Mutex::new(Timeline::default()),
            changed: watch::channel(0).0,
            on_stop,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pummel-dashboard")
            .enable_all()
            .build()
            .map_err(|e| DashboardError::Start(e.to_string()))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|source| DashboardError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| DashboardError::Bind { addr, source })?;
        let app = Router::new()
            .route("/", get(dashboard_page))
            .route("/events", get(events))
            .route("/stop", post(stop))
            .route("/assets/{file}", get(dashboard_assets))
            .with_state(shared.clone());
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let serving = runtime.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown_signal.await;
                })
                .await;
        });
        Ok(Dashboard {
            shared,
            addr: bound,
            runtime: Some(runtime),
            shutdown: Some(shutdown),
            serving: Some(serving),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// One merged second of the run.
    pub fn point(&self, point: &TimelinePoint) {
        self.shared
            .timeline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .points
            .push(point.clone());
        self.shared.changed.send_modify(|n| *n += 1);
    }

    /// The run ended: pages say so, then their streams close. Waits (at
    /// most `grace`) until every open connection has been written out and
    /// closed, so the last thing a watcher sees is the verdict, not a
    /// dropped connection: an event handed to the server is only on the
    /// wire once its connection's task has flushed it, which is why this
    /// waits for the server itself rather than for the streams.
    pub fn end(mut self, state: &str, exit_code: i32, grace: Duration) {
        self.shared
            .timeline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ended = Some((state.to_owned(), exit_code));
        self.shared.changed.send_modify(|n| *n += 1);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let (Some(runtime), Some(serving)) = (self.runtime.take(), self.serving.take()) {
            runtime.block_on(async {
                let _ = tokio::time::timeout(grace, serving).await;
            });
            runtime.shutdown_background();
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[derive(Template)]
#[template(path = "web/dashboard.html")]
struct DashboardPage<'a> {
    test: &'a str,
    scenario: &'a str,
    started: &'a str,
    state: &'a str,
    message: &'a str,
    finished: bool,
    has_result: bool,
    stop_url: &'a str,
    form_token: &'a str,
    report_url: &'a str,
    result_url: &'a str,
    events_url: &'a str,
    version: &'a str,
}

async fn dashboard_page(State(shared): State<Arc<Shared>>) -> Response {
    let ended = shared
        .timeline
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .ended
        .clone();
    page::render(&DashboardPage {
        test: &shared.test,
        scenario: &shared.scenario,
        started: &shared.started,
        state: ended.as_ref().map_or("running", |(s, _)| s.as_str()),
        message: "",
        finished: ended.is_some(),
        has_result: false,
        stop_url: "/stop",
        form_token: &shared.token,
        report_url: "",
        result_url: "",
        events_url: "/events",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The points so far, then each new one, then `ended`.
async fn events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changed = shared.changed.subscribe();
    let stream = futures_util::stream::unfold(
        (shared, changed, 0usize, false),
        |(shared, mut changed, sent, done)| async move {
            if done {
                return None;
            }
            loop {
                let next = {
                    let timeline = shared
                        .timeline
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    match (timeline.points.get(sent), &timeline.ended) {
                        (Some(point), _) => Some((point_event(point), false)),
                        (None, Some((state, code))) => Some((
                            Event::default().event("ended").data(
                                serde_json::json!({ "state": state, "exit_code": code })
                                    .to_string(),
                            ),
                            true,
                        )),
                        (None, None) => None,
                    }
                };
                if let Some((event, last)) = next {
                    return Some((Ok(event), (shared, changed, sent + 1, last)));
                }
                if changed.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

fn point_event(point: &TimelinePoint) -> Event {
    Event::default()
        .event("point")
        .data(serde_json::to_string(point).unwrap_or_else(|_| "null".to_owned()))
}

async fn stop(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fields = crate::web::Fields::parse(&body);
    if !session::csrf_matches(&shared.token, fields.get("csrf")) {
        return page::PageError::Csrf.into_response();
    }
    (shared.on_stop)();
    Redirect::to("/").into_response()
}
