//! `PUT /v1/blobs/{content_id}`: stores a blob if its bytes hash to the id.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::blobs::PutOutcome;
use crate::controllers::extract::BlobId;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// A stored blob.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlobStored {
    /// Its content id.
    pub content_id: String,
    /// `true` if this upload stored it, `false` if it was already stored.
    pub created: bool,
}

/// `PUT /v1/blobs/{content_id}`
#[utoipa::path(put, path = "/v1/blobs/{content_id}", tag = "blobs",
    params(("content_id" = String, Path, description = "`sha256:` and the 64 lowercase hex digits of the blob's sha256")),
    request_body(content = Vec<u8>, description = "The blob's bytes", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored", body = BlobStored),
        (status = 200, description = "Already stored", body = BlobStored),
        (status = 400, description = "Malformed content id", body = ErrorBody),
        (status = 413, description = "Larger than the blob size limit; nothing stored", body = ErrorBody),
        (status = 422, description = "The bytes hash to another id; nothing stored", body = ErrorBody),
    ))]
pub(crate) async fn put(
    State(state): State<AppState>,
    BlobId(id): BlobId,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BlobStored>), ApiError> {
    let limit = state.max_blob_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let outcome = state.store.put(id, Box::pin(stream), limit).await?;
    let created = outcome == PutOutcome::Created;
    if created {
        metrics::counter!("tern_market_blobs_stored_total").increment(1);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BlobStored {
            content_id: id.to_string(),
            created,
        }),
    ))
}
