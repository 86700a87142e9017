//! Runs, their per-second snapshots from each agent, and their results.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{unsigned, Store, StoreError};

/// A run as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunRow {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) state: String,
    /// Unix seconds.
    pub(crate) created_at: i64,
    /// The shipped plan, JSON.
    pub(crate) plan: String,
    /// Who ran which share, JSON.
    pub(crate) agents: String,
    /// The result file's JSON, once there is one.
    pub(crate) result: Option<String>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) message: Option<String>,
}

/// One agent's one second of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotRow {
    pub(crate) agent: String,
    pub(crate) second: u64,
    pub(crate) body: String,
}

fn run_row(row: &AnyRow) -> Result<RunRow, StoreError> {
    let exit_code: Option<i64> = row.try_get("exit_code")?;
    Ok(RunRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        plan: row.try_get("plan")?,
        agents: row.try_get("agents")?,
        result: row.try_get("result")?,
        exit_code: exit_code.map(|c| i32::try_from(c).unwrap_or(1)),
        message: row.try_get("message")?,
    })
}

const RUN_COLUMNS: &str = "id, owner, state, created_at, plan, agents, result, exit_code, message";

impl Store {
    pub(crate) async fn insert_run(&self, run: &RunRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO runs (id, owner, state, created_at, plan, agents, result, exit_code, message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&run.id)
        .bind(&run.owner)
        .bind(&run.state)
        .bind(run.created_at)
        .bind(&run.plan)
        .bind(&run.agents)
        .bind(&run.result)
        .bind(run.exit_code.map(i64::from))
        .bind(&run.message)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub(crate) async fn update_run(
        &self,
        id: &str,
        state: &str,
        agents: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET state = $1, agents = $2, message = $3 WHERE id = $4")
            .bind(state)
            .bind(agents)
            .bind(message)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub(crate) async fn finish_run(
        &self,
        id: &str,
        state: &str,
        result: &str,
        exit_code: i32,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET state = $1, result = $2, exit_code = $3, message = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(result)
        .bind(i64::from(exit_code))
        .bind(message)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub(crate) async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(run_row).transpose()
    }

    pub(crate) async fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(run_row).collect()
    }

    pub(crate) async fn interrupt_unfinished(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE runs SET state = 'interrupted', \
             message = 'the server restarted while the run was in flight' \
             WHERE state IN ('pending', 'running') RETURNING id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?)
    }

    pub(crate) async fn put_snapshot(
        &self,
        run: &str,
        agent: &str,
        second: u64,
        body: &str,
    ) -> Result<bool, StoreError> {
        let second =
            i64::try_from(second).map_err(|_| StoreError::Malformed(format!("second {second}")))?;
        let done = sqlx::query(
            "INSERT INTO snapshots (run, agent, second, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(run)
        .bind(agent)
        .bind(second)
        .bind(body)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Keeps several agents' seconds in one transaction (`(run, agent,
    /// second, body)` each, a second already kept left as it is): fifty
    /// agents' seconds arrive within a few milliseconds of each other, and
    /// one commit for them all costs the store one write instead of fifty.
    pub(crate) async fn put_snapshots(
        &self,
        rows: &[(&str, &str, u64, &str)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (run, agent, second, body) in rows {
            let second = i64::try_from(*second)
                .map_err(|_| StoreError::Malformed(format!("second {second}")))?;
            sqlx::query(
                "INSERT INTO snapshots (run, agent, second, body) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(*run)
            .bind(*agent)
            .bind(second)
            .bind(*body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn snapshots(&self, run: &str) -> Result<Vec<SnapshotRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent, second, body FROM snapshots WHERE run = $1 ORDER BY second, agent",
        )
        .bind(run)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let second: i64 = row.try_get("second")?;
                Ok(SnapshotRow {
                    agent: row.try_get("agent")?,
                    second: unsigned("second", second)?,
                    body: row.try_get("body")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreAt;
    use crate::token::{Identity, Role};

    #[tokio::test]
    async fn tokens_are_kept_hashed_and_identify_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreAt::Dir(dir.path().to_path_buf()), true)
            .await
            .unwrap();
        assert!(!store.has_admin().await.unwrap());
        let token = store.create_token("ci", Role::Client).await.unwrap();
        let who = store.identify(&token).await.unwrap().unwrap();
        assert_eq!(
            who,
            Identity {
                name: "ci".into(),
                role: Role::Client
            }
        );
        assert_eq!(store.identify("pmt_wrong").await.unwrap(), None);
        // The token itself is nowhere in the file.
        drop(store);
        let bytes = std::fs::read(dir.path().join("pummel.db")).unwrap_or_default();
        let wal = std::fs::read(dir.path().join("pummel.db-wal")).unwrap_or_default();
        let needle = token.as_bytes();
        for haystack in [&bytes, &wal] {
            assert!(!haystack.windows(needle.len()).any(|w| w == needle));
        }
    }

    #[tokio::test]
    async fn snapshots_are_idempotent_and_runs_interrupted_on_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreAt::Dir(dir.path().to_path_buf()), true)
            .await
            .unwrap();
        let run = RunRow {
            id: "r1".into(),
            owner: "ci".into(),
            state: "running".into(),
            created_at: 1,
            plan: "{}".into(),
            agents: "[]".into(),
            result: None,
            exit_code: None,
            message: None,
        };
        store.insert_run(&run).await.unwrap();
        assert!(store.put_snapshot("r1", "a", 0, "x").await.unwrap());
        assert!(!store.put_snapshot("r1", "a", 0, "y").await.unwrap());
        assert!(store.put_snapshot("r1", "b", 0, "z").await.unwrap());
        let kept = store.snapshots("r1").await.unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].body, "x");
        drop(store);
        let store = Store::open(&StoreAt::Dir(dir.path().to_path_buf()), false)
            .await
            .unwrap();
        assert_eq!(
            store.interrupt_unfinished().await.unwrap(),
            vec!["r1".to_owned()]
        );
        assert_eq!(store.run("r1").await.unwrap().unwrap().state, "interrupted");
    }

    #[tokio::test]
    async fn a_missing_store_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(&StoreAt::Dir(dir.path().join("none")), false).await;
        assert!(matches!(err, Err(StoreError::NotInitialised(..))));
    }
}
