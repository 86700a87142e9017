//! pummel's live metrics: what a run shows the outside world while it goes
//! on, built from the merged figures the coordinator already has once a
//! second — never on the hot path.
//!
//! - [`LiveFigures`]: a run's cumulative figures per step, from the
//!   coordinator's totals or, at the end, from the result itself;
//! - [`series`]: the series they become, named once;
//! - [`MetricsEndpoint`] (`--metrics-listen`): a Prometheus / OpenMetrics
//!   scrape endpoint on its own thread; [`Published`] and [`respond`] for a
//!   server that mounts it on its own router;
//! - [`PublishedRuns`] and [`RunsEndpoint`] (`pummel server
//!   --metrics-listen`): many runs' figures at once, each series labelled
//!   with its `run`;
//! - [`RemoteWriter`] (`--out prometheus-rw=URL`): Prometheus remote write;
//! - [`JsonLines`] (`--out-stream`): one JSON line per second;
//! - [`monitor`]: the system under test's own metrics, scraped each second
//!   into the result (`monitor:` in a scenario, `--monitor`).
//!
//! It depends on `pummel-result` only, so a server that merges agents'
//! snapshots publishes the same series without the engine.

pub mod endpoint;
pub mod exposition;
pub mod figures;
pub mod monitor;
pub mod remote_write;
pub mod runs;
pub mod series;
pub mod stream;

pub use endpoint::{respond, EndpointError, MetricsEndpoint, Published, RunsEndpoint, Scrape};
pub use figures::{LiveFigures, StepFigures};
pub use monitor::{Monitor, MonitorTarget, SeriesSpec};
pub use remote_write::{
    RemoteWriteError, RemoteWriteReport, RemoteWriteUrl, RemoteWriter, FINISH_GRACE,
};
pub use runs::PublishedRuns;
pub use stream::JsonLines;
