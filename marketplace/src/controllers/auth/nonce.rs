//! `POST /v1/auth/nonce`: a fresh one-use nonce and the EIP-4361 message to sign with it.

use alloy::primitives::Address;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, STATEMENT};
use crate::controllers::extract::QueryParams;
use crate::db::unix_now;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// Whom the message is for.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct NonceQuery {
    /// The address that will sign; when given, the response holds the whole message to sign.
    address: Option<String>,
}

/// A sign-in nonce and what the message signing it must say.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NonceIssued {
    /// The nonce: use it in one message, once.
    pub nonce: String,
    /// When it stops being accepted, in Unix seconds.
    pub expires_at: i64,
    /// The domain the message must name.
    pub domain: String,
    /// The chain id the message must name.
    pub chain_id: u64,
    /// The statement this service puts in its messages.
    pub statement: String,
    /// The EIP-4361 message to sign with `personal_sign`, when `address` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST /v1/auth/nonce`
#[utoipa::path(post, path = "/v1/auth/nonce", tag = "auth",
    params(NonceQuery),
    responses(
        (status = 200, description = "A fresh nonce", body = NonceIssued),
        (status = 400, description = "`address` is not an address", body = ErrorBody),
    ))]
pub(crate) async fn nonce(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<NonceQuery>,
) -> Result<Json<NonceIssued>, ApiError> {
    let address = query
        .address
        .map(|a| {
            a.parse::<Address>().map_err(|e| ApiError::InvalidBody {
                field: "address".into(),
                message: format!("{a:?} is not an address (0x and 40 hex digits): {e}"),
            })
        })
        .transpose()?;
    let nonce = auth::new_nonce().map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    let now = unix_now();
    let expires_at = now + state.nonce_ttl_secs;
    state.db.insert_nonce(&nonce, now, expires_at).await?;
    Ok(Json(NonceIssued {
        message: address.map(|a| state.sign_in.message(a, &nonce, now)),
        nonce,
        expires_at,
        domain: state.sign_in.domain().to_string(),
        chain_id: state.sign_in.chain_id(),
        statement: STATEMENT.to_string(),
    }))
}
