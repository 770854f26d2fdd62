//! `DELETE /v1/devices/{device_id}`: the owner removes a device.

use axum::extract::State;
use axum::http::StatusCode;

use crate::controllers::extract::{PathSegment, SignedIn};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// `DELETE /v1/devices/{device_id}`
#[utoipa::path(delete, path = "/v1/devices/{device_id}", tag = "devices",
    security(("bearer" = [])),
    params(("device_id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No session", body = ErrorBody),
        (status = 403, description = "Another address owns the device", body = ErrorBody),
        (status = 404, description = "No such device", body = ErrorBody),
    ))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    owner: SignedIn,
    PathSegment(device_id): PathSegment,
) -> Result<StatusCode, ApiError> {
    let device = state
        .db
        .device(&device_id)
        .await?
        .ok_or_else(|| ApiError::DeviceNotFound(device_id.clone()))?;
    if device.owner != owner.key() {
        return Err(ApiError::Forbidden(format!(
            "device {device_id} belongs to another address; sign in as its owner to remove it"
        )));
    }
    state.db.delete_device(&device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
