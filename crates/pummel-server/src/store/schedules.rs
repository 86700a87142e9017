//! Schedules: stored run requests that a cron expression queues again and
//! again.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError};

/// A stored run request with its cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScheduleRow {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) test: String,
    pub(crate) cron: String,
    /// The run request, JSON.
    pub(crate) spec: String,
    /// Unix seconds of the next firing.
    pub(crate) next_at: i64,
    pub(crate) created_at: i64,
}

fn schedule_row(row: &AnyRow) -> Result<ScheduleRow, StoreError> {
    Ok(ScheduleRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        test: row.try_get("test")?,
        cron: row.try_get("cron")?,
        spec: row.try_get("spec")?,
        next_at: row.try_get("next_at")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    pub(crate) async fn insert_schedule(&self, s: &ScheduleRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedules (id, owner, test, cron, spec, next_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(&s.owner)
        .bind(&s.test)
        .bind(&s.cron)
        .bind(&s.spec)
        .bind(s.next_at)
        .bind(s.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub(crate) async fn schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, owner, test, cron, spec, next_at, created_at FROM schedules \
             ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(schedule_row).collect()
    }

    pub(crate) async fn set_schedule_next(&self, id: &str, next_at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE schedules SET next_at = $1 WHERE id = $2")
            .bind(next_at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub(crate) async fn delete_schedule(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM schedules WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
