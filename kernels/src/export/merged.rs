//! A projection with its adapter folded in: `W + (alpha / r) · B · A`, for exporting a merged model.

use super::check::{master_to_f32, masters_to_f32};
use super::error::ExportError;
use crate::train::AdapterState;

/// `W + (alpha / r) · B · A` as row-major `out × in` `f32`, rows in the order of `base` and the adapter (GGUF
/// order for the trainer's states; apply [`super::unpermute_rows`] to Q and K for a Hugging Face checkpoint).
///
/// Each element's update is a dot product of length `r` in `f64` from the exported `f32` values of `A` and `B`,
/// scaled and added in `f64`, then rounded once to `f32`: merging equals applying the exported adapter up to that
/// one rounding.
pub fn merged_weight(
    base: &[f32],
    adapter: &AdapterState,
    alpha: f64,
) -> Result<Vec<f32>, ExportError> {
    let (out, input, r) = (adapter.out_features, adapter.in_features, adapter.rank);
    let expected = out * input;
    if base.len() != expected {
        return Err(ExportError::BaseWeight {
            found: base.len(),
            expected,
            out,
            input,
        });
    }
    if !alpha.is_finite() || alpha <= 0.0 {
        return Err(ExportError::Alpha(alpha));
    }
    if r == 0 || adapter.a.len() != r * input || adapter.b.len() != out * r {
        return Err(ExportError::Shape {
            layer: adapter.layer,
            target: adapter.target,
            detail: format!(
                "rank {r} with |A| = {} and |B| = {} does not fit {out} × {input}",
                adapter.a.len(),
                adapter.b.len()
            ),
        });
    }
    let scale = alpha / r as f64;
    let a = masters_to_f32(&adapter.a);
    let mut merged = Vec::with_capacity(expected);
    for (o, b_row) in adapter.b.chunks_exact(r).enumerate() {
        let b_row: Vec<f64> = b_row.iter().map(|&v| f64::from(master_to_f32(v))).collect();
        for i in 0..input {
            let delta: f64 = b_row
                .iter()
                .enumerate()
                .map(|(k, &b)| b * f64::from(a[k * input + i]))
                .sum();
            merged.push((f64::from(base[o * input + i]) + scale * delta) as f32);
        }
    }
    Ok(merged)
}
