//! RMSNorm, forward and backward, in integers.
//!
//! Forward: `y = g ⊙ x / sqrt(mean(x²) + ε)`. Per row, exactly:
//! 1. the row is `x_i · 2^e` with 23-bit mantissas;
//! 2. `D = Σ x_i² + ε·d·2^(-2e)` (exact: `< 2^62` for widths up to 2^15) (u64; the ε term through a [`Multiplier`]; when it would pass 2^61, both terms
//!    are taken at a scale `2^(2t)` and the result picks up `2^-t`);
//! 3. `G = (63 − bitlen(D)) / 2`, `r = isqrt(D << 2G)` (so `r ∈ [2^30.5, 2^31.5)`),
//!    `inv = round(2^61 / r)`, `inv_d = round(inv · sqrt(d))` (sqrt(d) as a multiplier);
//! 4. `n_i = x_i · inv_d · 2^(G − 61)` (the exponent `e` cancels), normalized to 23-bit mantissas;
//! 5. `y_i = n_i · g_i`, normalized.
//!
//! `D = 0` (an all-zero row with ε underflowing) gives a zero row. Backward recomputes `n` and `inv_d` from `x`
//! rather than storing them: a row is cheap next to the matmuls around it.

use super::rows::{self, Rows};
use crate::cpu::{SimdJob, Wide};
use crate::fixed::{math, round, scale::Multiplier};

/// A norm's constants: the learned scale `g` (one row) and the ε and width-derived multipliers.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    gamma: Rows,
    eps_d: Option<Multiplier>,
    sqrt_d: Multiplier,
    inv_d: Multiplier,
}

/// What the forward pass computes per row and the backward pass needs again.
struct RowStats {
    /// The row's exponent.
    e: i32,
    /// `inv_d = round(inv · sqrt(d))`, or 0 for a zero row.
    inv_d: i64,
    /// `G − 61`: `sqrt(d)/sqrt(D) = inv_d · 2^(G − 61)`.
    inv_exp: i32,
}

impl RmsNorm {
    /// A norm of width `gamma.len()` with epsilon `eps`.
    pub fn new(gamma: &[f32], eps: f32) -> Self {
        let d = gamma.len();
        assert!(d > 0 && d <= 1 << 15, "RmsNorm width {d} outside 1..=32768");
        let gamma_f64: Vec<f64> = gamma.iter().map(|&g| f64::from(g)).collect();
        Self {
            gamma: Rows::from_f64(d, &gamma_f64),
            // ε = 0 is allowed (no stabilising term).
            eps_d: Multiplier::from_f64(f64::from(eps) * d as f64).ok(),
            sqrt_d: Multiplier::from_f64((d as f64).sqrt())
                .expect("sqrt of a width is a valid multiplier"),
            inv_d: Multiplier::from_f64(1.0 / d as f64).expect("1/width is a valid multiplier"),
        }
    }

    /// The width.
    pub fn width(&self) -> usize {
        self.gamma.cols
    }

    #[inline(always)]
    fn stats(&self, x: &[i32], e: i32) -> RowStats {
        // |x_i| < 2^23, so Σ x_i² < d · 2^46 ≤ 2^61 for widths up to 2^15.
        let sumsq: u64 = x
            .iter()
            .map(|&v| (i64::from(v) * i64::from(v)) as u64)
            .sum();
        // D = sumsq + ε·d·2^(-2e) < 2^62. When the ε term would pass 2^61 (a row far below sqrt(ε)), both terms
        // are taken at the scale 2^(2t) instead, and 1/sqrt(D) picks up 2^-t.
        let (eps_m, eps_shift) = match self.eps_d {
            Some(eps) => (u64::from(eps.m), -(eps.s as i32) - 2 * e),
            None => (0, 0),
        };
        let t = if eps_m != 0 && eps_shift > 30 {
            (eps_shift - 29) / 2
        } else {
            0
        };
        let sumsq = if 2 * t >= 63 {
            0
        } else {
            round::shr(sumsq as i64, 2 * t as u32) as u64
        };
        let eps_units = if eps_shift - 2 * t >= 0 {
            eps_m << (eps_shift - 2 * t)
        } else {
            round::shr(eps_m as i64, eps_shift.unsigned_abs()) as u64
        };
        let big_d = sumsq + eps_units;
        if big_d == 0 {
            return RowStats {
                e,
                inv_d: 0,
                inv_exp: 0,
            };
        }
        let g = (63 - (u64::BITS - big_d.leading_zeros())) / 2;
        let r = math::isqrt(big_d << (2 * g)) as i64;
        let inv = math::div_round(1 << 61, r);
        let inv_d = round::shr(inv * i64::from(self.sqrt_d.m), self.sqrt_d.s);
        RowStats {
            e,
            inv_d,
            inv_exp: g as i32 - 61 - t,
        }
    }

    /// The normalized rows `n = x / rms(x)` (before the scale `g`).
    #[inline(always)]
    fn normalized(&self, x: &Rows) -> (Rows, Vec<RowStats>) {
        assert_eq!(
            x.cols,
            self.width(),
            "RmsNorm: input width {} != norm width {}",
            x.cols,
            self.width()
        );
        let mut wide = vec![0i64; x.mant.len()];
        let mut exps = vec![0i32; x.rows()];
        let mut stats = Vec::with_capacity(x.rows());
        for r in 0..x.rows() {
            // n_i = x_i · 2^e · ρ = x_i · inv_d · 2^(inv_exp): the row exponent cancels.
            let st = self.stats(x.row(r), x.exp[r]);
            for (w, &xi) in wide[r * x.cols..(r + 1) * x.cols].iter_mut().zip(x.row(r)) {
                *w = i64::from(xi) * st.inv_d;
            }
            exps[r] = st.inv_exp;
            stats.push(st);
        }
        (Rows::from_wide(x.cols, &wide, &exps), stats)
    }

    /// Forward: `y = g ⊙ x / sqrt(mean(x²) + ε)`.
    pub fn forward(&self, x: &Rows) -> Rows {
        Wide::detected().run(Pass {
            norm: self,
            x,
            dy: None,
        })
    }

    #[inline(always)]
    fn forward_body(&self, x: &Rows) -> Rows {
        let (n, _) = self.normalized(x);
        self.scale_by_gamma(&n)
    }

    #[inline(always)]
    fn scale_by_gamma(&self, n: &Rows) -> Rows {
        let g = self.gamma.row(0);
        let wide: Vec<i64> = n
            .mant
            .chunks(n.cols)
            .flat_map(|row| {
                row.iter()
                    .zip(g)
                    .map(|(&a, &b)| i64::from(a) * i64::from(b))
            })
            .collect();
        let exps: Vec<i32> = n.exp.iter().map(|e| e + self.gamma.exp[0]).collect();
        Rows::from_wide(n.cols, &wide, &exps)
    }

    /// Backward: the gradient with respect to `x`, given `x` and the gradient `dy` with respect to `y`
    /// (`g` is frozen, so it gets none): `dx = ρ (dn − n · Σ(dn ⊙ n) / d)` with `dn = g ⊙ dy`,
    /// `ρ = 1/sqrt(mean(x²) + ε)`.
    pub fn backward(&self, x: &Rows, dy: &Rows) -> Rows {
        Wide::detected().run(Pass {
            norm: self,
            x,
            dy: Some(dy),
        })
    }

    #[inline(always)]
    fn backward_body(&self, x: &Rows, dy: &Rows) -> Rows {
        assert_eq!(
            x.mant.len(),
            dy.mant.len(),
            "RmsNorm::backward: x and dy shapes differ"
        );
        let (n, stats) = self.normalized(x);
        let dn = self.scale_by_gamma(dy);
        let cols = x.cols;
        let mut wide = vec![0i64; x.mant.len()];
        let mut exps = vec![0i32; x.rows()];
        for r in 0..x.rows() {
            let st = &stats[r];
            if st.inv_d == 0 {
                continue; // a zero row has a zero gradient (ρ·n = 0 and ρ is finite only through ε)
            }
            let (n_row, dn_row) = (n.row(r), dn.row(r));
            let dot: i64 = n_row
                .iter()
                .zip(dn_row)
                .map(|(&a, &b)| i64::from(a) * i64::from(b))
                .sum();
            // mean = dot / d, as 23 bits.
            let (dq, dq_exp) = rows::normalize_row(&[dot], n.exp[r] + dn.exp[r]);
            let (mean, mean_exp) = rows::normalize_row(
                &[i64::from(dq[0]) * i64::from(self.inv_d.m)],
                dq_exp - self.inv_d.s as i32,
            );
            let t: Vec<i64> = n_row
                .iter()
                .map(|&a| i64::from(a) * i64::from(mean[0]))
                .collect();
            let dn_r = Rows {
                cols,
                mant: dn_row.to_vec(),
                exp: vec![dn.exp[r]],
            };
            let diff = dn_r.sub(&Rows::from_wide(cols, &t, &[n.exp[r] + mean_exp]));
            let (diff, diff_exp) = (diff.mant, diff.exp[0]);
            // ρ = sqrt(d)/sqrt(D) · 2^(-e) = inv_d · 2^(inv_exp − e).
            for (w, &dv) in wide[r * cols..(r + 1) * cols].iter_mut().zip(&diff) {
                *w = i64::from(dv) * st.inv_d;
            }
            exps[r] = diff_exp + st.inv_exp - st.e;
        }
        Rows::from_wide(cols, &wide, &exps)
    }
}

/// A forward (`dy` absent) or backward pass, compiled for the CPU's vector width (exact: the width cannot change
/// a bit).
struct Pass<'a> {
    norm: &'a RmsNorm,
    x: &'a Rows,
    dy: Option<&'a Rows>,
}

impl SimdJob for Pass<'_> {
    type Output = Rows;

    #[inline(always)]
    fn run(self) -> Rows {
        match self.dy {
            None => self.norm.forward_body(self.x),
            Some(dy) => self.norm.backward_body(self.x, dy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    fn reference_forward(x: &[f64], g: &[f64], eps: f64) -> Vec<f64> {
        let d = g.len();
        x.chunks(d)
            .flat_map(|row| {
                let ms = row.iter().map(|v| v * v).sum::<f64>() / d as f64;
                let rho = 1.0 / (ms + eps).sqrt();
                row.iter()
                    .zip(g)
                    .map(move |(v, gi)| v * rho * gi)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn reference_backward(x: &[f64], g: &[f64], dy: &[f64], eps: f64) -> Vec<f64> {
        let d = g.len();
        x.chunks(d)
            .zip(dy.chunks(d))
            .flat_map(|(row, dyr)| {
                let ms = row.iter().map(|v| v * v).sum::<f64>() / d as f64;
                let rho = 1.0 / (ms + eps).sqrt();
                let n: Vec<f64> = row.iter().map(|v| v * rho).collect();
                let dn: Vec<f64> = dyr.iter().zip(g).map(|(a, b)| a * b).collect();
                let mean = n.iter().zip(&dn).map(|(a, b)| a * b).sum::<f64>() / d as f64;
                n.iter()
                    .zip(&dn)
                    .map(|(ni, dni)| rho * (dni - ni * mean))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn random_rows(key: Key, rows: usize, cols: usize, magnitude: f64) -> Vec<f64> {
        (0..rows * cols)
            .map(|i| {
                let u = f64::from(key.word(i as u32, 0, 0)) / f64::from(u32::MAX) * 2.0 - 1.0;
                // a few large outliers, as real residual streams have
                let spike = if key.word(i as u32, 1, 0).is_multiple_of(97) {
                    20.0
                } else {
                    1.0
                };
                u * magnitude * spike
            })
            .collect()
    }

    fn max_rel_error(got: &[f64], want: &[f64], cols: usize) -> f64 {
        got.chunks(cols)
            .zip(want.chunks(cols))
            .map(|(g, w)| {
                let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
                g.iter()
                    .zip(w)
                    .map(|(a, b)| (a - b).abs() / scale)
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn forward_and_backward_match_f64() {
        let d = 576;
        let key = Key(21);
        let gamma: Vec<f32> = (0..d)
            .map(|i| 0.5 + (key.word(i as u32, 9, 0) % 1000) as f32 / 1000.0)
            .collect();
        let gamma64: Vec<f64> = gamma.iter().map(|&v| f64::from(v)).collect();
        let norm = RmsNorm::new(&gamma, 1e-5);
        for (t, magnitude) in [1e-3, 1.0, 37.0, 5e3].into_iter().enumerate() {
            let x = random_rows(Key(100 + t as u32), 4, d, magnitude);
            let dy = random_rows(Key(200 + t as u32), 4, d, 1e-4);
            let xr = Rows::from_f64(d, &x);
            let dyr = Rows::from_f64(d, &dy);
            let y = norm.forward(&xr).to_f64();
            // Compare against f64 on the same (already quantized) inputs, with f32 gamma widened exactly.
            let err = max_rel_error(&y, &reference_forward(&xr.to_f64(), &gamma64, 1e-5), d);
            assert!(err < 1e-5, "forward error {err} at magnitude {magnitude}");
            let dx = norm.backward(&xr, &dyr).to_f64();
            let err = max_rel_error(
                &dx,
                &reference_backward(&xr.to_f64(), &gamma64, &dyr.to_f64(), 1e-5),
                d,
            );
            assert!(err < 1e-4, "backward error {err} at magnitude {magnitude}");
        }
    }

    #[test]
    fn epsilon_dominates_tiny_rows_and_zero_rows_stay_zero() {
        let norm = RmsNorm::new(&[1.0; 8], 1e-5);
        let tiny = Rows::from_f64(8, &[1e-9; 8]);
        let y = norm.forward(&tiny).to_f64();
        // 1e-9 / sqrt(1e-18 + 1e-5) ≈ 3.16e-7
        assert!(
            (y[0] - 1e-9 / (1e-18f64 + 1e-5).sqrt()).abs() < 1e-12,
            "{}",
            y[0]
        );
        let zero = Rows::zeros(2, 8);
        assert_eq!(norm.forward(&zero).to_f64(), vec![0.0; 16]);
        assert_eq!(
            norm.backward(&zero, &Rows::from_f64(8, &[1.0; 16]))
                .to_f64(),
            vec![0.0; 16]
        );
    }

    #[test]
    fn extreme_rows_do_not_overflow() {
        let norm = RmsNorm::new(&[1.0; 4], 1e-5);
        for (mant, exp) in [
            (1 << 22, -200),
            (1 << 22, 200),
            ((1 << 23) - 1, 0),
            (1, -1000),
        ] {
            let x = Rows {
                cols: 4,
                mant: vec![mant, -mant, 0, mant],
                exp: vec![exp],
            };
            let y = norm.forward(&x).to_f64();
            let want = reference_forward(&x.to_f64(), &[1.0; 4], 1e-5);
            assert!(
                max_rel_error(&y, &want, 4) < 1e-5,
                "{mant}·2^{exp}: {y:?} vs {want:?}"
            );
            let dx = norm
                .backward(&x, &Rows::from_f64(4, &[1.0, 2.0, 3.0, 4.0]))
                .to_f64();
            assert!(dx.iter().all(|v| v.is_finite()));
        }
    }
}
