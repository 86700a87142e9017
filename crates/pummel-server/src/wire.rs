//! The wire: one versioned protocol over WebSocket, for agents
//! (`/v1/agent`) and clients (`/v1/client`). Every message is one JSON text
//! frame, tagged by `type`.
//!
//! Agents dial out (they may sit behind NAT): the server never opens a
//! connection to an agent. A connection starts with the agent's
//! [`Hello`]; the server answers [`ToAgent::Welcome`] or
//! [`ToAgent::Refused`], then measures the agent's clock offset with a few
//! [`ToAgent::Ping`]s, so that one start instant means the same moment on
//! every agent.
//!
//! Snapshots are idempotent by (run, agent, second): an agent that lost its
//! link resends what it buffered, and nothing is counted twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::NetworkPolicy;

/// The protocol's version. An agent or client speaking another is refused
/// before any load starts, with both versions named.
pub const PROTOCOL_VERSION: u32 = 1;

/// The field of a [`FromAgent::Snapshot`]'s snapshot that names a runner's
/// slots: each agent's runner names its steps, checks and metrics in the
/// order it meets them, so the server renames every agent's onto one table.
pub const RUNNER_NAMES: &str = "runner_names";

/// No message may be larger (a plan with its data files is the largest).
pub const MAX_MESSAGE_BYTES: usize = 32 << 20;

/// The header that carries the token, as `Bearer <token>`.
pub const AUTHORIZATION: &str = "authorization";

/// An agent's introduction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// pummel's version (the agent's binary).
    pub version: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub cores: u32,
    pub capabilities: Vec<String>,
    /// Runs this agent is still running (after a reconnect).
    pub running: Vec<String>,
}

/// One agent's share of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSpec {
    pub index: u32,
    pub count: u32,
}

/// What a run runs, as the client resolved it: everything an agent needs,
/// so it never reads a file or an environment variable of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanSpec {
    /// A scenario file, its data files (by the path the scenario names) and
    /// the environment its `env.` values read.
    Scenario {
        file_name: String,
        text: String,
        #[serde(default)]
        files: BTreeMap<String, String>,
        #[serde(default)]
        env: BTreeMap<String, String>,
        /// `--vus`, `--duration`, … as given on the client's command line.
        #[serde(default)]
        overrides: Vec<String>,
    },
    /// A bench: its command-line arguments (URL and options), parsed by the
    /// agent with the same parser as a local `pummel bench`.
    Bench { args: Vec<String> },
}

/// Agent → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromAgent {
    Hello(Hello),
    /// The answer to a ping: the agent's wall clock (Unix ns) when it
    /// answered.
    Pong {
        id: u64,
        agent_unix_ns: i64,
    },
    /// Sent on its own task every interval, whatever the load: a busy agent
    /// is never taken for a lost one.
    Heartbeat,
    /// The plan loaded and the segment is ready to start.
    Ready {
        run: String,
    },
    /// The plan did not load on this agent: no load starts anywhere.
    PlanError {
        run: String,
        message: String,
    },
    /// One second of this agent's measurements (the engine's encoding).
    /// A runner's journey adds, under [`RUNNER_NAMES`], the names its
    /// runner gave the slots so far, on this agent.
    Snapshot {
        run: String,
        second: u64,
        snapshot: serde_json::Value,
    },
    /// The segment ended; `report` carries its workers' failures.
    Finished {
        run: String,
        report: serde_json::Value,
    },
    /// The global setup ran: the variables every VU starts with, and what
    /// its steps measured (one snapshot, for the totals).
    SetupDone {
        run: String,
        captures: BTreeMap<String, String>,
        measured: serde_json::Value,
    },
    /// The global setup failed: no load starts.
    SetupFailed {
        run: String,
        message: String,
    },
    /// The global teardown ran (`error` if it failed).
    TeardownDone {
        run: String,
        measured: serde_json::Value,
        error: Option<String>,
    },
}

/// Server → agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToAgent {
    Welcome {
        heartbeat_ms: u64,
    },
    Refused {
        reason: String,
    },
    Ping {
        id: u64,
    },
    /// Load the plan and prepare the segment, every VU starting with
    /// `captures`; answer `ready` or `plan_error`.
    Assign {
        run: String,
        segment: SegmentSpec,
        plan: PlanSpec,
        captures: BTreeMap<String, String>,
        /// The networks the run's owner may reach: the agent refuses any
        /// other address at connect time. Absent: any (an admin's run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network: Option<NetworkPolicy>,
    },
    /// Run the plan's global setup, once, now; answer `setup_done` or
    /// `setup_failed`.
    Setup {
        run: String,
        plan: PlanSpec,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network: Option<NetworkPolicy>,
    },
    /// Run the plan's global teardown, once, now; answer `teardown_done`.
    Teardown {
        run: String,
        plan: PlanSpec,
        captures: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network: Option<NetworkPolicy>,
    },
    /// Start at this instant of the agent's own clock (Unix ns): the server
    /// has already added the agent's measured offset.
    StartAt {
        run: String,
        agent_unix_ns: i64,
    },
    /// Stop the run's load now (and send what was measured).
    Stop {
        run: String,
    },
    /// The server has every snapshot of the run up to `second`: the agent
    /// may drop them from its resend buffer.
    Ack {
        run: String,
        second: u64,
    },
    /// The server has the run's `finished`: the agent may forget the run.
    Done {
        run: String,
    },
}

/// An agent as a client sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub name: String,
    /// idle, busy, lost, disabled, draining.
    pub state: String,
    pub labels: BTreeMap<String, String>,
    pub version: String,
    pub cores: u32,
    /// The run it is running.
    pub run: Option<String>,
    /// Measured clock offset, ms (agent minus server).
    pub clock_offset_ms: Option<f64>,
    /// What its hello said it can do ([`CAPABILITY_NETWORK_POLICY`],
    /// [`CAPABILITY_RUNNERS`]); empty for an agent not connected.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// A run as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub owner: String,
    /// pending, running, finished, failed, stopped, interrupted.
    pub state: String,
    pub created_at: i64,
    pub agents: Vec<String>,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
}

/// How a run goes on when an agent is lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnAgentLoss {
    #[default]
    Continue,
    Stop,
}

/// A run to submit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submit {
    pub plan: PlanSpec,
    /// How many agents (None: every idle agent that matches the labels;
    /// one for a queued job).
    #[serde(default)]
    pub agents: Option<u32>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub on_agent_loss: OnAgentLoss,
    /// Follow the run after submitting (else only its id comes back).
    #[serde(default)]
    pub follow: bool,
    /// Queue it as a job that waits for free agents, instead of failing
    /// when there are too few now.
    #[serde(default)]
    pub queue: bool,
    /// The name its runs are grouped by (history, retention).
    #[serde(default)]
    pub test: String,
    /// Where a queued job came from (cli, api, web, repo, schedule); the
    /// server sets it.
    #[serde(default)]
    pub source: String,
    /// A cron expression (UTC; 5 fields, or 6 with seconds first): store
    /// the request and queue it at every firing instead of once now.
    #[serde(default)]
    pub schedule: Option<String>,
    /// The networks the submitter may reach, set by the server from its
    /// policy (never taken from the client): `None` for an admin.
    #[serde(skip)]
    pub network: Option<NetworkPolicy>,
}

/// A schedule as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    pub id: String,
    pub owner: String,
    pub test: String,
    pub cron: String,
    /// Unix seconds of the next firing.
    pub next_at: i64,
    pub created_at: i64,
}

/// What a client may do to a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    /// A queued job never starts; a running job's run is stopped.
    Cancel,
    /// Submits the same request again, as a new job at the queue's end.
    Rerun,
    /// Forgets a job that is not running, with its run and result.
    Delete,
}

/// A job as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: String,
    pub owner: String,
    /// cli, api, web, repo, schedule.
    pub source: String,
    pub test: String,
    /// queued, running, passed, failed, error, cancelled, interrupted.
    pub state: String,
    /// 1 for the job that starts next; only while queued.
    pub position: Option<u32>,
    /// Agents wanted (None: one) and the labels they must have.
    pub agents: Option<u32>,
    pub labels: BTreeMap<String, String>,
    pub run: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
}

/// What an agent says it can do, in its hello; the server gives a run whose
/// owner's networks are restricted only to an agent that enforces them.
pub const CAPABILITY_NETWORK_POLICY: &str = "network_policy";

/// What an agent started with `--allow-runners` says in its hello: it runs
/// runner journeys (the client's code). A queued runner journey waits for
/// such an agent.
pub const CAPABILITY_RUNNERS: &str = "runners";

/// What a client may do to an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentAction {
    /// Never given a run again (until enabled); a run it is running goes
    /// on.
    Disable,
    /// Finishes what it runs, then is given nothing new.
    Drain,
    Enable,
}

/// Client → server. A client connection serves one request; `submit` with
/// `follow` and `attach` then stream the run's events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// One message per client connection: a large submission costs nothing worth
// a box at every match.
#[allow(clippy::large_enum_variant)]
pub enum FromClient {
    Hello {
        protocol: u32,
        version: String,
    },
    Agents,
    Agent {
        name: String,
        action: AgentAction,
    },
    Runs,
    Submit(Submit),
    Attach {
        run: String,
    },
    Stop {
        run: String,
    },
    Result {
        run: String,
    },
    /// The queue and the jobs that ran (the caller's; an admin's: all).
    Jobs,
    Schedules,
    Unschedule {
        id: String,
    },
    /// One job: shown (no action), cancelled, rerun or deleted.
    Job {
        id: String,
        action: Option<JobAction>,
    },
    /// The caller's host claims (`pummel hosts`).
    Hosts,
    /// A new challenge for a host (`pummel hosts claim HOST`).
    ClaimHost {
        host: String,
    },
    /// Fetch a host's challenge now (`pummel hosts verify HOST`).
    VerifyHost {
        host: String,
    },
}

/// Server → client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToClient {
    Welcome {
        version: String,
    },
    Error {
        message: String,
    },
    Agents {
        agents: Vec<AgentInfo>,
    },
    Runs {
        runs: Vec<RunInfo>,
    },
    Done {
        message: String,
    },
    Submitted {
        run: String,
        agents: Vec<String>,
    },
    /// The run's state changed (started, an agent lost, …). `start_unix_ms`:
    /// the run's start instant (server clock), once it has one.
    State {
        run: String,
        state: String,
        message: Option<String>,
        start_unix_ms: Option<i64>,
    },
    /// One merged second of the run: every agent's snapshot of it.
    Second {
        run: String,
        point: pummel_result::TimelinePoint,
    },
    /// The run ended; the client exits with `exit_code`.
    Ended {
        run: String,
        state: String,
        exit_code: i32,
        message: Option<String>,
    },
    /// Host claims, for `hosts`, `claim_host` and `verify_host`.
    Hosts {
        hosts: Vec<crate::policy::Claim>,
    },
    Result {
        run: String,
        result: serde_json::Value,
    },
    /// The job waits for agents, at this place in the queue (sent again
    /// when it moves).
    Queued {
        job: String,
        position: u32,
    },
    Jobs {
        jobs: Vec<JobInfo>,
    },
    Schedules {
        schedules: Vec<ScheduleInfo>,
    },
    /// A schedule made (or, for `unschedule`, deleted).
    Schedule {
        schedule: ScheduleInfo,
    },
    /// A job (a rerun: the new one) as it is now.
    Job {
        job: JobInfo,
    },
}

/// Encodes a message as a text frame.
pub fn encode<T: Serialize>(message: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(message)
}

/// Decodes a text frame, refusing one over [`MAX_MESSAGE_BYTES`].
pub fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, WireError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(WireError::Json)
}

/// A frame that is not a message of this protocol.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("message of {0} bytes is over the limit of {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Json(serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_tag() {
        let hello = FromAgent::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            version: "0.1.0".into(),
            name: "a1".into(),
            labels: BTreeMap::from([("zone".into(), "eu".into())]),
            cores: 4,
            capabilities: vec!["http".into()],
            running: vec![],
        });
        let text = encode(&hello).unwrap();
        assert!(text.starts_with(r#"{"type":"hello""#), "{text}");
        assert_eq!(decode::<FromAgent>(&text).unwrap(), hello);
        let stop = ToAgent::StartAt {
            run: "r".into(),
            agent_unix_ns: 5,
        };
        assert_eq!(decode::<ToAgent>(&encode(&stop).unwrap()).unwrap(), stop);
    }

    #[test]
    fn bad_frames_are_refused_not_panicked_on() {
        assert!(matches!(decode::<FromAgent>("{"), Err(WireError::Json(_))));
        assert!(decode::<FromAgent>(r#"{"type":"launch_missiles"}"#).is_err());
        let big = " ".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(matches!(
            decode::<FromAgent>(&big),
            Err(WireError::TooLarge(_))
        ));
    }
}
