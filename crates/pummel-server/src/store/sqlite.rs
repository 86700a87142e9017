//! The embedded store: one SQLite file in WAL mode in the data directory.
//! Migrations are embedded in the binary; queries are checked at run time,
//! so a fresh clone builds with no database present.

use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{unix_now, AgentRow, RunRow, SnapshotRow, Store, StoreError};
use crate::token::{self, Identity, Role};

/// The database file's name in the data directory.
const FILE: &str = "pummel.db";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when `create`) the store in `dir` and brings its
    /// schema up to date.
    pub(crate) async fn open(dir: &Path, create: bool) -> Result<SqliteStore, StoreError> {
        let file = dir.join(FILE);
        if !create && !file.exists() {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&file)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable across a process crash (the case
            // of a server killed mid-run); only a power cut may lose the
            // last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Where the store of `dir` lives.
    #[cfg(test)]
    pub(crate) fn file(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }
}

fn run_row(row: &sqlx::sqlite::SqliteRow) -> Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        plan: row.try_get("plan")?,
        agents: row.try_get("agents")?,
        result: row.try_get("result")?,
        exit_code: row.try_get("exit_code")?,
        message: row.try_get("message")?,
    })
}

const RUN_COLUMNS: &str = "id, owner, state, created_at, plan, agents, result, exit_code, message";

impl Store for SqliteStore {
    async fn create_token(&self, name: &str, role: Role) -> Result<String, StoreError> {
        let token = token::generate().map_err(StoreError::Random)?;
        sqlx::query("INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(role.as_str())
            .bind(token::hash(&token))
            .bind(unix_now())
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    async fn register_token(&self, name: &str, role: Role, token: &str) -> Result<(), StoreError> {
        // A given token must be as hard to guess as a made one.
        if token.len() < 32 {
            return Err(StoreError::TokenTooShort);
        }
        if let Some(who) = self.identify(token).await? {
            if who.name == name && who.role == role {
                return Ok(());
            }
            return Err(StoreError::TokenTaken(who.name));
        }
        sqlx::query("INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(role.as_str())
            .bind(token::hash(token))
            .bind(unix_now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn identify(&self, token: &str) -> Result<Option<Identity>, StoreError> {
        let row = sqlx::query("SELECT name, role FROM tokens WHERE hash = ?")
            .bind(token::hash(token))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let role =
            Role::parse(&role).ok_or_else(|| StoreError::Malformed(format!("role {role:?}")))?;
        Ok(Some(Identity {
            name: row.try_get("name")?,
            role,
        }))
    }

    async fn has_admin(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE role = 'admin'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    async fn upsert_agent(&self, agent: &AgentRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agents (name, labels, version, cores, disabled, last_seen) \
             VALUES (?, ?, ?, ?, 0, ?) \
             ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, \
             version = excluded.version, cores = excluded.cores, last_seen = excluded.last_seen",
        )
        .bind(&agent.name)
        .bind(&agent.labels)
        .bind(&agent.version)
        .bind(agent.cores)
        .bind(agent.last_seen)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_agent_disabled(&self, name: &str, disabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE agents SET disabled = ? WHERE name = ?")
            .bind(disabled)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, labels, version, cores, disabled, last_seen FROM agents ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AgentRow {
                    name: row.try_get("name")?,
                    labels: row.try_get("labels")?,
                    version: row.try_get("version")?,
                    cores: row.try_get("cores")?,
                    disabled: row.try_get("disabled")?,
                    last_seen: row.try_get("last_seen")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    async fn insert_run(&self, run: &RunRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO runs (id, owner, state, created_at, plan, agents, result, exit_code, message) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.id)
        .bind(&run.owner)
        .bind(&run.state)
        .bind(run.created_at)
        .bind(&run.plan)
        .bind(&run.agents)
        .bind(&run.result)
        .bind(run.exit_code)
        .bind(&run.message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_run(
        &self,
        id: &str,
        state: &str,
        agents: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET state = ?, agents = ?, message = ? WHERE id = ?")
            .bind(state)
            .bind(agents)
            .bind(message)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn finish_run(
        &self,
        id: &str,
        state: &str,
        result: &str,
        exit_code: i32,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET state = ?, result = ?, exit_code = ?, message = ? WHERE id = ?",
        )
        .bind(state)
        .bind(result)
        .bind(exit_code)
        .bind(message)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(run_row).transpose()?)
    }

    async fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(run_row).collect::<Result<_, _>>()?)
    }

    async fn interrupt_unfinished(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE runs SET state = 'interrupted', \
             message = 'the server restarted while the run was in flight' \
             WHERE state IN ('pending', 'running') RETURNING id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?)
    }

    async fn put_snapshot(
        &self,
        run: &str,
        agent: &str,
        second: u64,
        body: &str,
    ) -> Result<bool, StoreError> {
        let second =
            i64::try_from(second).map_err(|_| StoreError::Malformed(format!("second {second}")))?;
        let done = sqlx::query(
            "INSERT OR IGNORE INTO snapshots (run, agent, second, body) VALUES (?, ?, ?, ?)",
        )
        .bind(run)
        .bind(agent)
        .bind(second)
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn snapshots(&self, run: &str) -> Result<Vec<SnapshotRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent, second, body FROM snapshots WHERE run = ? ORDER BY second, agent",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let second: i64 = row.try_get("second")?;
                Ok(SnapshotRow {
                    agent: row.try_get("agent")?,
                    second: u64::try_from(second)
                        .map_err(|_| StoreError::Malformed(format!("second {second}")))?,
                    body: row.try_get("body")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_kept_hashed_and_identify_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), true).await.unwrap();
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
        let bytes = std::fs::read(SqliteStore::file(dir.path())).unwrap_or_default();
        let wal = std::fs::read(dir.path().join("pummel.db-wal")).unwrap_or_default();
        let needle = token.as_bytes();
        for haystack in [&bytes, &wal] {
            assert!(!haystack.windows(needle.len()).any(|w| w == needle));
        }
    }

    #[tokio::test]
    async fn snapshots_are_idempotent_and_runs_interrupted_on_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), true).await.unwrap();
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
        let store = SqliteStore::open(dir.path(), false).await.unwrap();
        assert_eq!(
            store.interrupt_unfinished().await.unwrap(),
            vec!["r1".to_owned()]
        );
        assert_eq!(store.run("r1").await.unwrap().unwrap().state, "interrupted");
    }

    #[tokio::test]
    async fn a_missing_store_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = SqliteStore::open(&dir.path().join("none"), false).await;
        assert!(matches!(err, Err(StoreError::NotInitialised(_))));
    }
}
