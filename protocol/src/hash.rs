//! The canonical JSON of a spec and its hash, the on-chain `specHash` (DESIGN.md §3.1).

use sha3::{Digest, Keccak256};

use crate::spec::JobSpec;

/// keccak256 of `bytes` (Ethereum's, not NIST SHA3-256).
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// The RFC 8785 (JCS) canonical JSON of a spec: object keys sorted by their UTF-16 code units, no whitespace,
/// strings in the minimal JSON escaping, numbers as ECMAScript writes doubles (`0.001`, `1e-8`, `16` for `16.0`,
/// `1e+21`). Amounts are strings, so they pass through unchanged.
///
/// Two JSON texts that parse to the same [`JobSpec`] give the same bytes, whatever their key order, whitespace or
/// number spelling (`1e-3` and `0.001` are the same double).
///
/// # Panics
///
/// If a float field is NaN or infinite, which JSON cannot carry: a spec read from JSON never has one, and
/// [`JobSpec::validate`] rejects one built in code.
pub fn canonical_json(spec: &JobSpec) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(spec).expect("a job spec has only finite numbers")
}

/// The `specHash` of a spec: keccak256 of its [`canonical_json`]. The contract stores it; anyone holding the spec
/// can recompute it. Meaningful for a spec that passes [`JobSpec::validate`] (seeds above `2^53 - 1` would be
/// rounded by canonicalization).
///
/// # Panics
///
/// As [`canonical_json`].
pub fn spec_hash(spec: &JobSpec) -> [u8; 32] {
    keccak256(&canonical_json(spec))
}
