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

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pummel_result::{MonitorEndpoint, MonitorResult};
use tokio::time::MissedTickBehavior;

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

/// The run's last scrape, started when the run ends, is given this long at
/// most (not [`scrape::TIMEOUT`]): the run's end waits for it, and a hung
/// endpoint should hold that up as little as possible. An endpoint that
/// answers at all answers one GET of its metrics well within it.
const FINAL_TIMEOUT: Duration = Duration::from_millis(500);

/// A running monitor; [`finish`](Monitor::finish) stops it and returns
/// what it saw.
#[derive(Debug)]
pub struct Monitor {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<MonitorResult>>,
}

impl Monitor {
    /// Starts scraping `targets` now and then once a second; times count
    /// from `start` (the run's start).
    pub fn start(targets: Vec<MonitorTarget>, start: Instant) -> std::io::Result<Monitor> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("pummel-monitor".to_owned())
            .spawn(move || runtime.block_on(watch_all(targets, start, stopped)))?;
        Ok(Monitor {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops after one last scrape of each endpoint, within
    /// [`FINAL_TIMEOUT`]; returns every series kept.
    pub fn finish(mut self) -> MonitorResult {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// Whether the run has ended: true once [`Monitor::finish`] is called.
type Stopped = tokio::sync::watch::Receiver<bool>;

/// Resolves once the run has ended, or the [`Monitor`] was dropped.
async fn ended(stopped: &mut Stopped) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Watches every endpoint, each on a task of its own so that a slow or hung
/// one delays no other's scrapes, until the run ends.
async fn watch_all(targets: Vec<MonitorTarget>, start: Instant, stopped: Stopped) -> MonitorResult {
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|target| {
            let url = target.url.as_str();
            let task = tokio::spawn(watch_endpoint(Watch::new(target), start, stopped.clone()));
            (url, task)
        })
        .collect();
    let mut result = MonitorResult::default();
    for (url, task) in tasks {
        match task.await {
            Ok(watch) => watch.into_result(&mut result),
            // Not expected; the endpoint is still listed, with why it has
            // nothing.
            Err(e) => result.endpoints.push(MonitorEndpoint {
                url,
                last_error: Some(format!("the monitor's task failed: {e}")),
                ..MonitorEndpoint::default()
            }),
        }
    }
    result
}

/// Scrapes one endpoint at `start` and on each whole second after it until
/// the run ends, then once more, so its series reach the run's end.
async fn watch_endpoint(mut watch: Watch, start: Instant, mut stopped: Stopped) -> Watch {
    let url = watch.target.url.clone();
    let mut ticks = tokio::time::interval_at(start.into(), INTERVAL);
    // A scrape that ran long skips the seconds it missed rather than
    // scraping them back to back.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            () = ended(&mut stopped) => break,
            _ = ticks.tick() => {}
        }
        let t = start.elapsed().as_secs_f64();
        tokio::select! {
            biased;
            // A scrape under way when the run ends is abandoned: the final
            // one replaces it, so the end waits for FINAL_TIMEOUT at most,
            // not for this one's TIMEOUT and then the final one's.
            () = ended(&mut stopped) => break,
            outcome = scrape::fetch(&url, scrape::TIMEOUT) => watch.scraped(t, outcome),
        }
    }
    let t = start.elapsed().as_secs_f64();
    watch.scraped(t, scrape::fetch(&url, FINAL_TIMEOUT).await);
    watch
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    fn url_of(listener: &TcpListener) -> EndpointUrl {
        let addr = listener.local_addr().unwrap();
        EndpointUrl::parse(&format!("http://{addr}/metrics")).unwrap()
    }

    /// An endpoint that accepts connections and never answers; each
    /// connection accepted is told on the channel.
    fn hung_endpoint() -> (EndpointUrl, mpsc::Receiver<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url_of(&listener);
        let (accepted, told) = mpsc::channel();
        std::thread::spawn(move || {
            let mut open = Vec::new();
            for stream in listener.incoming().flatten() {
                open.push(stream);
                if accepted.send(()).is_err() {
                    break;
                }
            }
        });
        (url, told)
    }

    /// An endpoint that answers every GET with `up 1`.
    fn live_endpoint() -> EndpointUrl {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url_of(&listener);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut request = BufReader::new(&stream);
                let mut line = String::new();
                while request.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
                      Content-Length: 5\r\nConnection: close\r\n\r\nup 1\n",
                );
            }
        });
        url
    }

    #[test]
    fn a_hung_endpoint_holds_up_neither_the_runs_end_nor_another_endpoints_last_scrape() {
        let (hung, accepted) = hung_endpoint();
        let live = live_endpoint();
        let series = vec![SeriesSpec::parse("up").unwrap()];
        let start = Instant::now();
        let monitor = Monitor::start(
            vec![
                MonitorTarget {
                    url: hung,
                    series: series.clone(),
                },
                MonitorTarget { url: live, series },
            ],
            start,
        )
        .unwrap();
        // The hung endpoint's first scrape is under way once its connection
        // is accepted. The run ends now: the end must not wait out that
        // scrape's timeout, then the final scrape's.
        accepted
            .recv_timeout(Duration::from_secs(10))
            .expect("the monitor scrapes at the run's start");
        let ended_at = start.elapsed();
        let result = monitor.finish();
        let took = start.elapsed() - ended_at;
        assert!(took < scrape::TIMEOUT, "the run's end waited {took:?}");
        let [hung, live] = &result.endpoints[..] else {
            panic!("two endpoints: {result:?}");
        };
        assert_eq!((hung.scrapes, hung.failed), (1, 1), "{hung:?}");
        assert_eq!(hung.last_error.as_deref(), Some("timed out after 500 ms"));
        assert_eq!(live.failed, 0, "{live:?}");
        // The live endpoint's last scrape started when the run ended, not
        // once the hung one's scrape had timed out.
        let (last, _) = result
            .series
            .iter()
            .find(|s| s.endpoint == live.url)
            .and_then(|s| s.points.last().copied())
            .expect("the live endpoint's series");
        let ended_at = ended_at.as_secs_f64();
        assert!(
            (ended_at..ended_at + FINAL_TIMEOUT.as_secs_f64()).contains(&last),
            "last scrape at {last:.3} s, the run ended at {ended_at:.3} s"
        );
    }

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
