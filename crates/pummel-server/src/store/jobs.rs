//! The job queue's rows: run requests kept until they have run, in
//! submission order, each claimed under a lease so it runs once.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError};

/// A job as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JobRow {
    pub(crate) id: String,
    /// Submission order.
    pub(crate) seq: i64,
    pub(crate) owner: String,
    /// cli, api, web, repo, schedule.
    pub(crate) source: String,
    /// The name runs are grouped by (may be empty).
    pub(crate) test: String,
    /// The run request, JSON.
    pub(crate) spec: String,
    pub(crate) state: String,
    pub(crate) run_id: Option<String>,
    /// Unix seconds.
    pub(crate) created_at: i64,
    pub(crate) started_at: Option<i64>,
    pub(crate) finished_at: Option<i64>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) message: Option<String>,
}

const JOB_COLUMNS: &str = "id, seq, owner, source, test, spec, state, run_id, created_at, \
                           started_at, finished_at, exit_code, message";

fn job_row(row: &AnyRow) -> Result<JobRow, StoreError> {
    let exit_code: Option<i64> = row.try_get("exit_code")?;
    Ok(JobRow {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        owner: row.try_get("owner")?,
        source: row.try_get("source")?,
        test: row.try_get("test")?,
        spec: row.try_get("spec")?,
        state: row.try_get("state")?,
        run_id: row.try_get("run_id")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        exit_code: exit_code.map(|c| i32::try_from(c).unwrap_or(1)),
        message: row.try_get("message")?,
    })
}

impl Store {
    /// The next submission number.
    pub(crate) async fn next_job_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM jobs")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")? + 1)
    }

    pub(crate) async fn insert_job(&self, job: &JobRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO jobs (id, seq, owner, source, test, spec, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&job.id)
        .bind(job.seq)
        .bind(&job.owner)
        .bind(&job.source)
        .bind(&job.test)
        .bind(&job.spec)
        .bind(&job.state)
        .bind(job.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Claims a queued job for its run: true for the one claimer that
    /// moved it from `queued` (a job is never started twice).
    pub(crate) async fn claim_job(
        &self,
        id: &str,
        run_id: &str,
        lease_owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'running', run_id = $1, started_at = $2, \
             lease_owner = $3, lease_until = $4 WHERE id = $5 AND state = 'queued'",
        )
        .bind(run_id)
        .bind(now)
        .bind(lease_owner)
        .bind(lease_until)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extends the leases of the jobs this server runs.
    pub(crate) async fn renew_leases(
        &self,
        lease_owner: &str,
        lease_until: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE state = 'running' AND lease_owner = $2",
        )
        .bind(lease_until)
        .bind(lease_owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a job that is queued or running; false when it had already
    /// ended.
    pub(crate) async fn finish_job(
        &self,
        id: &str,
        state: &str,
        exit_code: Option<i32>,
        message: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, exit_code = $2, message = $3, finished_at = $4, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $5 AND state IN ('queued', 'running')",
        )
        .bind(state)
        .bind(exit_code.map(i64::from))
        .bind(message)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// After a restart: every job that was running (its lease held by a
    /// server that is gone) is interrupted, as its run is; returns them.
    pub(crate) async fn interrupt_running_jobs(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE jobs SET state = 'interrupted', finished_at = $1, \
             message = 'the server restarted while the job was running', \
             lease_owner = NULL, lease_until = NULL \
             WHERE state = 'running' RETURNING id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?)
    }

    pub(crate) async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_row).transpose()
    }

    /// The newest `limit` jobs (of `owner` when given), newest first.
    pub(crate) async fn jobs(
        &self,
        owner: Option<&str>,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 = '' OR owner = $1) \
             ORDER BY seq DESC LIMIT $2"
        ))
        .bind(owner.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job_row).collect()
    }

    /// Every queued job, in submission order.
    pub(crate) async fn queued_jobs(&self) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'queued' ORDER BY seq"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job_row).collect()
    }

    /// Deletes a job that is not running, with its run, the run's
    /// snapshots and its result; false when there was no such job.
    pub(crate) async fn delete_job(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query("SELECT run_id FROM jobs WHERE id = $1 AND state <> 'running'")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let run_id: Option<String> = row.try_get("run_id")?;
        if let Some(run_id) = run_id {
            sqlx::query("DELETE FROM snapshots WHERE run = $1")
                .bind(&run_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM runs WHERE id = $1")
                .bind(&run_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// The ended jobs of `test`, newest first: what retention prunes from.
    pub(crate) async fn ended_jobs_of(&self, test: &str) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE test = $1 \
             AND state NOT IN ('queued', 'running') ORDER BY seq DESC"
        ))
        .bind(test)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job_row).collect()
    }

    /// The test names that have ended jobs.
    pub(crate) async fn tests_with_jobs(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT test FROM jobs WHERE state NOT IN ('queued', 'running') ORDER BY test",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("test"))
            .collect::<Result<_, _>>()?)
    }
}
