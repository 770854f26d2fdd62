//! `POST /v1/auth/logout`: ends the request's session.

use axum::extract::State;
use axum::http::StatusCode;

use crate::controllers::extract::SignedIn;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// `POST /v1/auth/logout`
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out; the token no longer works"),
        (status = 401, description = "No session, or an expired one", body = ErrorBody),
    ))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: SignedIn,
) -> Result<StatusCode, ApiError> {
    state.db.delete_session(&session.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
