//! The agent's link to its server: dial, introduce, keep alive, redial
//! with backoff; and what it must never lose across a redial — every
//! snapshot and end of run not yet acknowledged, resent in order when the
//! link is back (the server keeps each (run, agent, second) once).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use pummel_server::wire::{FromAgent, Hello, ToAgent, PROTOCOL_VERSION};
use tokio::sync::mpsc;

use super::clock;
use super::segment::{self, Command, Running};
use crate::cli::AgentArgs;
use crate::exit::Failure;
use crate::output::stderr::say;
use crate::remote::{connect, ConnectError, Socket};

/// How often the agent heartbeats (and pings the link).
const HEARTBEAT: Duration = Duration::from_secs(1);

/// A link that has answered none of the pings of this long is dead (a cut
/// cable sends no reset): redial. Long enough for a server that is slow
/// under load (many agents, a busy machine) to answer late: dropping a
/// healthy link costs a redial, a new clock exchange and a resend through
/// that same busy server. Nothing waits on this: the agent keeps running
/// and buffering whatever the link does, and the orphan timeout counts
/// from the last word heard, not from this.
const LINK_SILENCE: Duration = Duration::from_secs(15);

/// Redial backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What a run has sent that the server has not acknowledged yet.
#[derive(Default)]
struct Unacked {
    seconds: BTreeMap<u64, serde_json::Value>,
    finished: Option<serde_json::Value>,
}

struct Agent<'a> {
    args: &'a AgentArgs,
    name: String,
    events_tx: mpsc::UnboundedSender<FromAgent>,
    events: mpsc::UnboundedReceiver<FromAgent>,
    running: HashMap<String, Running>,
    unacked: BTreeMap<String, Unacked>,
    /// Since when the agent has had no link (None while it has one).
    cut_since: Option<Instant>,
    /// The orphan timeout stopped the load (said once).
    orphaned: bool,
}

/// How a session on one connection ended.
enum SessionEnd {
    /// The link was lost (the server silent this long): redial.
    Lost { silent: Duration },
    /// The server refused this agent: redialling cannot help.
    Refused(String),
}

/// Test-only: speak this protocol version instead of this build's, to show
/// how a server refuses an agent of another version. Not for production use.
const TEST_PROTOCOL_VAR: &str = "PUMMEL_TEST_PROTOCOL_VERSION";

fn protocol_version() -> u32 {
    std::env::var(TEST_PROTOCOL_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(PROTOCOL_VERSION)
}

fn default_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "agent".to_owned())
}

/// What this agent can run, as its hello says.
fn capabilities(allow_runners: bool) -> Vec<String> {
    let mut all: Vec<String> = [
        "http",
        "websocket",
        "scenario",
        "bench",
        pummel_server::wire::CAPABILITY_NETWORK_POLICY,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    if allow_runners {
        all.push(pummel_server::wire::CAPABILITY_RUNNERS.to_owned());
    }
    all
}

pub(super) async fn serve(args: &AgentArgs) -> Result<i32, Failure> {
    let (events_tx, events) = mpsc::unbounded_channel();
    let mut agent = Agent {
        args,
        name: args.name.clone().unwrap_or_else(default_name),
        events_tx,
        events,
        running: HashMap::new(),
        unacked: BTreeMap::new(),
        cut_since: Some(Instant::now()),
        orphaned: false,
    };
    let mut backoff = BACKOFF_MIN;
    let mut said_unreachable = false;
    loop {
        let dial = connect(
            &args.server,
            "/v1/agent",
            &args.token,
            args.server_ca.as_deref(),
        );
        let socket = tokio::select! {
            socket = dial => socket,
            () = agent.while_cut(Duration::from_secs(3600)) => continue,
        };
        match socket {
            Ok(socket) => {
                backoff = BACKOFF_MIN;
                said_unreachable = false;
                match agent.session(socket).await {
                    SessionEnd::Lost { silent } => {
                        say(format_args!(
                            "pummel agent {}: lost the link to the server; redialling",
                            agent.name
                        ));
                        // Cut since the server was last heard.
                        let since = Instant::now()
                            .checked_sub(silent)
                            .unwrap_or_else(Instant::now);
                        agent.cut_since.get_or_insert(since);
                    }
                    SessionEnd::Refused(reason) => {
                        agent.stop_all();
                        return Err(Failure::usage(format!(
                            "the server refused this agent: {reason}"
                        )));
                    }
                }
            }
            Err(e) if e.is_transient() => {
                if !said_unreachable {
                    say(format_args!("pummel agent {}: {e}; retrying", agent.name));
                    said_unreachable = true;
                }
                agent.while_cut(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e @ ConnectError::Refused { .. }) => {
                agent.stop_all();
                return Err(Failure::usage(e.to_string()));
            }
            Err(e) => return Err(Failure::usage(e.to_string())),
        }
    }
}

impl Agent<'_> {
    /// Waits `pause` without a link, keeping what the segments send and
    /// stopping them once the server has been out of reach past the orphan
    /// timeout.
    async fn while_cut(&mut self, pause: Duration) {
        let until = tokio::time::Instant::now() + pause;
        loop {
            if let Some(since) = self.cut_since {
                self.orphan_check(since.elapsed());
            }
            tokio::select! {
                () = tokio::time::sleep_until(until) => return,
                event = self.events.recv() => if let Some(event) = event { self.keep(event); },
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    /// Stops the load once the server has been out of reach (silent) past
    /// the orphan timeout: with or without a connection that looks open.
    fn orphan_check(&mut self, silent: Duration) {
        if silent >= self.args.orphan_timeout && !self.running.is_empty() && !self.orphaned {
            self.orphaned = true;
            say(format_args!(
                "pummel agent {}: no server for {:?}: stopping the load by itself",
                self.name, self.args.orphan_timeout
            ));
            self.stop_all();
        }
    }

    fn stop_all(&mut self) {
        for running in self.running.values_mut() {
            running.stop.stop();
            running.commands = None;
        }
    }

    /// Keeps what must survive a cut; returns the message to send now.
    fn keep(&mut self, event: FromAgent) -> Option<FromAgent> {
        match &event {
            FromAgent::Snapshot {
                run,
                second,
                snapshot,
            } => {
                self.unacked
                    .entry(run.clone())
                    .or_default()
                    .seconds
                    .insert(*second, snapshot.clone());
            }
            FromAgent::Finished { run, report } => {
                self.unacked.entry(run.clone()).or_default().finished = Some(report.clone());
                self.running.remove(run);
            }
            FromAgent::SetupDone { run, .. } | FromAgent::SetupFailed { run, .. } => {
                self.running.remove(&format!("{run}/setup"));
            }
            FromAgent::TeardownDone { run, .. } => {
                self.running.remove(&format!("{run}/teardown"));
            }
            FromAgent::PlanError { run, .. } => {
                self.running.remove(run);
            }
            _ => {}
        }
        Some(event)
    }

    /// Everything not yet acknowledged, in order: each run's seconds, then
    /// its end.
    fn backlog(&self) -> Vec<FromAgent> {
        let mut out = Vec::new();
        for (run, unacked) in &self.unacked {
            for (second, snapshot) in &unacked.seconds {
                out.push(FromAgent::Snapshot {
                    run: run.clone(),
                    second: *second,
                    snapshot: snapshot.clone(),
                });
            }
            if let Some(report) = &unacked.finished {
                out.push(FromAgent::Finished {
                    run: run.clone(),
                    report: report.clone(),
                });
            }
        }
        out
    }

    async fn session(&mut self, mut socket: Socket) -> SessionEnd {
        let hello = FromAgent::Hello(Hello {
            protocol: protocol_version(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            name: self.name.clone(),
            labels: self.args.labels.iter().cloned().collect(),
            cores: u32::try_from(segment::threads()).unwrap_or(u32::MAX),
            capabilities: capabilities(self.args.allow_runners),
            // Segments only: global steps are not runs of their own.
            running: self
                .running
                .keys()
                .filter(|k| !k.contains('/'))
                .cloned()
                .collect(),
        });
        if socket.send(&hello).await.is_err() {
            return SessionEnd::Lost {
                silent: Duration::ZERO,
            };
        }
        // The clock exchange, then the welcome.
        loop {
            let reply =
                tokio::time::timeout(Duration::from_secs(10), socket.receive::<ToAgent>()).await;
            match reply {
                Ok(Ok(Some(ToAgent::Ping { id }))) => {
                    let pong = FromAgent::Pong {
                        id,
                        agent_unix_ns: clock::now_unix_ns(),
                    };
                    if socket.send(&pong).await.is_err() {
                        return SessionEnd::Lost {
                            silent: Duration::ZERO,
                        };
                    }
                }
                Ok(Ok(Some(ToAgent::Welcome { .. }))) => break,
                Ok(Ok(Some(ToAgent::Refused { reason }))) => return SessionEnd::Refused(reason),
                _ => {
                    return SessionEnd::Lost {
                        silent: Duration::ZERO,
                    }
                }
            }
        }
        say(format_args!(
            "pummel agent {}: connected to {}",
            self.name, self.args.server
        ));
        self.cut_since = None;
        self.orphaned = false;
        for message in self.backlog() {
            if socket.send(&message).await.is_err() {
                return SessionEnd::Lost {
                    silent: Duration::ZERO,
                };
            }
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let lost = SessionEnd::Lost {
                silent: socket.silent_for(),
            };
            // Biased, in this order: what the server sent is read first (a
            // pong waiting to be read is not silence), the heartbeat is
            // never queued behind a run of snapshots, then the segments'
            // news.
            tokio::select! {
                biased;
                incoming = socket.receive::<ToAgent>() => match incoming {
                    Ok(Some(message)) => self.obey(message),
                    _ => return lost,
                },
                _ = heartbeat.tick() => {
                    let silent = socket.silent_for();
                    self.orphan_check(silent);
                    if silent > LINK_SILENCE {
                        return lost;
                    }
                    if socket.send(&FromAgent::Heartbeat).await.is_err() || socket.ping().await.is_err() {
                        return lost;
                    }
                }
                event = self.events.recv() => {
                    let Some(event) = event else { return lost };
                    if let Some(message) = self.keep(event) {
                        if socket.send(&message).await.is_err() {
                            return lost;
                        }
                    }
                }
            }
        }
    }

    fn obey(&mut self, message: ToAgent) {
        match message {
            ToAgent::Assign {
                run,
                segment,
                plan,
                captures,
                network,
            } => {
                let running = segment::start_segment(
                    run.clone(),
                    segment,
                    (plan, network),
                    captures,
                    self.args.allow_runners,
                    self.events_tx.clone(),
                );
                self.running.insert(run, running);
            }
            ToAgent::Setup { run, plan, network } => {
                let running = segment::start_global(
                    run.clone(),
                    (plan, network),
                    None,
                    self.events_tx.clone(),
                );
                self.running.insert(format!("{run}/setup"), running);
            }
            ToAgent::Teardown {
                run,
                plan,
                captures,
                network,
            } => {
                let running = segment::start_global(
                    run.clone(),
                    (plan, network),
                    Some(captures),
                    self.events_tx.clone(),
                );
                self.running.insert(format!("{run}/teardown"), running);
            }
            ToAgent::StartAt { run, agent_unix_ns } => {
                if let Some(tx) = self.running.get(&run).and_then(|r| r.commands.as_ref()) {
                    let _ = tx.send(Command::Start(clock::instant_of(agent_unix_ns)));
                }
            }
            ToAgent::Stop { run } => {
                if let Some(running) = self.running.get_mut(&run) {
                    running.stop.stop();
                    // A segment not started yet is called off.
                    running.commands = None;
                }
            }
            ToAgent::Ack { run, second } => {
                if let Some(unacked) = self.unacked.get_mut(&run) {
                    unacked.seconds.remove(&second);
                }
            }
            ToAgent::Done { run } => {
                self.unacked.remove(&run);
            }
            ToAgent::Ping { .. } | ToAgent::Welcome { .. } | ToAgent::Refused { .. } => {}
        }
    }
}
