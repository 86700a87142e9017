//! The store's reads for the web pages: runs a page at a time (newest
//! first, by index), without their plans and results.

use sqlx::Row;

use super::{Store, StoreError};

/// A run as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunSummary {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) state: String,
    pub(crate) created_at: i64,
    pub(crate) exit_code: Option<i32>,
    pub(crate) message: Option<String>,
}

impl Store {
    /// Runs newest first, `limit` from `offset`; only `owner`'s when given.
    pub(crate) async fn run_page(
        &self,
        owner: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let query = match owner {
            Some(owner) => sqlx::query(
                "SELECT id, owner, state, created_at, exit_code, message FROM runs \
                 WHERE owner = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
            )
            .bind(owner),
            None => sqlx::query(
                "SELECT id, owner, state, created_at, exit_code, message FROM runs \
                 ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
            ),
        };
        let rows = query.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let exit_code: Option<i64> = row.try_get("exit_code")?;
                Ok(RunSummary {
                    id: row.try_get("id")?,
                    owner: row.try_get("owner")?,
                    state: row.try_get("state")?,
                    created_at: row.try_get("created_at")?,
                    exit_code: exit_code.map(|c| i32::try_from(c).unwrap_or(1)),
                    message: row.try_get("message")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    pub(crate) async fn run_count(&self, owner: Option<&str>) -> Result<i64, StoreError> {
        let row = match owner {
            Some(owner) => {
                sqlx::query("SELECT COUNT(*) AS n FROM runs WHERE owner = $1")
                    .bind(owner)
                    .fetch_one(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT COUNT(*) AS n FROM runs")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(row.try_get("n")?)
    }

    /// The finished runs of `owner` (everyone's when None) with results,
    /// oldest first, at most `limit` of the newest: for trends.
    pub(crate) async fn results_for_trend(
        &self,
        owner: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let query = match owner {
            Some(owner) => sqlx::query(
                "SELECT id, plan, result FROM runs WHERE owner = $1 AND result IS NOT NULL \
                 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(owner),
            None => sqlx::query(
                "SELECT id, plan, result FROM runs WHERE result IS NOT NULL \
                 ORDER BY created_at DESC, id DESC LIMIT $1",
            ),
        };
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        let mut out = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    row.try_get("plan")?,
                    row.try_get("result")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        out.reverse();
        Ok(out)
    }
}
