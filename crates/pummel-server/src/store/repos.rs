//! The store's rows for test repositories, the runs they started and the
//! per-user notification settings (migration 0005).

use base64::Engine as _;
use sqlx::Row as _;

use super::{Store, StoreError};

/// A registered repository as stored (secrets still sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RepoRow {
    pub(crate) name: String,
    pub(crate) owner: String,
    /// Registered by an admin (see the migration).
    pub(crate) trusted: bool,
    pub(crate) url: String,
    pub(crate) branch: String,
    pub(crate) credential_kind: Option<String>,
    pub(crate) credential: Option<Vec<u8>>,
    pub(crate) webhook_secret: Vec<u8>,
    pub(crate) created_at: i64,
    pub(crate) pulled_at: Option<i64>,
    pub(crate) commit_id: Option<String>,
    pub(crate) pull_error: Option<String>,
    /// JSON list of the discovered tests.
    pub(crate) tests: String,
    /// JSON list of the problems found.
    pub(crate) problems: String,
    /// An ssh remote's host keys, `TYPE BASE64` lines.
    pub(crate) host_key: Option<String>,
    /// Given at registration (rather than learned on the first fetch).
    pub(crate) host_key_given: bool,
}

/// A run a repository's test started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RepoRunRow {
    /// Empty while its job waits in the queue (or if it never ran).
    pub(crate) run: String,
    pub(crate) repository: String,
    pub(crate) test: String,
    pub(crate) commit_id: Option<String>,
    pub(crate) trigger: String,
    /// The job the test was queued as; empty for a run started before
    /// tests went through the queue.
    pub(crate) job: String,
    /// The job's state (queued, running, passed, …); empty without a job,
    /// `deleted` once the job has been deleted.
    pub(crate) state: String,
}

fn repo_run_row(row: &sqlx::any::AnyRow) -> Result<RepoRunRow, sqlx::Error> {
    Ok(RepoRunRow {
        run: row.try_get("run")?,
        repository: row.try_get("repository")?,
        test: row.try_get("test")?,
        commit_id: row.try_get("commit_id")?,
        trigger: row.try_get("trigger")?,
        job: row.try_get("job")?,
        state: row.try_get("state")?,
    })
}

/// A user's notification settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NotifyRow {
    /// JSON: the targets.
    pub(crate) targets: String,
    pub(crate) trusted: bool,
    /// Sealed: what the user's webhooks are signed with.
    pub(crate) webhook_secret: Option<Vec<u8>>,
}

/// Sealed bytes are kept as base64 text: one column type for SQLite and
/// PostgreSQL alike.
fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: Option<String>) -> Result<Option<Vec<u8>>, sqlx::Error> {
    text.map(|t| {
        base64::engine::general_purpose::STANDARD
            .decode(t)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
    })
    .transpose()
}

const REPO_COLUMNS: &str =
    "name, owner, trusted, url, branch, credential_kind, credential, webhook_secret, \
     created_at, pulled_at, commit_id, pull_error, tests, problems, host_key, host_key_given";

fn repo_row(row: &sqlx::any::AnyRow) -> Result<RepoRow, sqlx::Error> {
    Ok(RepoRow {
        name: row.try_get("name")?,
        owner: row.try_get("owner")?,
        trusted: row.try_get::<i64, _>("trusted")? != 0,
        url: row.try_get("url")?,
        branch: row.try_get("branch")?,
        credential_kind: row.try_get("credential_kind")?,
        credential: unb64(row.try_get("credential")?)?,
        webhook_secret: unb64(Some(row.try_get("webhook_secret")?))?.unwrap_or_default(),
        created_at: row.try_get("created_at")?,
        pulled_at: row.try_get("pulled_at")?,
        commit_id: row.try_get("commit_id")?,
        pull_error: row.try_get("pull_error")?,
        tests: row.try_get("tests")?,
        problems: row.try_get("problems")?,
        host_key: row.try_get("host_key")?,
        host_key_given: row.try_get::<i64, _>("host_key_given")? != 0,
    })
}

impl Store {
    /// Adds a repository; false when the name is taken.
    pub(crate) async fn insert_repo(&self, repo: &RepoRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO repositories (name, owner, trusted, url, branch, credential_kind, credential, \
             webhook_secret, created_at, host_key, host_key_given) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&repo.name)
        .bind(&repo.owner)
        .bind(i64::from(repo.trusted))
        .bind(&repo.url)
        .bind(&repo.branch)
        .bind(&repo.credential_kind)
        .bind(repo.credential.as_deref().map(b64))
        .bind(b64(&repo.webhook_secret))
        .bind(repo.created_at)
        .bind(&repo.host_key)
        .bind(i64::from(repo.host_key_given))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn repo(&self, name: &str) -> Result<Option<RepoRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REPO_COLUMNS} FROM repositories WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(repo_row).transpose()?)
    }

    pub(crate) async fn repos(&self) -> Result<Vec<RepoRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REPO_COLUMNS} FROM repositories ORDER BY name"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(repo_row).collect::<Result<_, _>>()?)
    }

    /// Records a pull: its commit, tests and problems, or its error (the
    /// tests of the last good pull are kept then).
    pub(crate) async fn record_pull(
        &self,
        name: &str,
        at: i64,
        outcome: Result<(&str, &str, &str), &str>,
    ) -> Result<(), StoreError> {
        match outcome {
            Ok((commit, tests, problems)) => {
                sqlx::query(
                    "UPDATE repositories SET pulled_at = $1, commit_id = $2, tests = $3, problems = $4, \
                     pull_error = NULL WHERE name = $5",
                )
                .bind(at)
                .bind(commit)
                .bind(tests)
                .bind(problems)
                .bind(name)
                .execute(self.pool())
                .await?;
            }
            Err(error) => {
                sqlx::query(
                    "UPDATE repositories SET pulled_at = $1, pull_error = $2 WHERE name = $3",
                )
                .bind(at)
                .bind(error)
                .bind(name)
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    /// Records the host key an ssh remote showed on its first fetch; only
    /// when none is recorded yet (a key once recorded is never replaced by
    /// what a host shows).
    pub(crate) async fn learn_host_key(&self, name: &str, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE repositories SET host_key = $1 WHERE name = $2 AND host_key IS NULL",
        )
        .bind(key)
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn delete_repo(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM repositories WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Links a queued job to the repository test it runs.
    pub(crate) async fn insert_repo_job(&self, row: &RepoRunRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO repository_jobs (job, repository, test, commit_id, trigger, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.job)
        .bind(&row.repository)
        .bind(&row.test)
        .bind(&row.commit_id)
        .bind(&row.trigger)
        .bind(super::unix_now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The latest runs a repository's tests started (their jobs, each with
    /// its run once it has one), newest first.
    pub(crate) async fn repo_runs(&self, repository: &str) -> Result<Vec<RepoRunRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(j.run_id, '') AS run, rj.repository AS repository, rj.test AS test, \
                    rj.commit_id AS commit_id, rj.trigger AS trigger, rj.job AS job, \
                    COALESCE(j.state, 'deleted') AS state, rj.created_at AS created_at \
             FROM repository_jobs rj LEFT JOIN jobs j ON j.id = rj.job \
             WHERE rj.repository = $1 \
             UNION ALL \
             SELECT run, repository, test, commit_id, trigger, '' AS job, '' AS state, created_at \
             FROM repository_runs WHERE repository = $1 \
             ORDER BY created_at DESC, job DESC, run DESC LIMIT 20",
        )
        .bind(repository)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(repo_run_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The repository test that started `run`, if one did (through the
    /// queue, or directly before tests went through it).
    pub(crate) async fn repo_run(&self, run: &str) -> Result<Option<RepoRunRow>, StoreError> {
        let row = sqlx::query(
            "SELECT j.run_id AS run, rj.repository AS repository, rj.test AS test, \
                    rj.commit_id AS commit_id, rj.trigger AS trigger, rj.job AS job, \
                    j.state AS state \
             FROM repository_jobs rj JOIN jobs j ON j.id = rj.job WHERE j.run_id = $1 \
             UNION ALL \
             SELECT run, repository, test, commit_id, trigger, '' AS job, '' AS state \
             FROM repository_runs WHERE run = $1",
        )
        .bind(run)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(repo_run_row).transpose()?)
    }

    /// A user's notification targets (JSON) and sealed webhook secret.
    pub(crate) async fn notification_settings(
        &self,
        owner: &str,
    ) -> Result<Option<NotifyRow>, StoreError> {
        let row = sqlx::query(
            "SELECT targets, trusted, webhook_secret FROM notification_settings WHERE owner = $1",
        )
        .bind(owner)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(NotifyRow {
            targets: row.try_get("targets")?,
            trusted: row.try_get::<i64, _>("trusted")? != 0,
            webhook_secret: unb64(row.try_get("webhook_secret")?)?,
        }))
    }

    pub(crate) async fn set_notification_settings(
        &self,
        owner: &str,
        settings: &NotifyRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO notification_settings (owner, targets, trusted, webhook_secret) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (owner) DO UPDATE SET targets = excluded.targets, \
             trusted = excluded.trusted, webhook_secret = excluded.webhook_secret",
        )
        .bind(owner)
        .bind(&settings.targets)
        .bind(i64::from(settings.trusted))
        .bind(settings.webhook_secret.as_deref().map(b64))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
