//! The agent hub: one dispatcher task that owns every agent's state and
//! every run in flight, in one `select!` loop. Connection tasks (agents',
//! clients') talk to it only by messages, so no lock is shared and every
//! decision (who runs what, when a run starts, when an agent is lost) is
//! taken in one place, in order.
//!
//! `agents` keeps what the hub knows of each agent; `runs` drives one run
//! from its submission to its result.

mod agents;

pub(crate) use agents::unix_ms_now;
mod ending;
mod history;
mod jobs;
mod placement;
mod published;
mod runs;
mod schedules;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::backend::PlanBackend;
use crate::store::Store;
use crate::wire::{FromAgent, FromClient, Hello, ToAgent, ToClient};
use agents::Agent;
use runs::ActiveRun;

/// How the hub judges its agents.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// How often agents heartbeat.
    pub heartbeat: Duration,
    /// An agent silent this long is lost (default 10 s).
    pub agent_timeout: Duration,
    /// Between the last agent's `ready` and the start instant: time for the
    /// start message to reach every agent.
    pub start_margin: Duration,
    /// Retention per test name: keep this many ended jobs (with their runs,
    /// snapshots and results)…
    pub keep_runs: Option<u32>,
    /// …and none older than this many days.
    pub keep_days: Option<u32>,
    /// Where each run's merged figures are published, once a second
    /// (`--metrics-listen`), and how long a finished run's stay there.
    pub metrics: Option<LiveMetrics>,
}

/// The live metrics of the runs the server coordinates.
#[derive(Clone, Debug)]
pub struct LiveMetrics {
    pub runs: pummel_live::PublishedRuns,
    pub linger: Duration,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            heartbeat: Duration::from_secs(1),
            agent_timeout: Duration::from_secs(10),
            start_margin: Duration::from_millis(500),
            keep_runs: None,
            keep_days: None,
            metrics: None,
        }
    }
}

/// A message to the hub.
pub(crate) enum HubMsg {
    /// An agent said hello and its clock was measured.
    AgentUp {
        hello: Hello,
        offset_ns: i64,
        conn: u64,
        /// When the connection last received a frame (Unix ms), written by
        /// the connection task itself: liveness never waits in the hub's
        /// queue behind snapshots.
        heard: Arc<AtomicI64>,
        tx: mpsc::UnboundedSender<ToAgent>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    FromAgent {
        agent: String,
        conn: u64,
        msg: FromAgent,
    },
    AgentDown {
        agent: String,
        conn: u64,
    },
    /// An agent that speaks another protocol version was refused.
    AgentRefused {
        agent: String,
        reason: String,
    },
    /// A client's request; answers and followed events go to `tx`.
    Client {
        owner: String,
        /// An admin sees and controls every job, not only its own.
        admin: bool,
        req: FromClient,
        tx: mpsc::UnboundedSender<ToClient>,
    },
}

/// A handle to the hub.
#[derive(Clone)]
pub(crate) struct HubHandle {
    tx: mpsc::UnboundedSender<HubMsg>,
    ended: broadcast::Sender<String>,
}

impl HubHandle {
    /// Sends to the hub; false once it has stopped.
    pub(crate) fn send(&self, msg: HubMsg) -> bool {
        self.tx.send(msg).is_ok()
    }

    /// The id of each run as it ends (for notifications).
    pub(crate) fn ended(&self) -> broadcast::Receiver<String> {
        self.ended.subscribe()
    }
}

/// The dispatcher's state.
pub(crate) struct Hub {
    store: Arc<Store>,
    backend: Arc<dyn PlanBackend>,
    config: HubConfig,
    agents: HashMap<String, Agent>,
    runs: HashMap<String, ActiveRun>,
    /// Agents refused at connect, and why (until they connect well).
    refused: std::collections::BTreeMap<String, String>,
    /// Told the id of every run that ends.
    ended: broadcast::Sender<String>,
    jobs: jobs::Jobs,
    /// Writes snapshots off this loop.
    writer: writer::Writer,
    /// Ended runs that late snapshots arrived for since their result was
    /// kept: their result is merged again.
    late: std::collections::HashSet<String>,
}

/// Starts the hub on the current runtime.
pub(crate) fn start(
    store: Arc<Store>,
    backend: Arc<dyn PlanBackend>,
    config: HubConfig,
) -> HubHandle {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ended, _) = broadcast::channel(1024);
    let mut hub = Hub {
        writer: writer::Writer::start(store.clone()),
        late: std::collections::HashSet::new(),
        ended: ended.clone(),
        store,
        backend,
        config,
        agents: HashMap::new(),
        runs: HashMap::new(),
        refused: std::collections::BTreeMap::new(),
        jobs: jobs::Jobs::new(),
    };
    tokio::spawn(async move {
        hub.load_jobs().await;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => hub.handle(msg).await,
                    None => break,
                },
                _ = tick.tick() => hub.tick().await,
            }
        }
    });
    HubHandle { tx, ended }
}

impl Hub {
    async fn handle(&mut self, msg: HubMsg) {
        match msg {
            HubMsg::AgentUp {
                hello,
                offset_ns,
                conn,
                heard,
                tx,
                reply,
            } => {
                let outcome = self.agent_up(hello, offset_ns, conn, heard, tx).await;
                let _ = reply.send(outcome);
            }
            HubMsg::FromAgent { agent, conn, msg } => self.agent_said(&agent, conn, msg).await,
            HubMsg::AgentDown { agent, conn } => self.agent_down(&agent, conn),
            HubMsg::AgentRefused { agent, reason } => self.agent_refused(agent, reason),
            HubMsg::Client {
                owner,
                admin,
                req,
                tx,
            } => self.client(&owner, admin, req, &tx).await,
        }
    }

    /// Once every 200 ms: agents silent too long are lost; runs whose
    /// agents are all done are finished.
    async fn tick(&mut self) {
        let lost = self.find_lost();
        for name in lost {
            self.agent_lost(&name).await;
        }
        self.jobs_tick().await;
    }
}

impl Hub {
    async fn agent_said(&mut self, agent: &str, conn: u64, msg: FromAgent) {
        if !self.heard(agent, conn) {
            return;
        }
        match msg {
            // Hello and pongs are handled by the connection before it joins.
            FromAgent::Hello(_) | FromAgent::Pong { .. } | FromAgent::Heartbeat => {}
            FromAgent::Ready { run } => self.ready(agent, &run).await,
            FromAgent::PlanError { run, message } => self.plan_error(agent, &run, &message).await,
            FromAgent::Snapshot {
                run,
                second,
                snapshot,
            } => self.snapshot(agent, &run, second, snapshot).await,
            FromAgent::Finished { run, report } => self.finished(agent, &run, report).await,
            FromAgent::SetupDone {
                run,
                captures,
                measured,
            } => self.setup_done(agent, &run, captures, &measured),
            FromAgent::SetupFailed { run, message } => {
                let message = format!("the global setup failed on agent {agent}: {message}");
                self.end_before_start(&run, "failed", runs::EXIT_FAILED, &message)
                    .await;
            }
            FromAgent::TeardownDone {
                run,
                measured,
                error,
            } => self.teardown_done(agent, &run, &measured, error).await,
        }
    }

    async fn client(
        &mut self,
        owner: &str,
        admin: bool,
        req: FromClient,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        match req {
            // Host claims are answered before the hub (see `policy::api`).
            FromClient::Hello { .. }
            | FromClient::Hosts
            | FromClient::ClaimHost { .. }
            | FromClient::VerifyHost { .. } => {}
            FromClient::Agents => {
                let agents = self.agent_list().await;
                tell(tx, ToClient::Agents { agents });
            }
            FromClient::Agent { name, action } => self.agent_action(&name, action, tx).await,
            FromClient::Runs => {
                let runs = self.run_list().await;
                tell(tx, ToClient::Runs { runs });
            }
            FromClient::Submit(submit) => self.submit(owner, submit, tx).await,
            FromClient::Attach { run } => self.attach(&run, tx).await,
            FromClient::Stop { run } => self.stop_request(&run, tx).await,
            FromClient::Result { run } => self.result_of(&run, tx).await,
            FromClient::Jobs => self.jobs_request(owner, admin, None, tx).await,
            FromClient::Schedules => self.schedules_request(owner, admin, None, tx).await,
            FromClient::Unschedule { id } => {
                self.schedules_request(owner, admin, Some(id), tx).await;
            }
            FromClient::Job { id, action } => {
                self.jobs_request(owner, admin, Some((id, action)), tx)
                    .await;
            }
        }
    }
}

/// Says `message` to a client (which may have gone: then nobody listens).
fn tell(tx: &mpsc::UnboundedSender<ToClient>, message: ToClient) {
    let _ = tx.send(message);
}
