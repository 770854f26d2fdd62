//! The gated MLP activation `h = act(gate) ⊙ up`, forward and backward, in integers.
//!
//! Llama uses `act = SiLU` (`x · σ(x)`), BitNet b1.58 uses `act = ReLU²`. The sigmoid is computed from one
//! [`exp2_neg`](crate::fixed::math::exp2_neg) per element: with `E = 2^(-|x| · log2 e)` in Q.30, `σ(|x|) = 2^60 / (2^30 + E)` and
//! `σ(−|x|) = E · 2^30 / (2^30 + E)` (both rounded half to even), so neither tail loses its relative precision.
//! `|x| · log2 e` is taken with 16 fractional bits (a relative error of at most `ln 2 · 2^-17 ≈ 5e-6` in `E`) and
//! capped at 32 (where `E` is 0).

use std::ops::Range;

use super::{
    parallel::map_row_chunks,
    rows::{MANT_BITS, Rows},
};
use crate::cpu::{SimdJob, Wide};
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

    /// `σ(x)` and `σ(−x)` in Q.30 for a row of `x = m · 2^e`, in stages the vectorizer takes whole:
    /// `z = min(|x| · log2 e, 32)` with 16 fractional bits, `E = 2^-z` (Q.30), `R = round(2^62 / (2^30 + E))`,
    /// `σ(|x|) = round(R / 4)`, `σ(−|x|) = round(E · R / 2^32)` (one division per element).
    #[inline(always)]
    fn sigmoid_row(&self, row: &[i32], e: i32, s_pos: &mut [i64], s_neg: &mut [i64]) {
        const CAP: i64 = 32 << 16;
        let sh = e + 16 - self.log2e.s as i32;
        let log2e = i64::from(self.log2e.m);
        let magnitude = |m: i32| i64::from(m.unsigned_abs()) * log2e; // < 2^54
        if sh >= 9 {
            s_pos.fill(CAP);
        } else if sh >= 0 {
            for (z, &m) in s_pos.iter_mut().zip(row) {
                *z = (magnitude(m) << sh).min(CAP);
            }
        } else {
            let right = sh.unsigned_abs().min(63);
            for (z, &m) in s_pos.iter_mut().zip(row) {
                *z = round::shr_var(magnitude(m), right).min(CAP);
            }
        }
        for z in s_pos.iter_mut() {
            *z = i64::from(math::exp2_neg(&self.exp2, *z as u64));
        }
        for (big_e, neg) in s_pos.iter_mut().zip(s_neg.iter_mut()) {
            let recip = math::div_round_small_quotient(1 << 62, ONE + *big_e); // in [2^31, 2^32]
            (*big_e, *neg) = (round::shr_var(recip, 2), round::shr_var(*big_e * recip, 32));
        }
        for ((pos, neg), &m) in s_pos.iter_mut().zip(s_neg.iter_mut()).zip(row) {
            let (a, b) = (*pos, *neg);
            (*pos, *neg) = if m >= 0 { (a, b) } else { (b, a) };
        }
    }

    /// `h = act(gate) ⊙ up` for rows `rows`.
    #[inline(always)]
    fn forward_rows(&self, gate: &Rows, up: &Rows, rows: Range<usize>) -> Rows {
        let cols = gate.cols;
        let mut out = Rows::zeros(rows.len(), cols);
        let (mut wide, mut sig, mut sig_neg) =
            (vec![0i64; cols], vec![0i64; cols], vec![0i64; cols]);
        let mut act = vec![0i32; cols];
        for (i, r) in rows.enumerate() {
            let e = gate.exp[r];
            let e_act = match self.activation {
                Activation::Silu => {
                    self.sigmoid_row(gate.row(r), e, &mut sig, &mut sig_neg);
                    for ((w, &m), &s) in wide.iter_mut().zip(gate.row(r)).zip(&sig) {
                        *w = i64::from(m) * s;
                    }
                    e - 30
                }
                Activation::ReluSquared => {
                    for (w, &m) in wide.iter_mut().zip(gate.row(r)) {
                        let p = i64::from(m.max(0));
                        *w = p * p;
                    }
                    2 * e
                }
            };
            let e_act = normalize_into(&wide, e_act, &mut act);
            out.exp[i] = hadamard_row(&act, e_act, up.row(r), up.exp[r], &mut wide, out.row_mut(i));
        }
        out
    }

    /// `(d gate, d up)` for rows `rows` (see [`Glu::backward`]).
    #[inline(always)]
    fn backward_rows(&self, gate: &Rows, up: &Rows, dh: &Rows, rows: Range<usize>) -> (Rows, Rows) {
        let cols = gate.cols;
        let mut d_gate = Rows::zeros(rows.len(), cols);
        let mut d_up = Rows::zeros(rows.len(), cols);
        let (mut wide_act, mut wide_deriv) = (vec![0i64; cols], vec![0i64; cols]);
        let (mut sig, mut sig_neg) = (vec![0i64; cols], vec![0i64; cols]);
        let (mut act, mut deriv, mut dh_up) =
            (vec![0i32; cols], vec![0i32; cols], vec![0i32; cols]);
        for (i, r) in rows.enumerate() {
            let (m_row, e) = (gate.row(r), gate.exp[r]);
            let (e_act, e_deriv) = match self.activation {
                Activation::Silu => {
                    self.sigmoid_row(m_row, e, &mut sig, &mut sig_neg);
                    // σ·σ̄ in Q.30 (≤ 2^28) into sig_neg, then act = x·σ and act' = σ + x·σ·σ̄.
                    for ((a, t), (&m, &s)) in wide_act
                        .iter_mut()
                        .zip(sig_neg.iter_mut())
                        .zip(m_row.iter().zip(&sig))
                    {
                        *a = i64::from(m) * s;
                        *t = i64::from(m) * round::shr_var(s * *t, 30);
                    }
                    // x·σ·σ̄ is nonzero only for |x| < 32 (E = 0 beyond), so the left shift cannot overflow.
                    if e >= 0 {
                        for ((d, &s), &xt) in wide_deriv.iter_mut().zip(&sig).zip(&sig_neg) {
                            *d = s + (xt << e);
                        }
                    } else {
                        let right = e.unsigned_abs().min(63);
                        for ((d, &s), &xt) in wide_deriv.iter_mut().zip(&sig).zip(&sig_neg) {
                            *d = s + round::shr_var(xt, right);
                        }
                    }
                    (e - 30, -30)
                }
                Activation::ReluSquared => {
                    for ((a, d), &m) in wide_act.iter_mut().zip(wide_deriv.iter_mut()).zip(m_row) {
                        let p = i64::from(m.max(0));
                        *a = p * p;
                        *d = 2 * p;
                    }
                    (2 * e, e)
                }
            };
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
    }

    /// Forward: `act(gate) ⊙ up`, with `act(gate)` normalized per row first. Rows run on up to `threads` threads.
    pub fn forward(&self, gate: &Rows, up: &Rows, threads: usize) -> Rows {
        assert_eq!(
            (gate.rows(), gate.cols),
            (up.rows(), up.cols),
            "Glu: gate and up shapes differ"
        );
        let wide = Wide::detected();
        let parts = map_row_chunks(gate.rows(), threads, |rows| {
            wide.run(GluRows {
                glu: self,
                gate,
                up,
                dh: None,
                rows,
            })
            .0
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
        let wide = Wide::detected();
        let parts = map_row_chunks(gate.rows(), threads, |rows| {
            let (d_gate, d_up) = wide.run(GluRows {
                glu: self,
                gate,
                up,
                dh: Some(dh),
                rows,
            });
            (d_gate, d_up.expect("backward returns d up"))
        });
        let (d_gate, d_up): (Vec<Rows>, Vec<Rows>) = parts.into_iter().unzip();
        (Rows::concat(&d_gate), Rows::concat(&d_up))
    }
}

/// One thread's rows of [`Glu::forward`] (`dh` absent: returns `(h, None)`) or [`Glu::backward`] (returns
/// `(d gate, Some(d up))`), run through [`Wide::run`] so the element loops get the CPU's vector width.
struct GluRows<'a> {
    glu: &'a Glu,
    gate: &'a Rows,
    up: &'a Rows,
    dh: Option<&'a Rows>,
    rows: Range<usize>,
}

impl SimdJob for GluRows<'_> {
    type Output = (Rows, Option<Rows>);

    #[inline(always)]
    fn run(self) -> Self::Output {
        match self.dh {
            None => (self.glu.forward_rows(self.gate, self.up, self.rows), None),
            Some(dh) => {
                let (d_gate, d_up) = self.glu.backward_rows(self.gate, self.up, dh, self.rows);
                (d_gate, Some(d_up))
            }
        }
    }
}

/// Normalizes wide values at exponent `exp` into 23-bit mantissas; returns their exponent.
#[inline(always)]
fn normalize_into(wide: &[i64], exp: i32, out: &mut [i32]) -> i32 {
    exp + Wide::detected().normalize(wide, MANT_BITS, out) as i32
}

/// One row of an elementwise product, `a ⊙ b` (mantissa products < 2^46), normalized into `out`; `scratch` holds
/// the wide products. Returns the exponent.
#[inline(always)]
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
            let (mut s, mut sbar) = ([0i64], [0i64]);
            glu.sigmoid_row(&r.mant, r.exp[0], &mut s, &mut sbar);
            let (s, sbar) = (s[0], sbar[0]);
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
