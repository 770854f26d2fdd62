//! Extractors whose rejections are [`ApiError`]s, so a bad request gets the API's JSON error shape.

use alloy::primitives::Address;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use tern_protocol::ContentId;

use crate::auth::{address_key, token_hash};
use crate::db::unix_now;
use crate::error::ApiError;
use crate::router::AppState;

/// A JSON request body, as bytes: declared `application/json` (or `+json`) and within the JSON size limit.
pub(crate) struct JsonBody(pub(crate) Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge {
                        limit: state.max_json_bytes as u64,
                    }
                } else {
                    ApiError::BodyRead(rejection.body_text())
                }
            })?;
        Ok(Self(bytes))
    }
}

/// The content id in a `{content_id}` path segment.
pub(crate) struct BlobId(pub(crate) ContentId);

impl<S: Send + Sync> FromRequestParts<S> for BlobId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        Ok(Self(raw.parse()?))
    }
}

/// A JSON request body parsed as `T`: not JSON is a 400 `malformed_json`; JSON of the wrong shape is a 422
/// `invalid_body` naming the field.
pub(crate) struct JsonRequest<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for JsonRequest<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let JsonBody(bytes) = JsonBody::from_request(request, state).await?;
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut json) {
            Ok(value) => {
                json.end()
                    .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
                Ok(Self(value))
            }
            Err(err) if err.inner().is_syntax() || err.inner().is_eof() => {
                Err(ApiError::MalformedJson(err.inner().to_string()))
            }
            Err(err) => Err(ApiError::InvalidBody {
                field: err.path().to_string().trim_start_matches('.').to_string(),
                message: err.inner().to_string(),
            }),
        }
    }
}

/// The address of the request's session (`Authorization: Bearer <token>`).
pub(crate) struct SignedIn {
    /// The signed-in address.
    pub(crate) address: Address,
    /// The hash of the session's token.
    pub(crate) token_hash: String,
}

impl SignedIn {
    /// The address as the database keeps it.
    pub(crate) fn key(&self) -> String {
        address_key(self.address)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        let token_hash = token_hash(token);
        let session = state
            .db
            .session(&token_hash, unix_now())
            .await?
            .ok_or(ApiError::SessionExpired)?;
        let address = session
            .address
            .parse()
            .map_err(|e| ApiError::Internal(format!("stored session address: {e}")))?;
        Ok(Self {
            address,
            token_hash,
        })
    }
}

/// The job id in a `{job_id}` path segment, normalized to `0x` and 64 lowercase hex digits.
pub(crate) struct JobId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for JobId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let raw = params
            .into_iter()
            .find_map(|(name, value)| (name == "job_id").then_some(value))
            .ok_or(ApiError::NotFound)?;
        crate::controllers::jobs::parse_job_id(&raw)
            .map(Self)
            .ok_or(ApiError::InvalidJobId(raw))
    }
}
