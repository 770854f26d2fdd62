//! `POST /v1/devices`: a worker registers its device (or refreshes its probe).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tern_protocol::{DeviceProbe, check_device_name};
use utoipa::ToSchema;

use crate::controllers::devices::Device;
use crate::controllers::extract::{JsonRequest, SignedIn};
use crate::db::{DeviceRow, unix_now};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// Most devices one address may register.
pub(crate) const MAX_DEVICES_PER_OWNER: i64 = 64;

/// A device to register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    /// What its owner calls it; registering the same name again updates that device.
    pub name: String,
    /// What the worker's probe found (tern-protocol `DeviceProbe`).
    #[schema(value_type = Object)]
    pub probe: DeviceProbe,
}

/// `POST /v1/devices`
#[utoipa::path(post, path = "/v1/devices", tag = "devices",
    security(("bearer" = [])),
    request_body(content = RegisterDevice, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = Device),
        (status = 200, description = "Already registered; probe and last-seen time updated", body = Device),
        (status = 401, description = "No session", body = ErrorBody),
        (status = 409, description = "The owner has the most devices allowed", body = ErrorBody),
        (status = 422, description = "Invalid fields, each listed in `error.fields`", body = ErrorBody),
    ))]
pub(crate) async fn register(
    State(state): State<AppState>,
    owner: SignedIn,
    JsonRequest(request): JsonRequest<RegisterDevice>,
) -> Result<(StatusCode, Json<Device>), ApiError> {
    let mut errors: Vec<_> = check_device_name(&request.name).into_iter().collect();
    errors.extend(request.probe.check("probe."));
    if !errors.is_empty() {
        return Err(ApiError::InvalidFields(errors));
    }
    let owner_key = owner.key();
    let device_id = device_id(&owner_key, &request.name);
    if state.db.device(&device_id).await?.is_none()
        && state.db.device_count(&owner_key).await? >= MAX_DEVICES_PER_OWNER
    {
        return Err(ApiError::TooManyDevices {
            limit: MAX_DEVICES_PER_OWNER,
        });
    }
    let now = unix_now();
    let row = DeviceRow {
        device_id: device_id.clone(),
        owner: owner_key,
        name: request.name,
        probe_json: serde_json::to_string(&request.probe)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at: now,
        last_seen_at: now,
    };
    let created = state.db.upsert_device(&row).await?;
    let stored = state
        .db
        .device(&device_id)
        .await?
        .ok_or_else(|| ApiError::Internal("device vanished after registration".into()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(Device::try_from(stored)?)))
}

/// The id of `owner`'s device `name`.
fn device_id(owner: &str, name: &str) -> String {
    let digest = Sha256::new()
        .chain_update(owner.as_bytes())
        .chain_update([0])
        .chain_update(name.as_bytes())
        .finalize();
    format!("dev_{}", alloy::hex::encode(&digest[..16]))
}
