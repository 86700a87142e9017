//! The store's users, sessions and users' API tokens (migration 0003).

use sqlx::Row;

use super::{unix_now, Store, StoreError};
use crate::token;
use crate::users::{User, UserRole};

/// A user as the admin page lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserRow {
    pub(crate) name: String,
    pub(crate) role: UserRole,
    pub(crate) created_at: i64,
}

/// One of a user's API tokens (its secret is never kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenRow {
    /// The first 16 hex digits of its hash: enough to name it on the
    /// profile page, nothing that helps to guess it.
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) created_at: i64,
}

fn role_of(text: &str) -> Result<UserRole, StoreError> {
    UserRole::parse(text).ok_or_else(|| StoreError::Malformed(format!("user role {text:?}")))
}

impl Store {
    /// Adds a user, or with `replace` sets the role and password of one
    /// that exists.
    pub(crate) async fn put_user(
        &self,
        name: &str,
        role: UserRole,
        password_hash: &str,
        replace: bool,
    ) -> Result<(), StoreError> {
        let sql = if replace {
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, \
             password_hash = excluded.password_hash"
        } else {
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING"
        };
        let done = sqlx::query(sql)
            .bind(name)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(unix_now())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::UserTaken(name.to_owned()));
        }
        if replace {
            // A new password signs every old session out.
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(name)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// A user's role and password hash.
    pub(crate) async fn user_password(
        &self,
        name: &str,
    ) -> Result<Option<(UserRole, String)>, StoreError> {
        let row = sqlx::query("SELECT role, password_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Some((role_of(&role)?, row.try_get("password_hash")?)))
    }

    pub(crate) async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query("SELECT name, role, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(UserRow {
                    name: row.try_get("name")?,
                    role: role_of(&role)?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Removes a user, their sessions and their API tokens (their runs
    /// stay, for the history).
    pub(crate) async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tokens WHERE name = $1 AND label IS NOT NULL")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchUser(name.to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn create_session(
        &self,
        session_hash: &str,
        user: &str,
        csrf: &str,
        lifetime_s: i64,
    ) -> Result<(), StoreError> {
        let now = unix_now();
        // Expired sessions go as new ones come: no sweeper task needed.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (hash, user_name, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_hash)
        .bind(user)
        .bind(csrf)
        .bind(now)
        .bind(now + lifetime_s)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user of a live session and the session's CSRF token.
    pub(crate) async fn session(
        &self,
        session_hash: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.hash = $1 AND s.expires_at > $2",
        )
        .bind(session_hash)
        .bind(unix_now())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let user = User {
            name: row.try_get("name")?,
            role: role_of(&role)?,
        };
        Ok(Some((user, row.try_get("csrf")?)))
    }

    pub(crate) async fn delete_session(&self, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE hash = $1")
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A new API token of `user`, shown once; its role follows the user's.
    pub(crate) async fn create_user_token(
        &self,
        user: &User,
        label: &str,
    ) -> Result<String, StoreError> {
        let secret = token::generate().map_err(StoreError::Random)?;
        sqlx::query(
            "INSERT INTO tokens (name, role, hash, created_at, label) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.name)
        .bind(user.role.token_role().as_str())
        .bind(token::hash(&secret))
        .bind(unix_now())
        .bind(label)
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    pub(crate) async fn user_tokens(&self, user: &str) -> Result<Vec<TokenRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT substr(hash, 1, 16) AS id, label, created_at FROM tokens \
             WHERE name = $1 AND label IS NOT NULL ORDER BY created_at, hash",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                Ok(TokenRow {
                    id: row.try_get("id")?,
                    label: row.try_get("label")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Revokes one of `user`'s tokens; false when they have no such token.
    pub(crate) async fn revoke_user_token(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        // An id is exactly 16 hex digits: a shorter one could match several.
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let done = sqlx::query(
            "DELETE FROM tokens WHERE substr(hash, 1, 16) = $1 AND name = $2 AND label IS NOT NULL",
        )
        .bind(id)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
