//! The record of every notification sent about a run: one row per target
//! with its attempts so far and how it ended, so a webhook that was given
//! up on, or a mail relay that refused the server's TLS, shows on the run
//! (`GET /v1/runs/{id}/notifications`) and not only in the server's log.
//! Queries on the server's store, kept beside the notifier (as the policy's
//! are) so that the store never depends on it.

use serde::Serialize;
use sqlx::Row as _;

use crate::store::{unix_now, Store, StoreError};

/// One notification as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Delivery {
    pub(crate) channel: String,
    pub(crate) target: String,
    pub(crate) attempts: i64,
    /// `sending`, `delivered` or `failed`.
    pub(crate) state: String,
    /// The last attempt's error.
    pub(crate) error: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl Store {
    /// Starts the record of a notification; its id.
    pub(crate) async fn start_delivery(
        &self,
        run: &str,
        channel: &str,
        target: &str,
    ) -> Result<String, StoreError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let id = crate::sealed::hex(&bytes);
        let now = unix_now();
        sqlx::query(
            "INSERT INTO notification_deliveries (id, run, channel, target, attempts, state, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 'sending', $5, $5)",
        )
        .bind(&id)
        .bind(run)
        .bind(channel)
        .bind(target)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Records an attempt (`state` stays `sending` until the last one).
    pub(crate) async fn record_attempt(
        &self,
        id: &str,
        attempts: u32,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notification_deliveries SET attempts = $1, state = $2, error = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(i64::from(attempts))
        .bind(state)
        .bind(error)
        .bind(unix_now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The notifications about `run`, oldest first.
    pub(crate) async fn deliveries(&self, run: &str) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, target, attempts, state, error, created_at, updated_at \
             FROM notification_deliveries WHERE run = $1 ORDER BY created_at, channel, target",
        )
        .bind(run)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    channel: r.try_get("channel")?,
                    target: r.try_get("target")?,
                    attempts: r.try_get("attempts")?,
                    state: r.try_get("state")?,
                    error: r.try_get("error")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
