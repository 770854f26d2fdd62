//! `GET /v1/specs/{spec_hash}`: a stored job spec.

use axum::Json;
use axum::extract::State;

use crate::controllers::extract::PathSegment;
use crate::controllers::specs::validate::{SpecValidated, check};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// Whether `raw` is a specHash as the API writes them: `0x` and 64 lowercase hex digits.
fn is_spec_hash(raw: &str) -> bool {
    raw.strip_prefix("0x").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `GET /v1/specs/{spec_hash}`
#[utoipa::path(get, path = "/v1/specs/{spec_hash}", tag = "specs",
    params(("spec_hash" = String, Path, description = "`0x` and 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The stored spec", body = SpecValidated),
        (status = 400, description = "The path is not a specHash", body = ErrorBody),
        (status = 404, description = "No spec has this hash", body = ErrorBody),
        (status = 500, description = "The service failed", body = ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    PathSegment(spec_hash): PathSegment,
) -> Result<Json<SpecValidated>, ApiError> {
    if !is_spec_hash(&spec_hash) {
        return Err(ApiError::InvalidSpecHash(spec_hash));
    }
    let stored = state
        .db
        .spec(&spec_hash)
        .await?
        .ok_or(ApiError::SpecNotFound(spec_hash))?;
    // The stored canonical JSON is a valid spec; checking it again gives its escrow (and its hash back).
    let spec = check(stored.canonical_json.as_bytes()).map_err(|err| {
        ApiError::Internal(format!(
            "stored spec {} no longer checks: {err}",
            stored.spec_hash
        ))
    })?;
    if spec.spec_hash != stored.spec_hash {
        return Err(ApiError::Internal(format!(
            "stored spec {} hashes to {}",
            stored.spec_hash, spec.spec_hash
        )));
    }
    Ok(Json(spec))
}

#[cfg(test)]
mod tests {
    use super::is_spec_hash;

    #[test]
    fn spec_hash_shape() {
        assert!(is_spec_hash(&format!("0x{}", "0a".repeat(32))));
        assert!(!is_spec_hash(&format!("0x{}", "0A".repeat(32))));
        assert!(!is_spec_hash(&"0a".repeat(32)));
        assert!(!is_spec_hash("0x12"));
        assert!(!is_spec_hash(&format!("0x{}", "g".repeat(64))));
    }
}
