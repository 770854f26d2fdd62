//! The gated MLP activation `h = act(gate) ⊙ up`, forward and backward, in integers.
//!
//! Llama uses `act = SiLU` (`x · σ(x)`), BitNet b1.58 uses `act = ReLU²`. The sigmoid is computed from one
//! [`exp2_neg`](crate::fixed::math::exp2_neg) per element: with `E = 2^(-|x| · log2 e)` in Q.30, `σ(|x|) = 2^60 / (2^30 + E)` and
//! `σ(−|x|) = E · 2^30 / (2^30 + E)` (both rounded half to even), so neither tail loses its relative precision.
//! `|x| · log2 e` is taken with 16 fractional bits (a relative error of at most `ln 2 · 2^-17 ≈ 5e-6` in `E`) and
//! capped at 32 (where `E` is 0).

use super::{
    parallel::map_row_chunks,
    rows::{MANT_BITS, Rows},
};
use crate::cpu::Wide;
use crate::fixed::{
    math::{self, Exp2Tables},
    round,
    scale::Multiplier,
};

/// Which activation the gate goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x · σ(x)` (llama family).
    Silu,
    /// `max(x, 0)²` (BitNet b1.58 family).
    ReluSquared,
}

/// The gated activation with its constants.
#[derive(Debug, Clone)]
pub struct Glu {
    activation: Activation,
    exp2: Exp2Tables,
    log2e: Multiplier,
}

/// Q.30 one.
const ONE: i64 = 1 << 30;

impl Glu {
    /// The activation's constants.
    pub fn new(activation: Activation) -> Self {
        Self {
            activation,
            exp2: Exp2Tables::new(),
            log2e: Multiplier::from_f64(std::f64::consts::LOG2_E)
                .expect("log2 e is a valid multiplier"),
        }
    }

    /// `(σ(x), σ(−x))` in Q.30 for `x = m · 2^e`: `R = round(2^62 / (2^30 + E))`, `σ(|x|) = round(R / 4)`,
    /// `σ(−|x|) = round(E · R / 2^32)` (one division per element).
    fn sigmoid_pair(&self, m: i32, e: i32) -> (i64, i64) {
        const CAP: u64 = 32 << 16;
        let prod = u64::from(m.unsigned_abs()) * u64::from(self.log2e.m); // < 2^54
        let sh = e + 16 - self.log2e.s as i32;
        let z = if sh >= 9 {
            CAP
        } else if sh >= 0 {
            (prod << sh).min(CAP)
        } else {
            (round::shr(prod as i64, sh.unsigned_abs()) as u64).min(CAP)
        };
        let big_e = i64::from(math::exp2_neg(&self.exp2, z));
        let recip = math::div_round_small_quotient(1 << 62, ONE + big_e); // in [2^31, 2^32]
        let s_pos = round::shr(recip, 2);
        let s_neg = round::shr(big_e * recip, 32);
        if m >= 0 {
            (s_pos, s_neg)
        } else {
            (s_neg, s_pos)
        }
    }

    /// Row `r` of `act(gate)` as wide values into `act`; returns their exponent.
    fn activated_row(&self, gate: &Rows, r: usize, act: &mut [i64]) -> i32 {
        let e = gate.exp[r];
        match self.activation {
            Activation::Silu => {
                for (w, &m) in act.iter_mut().zip(gate.row(r)) {
                    *w = i64::from(m) * self.sigmoid_pair(m, e).0;
                }
                e - 30
            }
            Activation::ReluSquared => {
                for (w, &m) in act.iter_mut().zip(gate.row(r)) {
                    let p = i64::from(m.max(0));
                    *w = p * p;
                }
                2 * e
            }
        }
    }

    /// Row `r` of `act(gate)` and `act'(gate)` as wide values; returns their exponents.
    fn activated_and_derivative_row(
        &self,
        gate: &Rows,
        r: usize,
        act: &mut [i64],
        deriv: &mut [i64],
    ) -> (i32, i32) {
        let e = gate.exp[r];
        match self.activation {
            Activation::Silu => {
                for ((a, d), &m) in act.iter_mut().zip(deriv.iter_mut()).zip(gate.row(r)) {
                    let (s, sbar) = self.sigmoid_pair(m, e);
                    *a = i64::from(m) * s;
                    let t = round::shr(s * sbar, 30); // σ·σ̄ in Q.30, ≤ 2^28
                    // x·σ·σ̄ is nonzero only for |x| < 32 (E = 0 beyond), so the left shift cannot overflow.
                    *d = s + round::shift(i64::from(m) * t, e);
                }
                (e - 30, -30)
            }
            Activation::ReluSquared => {
                for ((a, d), &m) in act.iter_mut().zip(deriv.iter_mut()).zip(gate.row(r)) {
                    let p = i64::from(m.max(0));
                    *a = p * p;
                    *d = 2 * p;
                }
                (2 * e, e)
            }
        }
    }

    /// Forward: `act(gate) ⊙ up`, with `act(gate)` normalized per row first. Rows run on up to `threads` threads.
    pub fn forward(&self, gate: &Rows, up: &Rows, threads: usize) -> Rows {
        assert_eq!(
            (gate.rows(), gate.cols),
            (up.rows(), up.cols),
            "Glu: gate and up shapes differ"
        );
        let cols = gate.cols;
        let parts = map_row_chunks(gate.rows(), threads, |rows| {
            let mut out = Rows::zeros(rows.len(), cols);
            let mut wide = vec![0i64; cols];
            let mut act = vec![0i32; cols];
            for (i, r) in rows.enumerate() {
                let e_act = self.activated_row(gate, r, &mut wide);
                let e_act = normalize_into(&wide, e_act, &mut act);
                out.exp[i] =
                    hadamard_row(&act, e_act, up.row(r), up.exp[r], &mut wide, out.row_mut(i));
            }
            out
        });
        Rows::concat(&parts)
    }

    /// Backward: `(d gate, d up)` from the gradient `dh` of `h = act(gate) ⊙ up`:
    /// `d up = dh ⊙ act(gate)`, `d gate = (dh ⊙ up) ⊙ act'(gate)` with `SiLU'(x) = σ(x) + x·σ(x)·σ(−x)` and
    /// `(ReLU²)'(x) = 2·max(x, 0)`; every factor and product normalized per row.
    pub fn backward(&self, gate: &Rows, up: &Rows, dh: &Rows, threads: usize) -> (Rows, Rows) {
        assert_eq!(
            (gate.rows(), gate.cols, up.rows(), up.cols),
            (dh.rows(), dh.cols, dh.rows(), dh.cols),
            "Glu::backward: gate, up and dh shapes differ"
        );
        let cols = gate.cols;
        let parts = map_row_chunks(gate.rows(), threads, |rows| {
            let mut d_gate = Rows::zeros(rows.len(), cols);
            let mut d_up = Rows::zeros(rows.len(), cols);
            let (mut wide_act, mut wide_deriv) = (vec![0i64; cols], vec![0i64; cols]);
            let (mut act, mut deriv, mut dh_up) =
                (vec![0i32; cols], vec![0i32; cols], vec![0i32; cols]);
            for (i, r) in rows.enumerate() {
                let (e_act, e_deriv) =
                    self.activated_and_derivative_row(gate, r, &mut wide_act, &mut wide_deriv);
                let e_act = normalize_into(&wide_act, e_act, &mut act);
                let e_deriv = normalize_into(&wide_deriv, e_deriv, &mut deriv);
                d_up.exp[i] = hadamard_row(
                    dh.row(r),
                    dh.exp[r],
                    &act,
                    e_act,
                    &mut wide_act,
                    d_up.row_mut(i),
                );
                let e_dh_up = hadamard_row(
                    dh.row(r),
                    dh.exp[r],
                    up.row(r),
                    up.exp[r],
                    &mut wide_act,
                    &mut dh_up,
                );
                d_gate.exp[i] = hadamard_row(
                    &dh_up,
                    e_dh_up,
                    &deriv,
                    e_deriv,
                    &mut wide_act,
                    d_gate.row_mut(i),
                );
            }
            (d_gate, d_up)
        });
        let (d_gate, d_up): (Vec<Rows>, Vec<Rows>) = parts.into_iter().unzip();
        (Rows::concat(&d_gate), Rows::concat(&d_up))
    }
}

/// Normalizes wide values at exponent `exp` into 23-bit mantissas; returns their exponent.
fn normalize_into(wide: &[i64], exp: i32, out: &mut [i32]) -> i32 {
    exp + Wide::detected().normalize(wide, MANT_BITS, out) as i32
}

/// One row of an elementwise product, `a ⊙ b` (mantissa products < 2^46), normalized into `out`; `scratch` holds
/// the wide products. Returns the exponent.
fn hadamard_row(
    a: &[i32],
    ea: i32,
    b: &[i32],
    eb: i32,
    scratch: &mut [i64],
    out: &mut [i32],
) -> i32 {
    for ((w, &x), &y) in scratch.iter_mut().zip(a).zip(b) {
        *w = i64::from(x) * i64::from(y);
    }
    normalize_into(scratch, ea + eb, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    fn sample(key: Key, n: usize, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                (f64::from(key.word(i as u32, 0, 0)) / f64::from(u32::MAX) * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn check(got: &[f64], want: &[f64], cols: usize, tol: f64, what: &str) {
        for (r, (g, w)) in got.chunks(cols).zip(want.chunks(cols)).enumerate() {
            let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
            for (c, (a, b)) in g.iter().zip(w).enumerate() {
                assert!(
                    (a - b).abs() <= tol * scale,
                    "{what} row {r} col {c}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn silu_forward_and_backward_match_f64() {
        let glu = Glu::new(Activation::Silu);
        let cols = 256;
        for (t, scale) in [0.01, 1.0, 8.0, 60.0].into_iter().enumerate() {
            let g = Rows::from_f64(cols, &sample(Key(10 + t as u32), 2 * cols, scale));
            let u = Rows::from_f64(cols, &sample(Key(20 + t as u32), 2 * cols, 2.0));
            let dh = Rows::from_f64(cols, &sample(Key(30 + t as u32), 2 * cols, 1e-3));
            let (gf, uf, dhf) = (g.to_f64(), u.to_f64(), dh.to_f64());
            let h_want: Vec<f64> = gf
                .iter()
                .zip(&uf)
                .map(|(x, u)| x * sigmoid(*x) * u)
                .collect();
            check(&glu.forward(&g, &u, 2).to_f64(), &h_want, cols, 1e-5, "h");
            let (dg, du) = glu.backward(&g, &u, &dh, 3);
            let du_want: Vec<f64> = gf
                .iter()
                .zip(&dhf)
                .map(|(x, d)| d * x * sigmoid(*x))
                .collect();
            let dg_want: Vec<f64> = gf
                .iter()
                .zip(&uf)
                .zip(&dhf)
                .map(|((x, u), d)| d * u * (sigmoid(*x) + x * sigmoid(*x) * sigmoid(-x)))
                .collect();
            check(&du.to_f64(), &du_want, cols, 1e-5, "du");
            check(&dg.to_f64(), &dg_want, cols, 1e-5, "dg");
        }
    }

    #[test]
    fn relu_squared_forward_and_backward_match_f64() {
        let glu = Glu::new(Activation::ReluSquared);
        let cols = 64;
        let g = Rows::from_f64(cols, &sample(Key(1), cols * 3, 3.0));
        let u = Rows::from_f64(cols, &sample(Key(2), cols * 3, 1.0));
        let dh = Rows::from_f64(cols, &sample(Key(3), cols * 3, 1.0));
        let (gf, uf, dhf) = (g.to_f64(), u.to_f64(), dh.to_f64());
        let h_want: Vec<f64> = gf
            .iter()
            .zip(&uf)
            .map(|(x, u)| x.max(0.0).powi(2) * u)
            .collect();
        check(&glu.forward(&g, &u, 2).to_f64(), &h_want, cols, 1e-5, "h");
        let (dg, _) = glu.backward(&g, &u, &dh, 3);
        let dg_want: Vec<f64> = gf
            .iter()
            .zip(&uf)
            .zip(&dhf)
            .map(|((x, u), d)| d * u * 2.0 * x.max(0.0))
            .collect();
        check(&dg.to_f64(), &dg_want, cols, 1e-5, "dg");
    }

    #[test]
    fn sigmoid_tails_keep_relative_precision() {
        let glu = Glu::new(Activation::Silu);
        for x in [-20.0f64, -5.0, -0.5, 0.0, 0.5, 5.0, 20.0] {
            let r = Rows::from_f64(1, &[x]);
            let (s, sbar) = glu.sigmoid_pair(r.mant[0], r.exp[0]);
            let (s, sbar) = (s as f64 / 2f64.powi(30), sbar as f64 / 2f64.powi(30));
            assert!(
                (s - sigmoid(x)).abs() <= 1e-9 + sigmoid(x) * 1e-5,
                "σ({x}) = {s}"
            );
            assert!(
                (sbar - sigmoid(-x)).abs() <= 1e-9 + sigmoid(-x) * 1e-5,
                "σ(-{x}) = {sbar}"
            );
        }
    }
}
