//! The checks every export makes before writing: the state is a non-empty, uniform-rank grid of adapters that fit
//! the model configuration.

use super::error::ExportError;
use crate::model::{LoraTarget, ModelConfig};
use crate::train::{MASTER_FRAC, TrainState};

/// What a valid state adapts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// The common rank.
    pub rank: usize,
    /// The projections adapted in every adapted layer, in canonical order.
    pub targets: Vec<LoraTarget>,
    /// The adapted layers, increasing.
    pub layers: Vec<u16>,
}

/// Validates `state` against `config` and `alpha`.
pub(super) fn layout(
    state: &TrainState,
    config: &ModelConfig,
    alpha: f64,
) -> Result<Layout, ExportError> {
    let first = state.adapters.first().ok_or(ExportError::NoAdapters)?;
    if !alpha.is_finite() || alpha <= 0.0 {
        return Err(ExportError::Alpha(alpha));
    }
    let rank = first.rank;
    let mut layers: Vec<(u16, Vec<LoraTarget>)> = Vec::new();
    let mut previous = None;
    for ad in &state.adapters {
        let shape_err = |detail: String| ExportError::Shape {
            layer: ad.layer,
            target: ad.target,
            detail,
        };
        if previous.is_some_and(|p| p >= (ad.layer, ad.target)) {
            return Err(shape_err(
                "adapters are not in strictly increasing (layer, target) order".into(),
            ));
        }
        previous = Some((ad.layer, ad.target));
        if ad.rank != rank {
            return Err(ExportError::MixedRanks {
                first: rank,
                other: ad.rank,
            });
        }
        if usize::from(ad.layer) >= config.n_layers {
            return Err(shape_err(format!(
                "the model has {} layers",
                config.n_layers
            )));
        }
        let (out, input) = ad.target.shape(config);
        if rank == 0
            || (ad.out_features, ad.in_features) != (out, input)
            || ad.a.len() != rank * input
            || ad.b.len() != out * rank
        {
            return Err(shape_err(format!(
                "rank {rank}, {} × {} with |A| = {} and |B| = {}, the model's projection is {out} × {input}",
                ad.out_features,
                ad.in_features,
                ad.a.len(),
                ad.b.len()
            )));
        }
        match layers.last_mut() {
            Some((l, targets)) if *l == ad.layer => targets.push(ad.target),
            _ => layers.push((ad.layer, vec![ad.target])),
        }
    }
    let (first_layer, expected) = layers[0].clone();
    if let Some((layer, found)) = layers.iter().find(|(_, t)| *t != expected) {
        return Err(ExportError::UnevenTargets {
            first_layer,
            expected,
            layer: *layer,
            found: found.clone(),
        });
    }
    Ok(Layout {
        rank,
        targets: expected,
        layers: layers.into_iter().map(|(l, _)| l).collect(),
    })
}

/// A master weight as `f32`: `v` rounded to 24 significant bits (half to even), then scaled by `2^-29` exactly.
pub(super) fn master_to_f32(v: i32) -> f32 {
    // 2^-MASTER_FRAC built from its bits (no libm call); scaling by a power of two is exact, and the smallest
    // magnitude, 2^-29, is a normal f32.
    let scale = f32::from_bits((127 - MASTER_FRAC) << 23);
    v as f32 * scale
}

/// All of `values` as `f32`.
pub(super) fn masters_to_f32(values: &[i32]) -> Vec<f32> {
    values.iter().map(|&v| master_to_f32(v)).collect()
}

/// Heads of the projection whose output rows GGUF permutes, if any.
pub(super) fn permuted_heads(target: LoraTarget, config: &ModelConfig) -> Option<usize> {
    match target {
        LoraTarget::Q => Some(config.n_heads),
        LoraTarget::K => Some(config.n_kv_heads),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_to_f32_rounds_to_24_bits_and_scales_exactly() {
        assert_eq!(master_to_f32(1 << 29), 1.0);
        assert_eq!(master_to_f32(-(1 << 28)), -0.5);
        assert_eq!(master_to_f32(1), 2f32.powi(-29));
        // 2^24 + 1 is not an f32: ties go to even (2^24), then scale.
        assert_eq!(master_to_f32((1 << 24) + 1), 2f32.powi(-5));
        assert_eq!(
            master_to_f32((1 << 24) + 3),
            (((1 << 24) + 4) as f32) * 2f32.powi(-29)
        );
        assert_eq!(master_to_f32(i32::MAX), 4.0);
        assert_eq!(master_to_f32(i32::MIN), -4.0);
    }
}
