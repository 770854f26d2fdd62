//! Extractors whose rejections are [`ApiError`]s, so a bad request gets the API's JSON error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use tern_protocol::ContentId;

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
