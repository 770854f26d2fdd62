//! Fake quantization: values stay floats but are moved onto the grid the integer trainer computes on.
//!
//! What is quantized where (everything else is plain f32 or f64):
//! - **Base linear weights of the blocks** (`attn_q`, `attn_k`, `attn_v`, `attn_output`, `ffn_gate`, `ffn_up`,
//!   `ffn_down`): once, at load, by [`fake_quantize_weight`] with the chosen [`BaseQuant`] (the integer model's
//!   scheme, the one enum both trainers share), or not at all ([`Numerics::base`](super::Numerics) `None`). The
//!   token embedding, the LM head (tied embedding or `output.weight`) and all norm weights stay unquantized.
//! - **Activations entering a base linear layer of a block**: per token (one scale per row of the input), int8
//!   absmax with [`fake_quantize_int8_rows`] when [`ActivationQuant::Int8PerToken`] is chosen. The gradient passes
//!   straight through (the straight-through estimator `x + (q(x) − x).detach()`: the backward pass treats the
//!   quantizer as the identity). The LoRA branch of the same layer sees the unquantized input, and the LM head's
//!   input is not quantized.
//! - LoRA A and B, their gradients and the optimizer state are unquantized.
//!
//! Rounding is half to even everywhere (`round_ties_even`), the rule the integer trainer uses, except
//! [`BaseQuant::Int8Q8_0`], which is ggml's Q8_0 encoding (half away from zero) as the integer model's is.

use crate::io::gguf::{GgmlType, quant};
pub use crate::model::BaseQuant;

/// How activations entering the base linear layers are quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivationQuant {
    /// Plain floats (for gradient checks against finite differences, which a rounding step would break).
    None,
    /// Symmetric int8 per token: `s = max|x|/127`, `x_q = s·round(x/s)`, straight-through gradient.
    #[default]
    Int8PerToken,
}

/// A float type the quantizers work in (f32 for training, f64 for gradient checks).
pub trait Real: Copy + PartialOrd {
    /// `|self|`.
    fn abs_value(self) -> Self;
    /// Round to the nearest integer, ties to even.
    fn round_even(self) -> Self;
    /// Conversion from f64 (for constants).
    fn from_f64(v: f64) -> Self;
    /// Conversion to f64.
    fn to_f64(self) -> f64;
    /// `self / rhs`.
    fn div(self, rhs: Self) -> Self;
    /// `self * rhs`.
    fn mul(self, rhs: Self) -> Self;
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            fn abs_value(self) -> Self {
                self.abs()
            }
            fn round_even(self) -> Self {
                self.round_ties_even()
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn div(self, rhs: Self) -> Self {
                self / rhs
            }
            fn mul(self, rhs: Self) -> Self {
                self * rhs
            }
        }
    };
}
impl_real!(f32);
impl_real!(f64);

/// Moves every row of `x` (rows of `row_len` values) onto its int8 grid: `s = max|x|/127`, `x = s·round(x/s)`.
/// All-zero rows stay zero. `row_len` must divide `x.len()` (a trailing partial row is quantized on its own).
pub fn fake_quantize_int8_rows<T: Real>(x: &mut [T], row_len: usize) {
    if row_len == 0 {
        return;
    }
    for row in x.chunks_mut(row_len) {
        let absmax = row.iter().fold(T::from_f64(0.0), |m, &v| {
            if v.abs_value() > m { v.abs_value() } else { m }
        });
        if absmax.to_f64() == 0.0 {
            continue;
        }
        let scale = absmax.div(T::from_f64(127.0));
        for v in row.iter_mut() {
            let q = clamp(v.div(scale).round_even(), 127.0);
            *v = q.mul(scale);
        }
    }
}

/// Fake-quantizes a row-major `[rows, cols]` weight matrix in place with `scheme`:
/// - ternary schemes: BitNet's absmean rule per tensor, row or group, `W_q = s·clamp(round(W/s), -1, 1)`;
/// - [`BaseQuant::Int8PerRow`]: `s = max|W_r|/127`, `W_q = s·round(W/s)`;
/// - [`BaseQuant::Int8Q8_0`]: an encode and decode through GGUF's Q8_0 (blocks of 32 with an f16 scale), which
///   leaves weights read from a Q8_0 tensor unchanged, as the integer model keeps them.
///
/// Returns `Err` with a message when the scheme cannot apply (a group size of 0, a Q8_0 row width that is not a
/// multiple of 32, or `w.len() != rows·cols`).
pub fn fake_quantize_weight(
    w: &mut [f32],
    rows: usize,
    cols: usize,
    scheme: BaseQuant,
) -> Result<(), String> {
    if w.len() != rows * cols {
        return Err(format!(
            "weight holds {} values, not {rows}×{cols}",
            w.len()
        ));
    }
    match scheme {
        BaseQuant::TernaryPerTensor => ternary_absmean(w),
        BaseQuant::TernaryPerRow => w.chunks_mut(cols.max(1)).for_each(ternary_absmean),
        BaseQuant::TernaryPerGroup(0) => return Err("ternary group size must be at least 1".into()),
        BaseQuant::TernaryPerGroup(g) => {
            for row in w.chunks_mut(cols.max(1)) {
                row.chunks_mut(g).for_each(ternary_absmean);
            }
        }
        BaseQuant::Int8PerRow => fake_quantize_int8_rows(w, cols),
        BaseQuant::Int8Q8_0 => {
            let encoded = cols
                .is_multiple_of(32)
                .then(|| quant::quantize(GgmlType::Q8_0, w))
                .flatten()
                .ok_or_else(|| {
                    format!("Q8_0 blocks need rows that are a multiple of 32 values, not {cols}")
                })?;
            w.copy_from_slice(&quant::dequantize(GgmlType::Q8_0, &encoded));
        }
    }
    Ok(())
}

/// Absmean ternarization of one block (BitNet b1.58): `s = mean|w|`, `w = s·clamp(round(w/s), -1, 1)`. A block
/// that is already ternary (every non-zero value of one magnitude) is left as it is, as the integer model keeps it.
fn ternary_absmean(block: &mut [f32]) {
    if block.is_empty() {
        return;
    }
    let first = block.iter().map(|v| v.abs()).find(|&a| a != 0.0);
    if let Some(m) = first
        && block.iter().all(|v| v.abs() == 0.0 || v.abs() == m)
    {
        return;
    }
    // Summed in f64 so the scale does not depend on the block's length through f32 accumulation error.
    let scale = (block.iter().map(|v| f64::from(v.abs())).sum::<f64>() / block.len() as f64) as f32;
    if scale == 0.0 {
        return;
    }
    for v in block.iter_mut() {
        *v = clamp((*v / scale).round_ties_even(), 1.0) * scale;
    }
}

fn clamp<T: Real>(v: T, bound: f64) -> T {
    T::from_f64(v.to_f64().clamp(-bound, bound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    fn random_matrix(rows: usize, cols: usize, seed: u32) -> Vec<f32> {
        let key = Key(seed);
        (0..rows * cols)
            .map(|i| key.word(i as u32, 0, 0) as f32 / u32::MAX as f32 * 2.0 - 1.0)
            .collect()
    }

    /// Every block's values lie in `{-s, 0, s}` with `s` the block's absmean, and all three occur.
    fn assert_ternary_blocks(q: &[f32], orig: &[f32], block_of: impl Fn(usize) -> usize) {
        let mut blocks: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for i in 0..q.len() {
            blocks.entry(block_of(i)).or_default().push(i);
        }
        for idx in blocks.values() {
            let s = (idx.iter().map(|&i| f64::from(orig[i].abs())).sum::<f64>() / idx.len() as f64)
                as f32;
            let mut seen = [false; 3];
            for &i in idx {
                let level = [-s, 0.0, s].iter().position(|&l| q[i] == l);
                let level =
                    level.unwrap_or_else(|| panic!("value {} is not in {{-{s}, 0, {s}}}", q[i]));
                seen[level] = true;
            }
            if idx.len() >= 16 {
                assert_eq!(
                    seen,
                    [true; 3],
                    "a block of {} uniform values uses all three levels",
                    idx.len()
                );
            }
        }
    }

    #[test]
    fn ternary_per_tensor_uses_one_absmean_scale() {
        let orig = random_matrix(8, 24, 1);
        let mut q = orig.clone();
        fake_quantize_weight(&mut q, 8, 24, BaseQuant::TernaryPerTensor).unwrap();
        assert_ternary_blocks(&q, &orig, |_| 0);
    }

    #[test]
    fn ternary_per_row_uses_one_scale_per_row() {
        let orig = random_matrix(8, 24, 2);
        let mut q = orig.clone();
        fake_quantize_weight(&mut q, 8, 24, BaseQuant::TernaryPerRow).unwrap();
        assert_ternary_blocks(&q, &orig, |i| i / 24);
        let distinct: std::collections::BTreeSet<u32> = q
            .iter()
            .filter(|v| **v > 0.0)
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(distinct.len(), 8, "eight rows, eight positive levels");
    }

    #[test]
    fn ternary_per_group_uses_one_scale_per_group_and_a_short_tail_group() {
        // 40-wide rows in groups of 16: groups of 16, 16 and 8 values.
        let orig = random_matrix(4, 40, 3);
        let mut q = orig.clone();
        fake_quantize_weight(&mut q, 4, 40, BaseQuant::TernaryPerGroup(16)).unwrap();
        assert_ternary_blocks(&q, &orig, |i| (i / 40) * 3 + (i % 40) / 16);
        assert!(fake_quantize_weight(&mut q, 4, 40, BaseQuant::TernaryPerGroup(0)).is_err());
    }

    #[test]
    fn int8_rows_land_on_the_absmax_grid() {
        let orig = random_matrix(6, 50, 4);
        let mut q = orig.clone();
        fake_quantize_weight(&mut q, 6, 50, BaseQuant::Int8PerRow).unwrap();
        for (r, row) in q.chunks(50).enumerate() {
            let absmax = orig[r * 50..(r + 1) * 50]
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()));
            let s = absmax / 127.0;
            for (i, v) in row.iter().enumerate() {
                let k = v / s;
                assert!(
                    (k - k.round()).abs() < 1e-3 && k.abs() <= 127.0 + 1e-3,
                    "{v} is not on the grid of {s}"
                );
                assert!(
                    (v - orig[r * 50 + i]).abs() <= s / 2.0 * 1.0001,
                    "rounding moves a value by at most s/2"
                );
            }
            assert!(
                row.iter().any(|v| (v.abs() - absmax).abs() < 1e-6),
                "the absmax value is kept"
            );
        }
    }

    #[test]
    fn activation_rounding_is_half_to_even() {
        // absmax 127 makes the scale exactly 1, so the values below are their own grid coordinates.
        let mut x = [127.0f32, 0.5, 1.5, 2.5, -0.5, -1.5, 3.4];
        fake_quantize_int8_rows(&mut x, 7);
        assert_eq!(x, [127.0, 0.0, 2.0, 2.0, -0.0, -2.0, 3.0]);
        let mut zero = [0.0f64; 4];
        fake_quantize_int8_rows(&mut zero, 2);
        assert_eq!(zero, [0.0; 4]);
    }
}
