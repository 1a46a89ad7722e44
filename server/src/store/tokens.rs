//! The shared access_token (see `crate::mini_program::access_token`): read by all, refreshed by the one
//! instance holding the row's lease.

use sqlx::Row;

use super::{Store, StoreError};

/// The stored token of an appid, if any, and when it expires (Unix ms).
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub token: String,
    pub expires_at: i64,
}

impl Store {
    pub async fn access_token(&self, appid: &str) -> Result<Option<StoredToken>, StoreError> {
        let row = sqlx::query("SELECT token, expires_at FROM access_tokens WHERE appid = $1")
            .bind(appid)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token: Option<String> = row.try_get(0)?;
        Ok(token.map(|token| StoredToken {
            token,
            expires_at: row.try_get(1).unwrap_or_default(),
        }))
    }

    /// Takes the refresh lease until `until` if nobody holds it at `now`. At most one
    /// caller at a time gets `true`, across instances.
    pub async fn take_token_lease(
        &self,
        appid: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.write_conn().await?;
        sqlx::query("INSERT INTO access_tokens (appid) VALUES ($1) ON CONFLICT (appid) DO NOTHING")
            .bind(appid)
            .execute(&mut *conn)
            .await?;
        let taken = sqlx::query(
            "UPDATE access_tokens SET lease_until = $1 WHERE appid = $2 AND lease_until <= $3",
        )
        .bind(until)
        .bind(appid)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Stores a fresh token and gives the lease back.
    pub async fn store_access_token(
        &self,
        appid: &str,
        token: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE access_tokens SET token = $1, expires_at = $2, refreshed_at = $3, lease_until = 0 \
             WHERE appid = $4",
        )
        .bind(token)
        .bind(expires_at)
        .bind(now)
        .bind(appid)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Gives the lease back without a token (the refresh failed): the next caller tries.
    pub async fn release_token_lease(&self, appid: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE access_tokens SET lease_until = 0 WHERE appid = $1")
            .bind(appid)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}
