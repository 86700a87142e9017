//! Test repositories: a git repository whose `pummel.yml` lists load tests.
//!
//! The server clones it into the data directory, pulls it on demand, when
//! a forge's push webhook arrives, or before a scheduled test; reads
//! `pummel.yml` ([`config`]), checks every scenario it names with the same
//! loader the agents use (problems come back as `file:line:col: …`), and
//! starts a test by submitting its scenario like `pummel run --server`.
//!
//! - [`git`]: the `git` command line, secrets kept out of argv;
//! - [`remote`]: where a git URL points; git pinned to the addresses the
//!   owner's network policy checked (the policy every fetch of the server
//!   obeys, `policy::fetch`);
//! - [`webhook`]: GitHub, Gitea and GitLab push hooks, their checks;
//! - [`schedule`]: cron schedules of tests;
//! - `api`: the HTTP endpoints.

pub(crate) mod config;
mod files;
pub(crate) mod git;
pub(crate) mod remote;
pub(crate) mod schedule;
pub(crate) mod webhook;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::backend::PlanBackend;
use crate::hub::{HubHandle, HubMsg};
use crate::policy::NetworkPolicy;
use crate::sealed::Sealer;
use crate::store::repos::{RepoRow, RepoRunRow};
use crate::store::unix_now;
use crate::store::Store;
use crate::wire::{FromClient, OnAgentLoss, PlanSpec, Submit, ToClient};
use config::RepoTest;
use git::Credential;
use remote::{Remote, Transport};

/// Why a repository operation failed; the HTTP status follows the kind.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RepoError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Failed(String),
}

impl From<crate::store::StoreError> for RepoError {
    fn from(e: crate::store::StoreError) -> RepoError {
        RepoError::Failed(e.to_string())
    }
}

impl From<crate::sealed::SealError> for RepoError {
    fn from(e: crate::sealed::SealError) -> RepoError {
        RepoError::Failed(e.to_string())
    }
}

/// A repository as the API shows it (never its secrets).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RepoInfo {
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) url: String,
    pub(crate) branch: String,
    /// `token`, `deploy_key` or null.
    pub(crate) credential: Option<String>,
    pub(crate) pulled_at: Option<i64>,
    pub(crate) commit: Option<String>,
    pub(crate) pull_error: Option<String>,
    /// An ssh remote's host keys (`TYPE BASE64` lines) the fetches require.
    pub(crate) host_key: Option<String>,
    /// `given` (at registration) or `first fetch` (trusted on first use).
    pub(crate) host_key_origin: Option<String>,
    pub(crate) tests: Vec<RepoTest>,
    /// Each `file:line:col: message`.
    pub(crate) problems: Vec<String>,
    /// Runs its tests started, newest first.
    pub(crate) runs: Vec<RunLink>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct RunLink {
    /// Empty while its job waits in the queue.
    pub(crate) run: String,
    pub(crate) test: String,
    pub(crate) commit: Option<String>,
    pub(crate) trigger: String,
    /// The job it was queued as (empty for a run from before the queue).
    pub(crate) job: String,
    /// The job's state: queued, running, passed, failed, …
    pub(crate) state: String,
}

/// What a caller chose over a test's own load, agents and labels.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overrides {
    /// `pummel run` flags with their values (`--vus 10`), each replacing
    /// the same flag of pummel.yml's load.
    pub(crate) flags: Vec<String>,
    pub(crate) agents: Option<u32>,
    /// Replace the test's labels when not empty.
    pub(crate) labels: BTreeMap<String, String>,
}

impl Overrides {
    fn apply(&self, test: &mut RepoTest) {
        for pair in self.flags.chunks(2) {
            let flag = &pair[0];
            let mut kept = Vec::with_capacity(test.overrides.len());
            for own in test.overrides.chunks(2) {
                if own[0] != *flag {
                    kept.extend_from_slice(own);
                }
            }
            kept.extend_from_slice(pair);
            test.overrides = kept;
        }
        if self.agents.is_some() {
            test.agents = self.agents;
        }
        if !self.labels.is_empty() {
            test.labels.clone_from(&self.labels);
        }
    }
}

/// What registering a repository takes.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRepo {
    pub(crate) name: String,
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) branch: Option<String>,
    #[serde(default)]
    pub(crate) token: Option<String>,
    #[serde(default)]
    pub(crate) deploy_key: Option<String>,
    /// An ssh remote's host key(s): a public key line, known_hosts lines
    /// or `ssh-keyscan` output. Without it the first fetch's key is
    /// recorded and required from then on.
    #[serde(default)]
    pub(crate) host_key: Option<String>,
}

/// The caller, as repositories need it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) name: String,
    pub(crate) admin: bool,
}

/// The repositories service.
pub(crate) struct Repos {
    pub(crate) store: Arc<Store>,
    hub: HubHandle,
    backend: Arc<dyn PlanBackend>,
    pub(crate) sealer: Arc<Sealer>,
    dir: PathBuf,
    /// The submission gate's settings (`--ownership-ttl`, `--trust-clients`).
    ownership_ttl: std::time::Duration,
    trust_clients: bool,
    /// One pull at a time per repository.
    pulling: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Repos {
    pub(crate) fn new(
        store: Arc<Store>,
        hub: HubHandle,
        backend: Arc<dyn PlanBackend>,
        sealer: Arc<Sealer>,
        data_dir: &std::path::Path,
        (ownership_ttl, trust_clients): (std::time::Duration, bool),
    ) -> Repos {
        Repos {
            store,
            hub,
            backend,
            sealer,
            dir: data_dir.join("repos"),
            ownership_ttl,
            trust_clients,
            pulling: Mutex::new(HashMap::new()),
        }
    }

    fn purpose(name: &str, what: &str) -> String {
        format!("repo:{name}:{what}")
    }

    /// Registers a repository; returns it and its webhook secret (shown
    /// once). It is pulled right away.
    pub(crate) async fn add(
        &self,
        who: &Caller,
        new: NewRepo,
    ) -> Result<(RepoInfo, String), RepoError> {
        let name = new.name.trim().to_owned();
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || name.starts_with('.')
        {
            return Err(RepoError::BadRequest(format!(
                "repository name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.'"
            )));
        }
        let branch = new.branch.unwrap_or_else(|| "main".to_owned());
        if branch.starts_with('-') || branch.is_empty() || branch.contains("..") {
            return Err(RepoError::BadRequest(format!(
                "branch {branch:?} is not a branch name"
            )));
        }
        let remote = self.check_url(&new.url, &who.name, who.admin).await?;
        let host_key = match &new.host_key {
            Some(_) if remote.transport != Transport::Ssh => {
                return Err(RepoError::BadRequest(
                    "a host key is for ssh URLs (ssh://… or user@host:path)".to_owned(),
                ))
            }
            Some(text) => Some(remote::host_keys(text).map_err(RepoError::BadRequest)?),
            None => None,
        };
        let (kind, secret) = match (new.token, new.deploy_key) {
            (Some(_), Some(_)) => {
                return Err(RepoError::BadRequest(
                    "give a token or a deploy key, not both".to_owned(),
                ))
            }
            (Some(t), None) => (Some("token"), Some(t)),
            (None, Some(k)) => (Some("deploy_key"), Some(k)),
            (None, None) => (None, None),
        };
        let credential = match &secret {
            Some(s) => Some(
                self.sealer
                    .seal(&Repos::purpose(&name, "credential"), s.as_bytes())?,
            ),
            None => None,
        };
        let hook_secret = crate::token::generate().map_err(|e| RepoError::Failed(e.to_string()))?;
        let row = RepoRow {
            name: name.clone(),
            owner: who.name.clone(),
            trusted: who.admin,
            url: new.url,
            branch,
            credential_kind: kind.map(str::to_owned),
            credential,
            webhook_secret: self
                .sealer
                .seal(&Repos::purpose(&name, "webhook"), hook_secret.as_bytes())?,
            created_at: unix_now(),
            pulled_at: None,
            commit_id: None,
            pull_error: None,
            tests: "[]".to_owned(),
            problems: "[]".to_owned(),
            host_key_given: host_key.is_some(),
            host_key,
        };
        if !self.store.insert_repo(&row).await? {
            return Err(RepoError::Conflict(format!(
                "a repository named {name:?} exists"
            )));
        }
        let info = self.pull_as(&name, None).await?;
        Ok((info, hook_secret))
    }

    /// The networks the server's fetches for `owner` may reach: any for an
    /// admin's repository, else the owner's network policy (the one their
    /// runs, ownership challenges and webhooks obey; `--trust-clients`
    /// does not widen it: that flag trusts clients with load targets, not
    /// with the server's own network).
    async fn policy(&self, owner: &str, trusted: bool) -> Result<NetworkPolicy, RepoError> {
        if trusted {
            return Ok(NetworkPolicy::unrestricted());
        }
        Ok(NetworkPolicy::restricted(
            self.store.allowed_networks(owner).await?,
        ))
    }

    /// Refuses URLs that carry secrets, run commands, are local paths of a
    /// non-admin, or reach where the owner's network policy does not.
    async fn check_url(&self, url: &str, owner: &str, admin: bool) -> Result<Remote, RepoError> {
        let remote = Remote::parse(url).map_err(RepoError::BadRequest)?;
        if remote.transport == Transport::Local {
            return if admin {
                Ok(remote)
            } else {
                Err(RepoError::Forbidden(
                    "only an admin may register a local path or file:// URL".to_owned(),
                ))
            };
        }
        let policy = self.policy(owner, admin).await?;
        remote::pin(&policy, &remote, url)
            .await
            .map_err(|e| RepoError::Forbidden(format!("the repository URL is refused: {e}")))?;
        Ok(remote)
    }

    /// Whether `who` may see and use the repository.
    fn may(who: &Caller, row: &RepoRow) -> Result<(), RepoError> {
        if who.admin || who.name == row.owner {
            Ok(())
        } else {
            Err(RepoError::Forbidden(format!(
                "repository {:?} belongs to {}",
                row.name, row.owner
            )))
        }
    }

    async fn row(&self, name: &str) -> Result<RepoRow, RepoError> {
        self.store
            .repo(name)
            .await?
            .ok_or_else(|| RepoError::NotFound(format!("no repository named {name:?}")))
    }

    pub(crate) async fn list(&self, who: &Caller) -> Result<Vec<RepoInfo>, RepoError> {
        let mut out = Vec::new();
        for row in self.store.repos().await? {
            if Repos::may(who, &row).is_ok() {
                out.push(self.info(row).await?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn get(&self, who: &Caller, name: &str) -> Result<RepoInfo, RepoError> {
        let row = self.row(name).await?;
        Repos::may(who, &row)?;
        self.info(row).await
    }

    pub(crate) async fn delete(&self, who: &Caller, name: &str) -> Result<(), RepoError> {
        let row = self.row(name).await?;
        Repos::may(who, &row)?;
        self.store.delete_repo(name).await?;
        let _ = std::fs::remove_dir_all(self.dir.join(name));
        Ok(())
    }

    async fn info(&self, row: RepoRow) -> Result<RepoInfo, RepoError> {
        let runs = self
            .store
            .repo_runs(&row.name)
            .await?
            .into_iter()
            .map(|r| RunLink {
                run: r.run,
                test: r.test,
                commit: r.commit_id,
                trigger: r.trigger,
                job: r.job,
                state: r.state,
            })
            .collect();
        Ok(RepoInfo {
            tests: serde_json::from_str(&row.tests).unwrap_or_default(),
            problems: serde_json::from_str(&row.problems).unwrap_or_default(),
            name: row.name,
            owner: row.owner,
            url: row.url,
            branch: row.branch,
            credential: row.credential_kind,
            pulled_at: row.pulled_at,
            commit: row.commit_id,
            pull_error: row.pull_error,
            host_key_origin: row.host_key.as_ref().map(|_| {
                if row.host_key_given {
                    "given".to_owned()
                } else {
                    "first fetch".to_owned()
                }
            }),
            host_key: row.host_key,
            runs,
        })
    }

    /// Pulls on a caller's demand.
    pub(crate) async fn pull(&self, who: &Caller, name: &str) -> Result<RepoInfo, RepoError> {
        let row = self.row(name).await?;
        Repos::may(who, &row)?;
        self.pull_as(name, None).await
    }

    /// Fetches the branch, reads pummel.yml and checks its scenarios;
    /// records the outcome. A failed fetch is recorded too, and keeps the
    /// tests of the last good pull. `only_if_not` skips the fetch when the
    /// checkout already has that commit (a webhook's `after`).
    pub(crate) async fn pull_as(
        &self,
        name: &str,
        only_if_not: Option<&str>,
    ) -> Result<RepoInfo, RepoError> {
        let lock = {
            let mut map = self.pulling.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(name.to_owned()).or_default().clone()
        };
        let _one_at_a_time = lock.lock().await;
        let row = self.row(name).await?;
        if only_if_not.is_some() && row.commit_id.as_deref() == only_if_not {
            return self.info(row).await;
        }
        let outcome = self.fetch_and_discover(&row).await;
        let at = unix_now();
        match &outcome {
            Ok((commit, tests, problems)) => {
                let tests = serde_json::to_string(tests).unwrap_or_else(|_| "[]".to_owned());
                let problems = serde_json::to_string(problems).unwrap_or_else(|_| "[]".to_owned());
                self.store
                    .record_pull(name, at, Ok((commit, &tests, &problems)))
                    .await?;
            }
            Err(e) => self.store.record_pull(name, at, Err(e)).await?,
        }
        self.info(self.row(name).await?).await
    }

    fn credential(&self, row: &RepoRow) -> Result<Option<Credential>, RepoError> {
        let (Some(kind), Some(sealed)) = (&row.credential_kind, &row.credential) else {
            return Ok(None);
        };
        let plain = self
            .sealer
            .open(&Repos::purpose(&row.name, "credential"), sealed)?;
        let text = String::from_utf8(plain)
            .map_err(|_| RepoError::Failed("a stored credential is not text".to_owned()))?;
        Ok(Some(if kind == "token" {
            Credential::Token(text)
        } else {
            Credential::DeployKey(text)
        }))
    }

    fn checkout(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("checkout")
    }

    async fn fetch_and_discover(
        &self,
        row: &RepoRow,
    ) -> Result<(String, Vec<RepoTest>, Vec<String>), String> {
        // Checked again at every fetch: the owner's networks or the name's
        // addresses may have changed since the registration.
        let remote = Remote::parse(&row.url)?;
        if remote.transport == Transport::Local && !row.trusted {
            return Err("only an admin may register a local path or file:// URL".to_owned());
        }
        let policy = self
            .policy(&row.owner, row.trusted)
            .await
            .map_err(|e| e.to_string())?;
        let pinned = remote::pin(&policy, &remote, &row.url)
            .await
            .map_err(|e| format!("the repository URL is refused: {e}"))?;
        let credential = self.credential(row).map_err(|e| e.to_string())?;
        let checkout = self.checkout(&row.name);
        let source = git::Source {
            branch: &row.branch,
            credential: credential.as_ref(),
            remote: &remote,
            pinned: &pinned,
            host_key: row.host_key.as_deref(),
        };
        let synced = git::sync(&source, &checkout, &self.dir.join(&row.name)).await?;
        if let Some(key) = &synced.learned_host_key {
            self.store
                .learn_host_key(&row.name, key)
                .await
                .map_err(|e| e.to_string())?;
        }
        let commit = synced.commit;
        let backend = self.backend.clone();
        let (tests, problems) =
            tokio::task::spawn_blocking(move || files::discover(&checkout, backend.as_ref()))
                .await
                .map_err(|e| format!("discovering the tests failed: {e}"))?;
        Ok((commit, tests, problems))
    }

    /// Starts a repository test: queues its scenario (at the pulled
    /// commit) like `pummel run --server --queue` does; returns the job's
    /// id. The job's run, once the queue starts it, is the test's run.
    pub(crate) async fn start(
        &self,
        who: &Caller,
        name: &str,
        test: &str,
        trigger: &str,
    ) -> Result<String, RepoError> {
        self.start_with(who, name, test, trigger, &Overrides::default())
            .await
    }

    /// [`Repos::start`] with the load, agents or labels the caller chose
    /// over the test's own (the web's new-run form).
    pub(crate) async fn start_with(
        &self,
        who: &Caller,
        name: &str,
        test: &str,
        trigger: &str,
        chosen: &Overrides,
    ) -> Result<String, RepoError> {
        let row = self.row(name).await?;
        Repos::may(who, &row)?;
        let tests: Vec<RepoTest> = serde_json::from_str(&row.tests).unwrap_or_default();
        let Some(mut t) = tests.into_iter().find(|t| t.name == test) else {
            return Err(RepoError::NotFound(format!(
                "repository {name:?} has no test named {test:?} (at its last pull)"
            )));
        };
        chosen.apply(&mut t);
        let checkout = self.checkout(name);
        let plan = tokio::task::spawn_blocking({
            let t = t.clone();
            move || files::plan(&checkout, &t)
        })
        .await
        .map_err(|e| RepoError::Failed(e.to_string()))?
        .map_err(RepoError::BadRequest)?;
        let job = self.submit(&row, plan, &t).await?;
        self.store
            .insert_repo_job(&RepoRunRow {
                run: String::new(),
                repository: name.to_owned(),
                test: test.to_owned(),
                commit_id: row.commit_id.clone(),
                trigger: trigger.to_owned(),
                job: job.clone(),
                state: String::new(),
            })
            .await?;
        Ok(job)
    }

    async fn submit(
        &self,
        row: &RepoRow,
        plan: PlanSpec,
        test: &RepoTest,
    ) -> Result<String, RepoError> {
        let (owner, repository) = (row.owner.as_str(), row.name.as_str());
        let mut submit = Submit {
            plan,
            agents: test.agents,
            labels: test.labels.clone(),
            on_agent_loss: OnAgentLoss::default(),
            follow: false,
            // A repository's tests wait their turn in the queue, as every
            // run from the service does.
            queue: true,
            test: format!("{repository}/{}", test.name),
            source: "repo".to_owned(),
            schedule: None,
            network: None,
        };
        // A repository's test passes the same gate as its owner's runs.
        let who = crate::token::Identity {
            name: owner.to_owned(),
            role: if row.trusted {
                crate::token::Role::Admin
            } else {
                crate::token::Role::Client
            },
        };
        let gate = crate::gate::Gate {
            store: &self.store,
            backend: self.backend.as_ref(),
            ownership_ttl: self.ownership_ttl,
            trust_clients: self.trust_clients,
        };
        gate.pass(&who, &mut submit)
            .await
            .map_err(RepoError::Forbidden)?;
        let (tx, mut events) = mpsc::unbounded_channel();
        let sent = self.hub.send(HubMsg::Client {
            owner: owner.to_owned(),
            admin: row.trusted,
            req: FromClient::Submit(submit),
            tx,
        });
        if !sent {
            return Err(RepoError::Failed("the server is stopping".to_owned()));
        }
        while let Some(event) = events.recv().await {
            match event {
                ToClient::Queued { job, .. } => return Ok(job),
                ToClient::Error { message } => return Err(RepoError::Conflict(message)),
                _ => {}
            }
        }
        Err(RepoError::Failed("the job was not queued".to_owned()))
    }

    /// The repository's webhook secret, opened.
    pub(crate) fn webhook_secret(&self, row: &RepoRow) -> Result<Vec<u8>, RepoError> {
        Ok(self
            .sealer
            .open(&Repos::purpose(&row.name, "webhook"), &row.webhook_secret)?)
    }

    /// A push arrived for `name` (its check already passed): pull, then
    /// queue the tests that run on a push. Returns their jobs.
    pub(crate) async fn pushed(
        &self,
        name: &str,
        after: Option<&str>,
    ) -> Result<Vec<String>, RepoError> {
        let info = self.pull_as(name, after).await?;
        if let Some(e) = info.pull_error {
            return Err(RepoError::Failed(e));
        }
        let owner = Caller {
            name: info.owner.clone(),
            admin: true,
        };
        let mut jobs = Vec::new();
        for t in info.tests.iter().filter(|t| t.on_push) {
            jobs.push(self.start(&owner, name, &t.name, "push").await?);
        }
        Ok(jobs)
    }

    /// Every minute's (every second's) scheduled tests: pull, then start.
    pub(crate) fn start_scheduler(self: &Arc<Repos>) {
        let repos = self.clone();
        tokio::spawn(async move {
            let mut last = unix_now();
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let now = unix_now();
                if now <= last {
                    continue;
                }
                repos.fire_due(last, now).await;
                last = now;
            }
        });
    }

    async fn fire_due(&self, after: i64, until: i64) {
        let Ok(rows) = self.store.repos().await else {
            return;
        };
        let mut due: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows {
            let tests: Vec<RepoTest> = serde_json::from_str(&row.tests).unwrap_or_default();
            for t in tests {
                let Some(cron) = t.schedule.as_deref().and_then(|s| schedule::parse(s).ok()) else {
                    continue;
                };
                if schedule::due(&cron, after, until) {
                    due.entry(row.name.clone()).or_default().push(t.name);
                }
            }
        }
        for (name, tests) in due {
            let info = match self.pull_as(&name, None).await {
                Ok(info) => info,
                Err(e) => {
                    eprintln!("pummel server: scheduled pull of repository {name} failed: {e}");
                    continue;
                }
            };
            let owner = Caller {
                name: info.owner.clone(),
                admin: true,
            };
            for test in tests {
                if let Err(e) = self.start(&owner, &name, &test, "schedule").await {
                    eprintln!("pummel server: scheduled test {name}/{test} did not start: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_overrides_replace_the_tests_own_flag_by_flag() {
        let mut test = RepoTest {
            name: "smoke".to_owned(),
            scenario: "s.yaml".to_owned(),
            overrides: ["--vus", "3", "--duration", "2s"]
                .map(str::to_owned)
                .to_vec(),
            env: BTreeMap::new(),
            agents: Some(2),
            labels: BTreeMap::from([("zone".to_owned(), "eu".to_owned())]),
            thresholds: Vec::new(),
            notify: config::Targets::default(),
            schedule: None,
            on_push: true,
        };
        Overrides {
            flags: ["--vus", "10", "--rate", "5"].map(str::to_owned).to_vec(),
            agents: None,
            labels: BTreeMap::new(),
        }
        .apply(&mut test);
        assert_eq!(
            test.overrides,
            ["--duration", "2s", "--vus", "10", "--rate", "5"]
        );
        assert_eq!(test.agents, Some(2), "not chosen: the test's own");
        assert_eq!(test.labels["zone"], "eu");
        Overrides {
            flags: Vec::new(),
            agents: Some(1),
            labels: BTreeMap::from([("zone".to_owned(), "us".to_owned())]),
        }
        .apply(&mut test);
        assert_eq!((test.agents, test.labels["zone"].as_str()), (Some(1), "us"));
    }
}
