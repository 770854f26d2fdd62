//! The LoRA branch of one projection: `z = (α/r) · B · A · x`, forward and backward, in integers.
//!
//! Master weights are fixed-point integers (`value = w · 2^-frac`, see [`crate::ops::exact::Dense::from_fixed`]);
//! products run exactly on 23-bit mantissas ([`crate::ops::exact`]). The backward pass returns the gradients of
//! `A` and `B` (what the optimizer updates) and the gradient flowing back into `x`.

use super::parallel::map_row_chunks;
use super::{
    exact::{self, Dense},
    rows::Rows,
};
use crate::cpu::{Cpu, SimdJob};
use crate::fixed::scale::Multiplier;

/// One adapter's shapes and scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoraShape {
    /// Rank `r`.
    pub rank: usize,
    /// Input width (`A` is `r × in`).
    pub in_features: usize,
    /// Output width (`B` is `out × r`).
    pub out_features: usize,
    /// `α / r` as a multiplier.
    pub scale: Multiplier,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct LoraActivations {
    /// `h = A x`, `[T × r]`.
    pub h: Rows,
}

/// Gradients of one adapter.
#[derive(Debug, Clone)]
pub struct LoraGrads {
    /// `∂L/∂A`, `r × in`.
    pub a: Dense,
    /// `∂L/∂B`, `out × r`.
    pub b: Dense,
}

impl LoraShape {
    /// Forward: returns `z = (α/r) · B (A x)` (`[T × out]`) and `h = A x` for the backward pass. Tokens are
    /// independent and run in chunks on the CPU's threads.
    pub fn forward(&self, cpu: &Cpu, x: &Rows, a: &Dense, b: &Dense) -> (Rows, LoraActivations) {
        self.check(a, b);
        let simd = cpu.wide();
        let chunks = map_row_chunks(x.rows(), cpu.threads(), |rows| {
            simd.run(Forward {
                shape: self,
                x: &x.slice_rows(rows),
                a,
                b,
            })
        });
        let (z, h): (Vec<Rows>, Vec<Rows>) = chunks.into_iter().unzip();
        (
            Rows::concat(&z),
            LoraActivations {
                h: Rows::concat(&h),
            },
        )
    }

    /// Backward from `dz = ∂L/∂z`: `(∂L/∂x, grads)`, with `dz' = (α/r)·dz`, `∂B = dz'ᵀ h`, `dh = dz' B`,
    /// `∂A = dhᵀ x`, `∂x = dh A`. The row-wise products run on token chunks, the weight gradients as exact
    /// per-chunk sums added together, all on the CPU's threads.
    pub fn backward(
        &self,
        cpu: &Cpu,
        x: &Rows,
        acts: &LoraActivations,
        a: &Dense,
        b: &Dense,
        dz: &Rows,
    ) -> (Rows, LoraGrads) {
        self.check(a, b);
        let simd = cpu.wide();
        let chunks = map_row_chunks(dz.rows(), cpu.threads(), |rows| {
            simd.run(BackwardRows {
                shape: self,
                dz: &dz.slice_rows(rows),
                a,
                b,
            })
        });
        let (mut dz_scaled, mut dh, mut dx) = (Vec::new(), Vec::new(), Vec::new());
        for (s, h, x) in chunks {
            dz_scaled.push(s);
            dh.push(h);
            dx.push(x);
        }
        let (dz_scaled, dh) = (Rows::concat(&dz_scaled), Rows::concat(&dh));
        let grads = LoraGrads {
            a: weight_gradient(cpu, &dh, x),
            b: weight_gradient(cpu, &dz_scaled, &acts.h),
        };
        (Rows::concat(&dx), grads)
    }

    fn check(&self, a: &Dense, b: &Dense) {
        assert_eq!(
            (a.rows, a.cols),
            (self.rank, self.in_features),
            "LoRA A shape"
        );
        assert_eq!(
            (b.rows, b.cols),
            (self.out_features, self.rank),
            "LoRA B shape"
        );
    }
}

/// `uᵀ · v` over tokens ([`exact::at_b`]), token chunks summed on the CPU's threads and added exactly.
fn weight_gradient(cpu: &Cpu, u: &Rows, v: &Rows) -> Dense {
    let top = exact::at_b_exponent(u, v);
    let simd = cpu.wide();
    let parts = map_row_chunks(u.rows(), cpu.threads(), |tokens| {
        simd.run(GradientTerms { u, v, top, tokens })
    });
    let mut sum = vec![0i64; u.cols * v.cols];
    for part in parts {
        for (s, p) in sum.iter_mut().zip(part) {
            *s += p;
        }
    }
    exact::at_b_finish(u.cols, v.cols, sum, top)
}

/// [`LoraShape::forward`]'s products for a chunk of tokens, compiled for the CPU's vector width (they are exact:
/// the width cannot change a bit).
struct Forward<'a> {
    shape: &'a LoraShape,
    x: &'a Rows,
    a: &'a Dense,
    b: &'a Dense,
}

impl SimdJob for Forward<'_> {
    type Output = (Rows, Rows);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let h = exact::x_wt(self.x, self.a);
        let z = exact::x_wt(&h, self.b).scale(self.shape.scale);
        (z, h)
    }
}

/// [`LoraShape::backward`]'s row-wise products for a chunk of tokens: `(dz', dh, dx)`.
struct BackwardRows<'a> {
    shape: &'a LoraShape,
    dz: &'a Rows,
    a: &'a Dense,
    b: &'a Dense,
}

impl SimdJob for BackwardRows<'_> {
    type Output = (Rows, Rows, Rows);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let dz = self.dz.scale(self.shape.scale);
        let dh = exact::x_w(&dz, self.b);
        let dx = exact::x_w(&dh, self.a);
        (dz, dh, dx)
    }
}

/// One token chunk's terms of a weight gradient ([`exact::at_b_terms`]).
struct GradientTerms<'a> {
    u: &'a Rows,
    v: &'a Rows,
    top: i32,
    tokens: std::ops::Range<usize>,
}

impl SimdJob for GradientTerms<'_> {
    type Output = Vec<i64>;

    #[inline(always)]
    fn run(self) -> Self::Output {
        exact::at_b_terms(self.u, self.v, self.top, self.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    fn fixed(key: Key, n: usize, bound: f64, frac: u32) -> Vec<i32> {
        (0..n)
            .map(|i| {
                let u = f64::from(key.word(i as u32, 0, 0)) / f64::from(u32::MAX) * 2.0 - 1.0;
                (u * bound * 2f64.powi(frac as i32)).round() as i32
            })
            .collect()
    }

    #[test]
    fn gradients_match_finite_differences_of_f64() {
        let (t, k, n, r) = (5, 12, 10, 3);
        let frac = 29;
        let shape = LoraShape {
            rank: r,
            in_features: k,
            out_features: n,
            scale: Multiplier::from_f64(16.0 / 3.0).unwrap(),
        };
        let a_fix = fixed(Key(1), r * k, 0.3, frac);
        let b_fix = fixed(Key(2), n * r, 0.2, frac);
        let a = Dense::from_fixed(r, k, &a_fix, frac);
        let b = Dense::from_fixed(n, r, &b_fix, frac);
        let xs: Vec<f64> = fixed(Key(3), t * k, 2.0, 20)
            .iter()
            .map(|&v| f64::from(v) / 2f64.powi(20))
            .collect();
        let x = Rows::from_f64(k, &xs);
        let dz = Rows::from_f64(
            n,
            &fixed(Key(4), t * n, 1.0, 20)
                .iter()
                .map(|&v| f64::from(v) / 2f64.powi(20))
                .collect::<Vec<_>>(),
        );
        let (z, acts) = shape.forward(&Cpu::new(), &x, &a, &b);
        let (dx, grads) = shape.backward(&Cpu::new(), &x, &acts, &a, &b, &dz);

        // f64 model: L = Σ z ⊙ dz with z = s · B A x.
        let s = 16.0 / 3.0;
        let af: Vec<f64> = a_fix
            .iter()
            .map(|&v| f64::from(v) / 2f64.powi(frac as i32))
            .collect();
        let bf: Vec<f64> = b_fix
            .iter()
            .map(|&v| f64::from(v) / 2f64.powi(frac as i32))
            .collect();
        let (xf, dzf) = (x.to_f64(), dz.to_f64());
        let forward = |af: &[f64], bf: &[f64], xf: &[f64]| -> Vec<f64> {
            let mut z = vec![0.0; t * n];
            for tt in 0..t {
                let h: Vec<f64> = (0..r)
                    .map(|i| (0..k).map(|j| af[i * k + j] * xf[tt * k + j]).sum())
                    .collect();
                for o in 0..n {
                    z[tt * n + o] = s * (0..r).map(|i| bf[o * r + i] * h[i]).sum::<f64>();
                }
            }
            z
        };
        let loss = |af: &[f64], bf: &[f64], xf: &[f64]| {
            forward(af, bf, xf)
                .iter()
                .zip(&dzf)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let z_want = forward(&af, &bf, &xf);
        let zmax = z_want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (g, w) in z.to_f64().iter().zip(&z_want) {
            assert!((g - w).abs() < zmax * 1e-6, "z: {g} vs {w}");
        }
        let numeric = |which: usize| -> Vec<f64> {
            let mut v = [af.clone(), bf.clone(), xf.clone()];
            let len = v[which].len();
            (0..len)
                .map(|i| {
                    let orig = v[which][i];
                    v[which][i] = orig + 1e-6;
                    let up = loss(&v[0], &v[1], &v[2]);
                    v[which][i] = orig - 1e-6;
                    let down = loss(&v[0], &v[1], &v[2]);
                    v[which][i] = orig;
                    (up - down) / 2e-6
                })
                .collect()
        };
        let dense = |d: &Dense| {
            d.mant
                .iter()
                .map(|&m| f64::from(m) * 2f64.powi(d.exp))
                .collect::<Vec<_>>()
        };
        for (got, want, name) in [
            (dense(&grads.a), numeric(0), "dA"),
            (dense(&grads.b), numeric(1), "dB"),
            (dx.to_f64(), numeric(2), "dx"),
        ] {
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < scale * 1e-5, "{name}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn zero_b_gives_zero_output_but_a_gradient_for_b() {
        let shape = LoraShape {
            rank: 2,
            in_features: 4,
            out_features: 3,
            scale: Multiplier::from_f64(1.0).unwrap(),
        };
        let a = Dense::from_fixed(2, 4, &[1 << 28, 0, -(1 << 27), 5, 0, 1 << 29, 0, 0], 29);
        let b = Dense::from_fixed(3, 2, &[0; 6], 29);
        let x = Rows::from_f64(4, &[1.0, 2.0, 3.0, 4.0]);
        let (z, acts) = shape.forward(&Cpu::new(), &x, &a, &b);
        assert!(z.mant.iter().all(|&m| m == 0));
        let (dx, grads) = shape.backward(
            &Cpu::new(),
            &x,
            &acts,
            &a,
            &b,
            &Rows::from_f64(3, &[1.0, -1.0, 0.5]),
        );
        assert!(grads.b.mant.iter().any(|&m| m != 0), "B learns first");
        assert!(
            grads.a.mant.iter().all(|&m| m == 0),
            "A gets no gradient while B = 0"
        );
        assert!(dx.mant.iter().all(|&m| m == 0));
    }
}
