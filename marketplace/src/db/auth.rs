//! The `auth_nonces` and `sessions` tables: wallet sign-in (EIP-4361) nonces and the sessions they open.

use sqlx::Row;

use super::{Database, on_pool};

/// An open session: who signed in, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `0x` and 40 lowercase hex digits.
    pub address: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Database {
    /// Records a nonce that one sign-in may use until `expires_at`, and forgets expired ones (so an unauthenticated
    /// caller asking for nonces in a loop holds at most a TTL's worth of rows).
    pub async fn insert_nonce(
        &self,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM auth_nonces WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query("INSERT INTO auth_nonces (nonce, expires_at) VALUES ($1, $2)")
                .bind(nonce)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Uses up a nonce: true if it was issued, unexpired and unused. The delete is the check, so two sign-ins racing
    /// with one nonce cannot both succeed.
    pub async fn consume_nonce(&self, nonce: &str, now: i64) -> Result<bool, sqlx::Error> {
        const SQL: &str = "DELETE FROM auth_nonces WHERE nonce = $1 AND expires_at > $2";
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(nonce)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// Opens a session for `address` under the hash of its token, and forgets expired sessions.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        address: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, address, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(address)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The unexpired session whose token hashes to `token_hash`, if any.
    pub async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Session>, sqlx::Error> {
        const SQL: &str =
            "SELECT address, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2";
        Ok(on_pool!(self, pool => sqlx::query(SQL)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?
        .map(|row| Session {
            address: row.get(0),
            expires_at: row.get(1),
        })))
    }

    /// Closes a session; true if it was open.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, sqlx::Error> {
        let rows = on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// Records that `address` uploaded `bytes` bytes as `content_id` (once per blob and address).
    pub async fn record_upload(
        &self,
        content_id: &str,
        address: &str,
        bytes: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO blob_uploads (content_id, address, bytes, created_at) VALUES ($1, $2, $3, $4) \
                           ON CONFLICT (content_id, address) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(content_id)
                .bind(address)
                .bind(bytes)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The bytes `address` has uploaded since `since` (Unix seconds).
    pub async fn uploaded_bytes_since(
        &self,
        address: &str,
        since: i64,
    ) -> Result<i64, sqlx::Error> {
        const SQL: &str = "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM blob_uploads \
                           WHERE address = $1 AND created_at > $2";
        Ok(on_pool!(self, pool => sqlx::query(SQL)
            .bind(address)
            .bind(since)
            .fetch_one(pool)
            .await?
            .get::<i64, _>(0)))
    }
}
