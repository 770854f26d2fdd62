//! `GET /v1/specs/{spec_hash}`: a stored job spec.

use axum::Json;
use axum::extract::State;

use crate::controllers::extract::PathSegment;
use tern_protocol::keccak256;

use crate::controllers::specs::validate::SpecValidated;
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
    // Served as stored, not checked again: a spec valid when it was posted stays readable under the rules of its
    // own version, whatever later versions tighten. Only its integrity is checked.
    let corrupt =
        |what: &str| ApiError::Internal(format!("stored spec {}: {what}", stored.spec_hash));
    let hash = format!(
        "0x{}",
        alloy::hex::encode(keccak256(stored.canonical_json.as_bytes()))
    );
    if hash != stored.spec_hash {
        return Err(corrupt(&format!("its JSON hashes to {hash}")));
    }
    let escrow = escrow_of(&stored.canonical_json).ok_or_else(|| corrupt("no price to escrow"))?;
    Ok(Json(SpecValidated {
        spec_hash: stored.spec_hash,
        canonical_json: stored.canonical_json,
        escrow: escrow.to_string(),
    }))
}

/// `reward + verifier_fee * sample_count` of a spec's JSON (the fields every spec version has).
fn escrow_of(canonical_json: &str) -> Option<u128> {
    let spec: serde_json::Value = serde_json::from_str(canonical_json).ok()?;
    let amount = |v: &serde_json::Value| v.as_str()?.parse::<u128>().ok();
    let reward = amount(&spec["price"]["reward"])?;
    let fee = amount(&spec["price"]["verifier_fee"])?;
    let samples = u128::from(u32::try_from(spec["verification"]["sample_count"].as_u64()?).ok()?);
    reward.checked_add(fee.checked_mul(samples)?)
}

#[cfg(test)]
mod tests {
    use super::is_spec_hash;

    #[test]
    fn escrow_is_reward_plus_fees() {
        let json = r#"{"price":{"reward":"5000000","verifier_fee":"250000"},"verification":{"sample_count":3}}"#;
        assert_eq!(super::escrow_of(json), Some(5_750_000));
        assert_eq!(super::escrow_of(r#"{"price":{}}"#), None);
    }

    #[test]
    fn spec_hash_shape() {
        assert!(is_spec_hash(&format!("0x{}", "0a".repeat(32))));
        assert!(!is_spec_hash(&format!("0x{}", "0A".repeat(32))));
        assert!(!is_spec_hash(&"0a".repeat(32)));
        assert!(!is_spec_hash("0x12"));
        assert!(!is_spec_hash(&format!("0x{}", "g".repeat(64))));
    }
}
