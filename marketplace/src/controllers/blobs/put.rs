//! `PUT /v1/blobs/{content_id}`: stores a blob if its bytes hash to the id.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::blobs::{BlobError, PutOutcome};
use crate::controllers::extract::{BlobId, SignedIn};
use crate::db::unix_now;
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

/// The window of the upload quota.
const DAY_SECS: i64 = 24 * 3600;

/// `PUT /v1/blobs/{content_id}`: needs a session; each address may upload `upload_quota_bytes` per 24 hours (an
/// upload of a blob already stored counts too, since its bytes were received and hashed).
#[utoipa::path(put, path = "/v1/blobs/{content_id}", tag = "blobs",
    security(("bearer" = [])),
    params(("content_id" = String, Path, description = "`sha256:` and the 64 lowercase hex digits of the blob's sha256")),
    request_body(content = Vec<u8>, description = "The blob's bytes", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored", body = BlobStored),
        (status = 200, description = "Already stored", body = BlobStored),
        (status = 400, description = "Malformed content id", body = ErrorBody),
        (status = 401, description = "No session", body = ErrorBody),
        (status = 413, description = "Larger than the blob size limit; nothing stored", body = ErrorBody),
        (status = 429, description = "The address's upload quota is used up; nothing stored", body = ErrorBody),
        (status = 422, description = "The bytes hash to another id; nothing stored", body = ErrorBody),
    ))]
pub(crate) async fn put(
    State(state): State<AppState>,
    uploader: SignedIn,
    BlobId(id): BlobId,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BlobStored>), ApiError> {
    let now = unix_now();
    let address = uploader.key();
    let quota = state.upload_quota_bytes;
    let used = u64::try_from(
        state
            .db
            .uploaded_bytes_since(&address, now - DAY_SECS)
            .await?,
    )
    .unwrap_or(0);
    let left = quota.saturating_sub(used);
    let limit = state.max_blob_bytes.min(left);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = |limit| {
        if limit == state.max_blob_bytes {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::UploadQuota { used, quota }
        }
    };
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .inspect_ok(move |chunk| {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        });
    let outcome = match state.store.put(id, Box::pin(stream), limit).await {
        Err(BlobError::TooLarge { limit }) => return Err(too_large(limit)),
        other => other?,
    };
    let bytes = i64::try_from(received.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
    state
        .db
        .record_upload(&id.to_string(), &address, bytes, now)
        .await?;
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
