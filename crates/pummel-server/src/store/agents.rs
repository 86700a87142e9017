//! Agents as the store remembers them, between connections and restarts.

use sqlx::Row;

use super::{unsigned, Store, StoreError};

/// An agent as the store remembers it (between connections and restarts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AgentRow {
    pub(crate) name: String,
    /// JSON object of labels.
    pub(crate) labels: String,
    pub(crate) version: String,
    pub(crate) cores: u32,
    pub(crate) disabled: bool,
    /// Unix seconds.
    pub(crate) last_seen: i64,
}

impl Store {
    pub(crate) async fn upsert_agent(&self, agent: &AgentRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agents (name, labels, version, cores, disabled, last_seen) \
             VALUES ($1, $2, $3, $4, 0, $5) \
             ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, \
             version = excluded.version, cores = excluded.cores, last_seen = excluded.last_seen",
        )
        .bind(&agent.name)
        .bind(&agent.labels)
        .bind(&agent.version)
        .bind(i64::from(agent.cores))
        .bind(agent.last_seen)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub(crate) async fn set_agent_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE agents SET disabled = $1 WHERE name = $2")
            .bind(i64::from(disabled))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, labels, version, cores, disabled, last_seen FROM agents ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AgentRow {
                    name: row.try_get("name")?,
                    labels: row.try_get("labels")?,
                    version: row.try_get("version")?,
                    cores: unsigned("cores", row.try_get("cores")?)?,
                    disabled: row.try_get::<i64, _>("disabled")? != 0,
                    last_seen: row.try_get("last_seen")?,
                })
            })
            .collect()
    }
}
