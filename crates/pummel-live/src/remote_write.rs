//! Prometheus remote write: the same series the endpoint serves, pushed
//! once a second as a snappy-compressed protobuf `WriteRequest` (remote
//! write 1.0, which every receiver accepts: Prometheus with its receiver on,
//! Mimir, Thanos, VictoriaMetrics, Grafana Cloud).
//!
//! Pushes happen on a thread of their own. The run hands each second's
//! figures over a bounded channel without waiting: a slow or dead receiver
//! costs pushes (counted and reported), never the run's pace.

use std::sync::{mpsc, Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::figures::LiveFigures;
use crate::series::families;

/// How long one push may take, connection included.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Seconds of figures waiting for the pusher before new ones are dropped
/// (and counted).
const QUEUE: usize = 30;

/// How long the pushes still queued when the run ends may take, in all. A
/// receiver that accepts connections but never answers would otherwise hold
/// the process for every queued second's timeout (30 × 5 s).
pub const FINISH_GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, PartialEq, prost::Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

/// A remote-write URL that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    #[error("invalid remote-write URL {url:?}: {reason}")]
    Url { url: String, reason: &'static str },
    #[error("cannot start the remote-write thread: {0}")]
    Thread(std::io::Error),
}

/// Where pushes go: an `http://` URL, checked before the run starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteWriteUrl {
    uri: Uri,
    host: String,
    port: u16,
}

impl RemoteWriteUrl {
    pub fn parse(url: &str) -> Result<RemoteWriteUrl, RemoteWriteError> {
        let bad = |reason| RemoteWriteError::Url {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https is not supported yet; use http:// (a local receiver or a proxy)",
                ))
            }
            _ => return Err(bad("expected http://HOST:PORT/PATH")),
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(80);
        Ok(RemoteWriteUrl { uri, host, port })
    }
}

impl std::fmt::Display for RemoteWriteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.uri)
    }
}

/// How the pushes went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteWriteReport {
    pub sent: u64,
    pub failed: u64,
    /// The last failure, for the message the user sees.
    pub last_error: Option<String>,
}

/// A running pusher.
#[derive(Debug)]
pub struct RemoteWriter {
    queue: Option<mpsc::SyncSender<(LiveFigures, i64)>>,
    dropped: u64,
    /// Set by `finish`: past it, the pusher abandons what is left, the push
    /// under way included.
    deadline: Arc<OnceLock<Instant>>,
    /// Wakes a push under way when the deadline is set.
    finishing: Arc<tokio::sync::Notify>,
    thread: Option<JoinHandle<RemoteWriteReport>>,
}

impl RemoteWriter {
    /// Pushes to `url`, every series labelled `run="{run}"`: a receiver adds no label of its own
    /// (a scrape adds `instance`), so without one, two runs pushing at once would write the same
    /// series and the receiver would refuse one of each pair of samples.
    pub fn start(url: RemoteWriteUrl, run: &str) -> Result<RemoteWriter, RemoteWriteError> {
        let run = run.to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RemoteWriteError::Thread)?;
        let (queue, inbox) = mpsc::sync_channel::<(LiveFigures, i64)>(QUEUE);
        let deadline = Arc::new(OnceLock::<Instant>::new());
        let finish_by = Arc::clone(&deadline);
        let finishing = Arc::new(tokio::sync::Notify::new());
        let woken = Arc::clone(&finishing);
        let thread = std::thread::Builder::new()
            .name("pummel-remote-write".to_owned())
            .spawn(move || {
                let mut report = RemoteWriteReport::default();
                while let Ok(mut queued) = inbox.recv() {
                    // Once the run has ended, the newest figures are what matters (the last
                    // equal the result): a receiver that fell behind gets those, not the
                    // oldest seconds, and would refuse older samples after them anyway.
                    if finish_by.get().is_some() {
                        while let Ok(newer) = inbox.try_recv() {
                            report.failed += 1;
                            report.last_error = Some(
                                "the receiver had fallen behind: seconds still queued at the end were skipped for the final figures"
                                    .to_owned(),
                            );
                            queued = newer;
                        }
                    }
                    let (figures, at_ms) = queued;
                    let mut timeout = PUSH_TIMEOUT;
                    if let Some(by) = finish_by.get() {
                        timeout = timeout.min(by.saturating_duration_since(Instant::now()));
                        if timeout.is_zero() {
                            report.failed += 1;
                            report.last_error = Some(format!(
                                "abandoned when the run ended: the receiver had not answered within {}s",
                                FINISH_GRACE.as_secs()
                            ));
                            continue;
                        }
                    }
                    let body = encode(&figures, &run, at_ms);
                    let pushed = runtime.block_on(async {
                        // Ends at the deadline once `finish` has set one. A
                        // deadline set before this push began is caught by
                        // the check; one set during it, by the notification
                        // (which `notify_one` keeps if no one waits yet).
                        let abandon = async {
                            if finish_by.get().is_none() {
                                woken.notified().await;
                            }
                            if let Some(by) = finish_by.get() {
                                tokio::time::sleep_until((*by).into()).await;
                            }
                        };
                        let abandoned = || {
                            format!(
                                "abandoned when the run ended: the receiver had not answered within {}s",
                                FINISH_GRACE.as_secs()
                            )
                        };
                        tokio::select! {
                            pushed = tokio::time::timeout(timeout, push(&url, body)) => {
                                // A timeout cut short by the deadline is the deadline's doing.
                                pushed.unwrap_or_else(|_| {
                                    Err(if finish_by.get().is_some() {
                                        abandoned()
                                    } else {
                                        "timed out".to_owned()
                                    })
                                })
                            }
                            () = abandon => Err(abandoned()),
                        }
                    });
                    match pushed {
                        Ok(()) => report.sent += 1,
                        Err(e) => {
                            report.failed += 1;
                            report.last_error = Some(e);
                        }
                    }
                }
                report
            })
            .map_err(RemoteWriteError::Thread)?;
        Ok(RemoteWriter {
            queue: Some(queue),
            dropped: 0,
            deadline,
            finishing,
            thread: Some(thread),
        })
    }

    /// Queues `figures` for a push, stamped now; never waits.
    pub fn push(&mut self, figures: LiveFigures) {
        if let Some(queue) = &self.queue {
            if queue.try_send((figures, now_ms())).is_err() {
                self.dropped += 1;
            }
        }
    }

    /// Pushes what is queued (the final figures last), then stops: within
    /// `grace` in all, what is left after it is abandoned and counted as
    /// failed.
    pub fn finish(self, grace: Duration) -> RemoteWriteReport {
        RemoteWriter::finish_all(vec![self], grace)
            .pop()
            .unwrap_or_default()
    }

    /// Finishes every writer within the same `grace`, in all: N receivers that never answer
    /// hold the end for `grace`, not N times it. Reports in the writers' order.
    pub fn finish_all(mut writers: Vec<RemoteWriter>, grace: Duration) -> Vec<RemoteWriteReport> {
        let by = Instant::now() + grace;
        for writer in &mut writers {
            writer.end_by(by);
        }
        writers.into_iter().map(RemoteWriter::join).collect()
    }

    /// Tells the pusher to be done by `by`, with nothing more to come.
    fn end_by(&mut self, by: Instant) {
        // Only the first deadline counts; a writer finishes once.
        let _ = self.deadline.set(by);
        self.finishing.notify_one();
        drop(self.queue.take());
    }

    /// Waits for the pusher; how the pushes went.
    fn join(mut self) -> RemoteWriteReport {
        let mut report = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        if self.dropped > 0 {
            report.failed += self.dropped;
            report
                .last_error
                .get_or_insert_with(|| "the receiver was too slow: pushes were dropped".to_owned());
        }
        report
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The snappy-compressed `WriteRequest` of `figures` of `run` at `at_ms`.
fn encode(figures: &LiveFigures, run: &str, at_ms: i64) -> Vec<u8> {
    let mut timeseries = Vec::new();
    for family in families(figures) {
        for s in family.samples {
            let mut labels: Vec<Label> = s
                .labels
                .into_iter()
                .map(|(name, value)| Label {
                    name: name.to_owned(),
                    value,
                })
                .collect();
            labels.push(Label {
                name: "__name__".to_owned(),
                value: s.name,
            });
            labels.push(Label {
                name: crate::runs::RUN_LABEL.to_owned(),
                value: run.to_owned(),
            });
            // Receivers require labels sorted by name.
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            timeseries.push(TimeSeries {
                labels,
                samples: vec![Sample {
                    value: s.value,
                    timestamp: at_ms,
                }],
            });
        }
    }
    let raw = prost::Message::encode_to_vec(&WriteRequest { timeseries });
    // Compressing a buffer into a Vec fails only past 2^32 bytes.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

async fn push(url: &RemoteWriteUrl, body: Vec<u8>) -> Result<(), String> {
    let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(connection);
    let authority = url
        .uri
        .authority()
        .map_or_else(|| url.host.clone(), |a| a.to_string());
    let path = url
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let request = Request::post(path)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .header(header::CONTENT_ENCODING, "snappy")
        .header(
            header::USER_AGENT,
            concat!("pummel/", env!("CARGO_PKG_VERSION")),
        )
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let text = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&text[..text.len().min(200)])
            .trim()
            .to_owned();
        Err(format!("{url} answered {status}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::{StepFigures, BUCKETS_S};

    #[test]
    fn a_write_request_decodes_with_sorted_labels_and_the_stamp() {
        let figures = LiveFigures {
            steps: vec![StepFigures {
                name: "bench".into(),
                requests: 5,
                status: vec![(200, 5)],
                errors: vec![],
                buckets: vec![5; BUCKETS_S.len()],
                latency_count: 5,
                latency_sum_s: 0.01,
            }],
            ..LiveFigures::default()
        };
        let compressed = encode(&figures, "r1", 1234);
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&compressed)
            .unwrap();
        let request: WriteRequest = prost::Message::decode(raw.as_slice()).unwrap();
        let requests = request
            .timeseries
            .iter()
            .find(|t| t.labels.iter().any(|l| l.value == "pummel_requests_total"))
            .unwrap();
        // Sorted by name, the run's own label among them.
        let labels: Vec<(&str, &str)> = requests
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("__name__", "pummel_requests_total"),
                ("run", "r1"),
                ("step", "bench")
            ]
        );
        assert_eq!(
            requests.samples,
            vec![Sample {
                value: 5.0,
                timestamp: 1234
            }]
        );
        for t in &request.timeseries {
            let names: Vec<_> = t.labels.iter().map(|l| &l.name).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
        }
    }

    #[test]
    fn a_receiver_that_never_answers_holds_the_end_no_longer_than_the_grace() {
        // Accepts connections (the kernel's backlog does) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/v1/write", silent.local_addr().unwrap());
        let mut writer = RemoteWriter::start(RemoteWriteUrl::parse(&url).unwrap(), "r1").unwrap();
        for _ in 0..10 {
            writer.push(LiveFigures::default());
        }
        let grace = Duration::from_millis(300);
        let started = Instant::now();
        let report = writer.finish(grace);
        // Without the grace: ten pushes of PUSH_TIMEOUT each.
        assert!(
            started.elapsed() < PUSH_TIMEOUT,
            "finish took {:?}",
            started.elapsed()
        );
        assert_eq!((report.sent, report.failed), (0, 10), "{report:?}");
        assert!(
            report
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("abandoned when the run ended")),
            "{report:?}"
        );
    }

    #[test]
    fn only_http_urls() {
        assert!(RemoteWriteUrl::parse("http://127.0.0.1:9090/api/v1/write").is_ok());
        let https = RemoteWriteUrl::parse("https://x/api/v1/write").unwrap_err();
        assert!(https.to_string().contains("https"), "{https}");
        assert!(RemoteWriteUrl::parse("ftp://x").is_err());
        assert!(RemoteWriteUrl::parse("not a url").is_err());
    }
}
