//! Exact wide kernels: i32 × i32 products summed in i64, for the ops that keep full 23-bit mantissas (attention).
//!
//! Nothing here rounds: every result is the exact integer sum, so the SIMD paths agree with the portable code
//! bit for bit, in any order. Callers keep the sums in range: 23-bit × 23-bit products summed over fewer than
//! 2^17 terms fit in i64.
//!
//! The portable bodies are written for the auto-vectorizer; [`Wide`] runs them compiled for the best instruction
//! set the CPU has (sign-extending loads and `vpmuldq`/`vpmullq` on 256- or 512-bit registers).

use super::kernel::Kernel;

/// The wide kernels of one SIMD level (from [`super::Cpu::wide`]).
#[derive(Debug, Clone, Copy)]
pub struct Wide(pub(super) Kernel);

impl Wide {
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

    /// `acc[c] += Σ_j coefs[j] · rows[j][c]` for the rows of `rows` (each `acc.len()` long).
    pub fn gather(self, acc: &mut [i64], coefs: &[i32], rows: &[i32]) {
        assert_eq!(
            rows.len(),
            acc.len() * coefs.len(),
            "gather: shape mismatch"
        );
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.gather(acc, coefs, rows),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.gather(acc, coefs, rows),
            Kernel::Scalar => gather(acc, coefs, rows),
        }
    }

    /// `accs[j][c] += coefs[j] · x[c]` for the rows of `accs` (each `x.len()` long).
    pub fn scatter(self, accs: &mut [i64], coefs: &[i32], x: &[i32]) {
        assert_eq!(accs.len(), x.len() * coefs.len(), "scatter: shape mismatch");
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(t) => t.scatter(accs, coefs, x),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => t.scatter(accs, coefs, x),
            Kernel::Scalar => scatter(accs, coefs, x),
        }
    }
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

/// See [`Wide::gather`]; `rows.len() == acc.len() · coefs.len()`.
#[inline(always)]
pub(super) fn gather(acc: &mut [i64], coefs: &[i32], rows: &[i32]) {
    if acc.is_empty() {
        return;
    }
    for (&c, row) in coefs.iter().zip(rows.chunks_exact(acc.len())) {
        if c == 0 {
            continue;
        }
        let c = i64::from(c);
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += c * i64::from(v);
        }
    }
}

/// See [`Wide::scatter`]; `accs.len() == x.len() · coefs.len()`.
#[inline(always)]
pub(super) fn scatter(accs: &mut [i64], coefs: &[i32], x: &[i32]) {
    if x.is_empty() {
        return;
    }
    for (&c, acc) in coefs.iter().zip(accs.chunks_exact_mut(x.len())) {
        if c == 0 {
            continue;
        }
        let c = i64::from(c);
        for (a, &v) in acc.iter_mut().zip(x) {
            *a += c * i64::from(v);
        }
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
            let want_scatter: Vec<i64> = (0..n * width)
                .map(|i| i64::from(coefs[i / width]) * i64::from(x[i % width]))
                .collect();
            for level in SimdLevel::available() {
                let wide = Cpu::new().with_simd(level).unwrap().wide();
                let mut out = vec![7; n];
                wide.dots(&x, &rows, &mut out);
                assert_eq!(out, want_dots, "{level} dots, width {width}");
                let mut acc = vec![0; width];
                wide.gather(&mut acc, &coefs, &rows);
                assert_eq!(acc, want_gather, "{level} gather, width {width}");
                let mut accs = vec![0; n * width];
                wide.scatter(&mut accs, &coefs, &x);
                assert_eq!(accs, want_scatter, "{level} scatter, width {width}");
            }
        }
    }
}
