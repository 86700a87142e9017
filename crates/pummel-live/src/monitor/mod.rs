//! The monitor (Funkload's): scrapes the system under test's Prometheus
//! endpoints (node_exporter, an application's own `/metrics`) once a second
//! during the run, on a thread of its own, and keeps the series asked for
//! as a timeline beside the run's. A scrape that fails is counted and its
//! reason kept; it never stops the run.

mod flag;
mod scrape;
mod selector;
mod text;
mod watch;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pummel_result::MonitorResult;

pub use scrape::EndpointUrl;
pub use selector::{Matcher, Selector, SelectorError};

use watch::Watch;

/// Series kept per selector (a selector such as `node_cpu_seconds_total`
/// matches one series per CPU and mode); more are counted, not kept.
pub const MAX_SERIES_PER_SELECTOR: usize = 64;

/// Each endpoint is scraped at the run's start and on each whole second
/// after it.
const INTERVAL: Duration = Duration::from_secs(1);

/// Endpoints one run may watch.
pub const MAX_ENDPOINTS: usize = 16;

/// One series to keep, as a scenario's `monitor:` or `--monitor` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesSpec {
    pub selector: Selector,
    /// Keep the per-second rate of a counter rather than its value.
    pub rate: bool,
    /// Sum every series the selector matches into one.
    pub sum: bool,
    /// A display name.
    pub name: Option<String>,
    /// One of the [defaults](SeriesSpec::defaults), which an endpoint may
    /// well lack: when it matches nothing, that is not worth a word. A
    /// series someone named that matches nothing is reported.
    pub optional: bool,
}

impl SeriesSpec {
    /// Parses `sum(rate(SELECTOR))`, `rate(SELECTOR)`, `sum(SELECTOR)` or a
    /// bare selector: the PromQL a user would write for the same series.
    pub fn parse(text: &str) -> Result<SeriesSpec, SelectorError> {
        let trimmed = text.trim();
        let mut inner = trimmed;
        let mut offset = text.len() - text.trim_start().len();
        let (mut sum, mut rate) = (false, false);
        for _ in 0..2 {
            for prefix in ["sum(", "rate("] {
                let Some(rest) = inner.strip_prefix(prefix) else {
                    continue;
                };
                // PromQL rejects rate(sum(…)) too: a sum has no resets of
                // its own, so its "rate" would take a series that vanished
                // for a counter reset.
                if prefix == "sum(" && rate {
                    return Err(SelectorError {
                        message: "rate(sum(…)) is not a rate of each series: write sum(rate(…))"
                            .to_owned(),
                        offset,
                    });
                }
                let Some(body) = rest.trim_end().strip_suffix(')') else {
                    return Err(SelectorError {
                        message: format!("{prefix}…) is not closed"),
                        offset: offset + inner.len(),
                    });
                };
                if prefix == "sum(" {
                    sum = true;
                } else {
                    rate = true;
                }
                offset += prefix.len();
                inner = body;
            }
        }
        let selector = Selector::parse(inner).map_err(|e| SelectorError {
            offset: offset + e.offset,
            ..e
        })?;
        Ok(SeriesSpec {
            selector,
            rate,
            sum,
            name: None,
            optional: false,
        })
    }

    /// The series as PromQL would write it: `sum(rate(metric{…}))`.
    pub fn expression(&self) -> String {
        let mut text = self.selector.text.clone();
        if self.rate {
            text = format!("rate({text})");
        }
        if self.sum {
            text = format!("sum({text})");
        }
        text
    }

    /// Series worth keeping from any Prometheus endpoint when none are
    /// named: a host's CPU, memory and load (node_exporter) and a process's
    /// CPU and memory (every official client library). Those an endpoint
    /// does not have are simply absent.
    pub fn defaults() -> Vec<SeriesSpec> {
        [
            (
                "sum(rate(node_cpu_seconds_total{mode!=\"idle\"}))",
                "CPU busy (cores)",
            ),
            ("node_memory_MemAvailable_bytes", "memory available"),
            ("node_load1", "load 1m"),
            ("rate(process_cpu_seconds_total)", "process CPU (cores)"),
            ("process_resident_memory_bytes", "process memory"),
        ]
        .into_iter()
        .filter_map(|(text, name)| {
            SeriesSpec::parse(text).ok().map(|s| SeriesSpec {
                name: Some(name.to_owned()),
                optional: true,
                ..s
            })
        })
        .collect()
    }
}

/// One endpoint and the series to keep from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorTarget {
    pub url: EndpointUrl,
    pub series: Vec<SeriesSpec>,
}

/// A running monitor; [`finish`](Monitor::finish) stops it and returns
/// what it saw.
#[derive(Debug)]
pub struct Monitor {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<MonitorResult>>,
}

impl Monitor {
    /// Starts scraping `targets` now and then once a second; times count
    /// from `start` (the run's start).
    pub fn start(targets: Vec<MonitorTarget>, start: Instant) -> std::io::Result<Monitor> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pummel-monitor".to_owned())
            .spawn(move || {
                let mut watches: Vec<Watch> = targets.into_iter().map(Watch::new).collect();
                let mut tick: u32 = 0;
                loop {
                    runtime.block_on(scrape_all(&mut watches, start));
                    tick += 1;
                    let next = start + Duration::from_secs(u64::from(tick));
                    match stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        // Asked to stop (or the run is gone): one last
                        // scrape, so the series reach the run's end.
                        _ => {
                            runtime.block_on(scrape_all(&mut watches, start));
                            break;
                        }
                    }
                }
                let mut result = MonitorResult::default();
                for w in watches {
                    w.into_result(&mut result);
                }
                result
            })?;
        Ok(Monitor {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops after one last scrape; returns every series kept.
    pub fn finish(mut self) -> MonitorResult {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

async fn scrape_all(watches: &mut [Watch], start: Instant) {
    let fetches: Vec<_> = watches
        .iter()
        .map(|w| {
            let url = w.target.url.clone();
            tokio::spawn(async move { scrape::fetch(&url).await })
        })
        .collect();
    let t = start.elapsed().as_secs_f64();
    for (watch, fetch) in watches.iter_mut().zip(fetches) {
        let outcome = fetch
            .await
            .unwrap_or_else(|_| Err("the scrape task failed".to_owned()));
        watch.scraped(t, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_expressions_peel_sum_and_rate() {
        let s = SeriesSpec::parse(r#"sum(rate(node_cpu_seconds_total{mode="idle"}))"#).unwrap();
        assert!(s.sum && s.rate);
        assert_eq!(s.selector.metric, "node_cpu_seconds_total");
        assert_eq!(
            s.expression(),
            r#"sum(rate(node_cpu_seconds_total{mode="idle"}))"#
        );
        let s = SeriesSpec::parse("rate(x)").unwrap();
        assert!(s.rate && !s.sum);
        let e = SeriesSpec::parse("rate(x{a=b})").unwrap_err();
        assert_eq!(e.offset, 9, "{e:?}");
        let e = SeriesSpec::parse(" rate(sum(x))").unwrap_err();
        assert!(e.message.contains("sum(rate(…))"), "{e}");
        assert_eq!(e.offset, 6, "{e:?}");
        assert_eq!(SeriesSpec::defaults().len(), 5);
    }
}
