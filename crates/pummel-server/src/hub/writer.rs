//! The hub's store writer: what agents send is written on a task of its
//! own, in arrival order, and acknowledged to its agent only once it is
//! kept. The hub's loop hands a write over and goes on: it never waits on
//! the disk while agents heartbeat, snapshots merge and clients follow.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::sqlite::SqliteStore;
use crate::store::Store as _;
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
    pub(super) fn start(store: Arc<SqliteStore>) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<Write>();
        tokio::spawn(async move {
            // (run, agent) pairs with a row the store refused.
            let mut failed = std::collections::HashSet::new();
            while let Some(write) = rx.recv().await {
                match write {
                    Write::Row {
                        run,
                        agent,
                        second,
                        body,
                        ack,
                    } => {
                        if keep(&store, &run, &agent, second, &body).await {
                            if let Some(ack) = ack {
                                let _ = ack.send(ToAgent::Ack { run, second });
                            }
                        } else {
                            failed.insert((run, agent));
                        }
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

/// Writes one row, trying again a few times (a busy database); a row that
/// cannot be kept is not acknowledged, so its agent keeps it and sends it
/// again on its next connection.
async fn keep(store: &SqliteStore, run: &str, agent: &str, second: u64, body: &str) -> bool {
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
