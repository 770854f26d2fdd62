//! `POST /v1/auth/login`: trades a signed EIP-4361 message for a session token.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, address_key};
use crate::controllers::extract::JsonRequest;
use crate::db::unix_now;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// A signed sign-in message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The EIP-4361 message, exactly as signed.
    pub message: String,
    /// Its EIP-191 signature: `0x` and 130 hex digits.
    pub signature: String,
}

/// An open session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionOpened {
    /// Send it as `Authorization: Bearer <token>`. Shown once; the service keeps only its hash.
    pub token: String,
    /// The signed-in address (EIP-55).
    pub address: String,
    /// When the session ends, in Unix seconds.
    pub expires_at: i64,
}

/// `POST /v1/auth/login`
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = SessionOpened),
        (status = 400, description = "Not an EIP-4361 message, or not a signature", body = ErrorBody),
        (status = 401, description = "Wrong signer, domain, URI, chain or time; or a used or unknown nonce", body = ErrorBody),
        (status = 422, description = "The body lacks `message` or `signature`", body = ErrorBody),
    ))]
pub(crate) async fn login(
    State(state): State<AppState>,
    JsonRequest(request): JsonRequest<LoginRequest>,
) -> Result<Json<SessionOpened>, ApiError> {
    let now = unix_now();
    // Every check that costs nothing comes before the nonce is used up, so a bad attempt by someone who saw the
    // nonce cannot burn it.
    let signed = state
        .sign_in
        .check(&request.message, &request.signature, now)?;
    if !state.db.consume_nonce(&signed.nonce, now).await? {
        return Err(ApiError::NonceInvalid);
    }
    let expires_at = signed.expires_at.map_or(now + state.session_ttl_secs, |t| {
        t.min(now + state.session_ttl_secs)
    });
    let (token, token_hash) =
        auth::new_token().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    state
        .db
        .insert_session(&token_hash, &address_key(signed.address), now, expires_at)
        .await?;
    tracing::info!(address = %signed.address, "signed in");
    Ok(Json(SessionOpened {
        token,
        address: signed.address.to_checksum(None),
        expires_at,
    }))
}
