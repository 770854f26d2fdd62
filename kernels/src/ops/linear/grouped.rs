//! A frozen projection with one scale per output row **and** group of input columns: ternary per-group absmean
//! scales, and int8 with Q8_0's per-block scales.
//!
//! The real weight is `W[c][k] = q[c][k] · m[c][g(k)] · 2^-S`: `q` ternary or int8, `g(k)` the column group of `k`
//! (groups of `group` consecutive columns, the last one shorter when the width is not a multiple), `m` 31-bit
//! multipliers sharing one shift `S`. A scale that changes along the reduction dimension cannot be applied after a
//! whole-row product, so each group is its own matmul, and the group results are combined by exact integer rules:
//!
//! - **Forward** `y = x · Wᵀ`: each token row of `x` is split into two int8 digits once, exactly as
//!   [`FrozenLinear`](super::FrozenLinear) does (`x ≈ hi · 2^s1 + lo · 2^s2`). Per group, `a_g = (hi_g · q_gᵀ) ·
//!   2^(s1−s2) + lo_g · q_gᵀ` (exact, i64), and `y[t][c] = Σ_g round(a_g[t][c] · m[c][g] / 2^R)` at the exponent
//!   `e_t + s2_t − S + R`. Each term is rounded half to even before the sum (integer addition then makes the sum
//!   independent of order); `R` is the least shift that keeps the sum in i64 for any input (see [`Grouped::build`]).
//! - **Backward** `dx = dy · W`: the group's scale multiplies the gradient before the reduction over output rows,
//!   `u_g[t][c] = dy[t][c] · m[c][g]`, which is split into two int8 digits per token and multiplied by `q_g`. The
//!   groups own disjoint columns of `dx`; each token's columns are placed at the common exponent `top_t − L`
//!   (`top_t` the largest group exponent of that token), groups below it rounded half to even, so that every
//!   value fits in i64; `L` is fixed per layer.
//!
//! Everything is integer arithmetic with one rounding rule, so the result does not depend on thread count or SIMD
//! path. The price is `ceil(in / group)` smaller matmuls instead of one, and the per-term rescaling: about
//! `1 / group` of the matmul's multiply count.

use std::ops::Range;

use super::{FrozenLinear, LinearError, Packed, Weights, two_digits};
use crate::{
    cpu::{Cpu, CpuError, SimdJob},
    fixed::round,
    ops::{parallel::map_row_chunks, rows::Rows},
};

/// One column group: columns `start..start + width`.
#[derive(Debug, Clone)]
struct Part {
    start: usize,
    width: usize,
    weights: Weights,
    /// `m[c][g]` for every output row `c`.
    mult: Vec<u32>,
}

/// The grouped projection behind [`FrozenLinear::ternary_grouped`] and [`FrozenLinear::int8_grouped`].
#[derive(Debug, Clone)]
pub(super) struct Grouped {
    out_features: usize,
    in_features: usize,
    parts: Vec<Part>,
    /// `S`.
    shift: u32,
    /// `R`: the forward pass's per-term rounding shift.
    sum_shift: u32,
    /// `L`: how far below the top group exponent the backward pass places its columns.
    lift: u32,
}

impl FrozenLinear {
    /// A ternary projection with one scale per output row and group of `group` consecutive input columns:
    /// `values` is `out × in` row-major in {-1, 0, 1}, `scales` is `out × ceil(in / group)` row-major.
    pub fn ternary_grouped(
        out_features: usize,
        in_features: usize,
        group: usize,
        values: &[i8],
        scales: &[f64],
    ) -> Result<Self, LinearError> {
        Grouped::build(out_features, in_features, group, values, scales, true)
    }

    /// An int8 projection (values in [-127, 127]) with one scale per output row and group of `group` input
    /// columns, as [`FrozenLinear::ternary_grouped`]: Q8_0's layout with `group = 32`.
    pub fn int8_grouped(
        out_features: usize,
        in_features: usize,
        group: usize,
        values: &[i8],
        scales: &[f64],
    ) -> Result<Self, LinearError> {
        Grouped::build(out_features, in_features, group, values, scales, false)
    }
}

impl Grouped {
    fn build(
        out_features: usize,
        in_features: usize,
        group: usize,
        values: &[i8],
        scales: &[f64],
        ternary: bool,
    ) -> Result<FrozenLinear, LinearError> {
        if group == 0 || out_features == 0 || in_features == 0 {
            return Err(LinearError::Group(format!(
                "a {out_features} × {in_features} weight cannot have column groups of {group}"
            )));
        }
        let n_groups = in_features.div_ceil(group);
        if values.len() != out_features * in_features || scales.len() != out_features * n_groups {
            return Err(LinearError::Group(format!(
                "a {out_features} × {in_features} weight in groups of {group} needs {} values and {} scales, got {} and {}",
                out_features * in_features,
                out_features * n_groups,
                values.len(),
                scales.len()
            )));
        }
        let (mult, shift) = super::multipliers(scales, n_groups)?;
        let mut parts = Vec::with_capacity(n_groups);
        for g in 0..n_groups {
            let start = g * group;
            let width = group.min(in_features - start);
            let sub: Vec<i8> = values
                .chunks_exact(in_features)
                .flat_map(|row| row[start..start + width].iter().copied())
                .collect();
            let weights = Weights::new(ternary, out_features, width, &sub)?;
            parts.push(Part {
                start,
                width,
                weights,
                mult: (0..out_features).map(|c| mult[c * n_groups + g]).collect(),
            });
        }
        // Bounds. A two-digit row element is `|hi · 2^(s1−s2) + lo| ≤ 2^24` in the forward pass (mantissas have
        // 23 bits) and `≤ 2^32` in the backward pass (`u < 2^54`, `s2 ≥ s1 − 24`); `|q| ≤ Q` (1 or 127), `m < 2^31`.
        // Forward: the sum over all groups is below `in · Q · 2^55 / 2^R`, kept under 2^62.
        // Backward: one group's value is below `out · Q · 2^32`, lifted by at most `L` bits, kept under 2^62.
        let q_bits = if ternary { 1 } else { 7 };
        let sum_shift = (bit_length(in_features) + q_bits + 55).saturating_sub(62);
        let lift = 62u32.saturating_sub(bit_length(out_features) + q_bits + 32);
        Ok(FrozenLinear {
            packed: Packed::Grouped(Box::new(Grouped {
                out_features,
                in_features,
                parts,
                shift,
                sum_shift,
                lift,
            })),
            row_mult: Vec::new(),
            shift,
            out_features,
            in_features,
        })
    }

    pub(super) fn forward(&self, cpu: &Cpu, x: &Rows) -> Result<Rows, CpuError> {
        let (hi, s1, lo, s2) = two_digits(cpu, x.rows(), self.in_features, |r, row| {
            for (o, &v) in row.iter_mut().zip(x.row(r)) {
                *o = i64::from(v);
            }
        });
        // Tokens are independent: each thread runs every group's products for its own tokens.
        let single = cpu.with_threads(1)?;
        let chunks = map_row_chunks(x.rows(), cpu.threads(), |rows| {
            single.wide().run(ForwardTokens {
                layer: self,
                cpu: &single,
                hi: &hi,
                lo: &lo,
                s1: &s1,
                s2: &s2,
                rows,
            })
        });
        let wide = chunks.into_iter().collect::<Result<Vec<_>, _>>()?.concat();
        let exps: Vec<i32> = x
            .exp
            .iter()
            .zip(&s2)
            .map(|(&e, &s)| e + s as i32 - self.shift as i32 + self.sum_shift as i32)
            .collect();
        Ok(Rows::from_wide(self.out_features, &wide, &exps))
    }

    pub(super) fn backward(&self, cpu: &Cpu, dy: &Rows) -> Result<Rows, CpuError> {
        let single = cpu.with_threads(1)?;
        let chunks = map_row_chunks(dy.rows(), cpu.threads(), |rows| {
            single.wide().run(BackwardTokens {
                layer: self,
                cpu: &single,
                dy,
                rows,
            })
        });
        let (mut wide, mut exps) = (Vec::new(), Vec::new());
        for chunk in chunks {
            let (w, e) = chunk?;
            wide.extend_from_slice(&w);
            exps.extend_from_slice(&e);
        }
        Ok(Rows::from_wide(self.in_features, &wide, &exps))
    }

    /// The weight rows for `indices` (an embedding lookup): `q[r][c] · m[r][g(c)] · 2^-S`.
    pub(super) fn rows_of(&self, indices: &[u32]) -> Rows {
        let mut wide = Vec::with_capacity(indices.len() * self.in_features);
        for &i in indices {
            let i = i as usize;
            assert!(
                i < self.out_features,
                "row {i} outside a matrix of {} rows",
                self.out_features
            );
            for part in &self.parts {
                let m = i64::from(part.mult[i]);
                wide.extend((0..part.width).map(|c| i64::from(part.get(i, c)) * m));
            }
        }
        Rows::from_wide(
            self.in_features,
            &wide,
            &vec![-(self.shift as i32); indices.len()],
        )
    }

    /// The real weight matrix (`out × in`, row-major) as f64.
    pub(super) fn to_f64(&self) -> Vec<f64> {
        let unit = libm::exp2(-f64::from(self.shift));
        let mut out = Vec::with_capacity(self.out_features * self.in_features);
        for r in 0..self.out_features {
            for part in &self.parts {
                let m = f64::from(part.mult[r]) * unit;
                out.extend((0..part.width).map(|c| f64::from(part.get(r, c)) * m));
            }
        }
        out
    }
}

/// The forward pass for tokens `rows`: every group's two digit products, scaled and rounded per term
/// (`round(a · m / 2^R)`) and summed; returns the `rows × out` wide values.
struct ForwardTokens<'a> {
    layer: &'a Grouped,
    cpu: &'a Cpu,
    hi: &'a [i8],
    lo: &'a [i8],
    s1: &'a [u32],
    s2: &'a [u32],
    rows: Range<usize>,
}

impl SimdJob for ForwardTokens<'_> {
    type Output = Result<Vec<i64>, CpuError>;

    #[inline(always)]
    fn run(self) -> Self::Output {
        let g = self.layer;
        let (n, k, rows) = (g.out_features, g.in_features, self.rows);
        let (hi, lo) = (
            &self.hi[rows.start * k..rows.end * k],
            &self.lo[rows.start * k..rows.end * k],
        );
        let mut out = vec![0i64; rows.len() * n];
        let mut acc_hi = vec![0i32; rows.len() * n];
        let mut acc_lo = vec![0i32; rows.len() * n];
        for part in &g.parts {
            acc_hi.fill(0);
            acc_lo.fill(0);
            part.weights
                .matmul(self.cpu, &part.columns(hi, k), &mut acc_hi, false)?;
            part.weights
                .matmul(self.cpu, &part.columns(lo, k), &mut acc_lo, false)?;
            for (t, ((o, a), b)) in out
                .chunks_exact_mut(n)
                .zip(acc_hi.chunks_exact(n))
                .zip(acc_lo.chunks_exact(n))
                .enumerate()
            {
                let up = self.s1[rows.start + t] - self.s2[rows.start + t];
                for (((o, &a), &b), &m) in o.iter_mut().zip(a).zip(b).zip(&part.mult) {
                    *o += scaled_term((i64::from(a) << up) + i64::from(b), m, g.sum_shift);
                }
            }
        }
        Ok(out)
    }
}

/// `round(a · m / 2^r)` (half to even), exactly. For `r < 16` it runs in i64 on `m`'s two 16-bit halves, which
/// vectorizes: `a · m = a · m_hi · 2^16 + a · m_lo` with both products of one sign, so `a · m_hi · 2^(16−r)` is an
/// even integer no larger than the result (which the caller's bounds keep in i64), and adding an even integer
/// commutes with rounding half to even.
#[inline(always)]
fn scaled_term(a: i64, m: u32, r: u32) -> i64 {
    if r < 16 {
        ((a * i64::from(m >> 16)) << (16 - r)) + round::shr(a * i64::from(m & 0xffff), r)
    } else {
        round::shr_i128(i128::from(a) * i128::from(m), r) as i64
    }
}

/// The backward pass for tokens `rows`: per group, the gradient scaled by the group's multipliers and split
/// into two digits, its product with the group's weights, then each token's columns placed at the common
/// exponent `top − L`. Returns the `rows × in` wide values and the rows' exponents.
struct BackwardTokens<'a> {
    layer: &'a Grouped,
    cpu: &'a Cpu,
    dy: &'a Rows,
    rows: Range<usize>,
}

impl SimdJob for BackwardTokens<'_> {
    type Output = Result<(Vec<i64>, Vec<i32>), CpuError>;

    #[inline(always)]
    fn run(self) -> Self::Output {
        let g = self.layer;
        let (n, k, rows) = (g.out_features, g.in_features, self.rows);
        let t = rows.len();
        let dy = &self.dy.mant[rows.start * n..rows.end * n];
        let dy_exp = &self.dy.exp[rows];
        let wide = self.cpu.wide();
        let (mut u, mut rest) = (vec![0i64; t * n], vec![0i64; n]);
        let (mut hi, mut lo) = (vec![0i8; t * n], vec![0i8; t * n]);
        let (mut s1, mut s2) = (vec![0u32; t], vec![0u32; t]);
        // Per group: its columns of dx (t × width) and each token's exponent.
        let mut results = Vec::with_capacity(g.parts.len());
        for part in &g.parts {
            for (u, d) in u.chunks_exact_mut(n).zip(dy.chunks_exact(n)) {
                for ((u, &d), &m) in u.iter_mut().zip(d).zip(&part.mult) {
                    *u = i64::from(d) * i64::from(m);
                }
            }
            for r in 0..t {
                let span = r * n..(r + 1) * n;
                (s1[r], s2[r]) = wide.split_i8_digits(
                    &u[span.clone()],
                    &mut rest,
                    &mut hi[span.clone()],
                    &mut lo[span],
                );
            }
            let mut acc_hi = vec![0i32; t * part.width];
            let mut acc_lo = vec![0i32; t * part.width];
            part.weights.matmul(self.cpu, &hi, &mut acc_hi, true)?;
            part.weights.matmul(self.cpu, &lo, &mut acc_lo, true)?;
            let mut values = acc_hi.iter().map(|&a| i64::from(a)).collect::<Vec<_>>();
            for (r, (v, b)) in values
                .chunks_exact_mut(part.width)
                .zip(acc_lo.chunks_exact(part.width))
                .enumerate()
            {
                let up = s1[r] - s2[r];
                for (v, &b) in v.iter_mut().zip(b) {
                    *v = (*v << up) + i64::from(b);
                }
            }
            let exps: Vec<i32> = dy_exp
                .iter()
                .zip(&s2)
                .map(|(&e, &s)| e + s as i32 - g.shift as i32)
                .collect();
            results.push((values, exps));
        }
        let mut out = vec![0i64; t * k];
        let mut exps = Vec::with_capacity(t);
        for r in 0..t {
            let top = results.iter().map(|(_, e)| e[r]).max().unwrap_or(0);
            let base = top - g.lift as i32;
            for (part, (values, e)) in g.parts.iter().zip(&results) {
                let src = &values[r * part.width..(r + 1) * part.width];
                let dst = &mut out[r * k + part.start..r * k + part.start + part.width];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = round::shift(v, e[r] - base);
                }
            }
            exps.push(base);
        }
        Ok((out, exps))
    }
}

impl Part {
    /// This group's columns of a `rows × width` row-major matrix, contiguous.
    fn columns(&self, values: &[i8], width: usize) -> Vec<i8> {
        values
            .chunks_exact(width)
            .flat_map(|row| row[self.start..self.start + self.width].iter().copied())
            .collect()
    }

    fn get(&self, row: usize, col: usize) -> i8 {
        self.weights.get(row, col).expect("in range")
    }
}

fn bit_length(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cpu::SimdLevel, rng::Key};

    fn sample(key: Key, n: usize, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                (f64::from(key.word(i as u32, 0, 0)) / f64::from(u32::MAX) * 2.0 - 1.0) * scale
            })
            .collect()
    }

    /// A `n × k` layer in groups of `group` with random values and scales spread over two decades.
    fn layer(n: usize, k: usize, group: usize, ternary: bool) -> FrozenLinear {
        let key = Key(11);
        let values: Vec<i8> = (0..n * k)
            .map(|i| {
                if ternary {
                    key.below(3, i as u32, 0, 0) as i8 - 1
                } else {
                    (key.below(255, i as u32, 1, 0) as i32 - 127) as i8
                }
            })
            .collect();
        let scales: Vec<f64> = (0..n * k.div_ceil(group))
            .map(|i| {
                1e-3 * (1.0 + 99.0 * f64::from(key.word(i as u32, 2, 0)) / f64::from(u32::MAX))
            })
            .collect();
        if ternary {
            FrozenLinear::ternary_grouped(n, k, group, &values, &scales).unwrap()
        } else {
            FrozenLinear::int8_grouped(n, k, group, &values, &scales).unwrap()
        }
    }

    fn rms_error(got: &[f64], want: &[f64], cols: usize) -> f64 {
        got.chunks(cols)
            .zip(want.chunks(cols))
            .map(|(g, w)| {
                let scale = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                let err = g
                    .iter()
                    .zip(w)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                err / scale
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn forward_and_backward_match_f64_with_a_short_last_group() {
        let cpu = Cpu::new();
        let (t, k, n) = (5, 100, 24);
        for ternary in [true, false] {
            let layer = layer(n, k, 32, ternary);
            let w = layer.to_f64();
            let x = Rows::from_f64(k, &sample(Key(5), t * k, 3.0));
            let dy = Rows::from_f64(n, &sample(Key(6), t * n, 1e-3));
            let (xf, dyf) = (x.to_f64(), dy.to_f64());
            let want: Vec<f64> = (0..t * n)
                .map(|i| {
                    (0..k)
                        .map(|j| xf[(i / n) * k + j] * w[(i % n) * k + j])
                        .sum()
                })
                .collect();
            let err = rms_error(&layer.forward(&cpu, &x).unwrap().to_f64(), &want, n);
            // Two int8 digits keep about 14 bits of each activation.
            assert!(
                err < 1e-3,
                "forward, ternary {ternary}: relative error {err}"
            );
            let want: Vec<f64> = (0..t * k)
                .map(|i| {
                    (0..n)
                        .map(|c| dyf[(i / k) * n + c] * w[c * k + i % k])
                        .sum()
                })
                .collect();
            let err = rms_error(&layer.backward(&cpu, &dy).unwrap().to_f64(), &want, k);
            assert!(
                err < 1e-3,
                "backward, ternary {ternary}: relative error {err}"
            );
            // The embedding lookup gives the same rows as the dense weight, to 23 bits of the row's largest value.
            let rows = layer.rows_of(&[3, 0]).to_f64();
            for (j, &r) in [3usize, 0].iter().enumerate() {
                let row = &w[r * k..(r + 1) * k];
                let top = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (a, b) in rows[j * k..(j + 1) * k].iter().zip(row) {
                    assert!((a - b).abs() <= top * 2f64.powi(-22), "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn exact_when_inputs_and_scales_are_powers_of_two() {
        let cpu = Cpu::new();
        // Two groups of 2 columns: scales 1 and 1/4 on row 0, 1/2 and 2 on row 1.
        let layer = FrozenLinear::ternary_grouped(
            2,
            4,
            2,
            &[1, -1, 1, 0, 0, 1, -1, -1],
            &[1.0, 0.25, 0.5, 2.0],
        )
        .unwrap();
        let x = Rows {
            cols: 4,
            mant: vec![8, 4, 12, -16],
            exp: vec![0],
        };
        assert_eq!(layer.forward(&cpu, &x).unwrap().to_f64(), vec![7.0, 10.0]);
        let dy = Rows {
            cols: 2,
            mant: vec![4, 8],
            exp: vec![0],
        };
        // dx[k] = Σ_c dy[c] · W[c][k]: W = [[1, -1, 1/4, 0], [0, 1/2, -2, -2]].
        assert_eq!(
            layer.backward(&cpu, &dy).unwrap().to_f64(),
            vec![4.0, 0.0, -15.0, -16.0]
        );
        assert!(matches!(
            FrozenLinear::ternary_grouped(2, 4, 0, &[0; 8], &[1.0; 4]),
            Err(LinearError::Group(_))
        ));
        assert!(matches!(
            FrozenLinear::int8_grouped(2, 4, 2, &[0; 8], &[1.0; 3]),
            Err(LinearError::Group(_))
        ));
    }

    #[test]
    fn results_do_not_depend_on_threads_or_simd_path() {
        let (t, k, n) = (19, 200, 48);
        let x = Rows::from_f64(k, &sample(Key(7), t * k, 1.0));
        let dy = Rows::from_f64(n, &sample(Key(8), t * n, 1.0));
        for ternary in [true, false] {
            let layer = layer(n, k, 64, ternary);
            let mut seen = None;
            for level in SimdLevel::available() {
                for threads in [1, 2, 3] {
                    let cpu = Cpu::new()
                        .with_threads(threads)
                        .unwrap()
                        .with_simd(level)
                        .unwrap();
                    let got = (
                        layer.forward(&cpu, &x).unwrap(),
                        layer.backward(&cpu, &dy).unwrap(),
                    );
                    match &seen {
                        None => seen = Some(got),
                        Some(first) => assert_eq!(&got, first, "{level:?} × {threads} threads"),
                    }
                }
            }
        }
    }

    #[test]
    fn extreme_inputs_stay_in_range() {
        // Largest mantissas of one sign against all-maximal weights: the worst case of the bounds (overflow checks
        // are on in tests). The two digits of `2^23 − 1` both saturate, which costs about 2^-14 of precision.
        let cpu = Cpu::new();
        for (k, n, group, ternary) in [
            (1536usize, 64usize, 64usize, true),
            (576, 64, 32, false),
            (64, 4096, 32, false),
        ] {
            let v = if ternary { 1 } else { 127 };
            let scales = vec![1.0; n * k.div_ceil(group)];
            let layer = if ternary {
                FrozenLinear::ternary_grouped(n, k, group, &vec![v; n * k], &scales)
            } else {
                FrozenLinear::int8_grouped(n, k, group, &vec![v; n * k], &scales)
            }
            .unwrap();
            let top = (1 << 23) - 1;
            let x = Rows {
                cols: k,
                mant: vec![top; k],
                exp: vec![0],
            };
            let y = layer.forward(&cpu, &x).unwrap().to_f64();
            let want = f64::from(top) * f64::from(v) * k as f64;
            assert!(
                y.iter().all(|&y| (y - want).abs() <= 1e-4 * want),
                "{} vs {want}",
                y[0]
            );
            let dy = Rows {
                cols: n,
                mant: vec![-top; n],
                exp: vec![0],
            };
            let dx = layer.backward(&cpu, &dy).unwrap().to_f64();
            let want = -f64::from(top) * f64::from(v) * n as f64;
            assert!(
                dx.iter().all(|&d| (d - want).abs() <= 1e-4 * want.abs()),
                "{} vs {want}",
                dx[0]
            );
        }
    }

    #[test]
    fn the_split_multiplier_rounds_exactly_as_128_bits() {
        let mut cases: Vec<(i64, u32)> = vec![(0, 0), (1, u32::MAX >> 1), (-1, 1 << 30)];
        for i in 0..20_000u32 {
            let a = i64::from(Key(31).word(i, 0, 0)) << (i % 6) | i64::from(Key(31).word(i, 1, 0));
            let a = if i % 2 == 0 { a } else { -a } >> (i % 29);
            cases.push((a, Key(32).word(i, 0, 0) >> 1));
            // Ties: products ending in exactly half of 2^r.
            cases.push((3 << (i % 9), 1 << (i % 13)));
        }
        for (a, m) in cases {
            for r in 0..20 {
                let want = round::shr_i128(i128::from(a) * i128::from(m), r);
                if let Ok(want) = i64::try_from(want) {
                    assert_eq!(scaled_term(a, m, r), want, "a {a}, m {m}, r {r}");
                }
            }
        }
    }
}
