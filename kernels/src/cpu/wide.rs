//! Exact wide kernels: i32 × i32 products summed in i64, for the ops that keep full 23-bit mantissas (attention).
//!
//! Nothing here rounds: every result is the exact integer sum, so the SIMD paths agree with the portable code
//! bit for bit, in any order. Callers keep the sums in range: 23-bit × 23-bit products summed over fewer than
//! 2^17 terms fit in i64.
//!
//! The portable bodies are written for the auto-vectorizer; [`Wide`] runs them compiled for the best instruction
//! set the CPU has (sign-extending loads and `vpmuldq`/`vpmullq` on 256- or 512-bit registers).

use std::sync::OnceLock;

use super::{SimdLevel, kernel::Kernel};
use crate::fixed::{bfp, round};

/// Element-wise work for [`Wide::run`]. Implement `run` with `#[inline(always)]` (a closure cannot be forced
/// inline into the instruction-set-enabled caller, a trait method can).
pub trait SimdJob {
    /// What the job returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

/// The wide kernels of one SIMD level (from [`super::Cpu::wide`]).
#[derive(Debug, Clone, Copy)]
pub struct Wide(pub(super) Kernel);

impl Wide {
    /// The kernels at the best level this CPU has, for element-wise ops that run outside a [`super::Cpu`]'s
    /// matmuls (their results are exact, so the level never changes a bit).
    pub fn detected() -> Wide {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        Wide(*BEST.get_or_init(|| Kernel::new(SimdLevel::detect()).unwrap_or(Kernel::Scalar)))
    }

    /// Runs `job` compiled for this level's instruction set: the job's `run`, with the `#[inline(always)]`
    /// helpers it calls, is vectorized for the level's registers. For exact element-wise integer code, whose
    /// result cannot depend on the level.
    #[inline(always)]
    pub fn run<J: SimdJob>(self, job: J) -> J::Output {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.run(job),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.run(job),
            Kernel::Scalar => job.run(),
        }
    }

    /// Block-normalizes `src` to `bits` magnitude bits: `out[i] = clamp(round_half_even(src[i] / 2^shift))` with
    /// `shift = max(0, bit_length(max |src|) − bits)` and the clamp at `±(2^bits − 1)`; returns `shift`.
    pub fn normalize(self, src: &[i64], bits: u32, out: &mut [i32]) -> u32 {
        assert_eq!(src.len(), out.len(), "normalize: length mismatch");
        assert!((1..=31).contains(&bits), "normalize: {bits} bits");
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.normalize(src, bits, out),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.normalize(src, bits, out),
            Kernel::Scalar => normalize(src, bits, out),
        }
    }

    /// Splits a row into two int8 digits, `row ≈ hi · 2^s1 + lo · 2^s2` (each in [-127, 127]): `s1` from the row's
    /// absolute maximum, `lo` from the exact remainder with `s2 ≥ max(s1 − 24, 0)`; `rest` is scratch of the row's
    /// length. Returns `(s1, s2)`.
    pub fn split_i8_digits(
        self,
        row: &[i64],
        rest: &mut [i64],
        hi: &mut [i8],
        lo: &mut [i8],
    ) -> (u32, u32) {
        assert!(
            row.len() == rest.len() && row.len() == hi.len() && row.len() == lo.len(),
            "split_i8_digits: length mismatch"
        );
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.split_i8_digits(row, rest, hi, lo),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.split_i8_digits(row, rest, hi, lo),
            Kernel::Scalar => split_i8_digits(row, rest, hi, lo),
        }
    }

    /// `out[j] = Σ_c x[c] · rows[j][c]` for the rows of `rows` (each `x.len()` long).
    pub fn dots(self, x: &[i32], rows: &[i32], out: &mut [i64]) {
        assert_eq!(rows.len(), x.len() * out.len(), "dots: shape mismatch");
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.dots(x, rows, out),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.dots(x, rows, out),
            Kernel::Scalar => dots(x, rows, out),
        }
    }

    /// `acc[c] += Σ_j coefs[j] · rows[j·stride + c]`: row `j` of `rows` starts at `j · stride` and its first
    /// `acc.len()` values are used (`stride = acc.len()` for packed rows).
    pub fn gather(self, acc: &mut [i64], coefs: &[i32], rows: &[i32], stride: usize) {
        assert!(
            stride >= acc.len()
                && (coefs.is_empty() || rows.len() >= (coefs.len() - 1) * stride + acc.len()),
            "gather: shape mismatch"
        );
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.gather(acc, coefs, rows, stride),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.gather(acc, coefs, rows, stride),
            Kernel::Scalar => gather(acc, coefs, rows, stride),
        }
    }
}

/// See [`Wide::normalize`].
#[inline(always)]
pub(super) fn normalize(src: &[i64], bits: u32, out: &mut [i32]) -> u32 {
    // Branch-free max of |v| (as u64, so i64::MIN is 2^63), for the vectorizer.
    let absmax = src.iter().fold(0u64, |m, &v| m.max(v.unsigned_abs()));
    let shift = bfp::block_shift(absmax, bits);
    let limit = (1i64 << bits) - 1;
    for (o, &v) in out.iter_mut().zip(src) {
        *o = round::shr(v, shift).clamp(-limit, limit) as i32;
    }
    shift
}

/// See [`Wide::split_i8_digits`].
#[inline(always)]
pub(super) fn split_i8_digits(
    row: &[i64],
    rest: &mut [i64],
    hi: &mut [i8],
    lo: &mut [i8],
) -> (u32, u32) {
    let s1 = bfp::block_shift(row.iter().fold(0u64, |m, &v| m.max(v.unsigned_abs())), 7);
    for ((r, h), &v) in rest.iter_mut().zip(hi.iter_mut()).zip(row) {
        let q = round::shr(v, s1).clamp(-127, 127);
        *h = q as i8;
        *r = v - (q << s1);
    }
    let s2 = bfp::block_shift(rest.iter().fold(0u64, |m, &v| m.max(v.unsigned_abs())), 7)
        .max(s1.saturating_sub(24));
    for (l, &r) in lo.iter_mut().zip(rest.iter()) {
        *l = round::shr(r, s2).clamp(-127, 127) as i8;
    }
    (s1, s2)
}

/// See [`Wide::dots`]; `rows.len() == x.len() · out.len()`.
#[inline(always)]
pub(super) fn dots(x: &[i32], rows: &[i32], out: &mut [i64]) {
    if x.is_empty() {
        out.fill(0);
        return;
    }
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(x.len())) {
        *o = x
            .iter()
            .zip(row)
            .map(|(&a, &b)| i64::from(a) * i64::from(b))
            .sum();
    }
}

/// See [`Wide::gather`].
#[inline(always)]
pub(super) fn gather(acc: &mut [i64], coefs: &[i32], rows: &[i32], stride: usize) {
    // Column blocks of 32, summed in a local array the compiler keeps in registers across all rows, so each row
    // costs its loads and multiply-adds only.
    const BLOCK: usize = 32;
    let width = acc.len();
    let mut start = 0;
    while start < width {
        let len = BLOCK.min(width - start);
        let mut local = [0i64; BLOCK];
        for (j, &c) in coefs.iter().enumerate() {
            let c = i64::from(c);
            let at = j * stride + start;
            if len == BLOCK {
                let row: &[i32; BLOCK] = rows[at..at + BLOCK].try_into().expect("block");
                for (l, &v) in local.iter_mut().zip(row) {
                    *l += c * i64::from(v);
                }
            } else {
                for (l, &v) in local.iter_mut().zip(&rows[at..at + len]) {
                    *l += c * i64::from(v);
                }
            }
        }
        for (a, l) in acc[start..start + len].iter_mut().zip(&local) {
            *a += l;
        }
        start += len;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cpu, SimdLevel};
    use crate::rng::Key;

    fn values(key: Key, n: usize) -> Vec<i32> {
        (0..n)
            .map(|i| (key.word(i as u32, 0, 0) >> 9) as i32 - (1 << 22))
            .collect()
    }

    #[test]
    fn every_level_gives_the_exact_sums() {
        for width in [1, 7, 64, 67] {
            let n = 13;
            let (x, rows, coefs) = (
                values(Key(1), width),
                values(Key(2), width * n),
                values(Key(3), n),
            );
            let want_dots: Vec<i64> = (0..n)
                .map(|j| {
                    (0..width)
                        .map(|c| i64::from(x[c]) * i64::from(rows[j * width + c]))
                        .sum()
                })
                .collect();
            let want_gather: Vec<i64> = (0..width)
                .map(|c| {
                    (0..n)
                        .map(|j| i64::from(coefs[j]) * i64::from(rows[j * width + c]))
                        .sum()
                })
                .collect();
            let wide_src: Vec<i64> = (0..n * width)
                .map(|i| (i64::from(rows[i]) * i64::from(coefs[i / width])) >> (i % 40))
                .collect();
            for level in SimdLevel::available() {
                let wide = Cpu::new().with_simd(level).unwrap().wide();
                for bits in [7, 15, 23] {
                    let (mut want, mut got) = (vec![0; n * width], vec![0; n * width]);
                    let want_shift = super::normalize(&wide_src, bits, &mut want);
                    assert_eq!(wide.normalize(&wide_src, bits, &mut got), want_shift);
                    assert_eq!(got, want, "{level} normalize to {bits} bits");
                    let (m, e) = crate::ops::rows::normalize_row(&wide_src, 0);
                    if bits == 23 {
                        assert_eq!((m, e as u32), (want.clone(), want_shift));
                    }
                }
                let mut out = vec![7; n];
                wide.dots(&x, &rows, &mut out);
                assert_eq!(out, want_dots, "{level} dots, width {width}");
                let mut acc = vec![0; width];
                wide.gather(&mut acc, &coefs, &rows, width);
                assert_eq!(acc, want_gather, "{level} gather, width {width}");
                // Strided: the first width − 1 columns of each row.
                let mut acc = vec![0; width - 1];
                wide.gather(&mut acc, &coefs, &rows, width);
                assert_eq!(acc[..], want_gather[..width - 1], "{level} strided gather");
                let mut acc = vec![0; width];
                wide.gather(&mut acc, &coefs, &rows, width);
                assert_eq!(acc, want_gather, "{level} gather, width {width}");
                let (mut rest, mut hi, mut lo) =
                    (vec![0; n * width], vec![0; n * width], vec![0; n * width]);
                let (s1, s2) = wide.split_i8_digits(&wide_src, &mut rest, &mut hi, &mut lo);
                let (mut want_hi, mut want_lo) = (vec![0; n * width], vec![0; n * width]);
                assert_eq!(
                    (s1, s2),
                    super::split_i8_digits(&wide_src, &mut rest, &mut want_hi, &mut want_lo)
                );
                assert_eq!((&hi, &lo), (&want_hi, &want_lo), "{level} split");
                // The digits recompose the row to within half a step of the low digit.
                for ((&v, &h), &l) in wide_src.iter().zip(&hi).zip(&lo) {
                    let back = (i64::from(h) << s1) + (i64::from(l) << s2);
                    assert!((back - v).abs() <= 1i64 << s2, "{v} vs {back}");
                }
            }
        }
    }
}
