//! A frozen base projection `y = x · Wᵀ` with ternary or int8 weights, forward and backward (to the input).
//!
//! The real weight is `W[c][k] = q[c][k] · s_c` with `q` ternary or int8 and one scale per output row
//! (`s_c = m_c · 2^-S`, 31-bit `m_c` sharing one shift `S`; a per-tensor scale is the case where all `m_c` are
//! equal). Forward: each token row of `x` is split into two int8 digits by block floating point (`hi` with the
//! shift from the row's absolute maximum, `lo` from the exact remainder), `acc = digits · qᵀ` runs on the CPU kernels
//! (exact i32, combined exactly in i64), and `y[t][c] = acc[t][c] · m_c` carries the exponent `e_t + shift_t − S`.
//! Backward: `u[t][c] = dy[t][c] · m_c` is split the same way and multiplied by the transposed weights.
//!
//! Scales that also change along the input (per column group: finer ternary scales, Q8_0 blocks) are the
//! [`grouped`] variant, built by [`FrozenLinear::ternary_grouped`] and [`FrozenLinear::int8_grouped`].

use super::rows::{MANT_BITS, Rows};
use crate::{
    cpu::{Cpu, CpuError, SimdJob, Wide},
    tensor::{Int8Matrix, TensorError, TernaryMatrix},
};
use thiserror::Error;

mod grouped;

/// A weight that cannot become a frozen projection.
#[derive(Debug, Error)]
pub enum LinearError {
    /// The scales are not positive finite numbers (an all-zero or corrupt tensor).
    #[error(
        "weight scale {scale} of row {row} is not a positive finite number: the tensor is all zeros or corrupt"
    )]
    BadScale {
        /// Row.
        row: usize,
        /// Its scale.
        scale: f64,
    },
    /// Packing failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Column groups that do not fit the weight.
    #[error("{0}")]
    Group(String),
}

/// Packed integer weights, with a transposed copy for the backward pass.
#[derive(Debug, Clone)]
enum Weights {
    Ternary { w: TernaryMatrix, wt: TernaryMatrix },
    Int8 { w: Int8Matrix, wt: Int8Matrix },
}

impl Weights {
    /// Packs `values` (`out × in`, row-major): ternary codes in {-1, 0, 1}, or int8 in [-127, 127].
    fn new(ternary: bool, out: usize, inp: usize, values: &[i8]) -> Result<Self, TensorError> {
        Ok(if ternary {
            let w = TernaryMatrix::from_values(out, inp, values)?;
            Self::Ternary {
                wt: w.transpose(),
                w,
            }
        } else {
            let w = Int8Matrix::from_values(out, inp, values)?;
            Self::Int8 {
                wt: w.transpose(),
                w,
            }
        })
    }

    /// `acc = u · Wᵀ`, or `u · W` with the transposed copy.
    fn matmul(
        &self,
        cpu: &Cpu,
        u: &[i8],
        acc: &mut [i32],
        transposed: bool,
    ) -> Result<(), CpuError> {
        match (self, transposed) {
            (Self::Ternary { w, .. }, false) => cpu.matmul_i8_ternary(u, w, acc),
            (Self::Ternary { wt, .. }, true) => cpu.matmul_i8_ternary(u, wt, acc),
            (Self::Int8 { w, .. }, false) => cpu.matmul_i8_i8(u, w, acc),
            (Self::Int8 { wt, .. }, true) => cpu.matmul_i8_i8(u, wt, acc),
        }
    }

    /// The integer weight at `(row, col)`.
    fn get(&self, row: usize, col: usize) -> Option<i8> {
        match self {
            Self::Ternary { w, .. } => w.get(row, col),
            Self::Int8 { w, .. } => w.get(row, col),
        }
    }

    /// All integer weights, row-major.
    fn to_values(&self) -> Vec<i8> {
        match self {
            Self::Ternary { w, .. } => w.to_values(),
            Self::Int8 { w, .. } => w.to_values(),
        }
    }
}

/// How a projection's weights are stored.
#[derive(Debug, Clone)]
enum Packed {
    /// One scale per output row.
    Rows(Weights),
    /// One scale per row and column group ([`grouped`]).
    Grouped(Box<grouped::Grouped>),
}

/// A frozen projection from `in_features` to `out_features`.
#[derive(Debug, Clone)]
pub struct FrozenLinear {
    packed: Packed,
    /// `m_c`, one per output row.
    row_mult: Vec<u32>,
    /// `S`.
    shift: u32,
    /// Integer values, kept for export and tests.
    out_features: usize,
    in_features: usize,
}

impl FrozenLinear {
    /// A ternary projection: `values` (`out × in`, row-major, in {-1, 0, 1}) with one scale per row (or one repeated).
    pub fn ternary(
        out_features: usize,
        in_features: usize,
        values: &[i8],
        scales: &[f64],
    ) -> Result<Self, LinearError> {
        let w = Weights::new(true, out_features, in_features, values)?;
        Self::with_scales(Packed::Rows(w), out_features, in_features, scales)
    }

    /// An int8 projection: `values` in [-127, 127] with one scale per row.
    pub fn int8(
        out_features: usize,
        in_features: usize,
        values: &[i8],
        scales: &[f64],
    ) -> Result<Self, LinearError> {
        let w = Weights::new(false, out_features, in_features, values)?;
        Self::with_scales(Packed::Rows(w), out_features, in_features, scales)
    }

    fn with_scales(
        packed: Packed,
        out_features: usize,
        in_features: usize,
        scales: &[f64],
    ) -> Result<Self, LinearError> {
        assert_eq!(scales.len(), out_features, "one scale per output row");
        let (row_mult, shift) = multipliers(scales, 1)?;
        Ok(Self {
            packed,
            row_mult,
            shift,
            out_features,
            in_features,
        })
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Input width.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Forward: `y = x · Wᵀ`, each token row of `x` split into two int8 digits (about 14 bits).
    ///
    /// One digit (7 bits with a per-token power-of-two scale) costs half the matmuls but trains worse: on SmolLM2
    /// with Shakespeare (int8 base, 40 steps of 2 × 128 tokens, `benches/quality.rs`) the validation loss ended 4.75%
    /// above the f32 reference's with one digit and 3.72% above with two.
    pub fn forward(&self, cpu: &Cpu, x: &Rows) -> Result<Rows, CpuError> {
        assert_eq!(x.cols, self.in_features, "FrozenLinear: input width");
        if let Packed::Grouped(g) = &self.packed {
            return g.forward(cpu, x);
        }
        let k = self.in_features;
        let digits = two_digits(cpu, x.rows(), k, |r, row| {
            for (o, &v) in row.iter_mut().zip(x.row(r)) {
                *o = i64::from(v);
            }
        });
        self.product(cpu, digits, false, &x.exp)
    }

    /// Backward to the input: `dx = dy · W`, with `u = dy · m` split into two int8 digits per row.
    ///
    /// Gradients need more than int8's 7 bits: a token's gradient row mixes a few large entries with many small
    /// ones that still matter in sum (the LM head's softmax tail over 49k tokens).
    pub fn backward(&self, cpu: &Cpu, dy: &Rows) -> Result<Rows, CpuError> {
        assert_eq!(dy.cols, self.out_features, "FrozenLinear: gradient width");
        if let Packed::Grouped(g) = &self.packed {
            return g.backward(cpu, dy);
        }
        let n = self.out_features;
        let digits = two_digits(cpu, dy.rows(), n, |r, row| {
            for ((o, &g), &m) in row.iter_mut().zip(dy.row(r)).zip(&self.row_mult) {
                *o = i64::from(g) * i64::from(m);
            }
        });
        self.product(cpu, digits, true, &dy.exp)
    }

    /// `u · Wᵀ` (or `u · W` when `transposed`) for integer rows `u` whose exponents are `exps`, given as their
    /// two int8 digits ([`two_digits`]: `u ≈ hi · 2^s1 + lo · 2^s2`, `s1 − s2 ≤ 24`): the digit products
    /// combined exactly, scaled by the row multipliers in the forward direction (the backward pass scales `u`
    /// before the split), and normalized; rows are finished on the context's threads.
    fn product(
        &self,
        cpu: &Cpu,
        (hi, s1, lo, s2): (Vec<i8>, Vec<u32>, Vec<i8>, Vec<u32>),
        transposed: bool,
        exps: &[i32],
    ) -> Result<Rows, CpuError> {
        let rows = exps.len();
        let out_width = if transposed {
            self.in_features
        } else {
            self.out_features
        };
        let per = rows.div_ceil(cpu.threads().clamp(1, rows.max(1))).max(1);
        let mut acc_hi = vec![0i32; rows * out_width];
        self.matmul(cpu, &hi, &mut acc_hi, transposed)?;
        let mut acc_lo = vec![0i32; rows * out_width];
        self.matmul(cpu, &lo, &mut acc_lo, transposed)?;
        let mut out = Rows::zeros(rows, out_width);
        let simd = cpu.wide();
        std::thread::scope(|scope| {
            for ((((mant, exp), (hi, lo)), (s1, s2)), exps) in out
                .mant
                .chunks_mut(per * out_width)
                .zip(out.exp.chunks_mut(per))
                .zip(
                    acc_hi
                        .chunks(per * out_width)
                        .zip(acc_lo.chunks(per * out_width)),
                )
                .zip(s1.chunks(per).zip(s2.chunks(per)))
                .zip(exps.chunks(per))
            {
                let job = FinishRows {
                    simd,
                    layer: self,
                    scale: !transposed,
                    hi,
                    lo,
                    s1,
                    s2,
                    exps,
                    mant,
                    exp,
                };
                scope.spawn(move || simd.run(job));
            }
        });
        Ok(out)
    }

    /// `acc = u · Wᵀ`, or `u · W` with the transposed copy.
    fn matmul(
        &self,
        cpu: &Cpu,
        u: &[i8],
        acc: &mut [i32],
        transposed: bool,
    ) -> Result<(), CpuError> {
        match &self.packed {
            Packed::Rows(w) => w.matmul(cpu, u, acc, transposed),
            Packed::Grouped(_) => unreachable!("grouped weights multiply per group"),
        }
    }

    /// The weight rows for `indices` as [`Rows`] (an embedding lookup): row `r` is `q[r] · m_r · 2^-S`.
    pub fn rows_of(&self, indices: &[u32]) -> Rows {
        if let Packed::Grouped(g) = &self.packed {
            return g.rows_of(indices);
        }
        let mut wide = Vec::with_capacity(indices.len() * self.in_features);
        for &i in indices {
            let i = i as usize;
            assert!(
                i < self.out_features,
                "row {i} outside a matrix of {} rows",
                self.out_features
            );
            let m = i64::from(self.row_mult[i]);
            wide.extend((0..self.in_features).map(|c| {
                let q = match &self.packed {
                    Packed::Rows(w) => w.get(i, c),
                    Packed::Grouped(_) => None,
                };
                i64::from(q.expect("in range")) * m
            }));
        }
        Rows::from_wide(
            self.in_features,
            &wide,
            &vec![-(self.shift as i32); indices.len()],
        )
    }

    /// The real weight matrix (`out × in`, row-major) as f64, for tests and the f32 reference.
    pub fn to_f64(&self) -> Vec<f64> {
        let values = match &self.packed {
            Packed::Rows(w) => w.to_values(),
            Packed::Grouped(g) => return g.to_f64(),
        };
        let unit = libm::exp2(-f64::from(self.shift));
        values
            .chunks_exact(self.in_features)
            .zip(&self.row_mult)
            .flat_map(|(row, &m)| row.iter().map(move |&q| f64::from(q) * f64::from(m) * unit))
            .collect()
    }
}

/// [`FrozenLinear::product`]'s last part for a chunk of rows: the two digit products combined at the low digit's
/// scale, the row multipliers applied (forward), and each row normalized to 23-bit mantissas.
struct FinishRows<'a> {
    simd: Wide,
    layer: &'a FrozenLinear,
    scale: bool,
    hi: &'a [i32],
    lo: &'a [i32],
    s1: &'a [u32],
    s2: &'a [u32],
    exps: &'a [i32],
    mant: &'a mut [i32],
    exp: &'a mut [i32],
}

impl SimdJob for FinishRows<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = self.mant.len() / self.exp.len().max(1);
        let mut row = vec![0i64; width];
        for (r, ((mant, exp), (hi, lo))) in self
            .mant
            .chunks_exact_mut(width)
            .zip(self.exp.iter_mut())
            .zip(self.hi.chunks_exact(width).zip(self.lo.chunks_exact(width)))
            .enumerate()
        {
            let up = self.s1[r] - self.s2[r];
            for ((o, &a), &b) in row.iter_mut().zip(hi).zip(lo) {
                *o = (i64::from(a) << up) + i64::from(b);
            }
            let mut e = self.exps[r] + self.s2[r] as i32 - self.layer.shift as i32;
            if self.scale {
                e += scale_row(&mut row, &self.layer.row_mult);
            }
            *exp = e + self.simd.normalize(&row, MANT_BITS, mant) as i32;
        }
    }
}

/// 31-bit multipliers `m` sharing one shift `S` for positive scales (`scale ≈ m · 2^-S`), the largest scale's
/// multiplier in `[2^30, 2^31)`; `per_row` scales belong to each output row (for [`LinearError::BadScale`]).
fn multipliers(scales: &[f64], per_row: usize) -> Result<(Vec<u32>, u32), LinearError> {
    if let Some((i, &scale)) = scales
        .iter()
        .enumerate()
        .find(|(_, s)| !(s.is_finite() && **s > 0.0))
    {
        return Err(LinearError::BadScale {
            row: i / per_row.max(1),
            scale,
        });
    }
    let max = scales.iter().cloned().fold(0.0f64, f64::max);
    // S such that the largest scale has a 31-bit multiplier: max · 2^S ∈ [2^30, 2^31).
    let (_, e) = libm::frexp(max);
    let shift = (31 - e).clamp(0, 62) as u32;
    let mult = scales
        .iter()
        .map(|&s| {
            (s * libm::exp2(f64::from(shift)))
                .round_ties_even()
                .clamp(1.0, f64::from(u32::MAX >> 1)) as u32
        })
        .collect();
    Ok((mult, shift))
}

/// `row[c] · m_c` for one output row, exactly. The digit products can reach `2^33` and more (a row of equal large
/// activations against weights of one sign), and the 31-bit multipliers would overflow i64 then: such a row is
/// multiplied in i128 and normalized to 23-bit mantissas there. Returns the exponent that adds to the row's; rows
/// that fit (nearly all) take the i64 path, and both paths give the normalized value of the exact product.
fn scale_row(row: &mut [i64], mult: &[u32]) -> i32 {
    let absmax = row.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    if u64::BITS - absmax.leading_zeros() <= 31 {
        for (v, &m) in row.iter_mut().zip(mult) {
            *v *= i64::from(m);
        }
        return 0;
    }
    let exact: Vec<i128> = row
        .iter()
        .zip(mult)
        .map(|(&v, &m)| i128::from(v) * i128::from(m))
        .collect();
    let top = exact.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let shift = (u128::BITS - top.leading_zeros()).saturating_sub(MANT_BITS);
    let limit = (1i128 << MANT_BITS) - 1;
    for (v, &p) in row.iter_mut().zip(&exact) {
        // Round half to even on i128, as `round::shr` does on i64.
        let floor = p >> shift;
        let rem = p - (floor << shift);
        let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
        let up = shift > 0 && (rem > half || (rem == half && floor & 1 == 1));
        *v = (floor + i128::from(up)).clamp(-limit, limit) as i64;
    }
    shift as i32
}

/// Splits `rows` integer rows of `width` into two int8 digits ([`crate::cpu::Wide::split_i8_digits`]), rows on
/// the context's threads: `fill(r, row)` writes row `r`, then `row ≈ hi · 2^s1 + lo · 2^s2`, `lo` from the exact
/// remainder with `s1 − s2 ≤ 24`. Returns `(hi, s1, lo, s2)`.
pub(super) fn two_digits(
    cpu: &Cpu,
    rows: usize,
    width: usize,
    fill: impl Fn(usize, &mut [i64]) + Sync,
) -> (Vec<i8>, Vec<u32>, Vec<i8>, Vec<u32>) {
    let (mut hi, mut lo) = (vec![0i8; rows * width], vec![0i8; rows * width]);
    let (mut s1, mut s2) = (vec![0u32; rows], vec![0u32; rows]);
    let wide = cpu.wide();
    let per = rows.div_ceil(cpu.threads().clamp(1, rows.max(1))).max(1);
    let fill = &fill;
    std::thread::scope(|scope| {
        for (c, (((hi, lo), s1), s2)) in hi
            .chunks_mut(per * width)
            .zip(lo.chunks_mut(per * width))
            .zip(s1.chunks_mut(per))
            .zip(s2.chunks_mut(per))
            .enumerate()
        {
            scope.spawn(move || {
                let (mut row, mut rest) = (vec![0i64; width], vec![0i64; width]);
                for (r, (((hi, lo), s1), s2)) in hi
                    .chunks_exact_mut(width)
                    .zip(lo.chunks_exact_mut(width))
                    .zip(s1)
                    .zip(s2)
                    .enumerate()
                {
                    fill(c * per + r, &mut row);
                    (*s1, *s2) = wide.split_i8_digits(&row, &mut rest, hi, lo);
                }
            });
        }
    });
    (hi, s1, lo, s2)
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

    /// Relative error of an int8 activation path: per-token 7-bit mantissas give about 1% per product term.
    fn check(got: &[f64], want: &[f64], cols: usize, tol: f64) {
        for (g, w) in got.chunks(cols).zip(want.chunks(cols)) {
            let scale = w.iter().map(|v| v * v).sum::<f64>().sqrt() / (cols as f64).sqrt();
            let err = g
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
                / (cols as f64).sqrt();
            assert!(err <= tol * scale, "rms error {err} vs rms {scale}");
        }
    }

    #[test]
    fn a_row_whose_products_pass_i64_is_scaled_exactly() {
        // Equal large activations against one-signed int8 weights: digit sums near 2^36, times 31-bit multipliers.
        let (n, k) = (3, 4096);
        let w = FrozenLinear::int8(n, k, &vec![127; n * k], &[1.0 / 127.0; 3]).unwrap();
        let x = Rows {
            cols: k,
            mant: vec![(1 << 23) - 1; k],
            exp: vec![0],
        };
        let y = w.forward(&Cpu::new(), &x).unwrap().to_f64();
        let want = f64::from((1 << 23) - 1) * k as f64; // every weight is 1
        for (c, got) in y.iter().enumerate() {
            assert!(
                (got - want).abs() <= want * 1e-4,
                "row {c}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn ternary_and_int8_match_f64_within_int8_activation_error() {
        let cpu = Cpu::new();
        let (t, k, n) = (6, 96, 40);
        let key = Key(4);
        let tern: Vec<i8> = (0..n * k)
            .map(|i| key.below(3, i as u32, 0, 0) as i8 - 1)
            .collect();
        let int8: Vec<i8> = (0..n * k)
            .map(|i| (key.below(255, i as u32, 1, 0) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f64> = (0..n).map(|i| 0.01 + 0.001 * i as f64).collect();
        let x = Rows::from_f64(k, &sample(Key(5), t * k, 3.0));
        let dy = Rows::from_f64(n, &sample(Key(6), t * n, 1e-3));
        for layer in [
            FrozenLinear::ternary(n, k, &tern, &scales).unwrap(),
            FrozenLinear::int8(n, k, &int8, &scales).unwrap(),
        ] {
            let w = layer.to_f64();
            let (xf, dyf) = (x.to_f64(), dy.to_f64());
            let want: Vec<f64> = (0..t * n)
                .map(|i| {
                    (0..k)
                        .map(|j| xf[(i / n) * k + j] * w[(i % n) * k + j])
                        .sum()
                })
                .collect();
            check(&layer.forward(&cpu, &x).unwrap().to_f64(), &want, n, 0.03);
            let want: Vec<f64> = (0..t * k)
                .map(|i| {
                    (0..n)
                        .map(|c| dyf[(i / k) * n + c] * w[c * k + i % k])
                        .sum()
                })
                .collect();
            check(&layer.backward(&cpu, &dy).unwrap().to_f64(), &want, k, 0.03);
        }
    }

    #[test]
    fn exact_when_inputs_are_already_int8() {
        let cpu = Cpu::new();
        let layer = FrozenLinear::ternary(2, 3, &[1, 0, -1, -1, 1, 1], &[0.5, 0.5]).unwrap();
        let x = Rows {
            cols: 3,
            mant: vec![10, 20, 30],
            exp: vec![0],
        };
        assert_eq!(layer.forward(&cpu, &x).unwrap().to_f64(), vec![-10.0, 20.0]);
        assert!(matches!(
            FrozenLinear::ternary(1, 1, &[1], &[0.0]),
            Err(LinearError::BadScale { row: 0, .. })
        ));
    }
}
