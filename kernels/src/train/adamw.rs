//! AdamW on fixed-point master weights, in integers.
//!
//! Master weights are i32 with [`MASTER_FRAC`] fractional bits (range ±4, resolution 1.9e-9). The moments `m`
//! and `v` are [`Rows`] of one column: a 23-bit mantissa and an exponent per element, as a float keeps them. A
//! shared exponent per row is not enough: `v = g²` spans twice the gradient's dynamic range, and with one exponent
//! per row of `A` the entries below `2^-23` of the row's largest came out 0, so their update `m̂ / (0 + ε)` was
//! orders of magnitude too large (on SmolLM2 the validation loss then fell clearly slower than the f32
//! reference's). For a
//! weight `w` with gradient `g` at update `t = step + 1`:
//! 1. `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²` (Rows arithmetic: multipliers, aligned adds);
//! 2. `m̂ = m · c1`, `v̂ = v · c2` with `c1 = 1/(1−β1^t)`, `c2 = 1/(1−β2^t)` (multipliers from `libm`);
//! 3. `d = isqrt(v̂)` (mantissa and exponent made even first) plus `ε`, both taken at a common exponent;
//!    `u = round(m̂ · 2^30 / d)`;
//! 4. `w ← w − SR(lr · u · 2^MASTER_FRAC) − SR(lr · λ · w)`, where `SR` is stochastic rounding to an integer with
//!    the 32-bit word `key.word(step, tensor, 2·index + j)` (`j` = 0 for the update, 1 for the decay): unbiased, and a
//!    function of the counters only, so a verifier re-running step `t` draws the same words.
//!
//! Results saturate at the i32 range instead of wrapping.

use crate::{
    fixed::{
        math, round,
        scale::{Multiplier, ScaleError},
    },
    ops::{exact::Dense, rows::Rows},
    rng::Key,
};
use serde::{Deserialize, Serialize};

/// Fractional bits of master weights.
pub const MASTER_FRAC: u32 = 29;

/// AdamW hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamW {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator floor.
    pub eps: f64,
    /// Decoupled weight decay λ.
    pub weight_decay: f64,
}

impl Default for AdamW {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// One parameter tensor's optimizer state: the moments, one element per row (row-major over the weight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moments {
    /// First moment.
    pub m: Rows,
    /// Second moment.
    pub v: Rows,
}

impl Moments {
    /// Zero moments for a `rows × cols` weight.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            m: Rows::zeros(rows * cols, 1),
            v: Rows::zeros(rows * cols, 1),
        }
    }
}

/// The constants of one update step.
#[derive(Debug, Clone, Copy)]
pub struct StepConstants {
    beta1: Multiplier,
    one_minus_beta1: Multiplier,
    beta2: Multiplier,
    one_minus_beta2: Multiplier,
    c1: Multiplier,
    c2: Multiplier,
    eps: Multiplier,
    lr: Multiplier,
    lr_decay: Option<Multiplier>,
}

impl AdamW {
    /// The multipliers for the update at `step` (0-based) with learning rate `lr`.
    pub fn constants(&self, step: u32, lr: f64) -> Result<StepConstants, ScaleError> {
        let t = f64::from(step) + 1.0;
        Ok(StepConstants {
            beta1: Multiplier::from_f64(self.beta1)?,
            one_minus_beta1: Multiplier::from_f64(1.0 - self.beta1)?,
            beta2: Multiplier::from_f64(self.beta2)?,
            one_minus_beta2: Multiplier::from_f64(1.0 - self.beta2)?,
            c1: Multiplier::from_f64(1.0 / (1.0 - libm::pow(self.beta1, t)))?,
            c2: Multiplier::from_f64(1.0 / (1.0 - libm::pow(self.beta2, t)))?,
            eps: Multiplier::from_f64(self.eps)?,
            lr: Multiplier::from_f64(lr)?,
            lr_decay: if self.weight_decay > 0.0 {
                Some(Multiplier::from_f64(lr * self.weight_decay)?)
            } else {
                None
            },
        })
    }
}

/// Applies one AdamW update to `weights` (row-major, `moments.m` shaped like them) with gradient `grad`.
/// `tensor` numbers the tensor in the state (so each has its own rounding stream).
pub fn update(
    c: &StepConstants,
    weights: &mut [i32],
    moments: &mut Moments,
    grad: &Dense,
    key: Key,
    step: u32,
    tensor: u32,
) {
    let n = grad.rows * grad.cols;
    assert_eq!(
        (weights.len(), moments.m.rows(), moments.m.cols),
        (n, n, 1),
        "AdamW: weights, moments and gradient differ in shape"
    );
    // The gradient and its square with an exponent per element, so every square keeps 23 bits.
    let g = Rows {
        cols: 1,
        mant: grad.mant.clone(),
        exp: vec![grad.exp; n],
    };
    let g2 = Rows::from_wide(
        1,
        &g.mant
            .iter()
            .map(|&x| i64::from(x) * i64::from(x))
            .collect::<Vec<_>>(),
        &vec![2 * grad.exp; n],
    );
    moments.m = moments.m.scale(c.beta1).add(&g.scale(c.one_minus_beta1));
    moments.v = moments.v.scale(c.beta2).add(&g2.scale(c.one_minus_beta2));
    let m_hat = moments.m.scale(c.c1);
    let v_hat = moments.v.scale(c.c2);
    for (i, weight) in weights.iter_mut().enumerate() {
        let u = adam_direction(
            m_hat.mant[i],
            m_hat.exp[i],
            v_hat.mant[i],
            v_hat.exp[i],
            c.eps,
        );
        let mut w = i64::from(*weight);
        if let Some((u_m, u_e)) = u {
            // lr · u in master units: u_m · lr.m · 2^(u_e − lr.s + FRAC).
            let delta = stochastic_round(
                u_m * i64::from(c.lr.m),
                u_e - c.lr.s as i32 + MASTER_FRAC as i32,
                key.word(step, tensor, 2 * i as u32),
            );
            w -= delta;
        }
        if let Some(decay) = c.lr_decay {
            w -= stochastic_round(
                w * i64::from(decay.m),
                -(decay.s as i32),
                key.word(step, tensor, 2 * i as u32 + 1),
            );
        }
        *weight = round::sat_i32(w);
    }
}

/// `m̂ / (sqrt(v̂) + ε)` as `(mantissa, exponent)`, `|mantissa| ≤ 2^31` (so a 31-bit multiplier keeps the
/// product below 2^62); `None` when `m̂ = 0`.
fn adam_direction(m: i32, em: i32, v: i32, ev: i32, eps: Multiplier) -> Option<(i64, i32)> {
    if m == 0 {
        return None;
    }
    // sqrt(v · 2^ev): widen v to 61 or 62 bits with an even exponent, so the root has 31 bits.
    let v = u64::from(v.max(0).unsigned_abs());
    let mut kv = 62 - (64 - v.leading_zeros() as i32).min(62);
    if (ev - kv) & 1 != 0 {
        kv -= 1;
    }
    let (vw, e) = (v << kv, ev - kv);
    let root = math::isqrt(vw) as i64; // sqrt(v̂) = root · 2^(e/2), root < 2^31
    let root_e = e / 2;
    // ε = eps.m · 2^-eps.s; add at the larger exponent less 30 bits.
    let top = root_e.max(-(eps.s as i32) + 30) - 30;
    let den =
        round::shift(root, root_e - top) + round::shift(i64::from(eps.m), -(eps.s as i32) - top);
    let den = den.max(1);
    // Normalize den into [2^30, 2^31) so the quotient keeps 23-24 bits.
    let k = 31 - (64 - den.leading_zeros() as i32);
    let (den, den_e) = if k >= 0 {
        (den << k, top - k)
    } else {
        (round::shr(den, k.unsigned_abs()), top - k)
    };
    // Widen m to 30 bits too (small elements of a row have short mantissas): |q| ≤ 2^30 · 2^31 / 2^30 = 2^31.
    let km = 30 - (64 - i64::from(m).unsigned_abs().leading_zeros() as i32);
    let q = math::div_round(i64::from(m) << km << 31, den);
    Some((q, em - km - 31 - den_e))
}

/// `x · 2^s` rounded to an integer: exactly for `s ≥ 0`, else `floor((x + r) / 2^-s)` with a random `r` in
/// `[0, 2^-s)` built from `word` (stochastic rounding: unbiased). For shifts beyond 32 bits, the low bits are first
/// rounded half to even so the random part is 32 bits.
fn stochastic_round(x: i64, s: i32, word: u32) -> i64 {
    if s >= 0 {
        return x.saturating_mul(1i64 << s.min(62));
    }
    let mut x = x;
    let mut s = s.unsigned_abs();
    if s > 32 {
        x = round::shr(x, s - 32);
        s = 32;
    }
    let mask = (1i64 << s) - 1;
    (x + (i64::from(word) & mask)) >> s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_f64(w: &[i32]) -> Vec<f64> {
        w.iter()
            .map(|&v| f64::from(v) / 2f64.powi(MASTER_FRAC as i32))
            .collect()
    }

    #[test]
    fn tracks_an_f64_adamw_over_many_steps() {
        let opt = AdamW {
            weight_decay: 0.01,
            ..AdamW::default()
        };
        let (rows, cols) = (3, 5);
        let key = Key(77);
        let mut w: Vec<i32> = (0..rows * cols)
            .map(|i| (key.word(i as u32, 9, 9) >> 4) as i32 - (1 << 27))
            .collect();
        let mut wf = as_f64(&w);
        let mut mom = Moments::zeros(rows, cols);
        let (mut mf, mut vf) = (vec![0.0; rows * cols], vec![0.0; rows * cols]);
        for step in 0..200u32 {
            let lr = 1e-3;
            // gradients of very different sizes per row
            let gf: Vec<f64> = (0..rows * cols)
                .map(|i| {
                    (f64::from(key.word(step, i as u32, 1)) / f64::from(u32::MAX) - 0.4)
                        * 10f64.powi(-((i / cols) as i32) * 3)
                })
                .collect();
            let grad = {
                let r = Rows::from_f64(rows * cols, &gf);
                Dense {
                    rows,
                    cols,
                    mant: r.mant,
                    exp: r.exp[0],
                }
            };
            let gf: Vec<f64> = grad
                .mant
                .iter()
                .map(|&m| f64::from(m) * 2f64.powi(grad.exp))
                .collect();
            update(
                &opt.constants(step, lr).unwrap(),
                &mut w,
                &mut mom,
                &grad,
                Key(5),
                step,
                0,
            );
            let t = f64::from(step + 1);
            for i in 0..rows * cols {
                mf[i] = 0.9 * mf[i] + 0.1 * gf[i];
                vf[i] = 0.999 * vf[i] + 0.001 * gf[i] * gf[i];
                let (mh, vh) = (
                    mf[i] / (1.0 - 0.9f64.powf(t)),
                    vf[i] / (1.0 - 0.999f64.powf(t)),
                );
                wf[i] -= lr * mh / (vh.sqrt() + 1e-8) + lr * 0.01 * wf[i];
            }
        }
        for (g, want) in as_f64(&w).iter().zip(&wf) {
            // 200 updates of ~1e-3 each: integer and f64 stay within a few 1e-7 (stochastic rounding noise).
            assert!((g - want).abs() < 1e-6, "{g} vs {want}");
        }
    }

    #[test]
    fn direction_is_m_over_root_v_plus_eps() {
        let eps = Multiplier::from_f64(1e-8).unwrap();
        for (m, em, v, ev) in [
            (1 << 22, -22, 1 << 22, -22),
            (1 << 22, -42, 1 << 22, -62),
            (3, -10, 9, -20),
            (-5, 40, 7, 81),
            (1, -80, 1, -160),
        ] {
            let (q, e) = adam_direction(m, em, v, ev, eps).unwrap();
            let got = q as f64 * 2f64.powi(e);
            let (mf, vf) = (f64::from(m) * 2f64.powi(em), f64::from(v) * 2f64.powi(ev));
            let want = mf / (vf.sqrt() + 1e-8);
            assert!(
                (got - want).abs() <= want.abs() * 1e-6,
                "{m}·2^{em} / sqrt({v}·2^{ev}): {got} vs {want}"
            );
        }
        assert_eq!(adam_direction(0, 0, 5, 0, eps), None);
    }

    #[test]
    fn stochastic_rounding_is_unbiased_and_exact_when_possible() {
        assert_eq!(stochastic_round(12, 2, 0), 48);
        assert_eq!(stochastic_round(12, -2, 0), 3);
        assert_eq!(stochastic_round(12, -2, 3), 3);
        let key = Key(3);
        let n = 100_000u32;
        let sum: i64 = (0..n)
            .map(|i| stochastic_round(5, -3, key.word(i, 0, 0)))
            .sum(); // 5/8
        let mean = sum as f64 / f64::from(n);
        assert!((mean - 0.625).abs() < 0.01, "{mean}");
        let sum: i64 = (0..n)
            .map(|i| stochastic_round(-5, -3, key.word(i, 0, 0)))
            .sum();
        assert!((sum as f64 / f64::from(n) + 0.625).abs() < 0.01);
        // 40-bit shift: pre-rounding then a 32-bit draw
        let sum: i64 = (0..n)
            .map(|i| stochastic_round(3 << 38, -40, key.word(i, 1, 0)))
            .sum();
        assert!((sum as f64 / f64::from(n) - 0.75).abs() < 0.01);
    }

    #[test]
    fn zero_gradient_moves_nothing_without_decay() {
        let c = AdamW::default().constants(0, 1e-3).unwrap();
        let mut w = vec![123, -456];
        let mut mom = Moments::zeros(1, 2);
        update(
            &c,
            &mut w,
            &mut mom,
            &Dense {
                rows: 1,
                cols: 2,
                mant: vec![0, 0],
                exp: 0,
            },
            Key(1),
            0,
            0,
        );
        assert_eq!(w, vec![123, -456]);
    }

    #[test]
    fn small_gradients_next_to_large_ones_take_adam_sized_steps() {
        // One row whose gradients span 2^22: the first AdamW step moves every weight by about lr (m̂/sqrt(v̂) = ±1),
        // however small its gradient next to the row's largest (a shared exponent per row zeroed the small v and
        // moved those weights by m̂/ε instead).
        let lr = 1e-3;
        let c = AdamW::default().constants(0, lr).unwrap();
        let mant = vec![1 << 22, -(1 << 12), 5, -1];
        let mut w = vec![0; 4];
        let mut mom = Moments::zeros(1, 4);
        let grad = Dense {
            rows: 1,
            cols: 4,
            mant: mant.clone(),
            exp: -10, // the smallest gradient, 2^-10, is still far above ε
        };
        update(&c, &mut w, &mut mom, &grad, Key(1), 0, 0);
        let step = lr * f64::from(1u32 << MASTER_FRAC);
        for (&wi, &g) in w.iter().zip(&mant) {
            let moved = -f64::from(wi) / step;
            assert!(
                (moved - f64::from(g.signum())).abs() < 0.01,
                "gradient mantissa {g}: moved {moved} × lr"
            );
        }
    }
}
