//! The gated MLP activation `h = act(gate) ⊙ up`, forward and backward, in integers.
//!
//! Llama uses `act = SiLU` (`x · σ(x)`), BitNet b1.58 uses `act = ReLU²`. The sigmoid is computed from one
//! [`exp2_neg`](crate::fixed::math::exp2_neg) per element: with `E = 2^(-|x| · log2 e)` in Q.30, `σ(|x|) = 2^60 / (2^30 + E)` and
//! `σ(−|x|) = E · 2^30 / (2^30 + E)` (both rounded half to even), so neither tail loses its relative precision.
//! `|x| · log2 e` is taken with 16 fractional bits (a relative error of at most `ln 2 · 2^-17 ≈ 5e-6` in `E`) and
//! capped at 32 (where `E` is 0).

use super::rows::Rows;
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

    /// `(σ(x), σ(−x))` in Q.30 for `x = m · 2^e`.
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
        let den = ONE + big_e;
        let s_pos = math::div_round(ONE << 30, den);
        let s_neg = math::div_round(big_e << 30, den);
        if m >= 0 {
            (s_pos, s_neg)
        } else {
            (s_neg, s_pos)
        }
    }

    /// `act(gate)`, row by row (same exponents as `gate` less 30 before normalizing).
    fn activated(&self, gate: &Rows) -> Rows {
        let mut wide = vec![0i64; gate.mant.len()];
        let mut exps = gate.exp.clone();
        for r in 0..gate.rows() {
            let e = gate.exp[r];
            let out = &mut wide[r * gate.cols..(r + 1) * gate.cols];
            match self.activation {
                Activation::Silu => {
                    for (w, &m) in out.iter_mut().zip(gate.row(r)) {
                        *w = i64::from(m) * self.sigmoid_pair(m, e).0;
                    }
                    exps[r] = e - 30;
                }
                Activation::ReluSquared => {
                    for (w, &m) in out.iter_mut().zip(gate.row(r)) {
                        let p = i64::from(m.max(0));
                        *w = p * p;
                    }
                    exps[r] = 2 * e;
                }
            }
        }
        Rows::from_wide(gate.cols, &wide, &exps)
    }

    /// Forward: `act(gate) ⊙ up`.
    pub fn forward(&self, gate: &Rows, up: &Rows) -> Rows {
        assert_eq!(
            gate.mant.len(),
            up.mant.len(),
            "Glu: gate and up shapes differ"
        );
        hadamard(&self.activated(gate), up)
    }

    /// Backward: `(d gate, d up)` from the gradient `dh` of `h = act(gate) ⊙ up`:
    /// `d up = dh ⊙ act(gate)`, `d gate = dh ⊙ up ⊙ act'(gate)` with `SiLU'(x) = σ(x) + x·σ(x)·σ(−x)` and
    /// `(ReLU²)'(x) = 2·max(x, 0)`.
    pub fn backward(&self, gate: &Rows, up: &Rows, dh: &Rows) -> (Rows, Rows) {
        assert_eq!(
            gate.mant.len(),
            dh.mant.len(),
            "Glu::backward: gate and dh shapes differ"
        );
        let d_up = hadamard(dh, &self.activated(gate));
        let dh_up = hadamard(dh, up);
        let mut deriv = vec![0i64; gate.mant.len()];
        let mut exps = gate.exp.clone();
        for r in 0..gate.rows() {
            let e = gate.exp[r];
            let out = &mut deriv[r * gate.cols..(r + 1) * gate.cols];
            match self.activation {
                Activation::Silu => {
                    for (w, &m) in out.iter_mut().zip(gate.row(r)) {
                        let (s, sbar) = self.sigmoid_pair(m, e);
                        let t = round::shr(s * sbar, 30); // σ·σ̄ in Q.30, ≤ 2^28
                        // x·σ·σ̄ is nonzero only for |x| < 32 (E = 0 beyond), so the left shift cannot overflow.
                        *w = s + round::shift(i64::from(m) * t, e);
                    }
                    exps[r] = -30;
                }
                Activation::ReluSquared => {
                    for (w, &m) in out.iter_mut().zip(gate.row(r)) {
                        *w = 2 * i64::from(m.max(0));
                    }
                    exps[r] = e;
                }
            }
        }
        let deriv = Rows::from_wide(gate.cols, &deriv, &exps);
        (hadamard(&dh_up, &deriv), d_up)
    }
}

/// Elementwise product of two tensors of one shape (mantissa products < 2^46), normalized.
pub fn hadamard(a: &Rows, b: &Rows) -> Rows {
    assert_eq!(a.mant.len(), b.mant.len(), "hadamard: shapes differ");
    let wide: Vec<i64> = a
        .mant
        .iter()
        .zip(&b.mant)
        .map(|(&x, &y)| i64::from(x) * i64::from(y))
        .collect();
    let exps: Vec<i32> = a.exp.iter().zip(&b.exp).map(|(x, y)| x + y).collect();
    Rows::from_wide(a.cols, &wide, &exps)
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
            check(&glu.forward(&g, &u).to_f64(), &h_want, cols, 1e-5, "h");
            let (dg, du) = glu.backward(&g, &u, &dh);
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
        check(&glu.forward(&g, &u).to_f64(), &h_want, cols, 1e-5, "h");
        let (dg, _) = glu.backward(&g, &u, &dh);
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
