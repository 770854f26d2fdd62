//! `Rows`: the integer form of every activation and gradient tensor.
//!
//! A `[rows × cols]` tensor with one power-of-two exponent per row (per token): `value[r][c] = mant[r][c] ·
//! 2^exp[r]`, with mantissas normalized to at most [`MANT_BITS`] magnitude bits. A per-row exponent is what block
//! floating point means for activations (DESIGN.md §4): a token whose values are large and a gradient row of size
//! 1e-7 both keep 23 significant bits, where one fixed-point format for the whole tensor would drown one of them.
//!
//! Mantissas of 23 bits leave room for exact products: a mantissa times a 31-bit multiplier or another mantissa
//! fits in i64, and a sum of up to 2^17 such products of 23 × 23 bits does too.

use crate::cpu::{SimdJob, Wide};
use crate::fixed::{round, scale::Multiplier};

/// Magnitude bits of a normalized mantissa: `|mant| < 2^23`.
pub const MANT_BITS: u32 = 23;

/// A row-major `[rows × cols]` tensor with one exponent per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// Number of columns.
    pub cols: usize,
    /// Mantissas, row-major, `rows × cols`.
    pub mant: Vec<i32>,
    /// One exponent per row.
    pub exp: Vec<i32>,
}

impl Rows {
    /// An all-zero tensor.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            cols,
            mant: vec![0; rows * cols],
            exp: vec![0; rows],
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.exp.len()
    }

    /// Row `r`'s mantissas.
    pub fn row(&self, r: usize) -> &[i32] {
        &self.mant[r * self.cols..(r + 1) * self.cols]
    }

    /// Row `r`'s mantissas, mutable.
    pub fn row_mut(&mut self, r: usize) -> &mut [i32] {
        &mut self.mant[r * self.cols..(r + 1) * self.cols]
    }

    /// Builds a tensor from wide (i64) row values `wide[r][c] · 2^exp[r]`, normalizing each row's mantissas to
    /// [`MANT_BITS`] bits with the rounding rule.
    pub fn from_wide(cols: usize, wide: &[i64], exp: &[i32]) -> Self {
        assert_eq!(wide.len(), cols * exp.len(), "from_wide: shape mismatch");
        let mut out = Self::zeros(exp.len(), cols);
        for (r, &e) in exp.iter().enumerate() {
            let (mant, new_exp) = normalize_row(&wide[r * cols..(r + 1) * cols], e);
            out.mant[r * cols..(r + 1) * cols].copy_from_slice(&mant);
            out.exp[r] = new_exp;
        }
        out
    }

    /// Rows `range` as a new tensor.
    pub fn slice_rows(&self, range: std::ops::Range<usize>) -> Rows {
        Rows {
            cols: self.cols,
            mant: self.mant[range.start * self.cols..range.end * self.cols].to_vec(),
            exp: self.exp[range].to_vec(),
        }
    }

    /// Stacks tensors of one width.
    pub fn concat(parts: &[Rows]) -> Rows {
        let cols = parts.first().map_or(0, |p| p.cols);
        assert!(
            parts.iter().all(|p| p.cols == cols),
            "Rows::concat: widths differ"
        );
        Rows {
            cols,
            mant: parts.iter().flat_map(|p| p.mant.iter().copied()).collect(),
            exp: parts.iter().flat_map(|p| p.exp.iter().copied()).collect(),
        }
    }

    /// `self + other`, elementwise, row by row: each row is summed at the exponent `max(e_a, e_b) − 38` (both
    /// 23-bit operands fit with room for the carry), terms further below rounded half to even onto it, then
    /// normalized.
    pub fn add(&self, other: &Rows) -> Rows {
        self.combine(other, false)
    }

    /// `self − other`, as [`Rows::add`].
    pub fn sub(&self, other: &Rows) -> Rows {
        self.combine(other, true)
    }

    fn combine(&self, other: &Rows, negate: bool) -> Rows {
        assert_eq!(
            (self.rows(), self.cols),
            (other.rows(), other.cols),
            "Rows: shapes differ"
        );
        Wide::detected().run(Combine {
            a: self,
            b: other,
            negate,
        })
    }

    /// Every value times a constant multiplier.
    pub fn scale(&self, m: Multiplier) -> Rows {
        let wide: Vec<i64> = self
            .mant
            .iter()
            .map(|&v| i64::from(v) * i64::from(m.m))
            .collect();
        let exps: Vec<i32> = self.exp.iter().map(|e| e - m.s as i32).collect();
        Rows::from_wide(self.cols, &wide, &exps)
    }

    /// The values as f64 (for tests, metrics and the loss display; never for anything committed).
    pub fn to_f64(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.mant.len());
        for (r, &e) in self.exp.iter().enumerate() {
            let scale = libm::exp2(f64::from(e));
            out.extend(self.row(r).iter().map(|&m| f64::from(m) * scale));
        }
        out
    }

    /// The nearest representation of f64 values (rows of `cols`), for tests and for loading constants.
    pub fn from_f64(cols: usize, values: &[f64]) -> Self {
        assert!(
            cols > 0 && values.len().is_multiple_of(cols),
            "from_f64: shape mismatch"
        );
        let rows = values.len() / cols;
        let mut out = Self::zeros(rows, cols);
        for r in 0..rows {
            let row = &values[r * cols..(r + 1) * cols];
            let max = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if max == 0.0 || !max.is_finite() {
                continue;
            }
            // Largest exponent e with max / 2^e < 2^MANT_BITS.
            let (_, e2) = libm::frexp(max); // max = f · 2^e2, f in [0.5, 1)
            let e = e2 - MANT_BITS as i32;
            let scale = libm::exp2(-f64::from(e));
            for (m, v) in out.mant[r * cols..(r + 1) * cols].iter_mut().zip(row) {
                *m = (v * scale).round_ties_even().clamp(-MANT_MAX, MANT_MAX) as i32;
            }
            out.exp[r] = e;
        }
        out
    }
}

/// [`Rows::add`] / [`Rows::sub`], compiled for the CPU's vector width.
struct Combine<'a> {
    a: &'a Rows,
    b: &'a Rows,
    negate: bool,
}

impl SimdJob for Combine<'_> {
    type Output = Rows;

    #[inline(always)]
    fn run(self) -> Rows {
        let (a, b) = (self.a, self.b);
        let mut out = Rows::zeros(a.rows(), a.cols);
        let mut wide = vec![0i64; a.cols];
        for r in 0..a.rows() {
            let (ea, eb) = (a.exp[r], b.exp[r]);
            // An all-zero row's exponent carries no information: it must not pull the other row's bits away.
            let top = match (
                a.row(r).iter().any(|&m| m != 0),
                b.row(r).iter().any(|&m| m != 0),
            ) {
                (true, false) => ea,
                (false, true) => eb,
                _ => ea.max(eb),
            } - 38;
            // Each operand moves left by up to 38 bits or right (rounded half to even); one shift per row.
            let (sa, sb) = ((ea - top).min(38), (eb - top).min(38));
            let (la, ra) = (sa.max(0) as u32, sa.min(0).unsigned_abs().min(63));
            let (lb, rb) = (sb.max(0) as u32, sb.min(0).unsigned_abs().min(63));
            let sign = if self.negate { -1 } else { 1 };
            for ((w, &x), &y) in wide.iter_mut().zip(a.row(r)).zip(b.row(r)) {
                let x = round::shr_var(i64::from(x) << la, ra);
                let y = round::shr_var(i64::from(y) << lb, rb);
                *w = x + sign * y;
            }
            let shift = Wide::detected().normalize(&wide, MANT_BITS, out.row_mut(r));
            out.exp[r] = top + shift as i32;
        }
        out
    }
}

/// The largest normalized mantissa magnitude.
pub const MANT_MAX: f64 = ((1u32 << MANT_BITS) - 1) as f64;

/// Normalizes one row of wide values with exponent `exp` to [`MANT_BITS`]-bit mantissas; returns them with the new
/// exponent. Small rows are not scaled up: normalization only ever shifts right, so it never invents bits.
pub fn normalize_row(wide: &[i64], exp: i32) -> (Vec<i32>, i32) {
    let mut mant = vec![0; wide.len()];
    let shift = Wide::detected().normalize(wide, MANT_BITS, &mut mant);
    (mant, exp + shift as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_round_trip_keeps_23_bits() {
        let values = [1.0, -0.5, 3.25e-7, 1234.5678, 0.0, -1e-3];
        let rows = Rows::from_f64(3, &values);
        let back = rows.to_f64();
        for (r, chunk) in values.chunks(3).enumerate() {
            let max = chunk.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (c, v) in chunk.iter().enumerate() {
                assert!(
                    (back[r * 3 + c] - v).abs() <= max * 2f64.powi(-23),
                    "{v} -> {}",
                    back[r * 3 + c]
                );
            }
        }
        assert!(rows.mant.iter().all(|m| m.unsigned_abs() < 1 << MANT_BITS));
    }

    #[test]
    fn add_and_sub_align_exponents() {
        let a = Rows::from_f64(3, &[1.0, 1e-12, -2.0, 5.0, 5.0, 5.0]);
        let b = Rows::from_f64(3, &[1e-12, 1.0, 2.0, 1e9, 0.0, -1e9]);
        let sum = a.add(&b).to_f64();
        let want: [f64; 6] = [1.0 + 1e-12, 1.0 + 1e-12, 0.0, 1e9 + 5.0, 5.0, 5.0 - 1e9];
        // Exact to 23 bits of each row's largest value (a row shares one exponent).
        for (r, (g, w)) in sum.chunks(3).zip(want.chunks(3)).enumerate() {
            let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (a, b) in g.iter().zip(w) {
                assert!((a - b).abs() <= max * 2f64.powi(-22), "row {r}: {a} vs {b}");
            }
        }
        let diff = a.sub(&a).to_f64();
        assert!(diff.iter().all(|&v| v == 0.0));
        let half = a.scale(Multiplier::from_f64(0.5).unwrap()).to_f64();
        assert_eq!(half[0], 0.5);
    }

    #[test]
    fn normalize_shifts_right_only() {
        let (m, e) = normalize_row(&[3, -5], -10);
        assert_eq!((m, e), (vec![3, -5], -10));
        let (m, e) = normalize_row(&[1 << 40, -(1 << 30)], 0);
        assert_eq!(e, 41 - 23);
        assert_eq!(m, vec![1 << 22, -(1 << 12)]);
    }
}
