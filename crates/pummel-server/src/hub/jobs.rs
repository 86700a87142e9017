//! The job queue inside the hub: jobs wait in submission order until the
//! queue's rule (`crate::queue`) gives them free agents; each is claimed in
//! the store under a lease the hub renews while its run lasts, so it runs
//! once; its run's end is its verdict. Clients that wait for a job are told
//! its place in the queue as it moves, then follow its run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::runs::{run_id, EXIT_STOPPED};
use super::{tell, Hub};
use crate::queue::{self, FreeAgent, Wants};
use crate::store::{unix_now, JobRow};
use crate::wire::{
    JobAction, JobInfo, Submit, ToClient, CAPABILITY_NETWORK_POLICY, CAPABILITY_RUNNERS,
};

/// How long a claim holds without renewal, and how often it is renewed.
const LEASE: Duration = Duration::from_secs(30);
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How many jobs a listing shows (the newest).
const LISTED: i64 = 200;

/// A job waiting for agents.
struct Waiting {
    row: JobRow,
    submit: Submit,
    /// Capabilities its agents must have (see [`Hub::needs`]).
    needs: Vec<&'static str>,
    /// Clients waiting for it to start, then following its run.
    watchers: Vec<mpsc::UnboundedSender<ToClient>>,
    /// The place in the queue they were last told.
    told: u32,
}

/// The queue's state in the hub.
pub(crate) struct Jobs {
    waiting: Vec<Waiting>,
    /// Run id → job id, for the jobs running.
    running: HashMap<String, String>,
    next_seq: i64,
    /// This server's name on the leases it holds.
    instance: String,
    renewed: Instant,
    /// When the schedules were last looked at.
    fired: Instant,
}

impl Jobs {
    pub(crate) fn new() -> Jobs {
        let mut bytes = [0u8; 6];
        let _ = getrandom::fill(&mut bytes);
        let instance: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Jobs {
            waiting: Vec::new(),
            running: HashMap::new(),
            next_seq: 1,
            instance: format!("server-{}-{instance}", std::process::id()),
            renewed: Instant::now(),
            fired: Instant::now(),
        }
    }
}

/// A job's verdict from its run's end.
fn verdict(state: &str, code: i32) -> &'static str {
    match (state, code) {
        ("stopped", _) | (_, EXIT_STOPPED) => "cancelled",
        ("interrupted", _) => "interrupted",
        (_, 0) => "passed",
        (_, 99) => "failed",
        _ => "error",
    }
}

fn info(row: &JobRow, position: Option<u32>) -> JobInfo {
    let submit: Option<Submit> = serde_json::from_str(&row.spec).ok();
    JobInfo {
        id: row.id.clone(),
        owner: row.owner.clone(),
        source: row.source.clone(),
        test: row.test.clone(),
        state: row.state.clone(),
        position,
        agents: submit.as_ref().and_then(|s| s.agents),
        labels: submit.map(|s| s.labels).unwrap_or_default(),
        run: row.run_id.clone(),
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        exit_code: row.exit_code,
        message: row.message.clone(),
    }
}

/// A job's stored request: the submission, with the networks the gate
/// gave it. `Submit.network` is never read from a client, so it is kept
/// here beside the request, for the agents to enforce when the job starts.
pub(super) fn spec_text(submit: &Submit) -> String {
    let mut value = serde_json::to_value(submit).unwrap_or_default();
    if let (Some(fields), Ok(network)) =
        (value.as_object_mut(), serde_json::to_value(&submit.network))
    {
        fields.insert("network".to_owned(), network);
    }
    value.to_string()
}

/// Reads a stored request back, with its networks. A request stored
/// without them (by an older server) gets the strictest policy: public
/// networks only, whoever submitted it.
pub(super) fn read_spec(text: &str) -> Result<Submit, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let network = match value.get("network") {
        Some(network) => serde_json::from_value(network.clone())?,
        None => Some(crate::policy::NetworkPolicy::restricted(Vec::new())),
    };
    let mut submit: Submit = serde_json::from_value(value)?;
    submit.network = network;
    Ok(submit)
}

fn job_id(seq: i64) -> String {
    let mut bytes = [0u8; 2];
    let _ = getrandom::fill(&mut bytes);
    format!("j{seq}-{:02x}{:02x}", bytes[0], bytes[1])
}

impl Hub {
    /// The capabilities a job's agents must have: enforcing the owner's
    /// networks when they are restricted, running runner journeys for one.
    /// An agent without them would refuse the plan, so the job waits for
    /// agents that have them (and a later job may use the others).
    fn needs(&self, submit: &Submit) -> Vec<&'static str> {
        let mut needs = Vec::new();
        if submit.network.is_some() {
            needs.push(CAPABILITY_NETWORK_POLICY);
        }
        let runner = self
            .backend
            .load(&submit.plan)
            .is_ok_and(|plan| plan.demand().runner);
        if runner {
            needs.push(CAPABILITY_RUNNERS);
        }
        needs
    }

    /// At start: jobs that were running when the server went down are
    /// interrupted (as their runs are); queued ones wait again, in order.
    pub(super) async fn load_jobs(&mut self) {
        let _ = self.store.interrupt_running_jobs(unix_now()).await;
        for test in self.store.tests_with_jobs().await.unwrap_or_default() {
            self.prune(&test).await;
        }
        self.jobs.next_seq = self.store.next_job_seq().await.unwrap_or(1);
        for row in self.store.queued_jobs().await.unwrap_or_default() {
            match read_spec(&row.spec) {
                Ok(submit) => self.jobs.waiting.push(Waiting {
                    row,
                    needs: self.needs(&submit),
                    submit,
                    watchers: Vec::new(),
                    told: 0,
                }),
                Err(e) => {
                    let message = format!("its stored request does not read: {e}");
                    let _ = self
                        .store
                        .finish_job(&row.id, "error", None, Some(&message), unix_now())
                        .await;
                }
            }
        }
    }

    /// Queues `submit` as a job of `owner`; tells the client its place.
    pub(super) async fn enqueue(
        &mut self,
        owner: &str,
        source: &str,
        mut submit: Submit,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) -> Option<JobInfo> {
        if let Err(e) = self.backend.load(&submit.plan) {
            tell(
                tx,
                ToClient::Error {
                    message: format!("the plan does not load: {e}"),
                },
            );
            return None;
        }
        let follow = submit.follow;
        submit.queue = true;
        submit.follow = false;
        let seq = self.jobs.next_seq;
        self.jobs.next_seq += 1;
        let row = JobRow {
            id: job_id(seq),
            seq,
            owner: owner.to_owned(),
            source: source.to_owned(),
            test: submit.test.clone(),
            spec: spec_text(&submit),
            state: "queued".to_owned(),
            run_id: None,
            created_at: unix_now(),
            started_at: None,
            finished_at: None,
            exit_code: None,
            message: None,
        };
        if let Err(e) = self.store.insert_job(&row).await {
            tell(
                tx,
                ToClient::Error {
                    message: e.to_string(),
                },
            );
            return None;
        }
        let position = u32::try_from(self.jobs.waiting.len() + 1).unwrap_or(u32::MAX);
        let job = info(&row, Some(position));
        tell(
            tx,
            ToClient::Queued {
                job: row.id.clone(),
                position,
            },
        );
        self.jobs.waiting.push(Waiting {
            row,
            needs: self.needs(&submit),
            submit,
            watchers: if follow { vec![tx.clone()] } else { Vec::new() },
            told: position,
        });
        self.dispatch().await;
        Some(job)
    }

    /// Starts every waiting job the queue's rule gives agents to now; tells
    /// the others their new place.
    pub(super) async fn dispatch(&mut self) {
        if self.jobs.waiting.is_empty() {
            return;
        }
        let starts = {
            let wants: Vec<Wants<'_>> = self
                .jobs
                .waiting
                .iter()
                .map(|w| Wants {
                    agents: w.submit.agents,
                    labels: &w.submit.labels,
                    needs: &w.needs,
                })
                .collect();
            let free: Vec<FreeAgent<'_>> = self
                .agents
                .iter()
                .filter(|(_, a)| a.is_idle())
                .map(|(name, a)| FreeAgent {
                    name,
                    labels: &a.hello.labels,
                    capabilities: &a.hello.capabilities,
                })
                .collect();
            queue::starts(&wants, &free)
        };
        // From the back, so that the indices before stay valid.
        for (index, agents) in starts.into_iter().rev() {
            let waiting = self.jobs.waiting.remove(index);
            self.start_job(waiting, &agents).await;
        }
        for (place, waiting) in self.jobs.waiting.iter_mut().enumerate() {
            let position = u32::try_from(place + 1).unwrap_or(u32::MAX);
            if waiting.told != position {
                waiting.told = position;
                for w in &waiting.watchers {
                    tell(
                        w,
                        ToClient::Queued {
                            job: waiting.row.id.clone(),
                            position,
                        },
                    );
                }
            }
        }
    }

    async fn start_job(&mut self, waiting: Waiting, agents: &[String]) {
        let job = waiting.row.id.clone();
        let run = run_id();
        let now = unix_now();
        let lease_until = now + i64::try_from(LEASE.as_secs()).unwrap_or(30);
        let claimed = self
            .store
            .claim_job(&job, &run, &self.jobs.instance, now, lease_until)
            .await;
        if !matches!(claimed, Ok(true)) {
            // Someone else has it, or it was cancelled meanwhile: not twice.
            return;
        }
        match self
            .launch(&waiting.row.owner, waiting.submit, agents, &run)
            .await
        {
            Ok(()) => {
                self.jobs.running.insert(run.clone(), job);
                for w in &waiting.watchers {
                    tell(
                        w,
                        ToClient::Submitted {
                            run: run.clone(),
                            agents: agents.to_vec(),
                        },
                    );
                }
                if let Some(active) = self.runs.get_mut(&run) {
                    active.followers.extend(waiting.watchers);
                }
            }
            Err(message) => {
                let _ = self
                    .store
                    .finish_job(&job, "error", Some(2), Some(&message), unix_now())
                    .await;
                for w in &waiting.watchers {
                    tell(
                        w,
                        ToClient::Ended {
                            run: job.clone(),
                            state: "error".to_owned(),
                            exit_code: 2,
                            message: Some(message.clone()),
                        },
                    );
                }
            }
        }
    }

    /// A run ended: if a job ran it, that is the job's verdict.
    pub(super) async fn run_ended(
        &mut self,
        run: &str,
        state: &str,
        code: i32,
        message: Option<&str>,
    ) {
        let Some(job) = self.jobs.running.remove(run) else {
            return;
        };
        let _ = self
            .store
            .finish_job(&job, verdict(state, code), Some(code), message, unix_now())
            .await;
        if let Ok(Some(row)) = self.store.job(&job).await {
            self.prune(&row.test).await;
        }
    }

    /// Retention: the ended jobs of `test` past the newest `keep_runs`, or
    /// older than `keep_days`, are deleted with their runs.
    async fn prune(&mut self, test: &str) {
        let (keep_runs, keep_days) = (self.config.keep_runs, self.config.keep_days);
        if keep_runs.is_none() && keep_days.is_none() {
            return;
        }
        let oldest = keep_days.map(|d| unix_now() - i64::from(d) * 86_400);
        let ended = self.store.ended_jobs_of(test).await.unwrap_or_default();
        for (index, row) in ended.iter().enumerate() {
            let too_many = keep_runs.is_some_and(|n| index >= n as usize);
            let too_old = oldest.is_some_and(|t| row.created_at < t);
            if too_many || too_old {
                let _ = self.store.delete_job(&row.id).await;
            }
        }
    }

    /// Once a tick: waiting jobs get agents that came free; leases are
    /// renewed while runs last.
    pub(super) async fn jobs_tick(&mut self) {
        if self.jobs.fired.elapsed() >= Duration::from_secs(1) {
            self.jobs.fired = Instant::now();
            self.fire_schedules().await;
        }
        self.dispatch().await;
        if !self.jobs.running.is_empty() && self.jobs.renewed.elapsed() >= RENEW_EVERY {
            self.jobs.renewed = Instant::now();
            let until = unix_now() + i64::try_from(LEASE.as_secs()).unwrap_or(30);
            let _ = self.store.renew_leases(&self.jobs.instance, until).await;
        }
    }

    /// The jobs `owner` may see (all of them for an admin), newest first,
    /// with the waiting ones' places.
    pub(super) async fn job_list(
        &mut self,
        owner: &str,
        admin: bool,
    ) -> Result<Vec<JobInfo>, String> {
        let rows = self
            .store
            .jobs(if admin { None } else { Some(owner) }, LISTED)
            .await
            .map_err(|e| e.to_string())?;
        Ok(rows
            .iter()
            .map(|row| info(row, self.position(&row.id)))
            .collect())
    }

    fn position(&self, job: &str) -> Option<u32> {
        self.jobs
            .waiting
            .iter()
            .position(|w| w.row.id == job)
            .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
    }

    /// One job as `owner` may see it.
    async fn owned_job(&mut self, id: &str, owner: &str, admin: bool) -> Result<JobRow, String> {
        let row = self
            .store
            .job(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no job {id} (see `pummel jobs`)"))?;
        if !admin && row.owner != owner {
            return Err(format!("job {id} belongs to {}, not to {owner}", row.owner));
        }
        Ok(row)
    }

    /// A job as it is now, for its owner or an admin.
    pub(super) async fn job_info(
        &mut self,
        id: &str,
        owner: &str,
        admin: bool,
    ) -> Result<JobInfo, String> {
        let row = self.owned_job(id, owner, admin).await?;
        Ok(info(&row, self.position(id)))
    }

    /// Cancels, reruns or deletes a job; the job as it is after.
    pub(super) async fn job_action(
        &mut self,
        id: &str,
        action: JobAction,
        owner: &str,
        admin: bool,
    ) -> Result<JobInfo, String> {
        let row = self.owned_job(id, owner, admin).await?;
        match action {
            JobAction::Cancel => self.cancel_job(&row).await,
            JobAction::Rerun => {
                let mut submit: Submit = read_spec(&row.spec)
                    .map_err(|e| format!("job {id}'s stored request does not read: {e}"))?;
                submit.follow = false;
                let (tx, _) = mpsc::unbounded_channel();
                let source = row.source.clone();
                self.enqueue(owner, &source, submit, &tx)
                    .await
                    .ok_or_else(|| format!("job {id} could not be queued again"))
            }
            JobAction::Delete => {
                if row.state == "running" {
                    return Err(format!("job {id} is running: cancel it first"));
                }
                self.jobs.waiting.retain(|w| w.row.id != row.id);
                self.store.delete_job(id).await.map_err(|e| e.to_string())?;
                Ok(info(&row, None))
            }
        }
    }

    async fn cancel_job(&mut self, row: &JobRow) -> Result<JobInfo, String> {
        let id = row.id.as_str();
        if let Some(index) = self.jobs.waiting.iter().position(|w| w.row.id == id) {
            let waiting = self.jobs.waiting.remove(index);
            let _ = self
                .store
                .finish_job(
                    id,
                    "cancelled",
                    None,
                    Some("cancelled while queued"),
                    unix_now(),
                )
                .await;
            for w in &waiting.watchers {
                tell(
                    w,
                    ToClient::Ended {
                        run: id.to_owned(),
                        state: "cancelled".to_owned(),
                        exit_code: EXIT_STOPPED,
                        message: Some("cancelled while queued".to_owned()),
                    },
                );
            }
            self.dispatch().await;
        } else if let Some(run) = row.run_id.as_deref().filter(|r| self.runs.contains_key(*r)) {
            let before = self.runs.get(run).is_some_and(|r| r.phase.before_start());
            if before {
                self.end_before_start(run, "stopped", EXIT_STOPPED, "the job was cancelled")
                    .await;
            } else {
                self.stop_run(run, "the job was cancelled".to_owned(), true);
            }
        } else {
            return Err(format!("job {id} has already ended ({})", row.state));
        }
        let now = self.owned_job(id, &row.owner, true).await?;
        Ok(info(&now, self.position(id)))
    }

    /// A client's request about jobs.
    pub(super) async fn jobs_request(
        &mut self,
        owner: &str,
        admin: bool,
        id: Option<(String, Option<JobAction>)>,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        let reply = match id {
            None => self
                .job_list(owner, admin)
                .await
                .map(|jobs| ToClient::Jobs { jobs }),
            Some((id, None)) => self
                .job_info(&id, owner, admin)
                .await
                .map(|job| ToClient::Job { job }),
            Some((id, Some(action))) => self
                .job_action(&id, action, owner, admin)
                .await
                .map(|job| ToClient::Job { job }),
        };
        match reply {
            Ok(reply) => tell(tx, reply),
            Err(message) => tell(tx, ToClient::Error { message }),
        }
    }
}
