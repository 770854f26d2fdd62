//! `GET /v1/devices`: registered devices, an owner's or everyone's.

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::address_key;
use crate::controllers::devices::Device;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// Which devices.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct DeviceQuery {
    /// Only this owner's devices.
    owner: Option<String>,
    /// At most this many, 1..=500 (default 100).
    limit: Option<i64>,
}

/// Devices, most recently seen first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceList {
    /// The devices.
    pub devices: Vec<Device>,
}

/// `GET /v1/devices`
#[utoipa::path(get, path = "/v1/devices", tag = "devices",
    params(DeviceQuery),
    responses(
        (status = 200, description = "The devices", body = DeviceList),
        (status = 400, description = "`owner` is not an address or `limit` is out of range", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<DeviceQuery>,
) -> Result<Json<DeviceList>, ApiError> {
    let owner = query
        .owner
        .map(|o| {
            o.parse::<Address>()
                .map(address_key)
                .map_err(|_| ApiError::InvalidQuery {
                    param: "owner".into(),
                    message: format!("{o:?} is not an address (0x and 40 hex digits)"),
                })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidQuery {
            param: "limit".into(),
            message: format!("{limit} is not in 1..=500"),
        });
    }
    let devices = state
        .db
        .devices(owner.as_deref(), limit)
        .await?
        .into_iter()
        .map(Device::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(DeviceList { devices }))
}
