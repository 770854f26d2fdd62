//! Rotary position embedding on adjacent pairs, forward and backward, in integers.
//!
//! GGUF stores llama's Q and K rows permuted so that RoPE rotates adjacent pairs `(x[2i], x[2i+1])` of each head
//! (llama.cpp's "normal" mode), with angle `pos · θ^(−2i/head_dim)`. The cosines and sines are a table of Q.30
//! integers built once from `libm` (pure Rust, IEEE basic operations: the same bits on every platform); a GPU
//! receives the table as data.

use super::rows::Rows;

/// The rotation table for one head width and base frequency.
#[derive(Debug, Clone)]
pub struct Rope {
    head_dim: usize,
    max_positions: usize,
    /// `cos(angle) · 2^30` and `sin(angle) · 2^30`, rounded half to even, indexed `[pos · head_dim/2 + i]`.
    cos: Vec<i32>,
    sin: Vec<i32>,
}

impl Rope {
    /// A table for positions `0..max_positions`. `head_dim` must be even.
    pub fn new(head_dim: usize, theta: f32, max_positions: usize) -> Self {
        assert!(
            head_dim >= 2 && head_dim.is_multiple_of(2),
            "RoPE head width {head_dim} must be even"
        );
        let half = head_dim / 2;
        let scale = f64::from(1u32 << 30);
        let mut cos = Vec::with_capacity(max_positions * half);
        let mut sin = Vec::with_capacity(max_positions * half);
        for pos in 0..max_positions {
            for i in 0..half {
                let inv_freq = libm::pow(f64::from(theta), -((2 * i) as f64) / head_dim as f64);
                let angle = pos as f64 * inv_freq;
                cos.push((libm::cos(angle) * scale).round_ties_even() as i32);
                sin.push((libm::sin(angle) * scale).round_ties_even() as i32);
            }
        }
        Self {
            head_dim,
            max_positions,
            cos,
            sin,
        }
    }

    /// Rotates every head of every row: row `r` (a token at `positions[r]`) holds `cols / head_dim` heads.
    pub fn forward(&self, x: &Rows, positions: &[u32]) -> Rows {
        self.rotate(x, positions, false)
    }

    /// The gradient through the rotation: the inverse (transposed) rotation of `dy`.
    pub fn backward(&self, dy: &Rows, positions: &[u32]) -> Rows {
        self.rotate(dy, positions, true)
    }

    fn rotate(&self, x: &Rows, positions: &[u32], inverse: bool) -> Rows {
        assert_eq!(positions.len(), x.rows(), "RoPE: one position per row");
        assert!(
            x.cols.is_multiple_of(self.head_dim),
            "RoPE: width {} is not whole heads of {}",
            x.cols,
            self.head_dim
        );
        let half = self.head_dim / 2;
        let mut wide = vec![0i64; x.mant.len()];
        for (r, &pos) in positions.iter().enumerate() {
            let pos = pos as usize;
            assert!(
                pos < self.max_positions,
                "RoPE: position {pos} beyond the table's {}",
                self.max_positions
            );
            let (cos, sin) = (
                &self.cos[pos * half..(pos + 1) * half],
                &self.sin[pos * half..(pos + 1) * half],
            );
            let row = x.row(r);
            let out = &mut wide[r * x.cols..(r + 1) * x.cols];
            for head in 0..x.cols / self.head_dim {
                let base = head * self.head_dim;
                for i in 0..half {
                    let (a, b) = (
                        i64::from(row[base + 2 * i]),
                        i64::from(row[base + 2 * i + 1]),
                    );
                    let (c, s) = (i64::from(cos[i]), i64::from(sin[i]));
                    let s = if inverse { -s } else { s };
                    out[base + 2 * i] = a * c - b * s;
                    out[base + 2 * i + 1] = a * s + b * c;
                }
            }
        }
        let exps: Vec<i32> = x.exp.iter().map(|e| e - 30).collect();
        Rows::from_wide(x.cols, &wide, &exps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_adjacent_pairs_by_the_angle() {
        let rope = Rope::new(4, 10_000.0, 8);
        let x = Rows::from_f64(4, &[1.0, 0.0, 1.0, 0.0]);
        let y = rope.forward(&x, &[3]).to_f64();
        // pair 0: angle 3; pair 1: angle 3 · 10000^(-1/2) = 0.03
        let want = [3f64.cos(), 3f64.sin(), 0.03f64.cos(), 0.03f64.sin()];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-7, "{y:?} vs {want:?}");
        }
        // position 0 is the identity
        assert_eq!(rope.forward(&x, &[0]).to_f64(), x.to_f64());
    }

    #[test]
    fn backward_is_the_inverse_rotation() {
        let rope = Rope::new(8, 100_000.0, 300);
        let values: Vec<f64> = (0..16).map(|i| (i as f64 * 0.37).sin()).collect();
        let x = Rows::from_f64(8, &values);
        let there = rope.forward(&x, &[5, 299]);
        let back = rope.backward(&there, &[5, 299]).to_f64();
        for (a, b) in back.iter().zip(x.to_f64()) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // ⟨R x, y⟩ = ⟨x, Rᵀ y⟩: backward is the adjoint, checked on f64 values.
        let y = Rows::from_f64(8, &values.iter().rev().copied().collect::<Vec<_>>());
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
        let lhs = dot(&rope.forward(&x, &[7, 11]).to_f64(), &y.to_f64());
        let rhs = dot(&x.to_f64(), &rope.backward(&y, &[7, 11]).to_f64());
        assert!((lhs - rhs).abs() < 1e-6, "{lhs} vs {rhs}");
    }
}
