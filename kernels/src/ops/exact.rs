//! Exact products of [`Rows`] with small matrices: the LoRA branch and its gradients.
//!
//! LoRA's matmuls have one dimension equal to the rank (8 or so), a few percent of a step's work, so they run on
//! the full 23-bit mantissas with exact 64-bit sums instead of int8: a product of two mantissas is below `2^46`
//! and a sum of up to `2^16` of them stays below `2^62`. Sums over tokens, whose rows carry different exponents,
//! are taken at the largest exponent with each term rounded half to even onto it (the rule attention uses).

use super::rows::{MANT_BITS, Rows, normalize_row};
use crate::fixed::{bfp, round};

/// A small dense matrix of 23-bit mantissas with one exponent: `value[i][j] = mant[i·cols + j] · 2^exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dense {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Mantissas, row-major, `|m| < 2^23`.
    pub mant: Vec<i32>,
    /// The shared exponent.
    pub exp: i32,
}

impl Dense {
    /// Takes fixed-point values `values[i] · 2^-frac` (e.g. a LoRA master weight) to 23-bit mantissas.
    pub fn from_fixed(rows: usize, cols: usize, values: &[i32], frac: u32) -> Self {
        assert_eq!(values.len(), rows * cols, "Dense: shape mismatch");
        let shift = bfp::block_shift(bfp::absmax(values), MANT_BITS);
        let mant = values
            .iter()
            .map(|&v| round::shr(i64::from(v), shift) as i32)
            .collect();
        Self {
            rows,
            cols,
            mant,
            exp: shift as i32 - frac as i32,
        }
    }
}

/// `x · wᵀ`: `[T × k] · [n × k]ᵀ → [T × n]`. Each output row keeps `x`'s row exponent plus `w`'s.
#[inline(always)]
pub fn x_wt(x: &Rows, w: &Dense) -> Rows {
    assert_eq!(
        x.cols, w.cols,
        "x_wt: inner dimensions {} and {}",
        x.cols, w.cols
    );
    let mut wide = vec![0i64; x.rows() * w.rows];
    for t in 0..x.rows() {
        let xt = x.row(t);
        for (n, out) in wide[t * w.rows..(t + 1) * w.rows].iter_mut().enumerate() {
            let wn = &w.mant[n * w.cols..(n + 1) * w.cols];
            *out = xt
                .iter()
                .zip(wn)
                .map(|(&a, &b)| i64::from(a) * i64::from(b))
                .sum();
        }
    }
    let exps: Vec<i32> = x.exp.iter().map(|e| e + w.exp).collect();
    Rows::from_wide(w.rows, &wide, &exps)
}

/// `x · w`: `[T × n] · [n × k] → [T × k]`.
#[inline(always)]
pub fn x_w(x: &Rows, w: &Dense) -> Rows {
    assert_eq!(
        x.cols, w.rows,
        "x_w: inner dimensions {} and {}",
        x.cols, w.rows
    );
    let mut wide = vec![0i64; x.rows() * w.cols];
    for t in 0..x.rows() {
        let out = &mut wide[t * w.cols..(t + 1) * w.cols];
        for (n, &a) in x.row(t).iter().enumerate() {
            if a == 0 {
                continue;
            }
            for (o, &b) in out.iter_mut().zip(&w.mant[n * w.cols..(n + 1) * w.cols]) {
                *o += i64::from(a) * i64::from(b);
            }
        }
    }
    let exps: Vec<i32> = x.exp.iter().map(|e| e + w.exp).collect();
    Rows::from_wide(w.cols, &wide, &exps)
}

/// `aᵀ · b` over tokens: `[T × n]ᵀ · [T × k] → [n × k]` (a weight gradient). Token `t`'s terms carry the exponent
/// `a.exp[t] + b.exp[t]`; all are taken at the largest one. Returns a [`Dense`] (one exponent).
#[inline(always)]
pub fn at_b(a: &Rows, b: &Rows) -> Dense {
    let top = at_b_exponent(a, b);
    at_b_finish(a.cols, b.cols, at_b_terms(a, b, top, 0..a.rows()), top)
}

/// The exponent [`at_b`] sums at: the largest `a.exp[t] + b.exp[t]`.
pub fn at_b_exponent(a: &Rows, b: &Rows) -> i32 {
    assert_eq!(
        a.rows(),
        b.rows(),
        "at_b: token counts {} and {}",
        a.rows(),
        b.rows()
    );
    a.exp
        .iter()
        .zip(&b.exp)
        .map(|(x, y)| x + y)
        .max()
        .unwrap_or(0)
}

/// The terms of [`at_b`] for `tokens`, each rounded half to even onto the exponent `top`, summed exactly. Integer
/// sums do not depend on order, so the sums of disjoint token ranges add up to the whole one's.
#[inline(always)]
pub fn at_b_terms(a: &Rows, b: &Rows, top: i32, tokens: std::ops::Range<usize>) -> Vec<i64> {
    let k = b.cols;
    let mut wide = vec![0i64; a.cols * k];
    for t in tokens {
        // Terms 63+ bits below the top round to 0 either way (|a·b| < 2^46).
        let shift = ((top - a.exp[t] - b.exp[t]) as u32).min(63);
        let bt = b.row(t);
        for (i, &ai) in a.row(t).iter().enumerate() {
            if ai == 0 {
                continue;
            }
            for (o, &bj) in wide[i * k..(i + 1) * k].iter_mut().zip(bt) {
                *o += round::shr_var(i64::from(ai) * i64::from(bj), shift);
            }
        }
    }
    wide
}

/// The `[n × k]` sum of [`at_b_terms`] at exponent `top`, normalized.
pub fn at_b_finish(n: usize, k: usize, wide: Vec<i64>, top: i32) -> Dense {
    let (mant, exp) = normalize_row(&wide, top);
    Dense {
        rows: n,
        cols: k,
        mant,
        exp,
    }
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

    fn dense_f64(d: &Dense) -> Vec<f64> {
        d.mant
            .iter()
            .map(|&m| f64::from(m) * 2f64.powi(d.exp))
            .collect()
    }

    fn close(got: &[f64], want: &[f64], tol: f64) {
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() <= tol * scale, "{a} vs {b}");
        }
    }

    #[test]
    fn products_match_f64() {
        let (t, n, k) = (7, 5, 13);
        // token rows with very different magnitudes
        let xv: Vec<f64> = sample(Key(1), t * k, 1.0)
            .iter()
            .enumerate()
            .map(|(i, v)| v * 10f64.powi((i / k) as i32 - 3))
            .collect();
        let x = Rows::from_f64(k, &xv);
        let wv: Vec<i32> = (0..n * k)
            .map(|i| (Key(2).word(i as u32, 0, 0) >> 8) as i32 - (1 << 23))
            .collect();
        let w = Dense::from_fixed(n, k, &wv, 29);
        let (xf, wf) = (x.to_f64(), dense_f64(&w));
        let want: Vec<f64> = (0..t * n)
            .map(|i| {
                (0..k)
                    .map(|j| xf[(i / n) * k + j] * wf[(i % n) * k + j])
                    .sum()
            })
            .collect();
        let got = x_wt(&x, &w).to_f64();
        for r in 0..t {
            close(&got[r * n..(r + 1) * n], &want[r * n..(r + 1) * n], 1e-6);
        }
        let y = Rows::from_f64(n, &sample(Key(3), t * n, 2.0));
        let w2 = Dense::from_fixed(n, k, &wv, 29);
        let yf = y.to_f64();
        let want: Vec<f64> = (0..t * k)
            .map(|i| {
                (0..n)
                    .map(|j| yf[(i / k) * n + j] * wf[j * k + i % k])
                    .sum()
            })
            .collect();
        let got = x_w(&y, &w2).to_f64();
        for r in 0..t {
            close(&got[r * k..(r + 1) * k], &want[r * k..(r + 1) * k], 1e-6);
        }
        let want: Vec<f64> = (0..n * k)
            .map(|i| (0..t).map(|s| yf[s * n + i / k] * xf[s * k + i % k]).sum())
            .collect();
        close(&dense_f64(&at_b(&y, &x)), &want, 1e-6);
    }
}
