//! Turning float weights into the frozen integer base: ternary (BitNet's absmean rule, per tensor or per row) or
//! int8 (absmax per row).
//!
//! Post-training ternarization of a model that was not trained ternary loses much of its quality, so finer scales
//! (per row) and an int8 base are offered next to BitNet's per-tensor rule (DESIGN.md §4). The conversion runs once
//! per base model on the CPU with sequential f64 sums (no reordering), so it is reproducible; the result is what a
//! job's base-model id names.

use crate::ops::{FrozenLinear, LinearError};
use serde::{Deserialize, Serialize};

/// How a float projection becomes a frozen integer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseQuant {
    /// Ternary with one absmean scale per tensor (BitNet b1.58's rule): `s = mean|W|`, `q = clamp(round(W/s), −1, 1)`.
    TernaryPerTensor,
    /// Ternary with an absmean scale per output row.
    TernaryPerRow,
    /// Int8 with an absmax scale per output row: `s = max|W_r| / 127`, `q = round(W/s)`.
    Int8PerRow,
}

impl BaseQuant {
    /// All schemes, for reports.
    pub const ALL: [Self; 3] = [
        Self::TernaryPerTensor,
        Self::TernaryPerRow,
        Self::Int8PerRow,
    ];

    /// A short name (`ternary-tensor`, `ternary-row`, `int8-row`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TernaryPerTensor => "ternary-tensor",
            Self::TernaryPerRow => "ternary-row",
            Self::Int8PerRow => "int8-row",
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
        let absmean =
            |r: &[f32]| r.iter().map(|v| f64::from(v.abs())).sum::<f64>() / r.len() as f64;
        match self {
            Self::TernaryPerTensor => {
                let s = w.iter().map(|v| f64::from(v.abs())).sum::<f64>() / w.len() as f64;
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
        }
    }
}

/// An all-zero row has scale 0; any positive scale represents it (its values are all 0).
fn guard(s: f64) -> f64 {
    if s > 0.0 { s } else { 1.0 }
}

fn ternarize(w: &[f32], scale_of_row: impl Fn(usize) -> f64, in_features: usize) -> Vec<i8> {
    w.iter()
        .enumerate()
        .map(|(i, &v)| {
            let s = scale_of_row(i / in_features);
            if s == 0.0 {
                0
            } else {
                (f64::from(v) / s).round_ties_even().clamp(-1.0, 1.0) as i8
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
