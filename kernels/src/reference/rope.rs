//! Rotary position embedding in llama.cpp's "normal" layout: adjacent pairs rotate together.
//!
//! GGUF stores llama's Q and K rows permuted so that within each head the pair `(x[2i], x[2i+1])` is rotated by
//! the angle `pos · θ^(-2i/head_dim)`. (Hugging Face checkpoints pair `x[i]` with `x[i + head_dim/2]` instead; the
//! converter's permutation makes the two agree.) Weights here come from GGUF, so pairs are adjacent.

use candle_core::{DType, Device, Tensor};

/// Cosine and sine tables for positions `0..seq`, each `[seq, head_dim/2]`, in `dtype`.
pub(crate) fn rope_tables(
    seq: usize,
    head_dim: usize,
    theta: f32,
    dtype: DType,
) -> candle_core::Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(seq * half);
    let mut sin = Vec::with_capacity(seq * half);
    for pos in 0..seq {
        for i in 0..half {
            let freq = f64::from(theta).powf(-2.0 * i as f64 / head_dim as f64);
            let angle = pos as f64 * freq;
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    let cos = Tensor::from_vec(cos, (seq, half), &Device::Cpu)?.to_dtype(dtype)?;
    let sin = Tensor::from_vec(sin, (seq, half), &Device::Cpu)?.to_dtype(dtype)?;
    Ok((cos, sin))
}

/// Rotates `x` (`[batch, heads, seq, head_dim]`) by the tables of [`rope_tables`]:
/// `(x[2i], x[2i+1]) → (x[2i]·cos − x[2i+1]·sin, x[2i]·sin + x[2i+1]·cos)`.
pub(crate) fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    let (b, h, t, d) = x.dims4()?;
    let pairs = x.reshape((b, h, t, d / 2, 2))?;
    let even = pairs.narrow(4, 0, 1)?.squeeze(4)?;
    let odd = pairs.narrow(4, 1, 1)?.squeeze(4)?;
    let rotated_even = (even.broadcast_mul(cos)? - odd.broadcast_mul(sin)?)?;
    let rotated_odd = (even.broadcast_mul(sin)? + odd.broadcast_mul(cos)?)?;
    Tensor::stack(&[&rotated_even, &rotated_odd], 4)?.reshape((b, h, t, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_adjacent_pairs_with_llama_frequencies() {
        // head_dim 4, θ = 100: pair 0 turns by pos·1 rad, pair 1 by pos·100^(-1/2) = pos·0.1 rad.
        let (cos, sin) = rope_tables(2, 4, 100.0, DType::F64).unwrap();
        let x = Tensor::from_vec(
            vec![1.0f64, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            (1, 1, 2, 4),
            &Device::Cpu,
        )
        .unwrap();
        let y = apply_rope(&x, &cos, &sin)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let expected = [
            // Position 0: no rotation.
            1.0,
            0.0,
            0.0,
            1.0,
            // Position 1: (1, 0) → (cos 1, sin 1); (0, 1) → (−sin 0.1, cos 0.1).
            1f64.cos(),
            1f64.sin(),
            -(0.1f64.sin()),
            0.1f64.cos(),
        ];
        for (got, want) in y.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{y:?} != {expected:?}");
        }
    }
}
