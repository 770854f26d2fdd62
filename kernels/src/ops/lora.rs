//! The LoRA branch of one projection: `z = (α/r) · B · A · x`, forward and backward, in integers.
//!
//! Master weights are fixed-point integers (`value = w · 2^-frac`, see [`crate::ops::exact::Dense::from_fixed`]);
//! products run exactly on 23-bit mantissas ([`crate::ops::exact`]). The backward pass returns the gradients of
//! `A` and `B` (what the optimizer updates) and the gradient flowing back into `x`.

use super::{
    exact::{self, Dense},
    rows::Rows,
};
use crate::cpu::{SimdJob, Wide};
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
    /// Forward: returns `z = (α/r) · B (A x)` (`[T × out]`) and `h = A x` for the backward pass.
    pub fn forward(&self, x: &Rows, a: &Dense, b: &Dense) -> (Rows, LoraActivations) {
        self.check(a, b);
        Wide::detected().run(Forward {
            shape: self,
            x,
            a,
            b,
        })
    }

    /// Backward from `dz = ∂L/∂z`: `(∂L/∂x, grads)`, with `dz' = (α/r)·dz`, `∂B = dz'ᵀ h`, `dh = dz' B`,
    /// `∂A = dhᵀ x`, `∂x = dh A`.
    pub fn backward(
        &self,
        x: &Rows,
        acts: &LoraActivations,
        a: &Dense,
        b: &Dense,
        dz: &Rows,
    ) -> (Rows, LoraGrads) {
        self.check(a, b);
        Wide::detected().run(Backward {
            shape: self,
            x,
            h: &acts.h,
            a,
            b,
            dz,
        })
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

/// [`LoraShape::forward`]'s products, compiled for the CPU's vector width (they are exact: the width cannot
/// change a bit).
struct Forward<'a> {
    shape: &'a LoraShape,
    x: &'a Rows,
    a: &'a Dense,
    b: &'a Dense,
}

impl SimdJob for Forward<'_> {
    type Output = (Rows, LoraActivations);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let h = exact::x_wt(self.x, self.a);
        let z = exact::x_wt(&h, self.b).scale(self.shape.scale);
        (z, LoraActivations { h })
    }
}

/// [`LoraShape::backward`]'s products, compiled for the CPU's vector width.
struct Backward<'a> {
    shape: &'a LoraShape,
    x: &'a Rows,
    h: &'a Rows,
    a: &'a Dense,
    b: &'a Dense,
    dz: &'a Rows,
}

impl SimdJob for Backward<'_> {
    type Output = (Rows, LoraGrads);

    #[inline(always)]
    fn run(self) -> Self::Output {
        let dz = self.dz.scale(self.shape.scale);
        let grad_b = exact::at_b(&dz, self.h);
        let dh = exact::x_w(&dz, self.b);
        let grad_a = exact::at_b(&dh, self.x);
        let dx = exact::x_w(&dh, self.a);
        (
            dx,
            LoraGrads {
                a: grad_a,
                b: grad_b,
            },
        )
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
        let (z, acts) = shape.forward(&x, &a, &b);
        let (dx, grads) = shape.backward(&x, &acts, &a, &b, &dz);

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
        let (z, acts) = shape.forward(&x, &a, &b);
        assert!(z.mant.iter().all(|&m| m == 0));
        let (dx, grads) = shape.backward(&x, &acts, &a, &b, &Rows::from_f64(3, &[1.0, -1.0, 0.5]));
        assert!(grads.b.mant.iter().any(|&m| m != 0), "B learns first");
        assert!(
            grads.a.mant.iter().all(|&m| m == 0),
            "A gets no gradient while B = 0"
        );
        assert!(dx.mant.iter().all(|&m| m == 0));
    }
}
