//! The policy's tables: allowed networks, host claims and quotas, keyed by
//! the owner's name. Queries on the server's store (SQLite or PostgreSQL,
//! the same SQL text); kept beside the policy rather than in `store` so
//! that the store never depends on the policy's types (no module cycle).

use sqlx::Row as _;

use super::network::Cidr;
use super::ownership::Claim;
use super::quota::{Quota, Usage};
use crate::store::{unix_now, Store, StoreError};

fn malformed(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Malformed(format!("{what}: {e}"))
}

fn opt_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

impl Store {
    pub(crate) async fn allowed_networks(&self, owner: &str) -> Result<Vec<Cidr>, StoreError> {
        let rows = sqlx::query("SELECT cidr FROM allowed_networks WHERE owner = $1 ORDER BY cidr")
            .bind(owner)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("cidr")?;
                text.parse::<Cidr>().map_err(|e| malformed("network", e))
            })
            .collect()
    }

    /// Opens (`allow`) or closes a network for `owner`; true when that
    /// changed something.
    pub(crate) async fn set_network(
        &self,
        owner: &str,
        cidr: Cidr,
        allow: bool,
    ) -> Result<bool, StoreError> {
        let done = if allow {
            sqlx::query(
                "INSERT INTO allowed_networks (owner, cidr, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (owner, cidr) DO NOTHING",
            )
            .bind(owner)
            .bind(cidr.to_string())
            .bind(unix_now())
            .execute(self.pool())
            .await?
        } else {
            sqlx::query("DELETE FROM allowed_networks WHERE owner = $1 AND cidr = $2")
                .bind(owner)
                .bind(cidr.to_string())
                .execute(self.pool())
                .await?
        };
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn claims(&self, owner: &str) -> Result<Vec<Claim>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, authority, challenge_id, token, created_at, verified_at \
             FROM host_claims WHERE owner = $1 ORDER BY host",
        )
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Claim {
                    host: r.try_get("host")?,
                    authority: r.try_get("authority")?,
                    challenge_id: r.try_get("challenge_id")?,
                    token: r.try_get("token")?,
                    created_at: r.try_get("created_at")?,
                    verified_at: r.try_get("verified_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub(crate) async fn claim(&self, owner: &str, host: &str) -> Result<Option<Claim>, StoreError> {
        Ok(self
            .claims(owner)
            .await?
            .into_iter()
            .find(|c| c.host == host))
    }

    /// Keeps a new claim (a claim of the same host is replaced: a new
    /// token, unproven).
    pub(crate) async fn put_claim(&self, owner: &str, claim: &Claim) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO host_claims (owner, host, authority, challenge_id, token, created_at, verified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL) \
             ON CONFLICT (owner, host) DO UPDATE SET authority = excluded.authority, \
             challenge_id = excluded.challenge_id, token = excluded.token, \
             created_at = excluded.created_at, verified_at = NULL",
        )
        .bind(owner)
        .bind(&claim.host)
        .bind(&claim.authority)
        .bind(&claim.challenge_id)
        .bind(&claim.token)
        .bind(claim.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records the outcome of a check: proven now, or no longer.
    pub(crate) async fn set_claim_verified(
        &self,
        owner: &str,
        host: &str,
        verified_at: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE host_claims SET verified_at = $1 WHERE owner = $2 AND host = $3")
            .bind(verified_at)
            .bind(owner)
            .bind(host)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub(crate) async fn quota(&self, owner: &str) -> Result<Option<Quota>, StoreError> {
        let row = sqlx::query(
            "SELECT concurrent_jobs, agents_per_job, max_vus, max_rate, max_duration_ms, \
             runs_per_day, report_storage, allow_runners FROM quotas WHERE owner = $1",
        )
        .bind(owner)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Quota {
            concurrent_jobs: opt_u32(r.try_get("concurrent_jobs")?),
            agents_per_job: opt_u32(r.try_get("agents_per_job")?),
            max_vus: opt_u32(r.try_get("max_vus")?),
            max_rate: r.try_get("max_rate")?,
            max_duration: r
                .try_get::<Option<i64>, _>("max_duration_ms")?
                .map(|ms| std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
            runs_per_day: opt_u32(r.try_get("runs_per_day")?),
            report_storage: r
                .try_get::<Option<i64>, _>("report_storage")?
                .map(|b| u64::try_from(b).unwrap_or(0)),
            allow_runners: r.try_get::<i64, _>("allow_runners")? != 0,
        }))
    }

    pub(crate) async fn set_quota(&self, owner: &str, quota: &Quota) -> Result<(), StoreError> {
        let ms = quota
            .max_duration
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let bytes = quota
            .report_storage
            .map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        sqlx::query(
            "INSERT INTO quotas (owner, concurrent_jobs, agents_per_job, max_vus, max_rate, \
             max_duration_ms, runs_per_day, report_storage, allow_runners) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (owner) DO UPDATE SET concurrent_jobs = excluded.concurrent_jobs, \
             agents_per_job = excluded.agents_per_job, max_vus = excluded.max_vus, \
             max_rate = excluded.max_rate, max_duration_ms = excluded.max_duration_ms, \
             runs_per_day = excluded.runs_per_day, report_storage = excluded.report_storage, \
             allow_runners = excluded.allow_runners",
        )
        .bind(owner)
        .bind(quota.concurrent_jobs.map(i64::from))
        .bind(quota.agents_per_job.map(i64::from))
        .bind(quota.max_vus.map(i64::from))
        .bind(quota.max_rate)
        .bind(ms)
        .bind(quota.runs_per_day.map(i64::from))
        .bind(bytes)
        .bind(i64::from(quota.allow_runners))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// What `owner` has in use: runs in flight, runs of the last day, bytes
    /// of stored results.
    pub(crate) async fn usage(&self, owner: &str) -> Result<Usage, StoreError> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN state IN ('pending', 'running') THEN 1 ELSE 0 END), 0) AS active, \
             COALESCE(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END), 0) AS today, \
             COALESCE(SUM(LENGTH(COALESCE(result, ''))), 0) AS bytes \
             FROM runs WHERE owner = $2",
        )
        .bind(unix_now() - 86_400)
        .bind(owner)
        .fetch_one(self.pool())
        .await?;
        let n = |name: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
        };
        Ok(Usage {
            active_runs: n("active")?,
            runs_last_day: n("today")?,
            report_bytes: n("bytes")?,
        })
    }
}
