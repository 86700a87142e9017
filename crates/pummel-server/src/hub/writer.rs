//! The hub's store writer: what agents send is written on a task of its
//! own, in arrival order (the rows waiting together in one transaction),
//! and acknowledged to its agent only once it is kept. The hub's loop hands a write over and goes on: it never waits on
//! the disk while agents heartbeat, snapshots merge and clients follow.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::backend::Ending;
use crate::store::Store;
use crate::wire::ToAgent;

/// Rows of a run that are not an agent's second: they share the snapshots
/// table (one write path, one order, kept or dropped with the run) under
/// names no agent can take (agents' names never start with `~`).
pub(super) const SETUP: &str = "~setup";
pub(super) const TEARDOWN: &str = "~teardown";
pub(super) const ENDING: &str = "~ending";
pub(super) const REPORT_PREFIX: &str = "~report/";

/// How often a failed write is tried again before it is given up.
const ATTEMPTS: u32 = 5;

/// The most writes taken off the queue at once (their rows share one
/// transaction).
const MAX_BATCH: usize = 256;

pub(super) enum Write {
    /// Keeps one row; acknowledges `second` to the agent once kept.
    Row {
        run: String,
        agent: String,
        second: u64,
        body: String,
        ack: Option<mpsc::UnboundedSender<ToAgent>>,
    },
    /// Tells an agent its run is fully kept, after every write before it
    /// (not if one of its rows could not be kept: it keeps them all).
    Done {
        run: String,
        name: String,
        agent: mpsc::UnboundedSender<ToAgent>,
    },
    /// Answers once every write before it is done.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::UnboundedSender<Write>,
}

impl Writer {
    pub(super) fn start(store: Arc<Store>) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<Write>();
        tokio::spawn(async move {
            // (run, agent) pairs with a row the store refused.
            let mut failed = std::collections::HashSet::new();
            let mut batch = Vec::new();
            while let Some(first) = rx.recv().await {
                // What else is waiting goes with it: rows in one
                // transaction, in their order among the rest.
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(write) => batch.push(write),
                        Err(_) => break,
                    }
                }
                let mut writes = batch.drain(..).peekable();
                while let Some(write) = writes.next() {
                    match write {
                        Write::Row {
                            run,
                            agent,
                            second,
                            body,
                            ack,
                        } => {
                            let mut rows = vec![(run, agent, second, body, ack)];
                            while let Some(Write::Row { .. }) = writes.peek() {
                                if let Some(Write::Row {
                                    run,
                                    agent,
                                    second,
                                    body,
                                    ack,
                                }) = writes.next()
                                {
                                    rows.push((run, agent, second, body, ack));
                                }
                            }
                            keep_rows(&store, rows, &mut failed).await;
                        }
                        Write::Done { run, name, agent } => {
                            if !failed.contains(&(run.clone(), name)) {
                                let _ = agent.send(ToAgent::Done { run });
                            }
                        }
                        Write::Flush(answer) => {
                            let _ = answer.send(());
                        }
                    }
                }
            }
        });
        Writer { tx }
    }

    pub(super) fn send(&self, write: Write) {
        let _ = self.tx.send(write);
    }

    /// Keeps a row that acknowledges nothing (a run's setup, teardown,
    /// ending, an agent's report).
    pub(super) fn keep(&self, run: &str, name: &str, body: String) {
        self.send(Write::Row {
            run: run.to_owned(),
            agent: name.to_owned(),
            second: 0,
            body,
            ack: None,
        });
    }

    /// Waits until every write handed over so far is done.
    pub(super) async fn flush(&self) {
        let (answer, done) = oneshot::channel();
        self.send(Write::Flush(answer));
        let _ = done.await;
    }
}

/// A row to keep: run, agent, second, body, and whom to acknowledge.
type Row = (
    String,
    String,
    u64,
    String,
    Option<mpsc::UnboundedSender<ToAgent>>,
);

/// Keeps `rows` in one transaction and acknowledges them; if that fails,
/// row by row (each tried again a few times), so one bad row costs only
/// itself.
async fn keep_rows(
    store: &Store,
    rows: Vec<Row>,
    failed: &mut std::collections::HashSet<(String, String)>,
) {
    let all: Vec<(&str, &str, u64, &str)> = rows
        .iter()
        .map(|(run, agent, second, body, _)| (run.as_str(), agent.as_str(), *second, body.as_str()))
        .collect();
    let together = store.put_snapshots(&all).await.is_ok();
    for (run, agent, second, body, ack) in rows {
        if together || keep(store, &run, &agent, second, &body).await {
            if let Some(ack) = ack {
                let _ = ack.send(ToAgent::Ack { run, second });
            }
        } else {
            failed.insert((run, agent));
        }
    }
}

/// Writes one row, trying again a few times (a busy database); a row that
/// cannot be kept is not acknowledged, so its agent keeps it and sends it
/// again on its next connection.
async fn keep(store: &Store, run: &str, agent: &str, second: u64, body: &str) -> bool {
    let mut pause = Duration::from_millis(20);
    for attempt in 1..=ATTEMPTS {
        match store.put_snapshot(run, agent, second, body).await {
            Ok(_) => return true,
            Err(e) if attempt == ATTEMPTS => {
                eprintln!(
                    "pummel server: cannot keep second {second} of run {run} from {agent}: {e}"
                );
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
    false
}

/// An [`Ending`] as the store keeps it.
pub(super) fn ending_json(ending: &Ending) -> serde_json::Value {
    serde_json::json!({
        "elapsed_ms": u64::try_from(ending.elapsed.as_millis()).unwrap_or(u64::MAX),
        "started_unix_ms": ending.started_unix_ms,
        "partial": ending.partial,
        "aborted_by": ending.aborted_by,
    })
}

/// The [`Ending`] kept by [`ending_json`].
pub(super) fn ending_from(value: &serde_json::Value) -> Option<Ending> {
    Some(Ending {
        elapsed: Duration::from_millis(value.get("elapsed_ms")?.as_u64()?),
        started_unix_ms: value.get("started_unix_ms")?.as_i64()?,
        partial: value.get("partial")?.as_bool()?,
        aborted_by: value
            .get("aborted_by")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
    })
}
