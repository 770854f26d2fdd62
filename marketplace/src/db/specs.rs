//! The `specs` table: job specs by specHash.

use sqlx::Row;

use super::{Database, on_pool, unix_now};

/// A stored job spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSpec {
    /// `0x` and 64 lowercase hex digits.
    pub spec_hash: String,
    /// The RFC 8785 canonical JSON.
    pub canonical_json: String,
    /// When it was first stored, in Unix seconds.
    pub created_at: i64,
}

impl Database {
    /// Stores a spec unless one with its hash is stored; true when it was new.
    pub async fn insert_spec(
        &self,
        spec_hash: &str,
        canonical_json: &str,
    ) -> Result<bool, sqlx::Error> {
        // Same statement in both dialects (SQLite 3.24+ has ON CONFLICT and `$n` parameters).
        const SQL: &str = "INSERT INTO specs (spec_hash, canonical_json, created_at) VALUES ($1, $2, $3) \
                           ON CONFLICT (spec_hash) DO NOTHING";
        let now = unix_now();
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(spec_hash)
            .bind(canonical_json)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// The spec stored under `spec_hash`, if any.
    pub async fn spec(&self, spec_hash: &str) -> Result<Option<StoredSpec>, sqlx::Error> {
        const SQL: &str =
            "SELECT spec_hash, canonical_json, created_at FROM specs WHERE spec_hash = $1";
        Ok(on_pool!(self, pool => sqlx::query(SQL)
        .bind(spec_hash)
        .fetch_optional(pool)
        .await?
        .map(|row| StoredSpec {
            spec_hash: row.get(0),
            canonical_json: row.get(1),
            created_at: row.get(2),
        })))
    }
}
