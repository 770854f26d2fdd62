//! `POST /v1/specs`: checks a job spec like `/v1/specs/validate` and stores its canonical JSON under its specHash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::controllers::extract::JsonBody;
use crate::controllers::specs::validate::{SpecValidated, check};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// `POST /v1/specs`
#[utoipa::path(post, path = "/v1/specs", tag = "specs",
    request_body(content = Object, description = "A job spec (DESIGN.md §3.1)", content_type = "application/json"),
    responses(
        (status = 201, description = "The spec is valid and was stored", body = SpecValidated),
        (status = 200, description = "The spec is valid and was already stored", body = SpecValidated),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not declared as JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields, each listed in `error.fields`; nothing was stored", body = ErrorBody),
        (status = 500, description = "The service failed", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SpecValidated>), ApiError> {
    let spec = check(&body)?;
    let created = state
        .db
        .insert_spec(&spec.spec_hash, &spec.canonical_json)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(spec)))
}
