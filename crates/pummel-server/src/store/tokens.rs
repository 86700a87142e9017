//! Tokens, kept only as hashes, each with an owner's name and a role.

use sqlx::Row;

use super::{unix_now, Store, StoreError};
use crate::token::{self, Identity, Role};

impl Store {
    /// Stores a new token for `name` with `role`; returns the token, shown
    /// once.
    pub(crate) async fn create_token(&self, name: &str, role: Role) -> Result<String, StoreError> {
        let token = token::generate().map_err(StoreError::Random)?;
        self.insert_token(name, role, &token).await?;
        Ok(token)
    }

    /// Stores a token given by the caller (from a secret store): a token
    /// already there with the same owner and role is left as it is, so
    /// registering it at every start is harmless.
    pub(crate) async fn register_token(
        &self,
        name: &str,
        role: Role,
        token: &str,
    ) -> Result<(), StoreError> {
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
        self.insert_token(name, role, token).await
    }

    async fn insert_token(&self, name: &str, role: Role, token: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tokens (hash, name, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token::hash(token))
            .bind(name)
            .bind(role.as_str())
            .bind(unix_now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Whose token this is, if any.
    pub(crate) async fn identify(&self, token: &str) -> Result<Option<Identity>, StoreError> {
        let row = sqlx::query("SELECT name, role FROM tokens WHERE hash = $1")
            .bind(token::hash(token))
            .fetch_optional(self.pool())
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

    pub(crate) async fn has_admin(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE role = 'admin'")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}
