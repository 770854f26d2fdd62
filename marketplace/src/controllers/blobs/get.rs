//! `GET` and `HEAD /v1/blobs/{content_id}`: streams a stored blob.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::response::{IntoResponse, Response};

use crate::controllers::extract::BlobId;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// `GET /v1/blobs/{content_id}` (and `HEAD`)
#[utoipa::path(get, path = "/v1/blobs/{content_id}", tag = "blobs",
    params(("content_id" = String, Path, description = "`sha256:` and the 64 lowercase hex digits of the blob's sha256")),
    responses(
        (status = 200, description = "The blob's bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Malformed content id", body = ErrorBody),
        (status = 404, description = "Not stored", body = ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    BlobId(id): BlobId,
) -> Result<Response, ApiError> {
    let reader = state
        .store
        .get(id)
        .await?
        .ok_or(ApiError::BlobNotFound(id))?;
    let etag = HeaderValue::from_str(&format!("\"{id}\""))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (CONTENT_LENGTH, HeaderValue::from(reader.len)),
            (ETAG, etag),
        ],
        Body::from_stream(reader.stream),
    )
        .into_response())
}
