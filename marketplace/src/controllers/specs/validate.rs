//! `POST /v1/specs/validate`: checks a job spec; gives its specHash, canonical JSON and escrow.

use axum::Json;
use serde::{Deserialize, Serialize};
use tern_protocol::{JobSpec, canonical_json, keccak256};
use utoipa::ToSchema;

use crate::controllers::extract::JsonBody;
use crate::error::{ApiError, ErrorBody};

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
pub(crate) async fn validate(JsonBody(body): JsonBody) -> Result<Json<SpecValidated>, ApiError> {
    check(&body).map(Json)
}

/// Checks a job spec sent as JSON: its specHash, canonical JSON and escrow, or why it is not valid.
pub(crate) fn check(body: &[u8]) -> Result<SpecValidated, ApiError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    parse(body).map(|(_, validated)| validated)
}

/// Parses and checks a job spec known to be JSON: the spec, and its specHash, canonical JSON and escrow.
pub(crate) fn parse(body: &[u8]) -> Result<(JobSpec, SpecValidated), ApiError> {
    let spec = JobSpec::from_json(body).map_err(ApiError::InvalidSpec)?;
    let canonical = canonical_json(&spec);
    let hash = keccak256(&canonical);
    let mut spec_hash = String::from("0x");
    for byte in hash {
        spec_hash.push_str(&format!("{byte:02x}"));
    }
    let validated = SpecValidated {
        spec_hash,
        canonical_json: String::from_utf8(canonical)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        escrow: spec.escrow().to_string(),
    };
    Ok((spec, validated))
}
