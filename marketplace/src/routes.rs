//! The route table, the handlers and the OpenAPI document.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::TryStreamExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use tern_protocol::{ContentId, JobSpec, canonical_json, keccak256};
use utoipa::{OpenApi, ToSchema};

use crate::blobs::{BlobError, BlobStore, PutOutcome};
use crate::error::{ApiError, ErrorBody};

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn BlobStore>,
    pub(crate) max_blob_bytes: u64,
    pub(crate) max_json_bytes: usize,
    pub(crate) metrics: PrometheusHandle,
    /// The OpenAPI document, serialized once.
    pub(crate) openapi: Bytes,
}

/// The one route table of the service.
pub(crate) fn router(state: AppState) -> Router {
    let json_limit = axum::extract::DefaultBodyLimit::max(state.max_json_bytes);
    let v1 = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/specs/validate", post(validate_spec))
        .route("/blobs/{content_id}", get(get_blob).put(put_blob));
    Router::new()
        .nest("/v1", v1)
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(json_limit)
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The process's Prometheus recorder, installed on first use (tests start several servers in one process).
pub(crate) fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new().install_recorder().unwrap_or_else(|err| {
                tracing::warn!(%err, "another metrics recorder is installed; /metrics will be empty");
                PrometheusBuilder::new().build_recorder().handle()
            })
        })
        .clone()
}

/// Counts requests and their durations by method, route and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("tern_market_http_requests_total", &labels).increment(1);
    metrics::histogram!("tern_market_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// A JSON request body, as bytes: declared `application/json` (or `+json`) and within the JSON size limit.
struct JsonBody(Bytes);

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
struct BlobId(ContentId);

impl<S: Send + Sync> FromRequestParts<S> for BlobId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        Ok(Self(raw.parse()?))
    }
}

/// The service is up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The service's version.
    pub version: String,
}

/// `GET /v1/health`
#[utoipa::path(get, path = "/v1/health", tag = "service",
    responses((status = 200, description = "The service is up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// `GET /v1/openapi.json`
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service",
    responses((status = 200, description = "This OpenAPI 3 document", content_type = "application/json")))]
async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], state.openapi)
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// A valid job spec: what the contract will store and pull.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SpecValidated {
    /// keccak256 of the canonical JSON, `0x` and 64 hex digits: the `specHash` passed to `createJob`.
    pub spec_hash: String,
    /// The RFC 8785 canonical JSON of the spec, as a string: its UTF-8 bytes are what `spec_hash` hashes.
    pub canonical_json: String,
    /// What `createJob` pulls from the requester, in USDT base units (a decimal string).
    pub escrow: String,
}

/// `POST /v1/specs/validate`
#[utoipa::path(post, path = "/v1/specs/validate", tag = "specs",
    request_body(content = Object, description = "A job spec (DESIGN.md §3.1)", content_type = "application/json"),
    responses(
        (status = 200, description = "The spec is valid", body = SpecValidated),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not declared as JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields, each listed in `error.fields`", body = ErrorBody),
    ))]
async fn validate_spec(JsonBody(body): JsonBody) -> Result<Json<SpecValidated>, ApiError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(&body)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let spec = JobSpec::from_json(&body).map_err(ApiError::InvalidSpec)?;
    let canonical = canonical_json(&spec);
    let hash = keccak256(&canonical);
    let mut spec_hash = String::from("0x");
    for byte in hash {
        spec_hash.push_str(&format!("{byte:02x}"));
    }
    Ok(Json(SpecValidated {
        spec_hash,
        canonical_json: String::from_utf8(canonical)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        escrow: spec.escrow().to_string(),
    }))
}

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
async fn put_blob(
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
    let outcome = state
        .store
        .put(id, Box::pin(stream), limit)
        .await
        .map_err(|err| match err {
            BlobError::Mismatch(m) => ApiError::ContentMismatch(m),
            BlobError::TooLarge { limit } => ApiError::PayloadTooLarge { limit },
            BlobError::Upload(e) => ApiError::BodyRead(e.to_string()),
            err => ApiError::Internal(err.to_string()),
        })?;
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

/// `GET /v1/blobs/{content_id}` (and `HEAD`)
#[utoipa::path(get, path = "/v1/blobs/{content_id}", tag = "blobs",
    params(("content_id" = String, Path, description = "`sha256:` and the 64 lowercase hex digits of the blob's sha256")),
    responses(
        (status = 200, description = "The blob's bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Malformed content id", body = ErrorBody),
        (status = 404, description = "Not stored", body = ErrorBody),
    ))]
async fn get_blob(State(state): State<AppState>, BlobId(id): BlobId) -> Result<Response, ApiError> {
    let reader = state
        .store
        .get(id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
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

/// The OpenAPI 3 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tern marketplace", description = "Job specs and the content-addressed blob store (DESIGN.md §5)"),
    paths(health, openapi, validate_spec, put_blob, get_blob),
    components(schemas(ErrorBody, crate::error::ErrorDetail, crate::error::ErrorField, SpecValidated, BlobStored, Health)),
    tags(
        (name = "service", description = "Health and this document"),
        (name = "specs", description = "Job specs"),
        (name = "blobs", description = "Content-addressed blobs"),
    )
)]
pub struct ApiDoc;
