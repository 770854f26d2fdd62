//! Workers' devices: `/v1/devices`.

pub(crate) mod delete;
pub(crate) mod list;
pub(crate) mod register;

use serde::{Deserialize, Serialize};
use tern_protocol::DeviceProbe;
use utoipa::ToSchema;

use crate::db::DeviceRow;
use crate::error::ApiError;

/// A registered device.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Device {
    /// `dev_` and 32 hex digits; the same owner and name always give the same id.
    pub device_id: String,
    /// The owner's address (EIP-55).
    pub owner: String,
    /// What the owner calls it.
    pub name: String,
    /// What the worker's probe found.
    #[schema(value_type = Object)]
    pub probe: DeviceProbe,
    /// When it was first registered, in Unix seconds.
    pub created_at: i64,
    /// When it last registered, in Unix seconds.
    pub last_seen_at: i64,
}

impl TryFrom<DeviceRow> for Device {
    type Error = ApiError;

    fn try_from(row: DeviceRow) -> Result<Self, ApiError> {
        let owner: alloy::primitives::Address = row
            .owner
            .parse()
            .map_err(|e| ApiError::Internal(format!("stored device owner: {e}")))?;
        Ok(Self {
            device_id: row.device_id,
            owner: owner.to_checksum(None),
            name: row.name,
            probe: serde_json::from_str(&row.probe_json)
                .map_err(|e| ApiError::Internal(format!("stored probe: {e}")))?,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
        })
    }
}
