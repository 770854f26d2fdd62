//! `GET /v1/auth/session`: who the request's session signs in.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::controllers::extract::SignedIn;
use crate::error::{ApiError, ErrorBody};

/// The session's address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    /// The signed-in address (EIP-55).
    pub address: String,
}

/// `GET /v1/auth/session`
#[utoipa::path(get, path = "/v1/auth/session", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session is open", body = SessionInfo),
        (status = 401, description = "No session, or an expired one", body = ErrorBody),
    ))]
pub(crate) async fn session(session: SignedIn) -> Result<Json<SessionInfo>, ApiError> {
    Ok(Json(SessionInfo {
        address: session.address.to_checksum(None),
    }))
}
