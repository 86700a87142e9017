//! What a run shows the outside world while it goes on: the metrics
//! endpoint (`--metrics-listen`), remote write (`--out prometheus-rw=URL`),
//! the JSON-lines stream (`--out-stream`), and the monitor of the system
//! under test (`monitor:`, `--monitor`), whose series join the result.
//!
//! Everything here is fed from the progress callback, once a second, with
//! the figures the coordinator has already merged; the last word comes from
//! the result itself, so what a scraper last sees equals the result file.

use std::time::{Duration, Instant};

use pummel_core::result::RunResult;
use pummel_core::{Progress, StopSignal};
use pummel_live::monitor::MAX_SERIES_PER_SELECTOR;
use pummel_live::{JsonLines, LiveFigures, MetricsEndpoint, Monitor, MonitorTarget, RemoteWriter};

use crate::cli::{LiveArgs, OutputArgs};
use crate::exit::Failure;
use crate::output::stderr::say;

/// The live outputs of one run.
#[derive(Default)]
pub(crate) struct Live {
    endpoint: Option<MetricsEndpoint>,
    linger: Duration,
    writers: Vec<RemoteWriter>,
    stream: Option<JsonLines>,
    monitor: Option<Monitor>,
}

impl Live {
    /// Starts what `live` and `output` ask for, monitoring `targets`: the
    /// endpoint is bound and the stream file created before the first
    /// request, so a taken port or an unwritable path is a usage error.
    pub(crate) fn start(
        live: Option<&LiveArgs>,
        output: &OutputArgs,
        targets: Vec<MonitorTarget>,
    ) -> Result<Live, Failure> {
        let mut this = Live::default();
        if let Some(live) = live {
            if let Some(addr) = live.metrics_listen {
                let endpoint =
                    MetricsEndpoint::start(addr).map_err(|e| Failure::usage(e.to_string()))?;
                say(format_args!(
                    "pummel: metrics at http://{}/metrics",
                    endpoint.addr()
                ));
                this.endpoint = Some(endpoint);
                this.linger = live.metrics_linger;
            }
            if let Some(path) = &live.out_stream {
                let stream = JsonLines::create(path).map_err(|e| {
                    Failure::usage(format!(
                        "--out-stream: cannot create {}: {e}",
                        path.display()
                    ))
                })?;
                this.stream = Some(stream);
            }
        }
        let remote_writes: Vec<_> = output.remote_writes().collect();
        if !remote_writes.is_empty() {
            let run = local_run_id();
            say(format_args!(
                "pummel: remote write labels this run's series run=\"{run}\""
            ));
            for url in remote_writes {
                let writer = RemoteWriter::start(url.clone(), &run)
                    .map_err(|e| Failure::runtime(e.to_string()))?;
                this.writers.push(writer);
            }
        }
        if !targets.is_empty() {
            let monitor = Monitor::start(targets, Instant::now())
                .map_err(|e| Failure::runtime(format!("cannot start the monitor: {e}")))?;
            this.monitor = Some(monitor);
        }
        Ok(this)
    }

    fn publishes(&self) -> bool {
        self.endpoint.is_some() || !self.writers.is_empty()
    }

    /// Publishes every step of `layout` at zero, before the first second
    /// closes (see [`LiveFigures::zero`]).
    pub(crate) fn announce(&mut self, layout: &pummel_result::MetricLayout) {
        if self.publishes() {
            self.publish(LiveFigures::zero(layout));
        }
    }

    /// One closed second.
    pub(crate) fn progress(&mut self, p: &Progress<'_>) {
        if let Some(stream) = &mut self.stream {
            stream.second(p.last);
        }
        if !self.publishes() {
            return;
        }
        let figures = LiveFigures::from_totals(
            p.layout,
            p.per_key,
            p.counters,
            &p.last.gauges,
            p.elapsed.as_secs_f64(),
        );
        self.publish(figures);
    }

    fn publish(&mut self, figures: LiveFigures) {
        for writer in &mut self.writers {
            writer.push(figures.clone());
        }
        if let Some(endpoint) = &self.endpoint {
            endpoint.published().publish(figures);
        }
    }

    /// The run has ended: the monitor's series join `result`, the result's
    /// figures are published and pushed one last time, the stream closes.
    /// What failed on the way is said, never fatal. Returns what lingers.
    pub(crate) fn end(mut self, result: &mut RunResult) -> Lingering {
        if let Some(monitor) = self.monitor.take() {
            let seen = monitor.finish();
            for e in &seen.endpoints {
                if e.failed > 0 {
                    say(format_args!(
                        "pummel: monitor: {} of {} scrapes of {} failed (last: {})",
                        e.failed,
                        e.scrapes,
                        e.url,
                        e.last_error.as_deref().unwrap_or("unknown")
                    ));
                }
                // A typo in a series name would otherwise show only as a
                // chart that is not there.
                if !e.unmatched.is_empty() {
                    say(format_args!(
                        "pummel: monitor: no series of {} matched {}",
                        e.url,
                        e.unmatched.join(", ")
                    ));
                }
                if e.series_dropped > 0 {
                    say(format_args!(
                        "pummel: monitor: {} series of {} were not kept: at most {MAX_SERIES_PER_SELECTOR} per selector",
                        e.series_dropped, e.url
                    ));
                }
            }
            result.monitor = Some(seen);
        }
        if let Some(stream) = self.stream.take() {
            if let Err(e) = stream.finish(result) {
                say(format_args!("pummel: --out-stream: {e}"));
            }
        }
        if self.publishes() {
            self.publish(LiveFigures::from_result(result));
        }
        Lingering {
            endpoint: self.endpoint.take(),
            linger: self.linger,
            writers: std::mem::take(&mut self.writers),
        }
    }
}

/// A name for a run on this machine, as a `run` label: when it started (ms since the epoch,
/// hex) and this process, so runs pushing to one receiver at once never share series.
fn local_run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("local-{ms:x}-{}", std::process::id())
}

/// What goes on after the result is written: the pushes still queued, and
/// the endpoint serving the final figures a while longer.
pub(crate) struct Lingering {
    endpoint: Option<MetricsEndpoint>,
    linger: Duration,
    /// They hold the final figures already; a slow receiver must not keep
    /// the result from being written, so they finish here.
    writers: Vec<RemoteWriter>,
}

impl Lingering {
    /// Lets the remote writers finish (within their grace), then keeps
    /// serving for the linger time, counted from now, or until Ctrl-C (a
    /// run that was interrupted has already been asked to stop: a second
    /// Ctrl-C ends the process at once).
    pub(crate) fn wait(self, stop: &StopSignal) {
        let started = Instant::now();
        // Read before the writers finish: a Ctrl-C while they do must end the linger.
        let was_stopped = stop.is_stopped();
        for report in RemoteWriter::finish_all(self.writers, pummel_live::FINISH_GRACE) {
            if report.failed > 0 {
                say(format_args!(
                    "pummel: remote write: {} of {} pushes failed (last: {})",
                    report.failed,
                    report.failed + report.sent,
                    report.last_error.as_deref().unwrap_or("unknown")
                ));
            }
        }
        let Some(endpoint) = self.endpoint else {
            return;
        };
        if self.linger.is_zero() {
            return;
        }
        say(format_args!(
            "pummel: final metrics stay at http://{}/metrics for {} (Ctrl-C ends this)",
            endpoint.addr(),
            humantime::format_duration(self.linger)
        ));
        let deadline = started + self.linger;
        // Nothing to synchronise with: scrapers come when they come. The
        // wait only has to notice Ctrl-C within a blink.
        while Instant::now() < deadline && (was_stopped || !stop.is_stopped()) {
            std::thread::sleep(
                Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now())),
            );
        }
        endpoint.stop();
    }
}
