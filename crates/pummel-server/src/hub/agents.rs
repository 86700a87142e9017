//! What the hub knows of each agent: its introduction, its link (if
//! connected), its clock offset, when it was last heard, and what it runs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{tell, Hub};
use crate::store::{unix_now, AgentRow};
use crate::wire::{AgentAction, AgentInfo, Hello, ToAgent, ToClient, PROTOCOL_VERSION};

/// The live connection to an agent.
pub(super) struct Link {
    pub(super) conn: u64,
    pub(super) tx: mpsc::UnboundedSender<ToAgent>,
    /// Unix ms of the last frame the connection received.
    pub(super) heard: Arc<AtomicI64>,
}

pub(crate) struct Agent {
    pub(super) hello: Hello,
    pub(super) link: Option<Link>,
    /// Agent clock minus server clock, ns.
    pub(super) offset_ns: i64,
    pub(super) last_seen: Instant,
    /// Declared lost (silent past the timeout); cleared when it is heard
    /// again.
    pub(super) lost: bool,
    pub(super) disabled: bool,
    pub(super) draining: bool,
    pub(super) run: Option<String>,
}

impl Agent {
    pub(super) fn state(&self) -> &'static str {
        if self.lost || self.link.is_none() {
            "lost"
        } else if self.run.is_some() {
            "busy"
        } else if self.disabled {
            "disabled"
        } else if self.draining {
            "draining"
        } else {
            "idle"
        }
    }

    /// Free to take a new run.
    pub(super) fn is_idle(&self) -> bool {
        self.state() == "idle"
    }

    /// Sends to the agent if it is connected (a message to an agent cut
    /// off is lost; the run's state tells it again when it reconnects).
    pub(super) fn send(&self, message: ToAgent) {
        if let Some(link) = &self.link {
            let _ = link.tx.send(message);
        }
    }

    /// Where messages to the agent go, while it is connected.
    pub(super) fn sender(&self) -> Option<mpsc::UnboundedSender<ToAgent>> {
        self.link.as_ref().map(|l| l.tx.clone())
    }

    pub(super) fn info(&self) -> AgentInfo {
        AgentInfo {
            name: self.hello.name.clone(),
            state: self.state().to_owned(),
            labels: self.hello.labels.clone(),
            version: self.hello.version.clone(),
            cores: self.hello.cores,
            run: self.run.clone(),
            clock_offset_ms: Some(self.offset_ns as f64 / 1e6),
            capabilities: self.hello.capabilities.clone(),
        }
    }
}

impl Hub {
    /// An agent connected: a new one, or one coming back.
    pub(super) async fn agent_up(
        &mut self,
        hello: Hello,
        offset_ns: i64,
        conn: u64,
        heard: Arc<AtomicI64>,
        tx: mpsc::UnboundedSender<ToAgent>,
    ) -> Result<(), String> {
        if hello.protocol != PROTOCOL_VERSION {
            return Err(format!(
                "agent {:?} speaks protocol {} (pummel {}), this server speaks {} (pummel {}): \
                 run the same pummel version on both",
                hello.name,
                hello.protocol,
                hello.version,
                PROTOCOL_VERSION,
                env!("CARGO_PKG_VERSION")
            ));
        }
        let row = AgentRow {
            name: hello.name.clone(),
            labels: serde_json::to_string(&hello.labels).unwrap_or_default(),
            version: hello.version.clone(),
            cores: hello.cores,
            disabled: false,
            last_seen: unix_now(),
        };
        self.store
            .upsert_agent(&row)
            .await
            .map_err(|e| e.to_string())?;
        let disabled = self
            .store
            .agents()
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .any(|a| a.name == hello.name && a.disabled);
        let name = hello.name.clone();
        let still_running: Vec<String> = hello.running.clone();
        let agent = self.agents.entry(name.clone()).or_insert_with(|| Agent {
            hello: hello.clone(),
            link: None,
            offset_ns,
            last_seen: Instant::now(),
            lost: false,
            disabled,
            draining: false,
            run: None,
        });
        // A live link under this name is an older connection of the same
        // agent that the server has not yet seen die: the new one replaces
        // it.
        agent.hello = hello;
        agent.link = Some(Link { conn, tx, heard });
        agent.offset_ns = offset_ns;
        agent.last_seen = Instant::now();
        agent.lost = false;
        agent.disabled = disabled;
        agent.send(ToAgent::Welcome {
            heartbeat_ms: u64::try_from(self.config.heartbeat.as_millis()).unwrap_or(1000),
        });
        // A run it runs that the hub no longer drives (finished without it,
        // or from before a restart): its snapshots are still taken, and it
        // is told to stop.
        for run in still_running.iter().cloned() {
            if let Some(agent) = self.agents.get_mut(&name) {
                if self.runs.contains_key(&run) {
                    // Still this run's: busy, not free for another.
                    agent.run = Some(run);
                } else {
                    agent.send(ToAgent::Stop { run: run.clone() });
                }
            }
        }
        self.refused.remove(&name);
        self.agent_back(&name, &still_running);
        Ok(())
    }

    /// The connection closed. The agent is not lost yet: a link cut and
    /// restored within the timeout costs nothing.
    pub(super) fn agent_down(&mut self, name: &str, conn: u64) {
        if let Some(agent) = self.agents.get_mut(name) {
            if agent.link.as_ref().is_some_and(|l| l.conn == conn) {
                agent.link = None;
            }
        }
    }

    /// Agents silent for longer than the timeout, not yet declared lost.
    pub(super) fn find_lost(&mut self) -> Vec<String> {
        let timeout = self.config.agent_timeout;
        let mut lost = Vec::new();
        let now_ms = unix_ms_now();
        for (name, agent) in &mut self.agents {
            // Heard by the connection task (not yet by the hub, whose queue
            // may hold the heartbeat behind snapshots): alive.
            if let Some(link) = &agent.link {
                let silent_ms = now_ms.saturating_sub(link.heard.load(Ordering::Relaxed));
                let silent = Duration::from_millis(u64::try_from(silent_ms).unwrap_or(0));
                if silent < agent.last_seen.elapsed() {
                    agent.last_seen = Instant::now()
                        .checked_sub(silent)
                        .unwrap_or_else(Instant::now);
                }
            }
            if !agent.lost && agent.last_seen.elapsed() > timeout {
                agent.lost = true;
                // Closing the link ends the socket task; the agent redials.
                agent.link = None;
                lost.push(name.clone());
            }
        }
        lost
    }

    pub(super) fn heard(&mut self, name: &str, conn: u64) -> bool {
        match self.agents.get_mut(name) {
            Some(agent) if agent.link.as_ref().is_some_and(|l| l.conn == conn) => {
                agent.last_seen = Instant::now();
                true
            }
            _ => false,
        }
    }

    pub(super) async fn agent_action(
        &mut self,
        name: &str,
        action: AgentAction,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        let Some(agent) = self.agents.get_mut(name) else {
            let known = self.store.agents().await.unwrap_or_default();
            if known.iter().any(|a| a.name == name) && action != AgentAction::Drain {
                let disabled = action == AgentAction::Disable;
                let _ = self.store.set_agent_disabled(name, disabled).await;
                tell(
                    tx,
                    ToClient::Done {
                        message: format!("agent {name}: {action:?} (not connected)"),
                    },
                );
            } else {
                tell(
                    tx,
                    ToClient::Error {
                        message: format!("no agent named {name:?}"),
                    },
                );
            }
            return;
        };
        match action {
            AgentAction::Disable => {
                agent.disabled = true;
            }
            AgentAction::Drain => agent.draining = true,
            AgentAction::Enable => {
                agent.disabled = false;
                agent.draining = false;
            }
        }
        let disabled = agent.disabled;
        let state = agent.state();
        let _ = self.store.set_agent_disabled(name, disabled).await;
        tell(
            tx,
            ToClient::Done {
                message: format!("agent {name} is {state}"),
            },
        );
    }

    /// An agent refused at connect (another protocol version): remembered,
    /// so that a run short of agents says why.
    pub(super) fn agent_refused(&mut self, name: String, reason: String) {
        self.refused.insert(name, reason);
    }

    /// Every agent, connected or remembered.
    pub(super) async fn agent_list(&mut self) -> Vec<AgentInfo> {
        let mut list: Vec<AgentInfo> = self.agents.values().map(Agent::info).collect();
        for row in self.store.agents().await.unwrap_or_default() {
            if !self.agents.contains_key(&row.name) {
                list.push(AgentInfo {
                    name: row.name,
                    state: if row.disabled { "disabled" } else { "lost" }.to_owned(),
                    labels: serde_json::from_str(&row.labels).unwrap_or_default(),
                    version: row.version,
                    cores: row.cores,
                    run: None,
                    clock_offset_ms: None,
                    capabilities: Vec::new(),
                });
            }
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }
}

/// Unix ms now.
pub(crate) fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
