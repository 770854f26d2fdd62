//! Turning float weights into the frozen integer base: ternary (BitNet's absmean rule, per tensor, per row or per
//! group of input columns) or int8 (absmax per row, or Q8_0's blocks).
//!
//! Post-training ternarization of a model that was not trained ternary loses much of its quality, so finer scales
//! (per row, per group) and an int8 base are offered next to BitNet's per-tensor rule (DESIGN.md §4). The conversion runs once
//! per base model on the CPU with sequential f64 sums (no reordering), so it is reproducible; the result is what a
//! job's base-model id names.

use crate::{
    io::gguf::{BlockQ8_0, GgmlType, quant},
    ops::{FrozenLinear, LinearError},
};
use serde::{Deserialize, Serialize};

/// How a float projection becomes a frozen integer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseQuant {
    /// Ternary with one absmean scale per tensor (BitNet b1.58's rule): `s = mean|W|`, `q = clamp(round(W/s), −1, 1)`.
    TernaryPerTensor,
    /// Ternary with an absmean scale per output row.
    TernaryPerRow,
    /// Ternary with an absmean scale per output row and group of this many consecutive input columns (the last
    /// group of a row is shorter when the width is not a multiple): the finest ternary scales, at the cost of one
    /// matmul per group ([`FrozenLinear::ternary_grouped`]).
    TernaryPerGroup(usize),
    /// Int8 with an absmax scale per output row: `s = max|W_r| / 127`, `q = round(W/s)`.
    Int8PerRow,
    /// Int8 in GGUF's Q8_0 layout: blocks of 32 input columns, each with its own f16 scale. A tensor the model file
    /// stores as Q8_0 is used as stored, values and scales unchanged (no dequantize and requantize: exact, see
    /// [`int8_from_q8_0`]); any other tensor is first encoded to Q8_0 by ggml's rule (`d = max|x| / 127` rounded to
    /// f16, `q = round(x / d)` half away from zero), so every tensor ends up on the grid a Q8_0 file would hold.
    /// It applies to the token embedding and the LM head too. Needs row widths that are multiples of 32.
    #[serde(rename = "int8_q8_0")]
    Int8Q8_0,
}

impl BaseQuant {
    /// All schemes, for reports (per-group ternary with groups of 64).
    pub const ALL: [Self; 5] = [
        Self::TernaryPerTensor,
        Self::TernaryPerRow,
        Self::TernaryPerGroup(64),
        Self::Int8PerRow,
        Self::Int8Q8_0,
    ];

    /// A short name (`ternary-tensor`, `ternary-row`, `ternary-group`, `int8-row`, `int8-q8_0`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TernaryPerTensor => "ternary-tensor",
            Self::TernaryPerRow => "ternary-row",
            Self::TernaryPerGroup(_) => "ternary-group",
            Self::Int8PerRow => "int8-row",
            Self::Int8Q8_0 => "int8-q8_0",
        }
    }

    /// Parses a name as [`BaseQuant::name`] gives it (underscores may stand for hyphens); `ternary-group` takes
    /// groups of 64 and `ternary-group-N` groups of `N`. The error lists the accepted names.
    pub fn parse(name: &str) -> Result<Self, String> {
        let key = name.trim().to_ascii_lowercase().replace('_', "-");
        if let Some(n) = key.strip_prefix("ternary-group-") {
            return match n.parse::<usize>() {
                Ok(g) if g > 0 => Ok(Self::TernaryPerGroup(g)),
                _ => Err(format!(
                    "`{name}`: the group size after `ternary-group-` must be a positive number"
                )),
            };
        }
        Self::ALL
            .into_iter()
            .find(|q| q.name().replace('_', "-") == key)
            .ok_or_else(|| {
                format!(
                    "unknown base quantization `{name}`: use one of {} (or ternary-group-N)",
                    Self::ALL.map(Self::name).join(", ")
                )
            })
    }

    /// How the token embedding and a separate LM head are quantized under this scheme: int8 per row, except
    /// that [`BaseQuant::Int8Q8_0`] keeps Q8_0's blocks there too.
    pub fn for_embedding(self) -> Self {
        match self {
            Self::Int8Q8_0 => Self::Int8Q8_0,
            _ => Self::Int8PerRow,
        }
    }

    /// Quantizes a row-major `out × in` float weight.
    pub fn apply(
        self,
        out_features: usize,
        in_features: usize,
        w: &[f32],
    ) -> Result<FrozenLinear, LinearError> {
        assert_eq!(w.len(), out_features * in_features, "weight shape");
        let rows = || w.chunks_exact(in_features);
        let absmean = ternary_scale;
        match self {
            Self::TernaryPerTensor => {
                let s = ternary_scale(w);
                let q = ternarize(w, |_| s, in_features);
                FrozenLinear::ternary(out_features, in_features, &q, &vec![guard(s); out_features])
            }
            Self::TernaryPerRow => {
                let scales: Vec<f64> = rows().map(absmean).collect();
                let q = ternarize(w, |r| scales[r], in_features);
                FrozenLinear::ternary(
                    out_features,
                    in_features,
                    &q,
                    &scales.iter().map(|&s| guard(s)).collect::<Vec<_>>(),
                )
            }
            Self::TernaryPerGroup(group) => {
                if group == 0 {
                    return Err(LinearError::Group(
                        "a ternary group must hold at least one column".into(),
                    ));
                }
                let n_groups = in_features.div_ceil(group);
                let scales: Vec<f64> = rows().flat_map(|r| r.chunks(group).map(absmean)).collect();
                let q: Vec<i8> = w
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let (r, c) = (i / in_features, i % in_features);
                        ternary_code(v, scales[r * n_groups + c / group])
                    })
                    .collect();
                FrozenLinear::ternary_grouped(
                    out_features,
                    in_features,
                    group,
                    &q,
                    &scales.iter().map(|&s| guard(s)).collect::<Vec<_>>(),
                )
            }
            Self::Int8PerRow => {
                let scales: Vec<f64> = rows()
                    .map(|r| r.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs()))) / 127.0)
                    .collect();
                let q: Vec<i8> = w
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let s = scales[i / in_features];
                        if s == 0.0 {
                            0
                        } else {
                            (f64::from(v) / s).round_ties_even().clamp(-127.0, 127.0) as i8
                        }
                    })
                    .collect();
                FrozenLinear::int8(
                    out_features,
                    in_features,
                    &q,
                    &scales.iter().map(|&s| guard(s)).collect::<Vec<_>>(),
                )
            }
            Self::Int8Q8_0 => {
                let Some(bytes) = in_features
                    .is_multiple_of(Q8_0_BLOCK)
                    .then(|| quant::quantize(GgmlType::Q8_0, w))
                    .flatten()
                else {
                    return Err(q8_0_width(in_features));
                };
                int8_from_q8_0(out_features, in_features, &BlockQ8_0::parse(&bytes))
            }
        }
    }
}

/// Values per Q8_0 block.
const Q8_0_BLOCK: usize = 32;

fn q8_0_width(in_features: usize) -> LinearError {
    LinearError::Group(format!(
        "Q8_0 blocks need rows that are a multiple of {Q8_0_BLOCK} values; this weight's rows have {in_features}: \
         choose another base quantization"
    ))
}

/// An int8 projection straight from Q8_0 blocks (`out × in / 32` of them, in row order): the stored values with
/// the stored f16 scales, one per block, so the layer's weight is exactly what the file holds.
///
/// Exactness: each f16 scale becomes a 31-bit multiplier under the tensor's common shift, which is exact for every
/// scale within `2^20` of the tensor's largest (an f16 has 11 significant bits); a smaller one is rounded to the
/// nearest multiple of the shift's unit. A block with a negative scale is stored with its values negated; a block
/// with scale 0 holds only zeros. A value of -128 (which ggml's encoder never writes) or a scale that is infinite
/// or NaN is an error.
pub fn int8_from_q8_0(
    out_features: usize,
    in_features: usize,
    blocks: &[BlockQ8_0],
) -> Result<FrozenLinear, LinearError> {
    if !in_features.is_multiple_of(Q8_0_BLOCK) {
        return Err(q8_0_width(in_features));
    }
    if blocks.len() * Q8_0_BLOCK != out_features * in_features {
        return Err(LinearError::Group(format!(
            "a {out_features} × {in_features} weight needs {} Q8_0 blocks, got {}",
            out_features * in_features / Q8_0_BLOCK,
            blocks.len()
        )));
    }
    let stored: Vec<f64> = blocks.iter().map(|b| f64::from(b.scale())).collect();
    let n_groups = in_features / Q8_0_BLOCK;
    if let Some((i, &scale)) = stored.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(LinearError::BadScale {
            row: i / n_groups,
            scale,
        });
    }
    // Any positive scale represents an all-zero block; the largest leaves the other multipliers untouched.
    let filler = stored.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    let filler = if filler > 0.0 { filler } else { 1.0 };
    let mut values = Vec::with_capacity(out_features * in_features);
    let mut scales = Vec::with_capacity(blocks.len());
    for (b, &d) in blocks.iter().zip(&stored) {
        let sign = if d < 0.0 { -1 } else { 1 };
        if d == 0.0 {
            values.extend([0i8; Q8_0_BLOCK]);
            scales.push(filler);
        } else {
            // -128 stays -128 (negated it wraps to itself) and is refused by the packing.
            values.extend(b.qs.iter().map(|&q| q.wrapping_mul(sign)));
            scales.push(d.abs());
        }
    }
    FrozenLinear::int8_grouped(out_features, in_features, Q8_0_BLOCK, &values, &scales)
}

/// BitNet's absmean scale of a block, `mean|W|` (sequential f64 sum), except for a block that is already ternary:
/// when every non-zero value has the same magnitude `s` (a BitNet checkpoint stored as floats, llama.cpp's BitNet
/// GGUF), the scale is `s`, so the block is kept exactly; absmean would shrink it to `s ×` (share of non-zeros).
fn ternary_scale(block: &[f32]) -> f64 {
    let mut magnitude = None;
    for v in block.iter().map(|v| v.abs()).filter(|&a| a != 0.0) {
        match magnitude {
            None => magnitude = Some(v),
            Some(m) if m != v => {
                return block.iter().map(|v| f64::from(v.abs())).sum::<f64>() / block.len() as f64;
            }
            Some(_) => {}
        }
    }
    magnitude.map_or(0.0, f64::from)
}

/// An all-zero row has scale 0; any positive scale represents it (its values are all 0).
fn guard(s: f64) -> f64 {
    if s > 0.0 { s } else { 1.0 }
}

fn ternarize(w: &[f32], scale_of_row: impl Fn(usize) -> f64, in_features: usize) -> Vec<i8> {
    w.iter()
        .enumerate()
        .map(|(i, &v)| ternary_code(v, scale_of_row(i / in_features)))
        .collect()
}

/// BitNet's code for one value: `clamp(round_half_even(v / s), −1, 1)`, 0 in an all-zero block.
fn ternary_code(v: f32, s: f64) -> i8 {
    if s == 0.0 {
        0
    } else {
        (f64::from(v) / s).round_ties_even().clamp(-1.0, 1.0) as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_already_ternary_tensor_keeps_its_scale() {
        let s = 0.037f32;
        let w: Vec<f32> = [1, 0, -1, 0, 0, 1, -1, -1, 0, 0, 0, 1]
            .iter()
            .map(|&q| f32::from(q as i8) * s)
            .collect();
        for quant in [
            BaseQuant::TernaryPerTensor,
            BaseQuant::TernaryPerRow,
            BaseQuant::TernaryPerGroup(2),
        ] {
            let got = quant.apply(3, 4, &w).unwrap().to_f64();
            for (a, &b) in got.iter().zip(&w) {
                assert!(
                    (a - f64::from(b)).abs() <= 1e-9 * f64::from(s),
                    "{quant:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn schemes_give_their_value_sets() {
        let w = [
            0.1f32, -0.5, 0.02, 0.3, /* row 2 */ 2.0, -2.0, 0.0, 1.0,
        ];
        let t = BaseQuant::TernaryPerTensor
            .apply(2, 4, &w)
            .unwrap()
            .to_f64();
        let s = w.iter().map(|v| f64::from(v.abs())).sum::<f64>() / 8.0; // 0.74
        for v in &t {
            assert!(
                [0.0, s, -s].iter().any(|x| (x - v).abs() < 1e-6),
                "{v} not in {{0, ±{s}}}"
            );
        }
        let r = BaseQuant::TernaryPerRow.apply(2, 4, &w).unwrap().to_f64();
        assert!((r[1] + 0.23).abs() < 1e-6, "row 0 absmean 0.23: {r:?}"); // -0.5/0.23 rounds to -2 -> -1
        assert!(
            (r[4] - 1.25).abs() < 1e-6 && (r[7] - 1.25).abs() < 1e-6,
            "{r:?}"
        );
        let i = BaseQuant::Int8PerRow.apply(2, 4, &w).unwrap().to_f64();
        for (a, b) in i.iter().zip(&w) {
            assert!(
                (a - f64::from(*b)).abs() <= 2.0 / 127.0 / 2.0 + 1e-6,
                "{a} vs {b}"
            );
        }
        assert!(
            BaseQuant::Int8PerRow
                .apply(1, 2, &[0.0, 0.0])
                .unwrap()
                .to_f64()
                .iter()
                .all(|&v| v == 0.0)
        );
    }
}
