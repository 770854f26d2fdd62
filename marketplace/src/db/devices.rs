//! The `devices` table: workers' devices by owner, with their last probe.

use sqlx::Row;

use super::{Database, on_pool};

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceRow {
    /// `dev_` and 32 hex digits, derived from owner and name.
    pub device_id: String,
    /// `0x` and 40 lowercase hex digits.
    pub owner: String,
    /// What the owner calls it.
    pub name: String,
    /// The probe, as JSON.
    pub probe_json: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last registration.
    pub last_seen_at: i64,
}

const COLUMNS: &str = "device_id, owner, name, probe_json, created_at, last_seen_at";

impl Database {
    /// Registers a device, or refreshes its probe and last-seen time if its owner registered it before; true when
    /// it is new.
    pub async fn upsert_device(&self, row: &DeviceRow) -> Result<bool, sqlx::Error> {
        let insert = format!(
            "INSERT INTO devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, name) DO NOTHING"
        );
        const UPDATE: &str =
            "UPDATE devices SET probe_json = $1, last_seen_at = $2 WHERE owner = $3 AND name = $4";
        on_pool!(self, pool => {
            let inserted = sqlx::query(&insert)
                .bind(&row.device_id)
                .bind(&row.owner)
                .bind(&row.name)
                .bind(&row.probe_json)
                .bind(row.created_at)
                .bind(row.last_seen_at)
                .execute(pool)
                .await?
                .rows_affected();
            if inserted == 0 {
                sqlx::query(UPDATE)
                    .bind(&row.probe_json)
                    .bind(row.last_seen_at)
                    .bind(&row.owner)
                    .bind(&row.name)
                    .execute(pool)
                    .await?;
            }
            Ok(inserted == 1)
        })
    }

    /// The device `device_id`, if registered.
    pub async fn device(&self, device_id: &str) -> Result<Option<DeviceRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM devices WHERE device_id = $1");
        on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(device_id)
            .fetch_optional(pool)
            .await)
    }

    /// Up to `limit` devices, most recently seen first; only `owner`'s when given.
    pub async fn devices(
        &self,
        owner: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeviceRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM devices WHERE ($1 IS NULL OR owner = $1) \
             ORDER BY last_seen_at DESC, device_id LIMIT $2"
        );
        on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(owner)
            .bind(limit)
            .fetch_all(pool)
            .await)
    }

    /// How many devices `owner` has registered.
    pub async fn device_count(&self, owner: &str) -> Result<i64, sqlx::Error> {
        const SQL: &str = "SELECT COUNT(*) FROM devices WHERE owner = $1";
        Ok(on_pool!(self, pool => sqlx::query(SQL)
            .bind(owner)
            .fetch_one(pool)
            .await?
            .get::<i64, _>(0)))
    }

    /// Removes a device; true if it was registered.
    pub async fn delete_device(&self, device_id: &str) -> Result<bool, sqlx::Error> {
        let rows = on_pool!(self, pool => sqlx::query("DELETE FROM devices WHERE device_id = $1")
            .bind(device_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }
}
