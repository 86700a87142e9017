//! The monitor (Funkload's): scrapes the system under test's Prometheus
//! endpoints (node_exporter, an application's own `/metrics`) once a second
//! during the run, on a thread of its own, and keeps the series asked for
//! as a timeline beside the run's. A scrape that fails is counted and its
//! reason kept; it never stops the run.

mod scrape;
mod selector;
mod text;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pummel_result::{MonitorEndpoint, MonitorResult, MonitorSeries};

pub use scrape::EndpointUrl;
pub use selector::{Matcher, Selector, SelectorError};

/// Series kept per selector (a selector such as `node_cpu_seconds_total`
/// matches one series per CPU and mode); more are counted, not kept.
pub const MAX_SERIES_PER_SELECTOR: usize = 64;

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
            for (prefix, flag) in [("sum(", &mut sum), ("rate(", &mut rate)] {
                if let Some(rest) = inner.strip_prefix(prefix) {
                    let Some(body) = rest.trim_end().strip_suffix(')') else {
                        return Err(SelectorError {
                            message: format!("{prefix}…) is not closed"),
                            offset: offset + inner.len(),
                        });
                    };
                    *flag = true;
                    offset += prefix.len();
                    inner = body;
                }
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

/// One endpoint's state across scrapes.
struct Watch {
    target: MonitorTarget,
    endpoint: MonitorEndpoint,
    /// Per spec: its series by labels (one key, empty, when summed).
    series: Vec<BTreeMap<BTreeMap<String, String>, Tracked>>,
}

/// One kept series: its points and, for a rate, the last raw value.
#[derive(Default)]
struct Tracked {
    points: Vec<(f64, f64)>,
    last: Option<(f64, f64)>,
}

impl Tracked {
    fn observe(&mut self, t: f64, value: f64, rate: bool) {
        if !rate {
            self.points.push((t, value));
            return;
        }
        if let Some((t0, v0)) = self.last {
            let dt = t - t0;
            if dt > 0.0 {
                // A counter that went down was reset: it counted from zero.
                let delta = if value >= v0 { value - v0 } else { value };
                self.points.push((t, delta / dt));
            }
        }
        self.last = Some((t, value));
    }
}

impl Watch {
    fn new(target: MonitorTarget) -> Watch {
        Watch {
            endpoint: MonitorEndpoint {
                url: target.url.as_str(),
                ..MonitorEndpoint::default()
            },
            series: target.series.iter().map(|_| BTreeMap::new()).collect(),
            target,
        }
    }

    fn record(&mut self, t: f64, body: &str) {
        let (samples, _unparsed) = text::parse(body);
        for (spec, kept) in self.target.series.iter().zip(&mut self.series) {
            let matching = samples
                .iter()
                .filter(|s| spec.selector.matches(&s.metric, &s.labels));
            if spec.sum {
                let mut any = false;
                let total: f64 = matching.inspect(|_| any = true).map(|s| s.value).sum();
                if any {
                    kept.entry(BTreeMap::new())
                        .or_default()
                        .observe(t, total, spec.rate);
                }
                continue;
            }
            for s in matching {
                if !kept.contains_key(&s.labels) && kept.len() >= MAX_SERIES_PER_SELECTOR {
                    self.endpoint.series_dropped += 1;
                    continue;
                }
                kept.entry(s.labels.clone())
                    .or_default()
                    .observe(t, s.value, spec.rate);
            }
        }
    }

    fn into_result(self, result: &mut MonitorResult) {
        let url = self.endpoint.url.clone();
        for (spec, kept) in self.target.series.iter().zip(self.series) {
            for (labels, tracked) in kept {
                result.series.push(MonitorSeries {
                    endpoint: url.clone(),
                    selector: spec.selector.text.clone(),
                    name: spec.name.clone().unwrap_or_else(|| {
                        if spec.sum || labels.is_empty() {
                            spec.expression()
                        } else {
                            let l: Vec<String> =
                                labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                            format!("{} {{{}}}", spec.selector.metric, l.join(","))
                        }
                    }),
                    metric: spec.selector.metric.clone(),
                    labels,
                    rate: spec.rate,
                    sum: spec.sum,
                    points: tracked.points,
                });
            }
        }
        result.endpoints.push(self.endpoint);
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
        watch.endpoint.scrapes += 1;
        let body = fetch
            .await
            .unwrap_or_else(|_| Err("the scrape task failed".to_owned()));
        match body {
            Ok(body) => watch.record(t, &body),
            Err(e) => {
                watch.endpoint.failed += 1;
                watch.endpoint.last_error = Some(e);
            }
        }
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
        assert_eq!(SeriesSpec::defaults().len(), 5);
    }

    #[test]
    fn rates_survive_counter_resets_and_sums_add_up() {
        let spec = |text: &str| SeriesSpec::parse(text).unwrap();
        let mut w = Watch::new(MonitorTarget {
            url: EndpointUrl::parse("http://127.0.0.1:1/metrics").unwrap(),
            series: vec![spec("sum(rate(c))"), spec("g{k!=\"b\"}")],
        });
        w.record(
            0.0,
            "c{k=\"a\"} 10\nc{k=\"b\"} 10\ng{k=\"a\"} 1\ng{k=\"b\"} 2\n",
        );
        w.record(2.0, "c{k=\"a\"} 14\nc{k=\"b\"} 10\ng{k=\"a\"} 3\n");
        w.record(3.0, "c{k=\"a\"} 1\nc{k=\"b\"} 1\n");
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].points, vec![(2.0, 2.0), (3.0, 2.0)]);
        assert_eq!(r.series[1].points, vec![(0.0, 1.0), (2.0, 3.0)]);
        assert_eq!(r.series[1].labels["k"], "a");
    }
}
