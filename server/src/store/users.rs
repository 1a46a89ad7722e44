//! Users (one per openid) and their login sessions (bearer tokens, stored hashed).

use sqlx::Row;

use super::{Store, StoreError};

/// The user behind a valid bearer token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: i64,
    pub openid: String,
    /// The mini program they logged in on (None: `[wechat]`'s).
    pub appid: Option<String>,
    /// The session's key (the token's hash), for logout.
    pub token_hash: String,
}

impl Store {
    /// Creates the user on first login, else stores the newest session_key (the old
    /// one stops working at WeChat).
    pub async fn upsert_user(
        &self,
        openid: &str,
        unionid: Option<&str>,
        session_key: &str,
        appid: Option<&str>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (openid, unionid, session_key, created_at, updated_at, appid) \
             VALUES ($1, $2, $3, $4, $4, $5) \
             ON CONFLICT (openid) DO UPDATE SET session_key = excluded.session_key, \
               unionid = COALESCE(excluded.unionid, users.unionid), appid = excluded.appid, \
               updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(openid)
        .bind(unionid)
        .bind(session_key)
        .bind(now)
        .bind(appid)
        .fetch_one(&mut *self.write_conn().await?)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// The user of `openid`, created (without a session_key: they have not logged in
    /// here) when the merchant's backend is first to name them. A later login finds the
    /// same user, so the order is theirs.
    pub async fn user_by_openid(
        &self,
        openid: &str,
        appid: Option<&str>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let find = || sqlx::query("SELECT id FROM users WHERE openid = $1").bind(openid);
        if let Some(row) = find().fetch_optional(self.pool()).await? {
            return Ok(row.try_get(0)?);
        }
        let created = sqlx::query(
            "INSERT INTO users (openid, unionid, session_key, created_at, updated_at, appid) \
             VALUES ($1, NULL, '', $2, $2, $3) ON CONFLICT (openid) DO NOTHING RETURNING id",
        )
        .bind(openid)
        .bind(now)
        .bind(appid)
        .fetch_optional(&mut *self.write_conn().await?)
        .await?;
        let row = match created {
            Some(row) => row,
            // Created in between by a login or another call.
            None => find().fetch_one(self.pool()).await?,
        };
        Ok(row.try_get(0)?)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// The user of an unexpired session.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        let query = || {
            sqlx::query(
                "SELECT s.user_id, u.openid, u.appid FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
        };
        let row = self.hot_read_optional(query).await?;
        row.map(|r| {
            Ok(SessionUser {
                user_id: r.try_get(0)?,
                openid: r.try_get(1)?,
                appid: r.try_get(2)?,
                token_hash: token_hash.to_owned(),
            })
        })
        .transpose()
    }

    /// Ends one session (logout). Returns whether it existed.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends every session of a user but one (a single-session login). Returns how many.
    pub async fn delete_other_sessions(
        &self,
        user_id: i64,
        keep_token_hash: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep_token_hash)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected())
    }
}
