//! The wide kernels of [`crate::cpu::Wide`] compiled for AVX2 and AVX-512: the portable bodies, inlined into
//! functions that enable the instruction set, so the auto-vectorizer can use it.
#![allow(unsafe_code)]

use super::{Avx2, Avx512Vnni};
use crate::cpu::wide::{self, SimdJob};

macro_rules! wide_kernels {
    (
        $token:ty,
        $features:literal,
        $run:ident,
        $dots:ident,
        $gather:ident,
        $normalize:ident,
        $split:ident
    ) => {
        impl $token {
            /// See [`crate::cpu::Wide::run`].
            #[inline(always)]
            pub(crate) fn run<J: SimdJob>(self, job: J) -> J::Output {
                // SAFETY: the token exists only if `detect` found the features; the job is safe code.
                unsafe { $run(job) }
            }

            /// See [`crate::cpu::Wide::split_i8_digits`].
            pub(crate) fn split_i8_digits(
                self,
                row: &[i64],
                rest: &mut [i64],
                hi: &mut [i8],
                lo: &mut [i8],
            ) -> (u32, u32) {
                // SAFETY: the token exists only if `detect` found the features; the body is safe code.
                unsafe { $split(row, rest, hi, lo) }
            }

            /// See [`crate::cpu::Wide::normalize`].
            pub(crate) fn normalize(self, src: &[i64], bits: u32, out: &mut [i32]) -> u32 {
                // SAFETY: the token exists only if `detect` found the features; the body is safe code.
                unsafe { $normalize(src, bits, out) }
            }

            /// See [`crate::cpu::Wide::dots`].
            pub(crate) fn dots(self, x: &[i32], rows: &[i32], out: &mut [i64]) {
                // SAFETY: the token exists only if `detect` found the features; the body is safe code.
                unsafe { $dots(x, rows, out) }
            }

            /// See [`crate::cpu::Wide::gather`].
            pub(crate) fn gather(
                self,
                acc: &mut [i64],
                coefs: &[i32],
                rows: &[i32],
                stride: usize,
            ) {
                // SAFETY: as in `dots`.
                unsafe { $gather(acc, coefs, rows, stride) }
            }
        }

        #[target_feature(enable = $features)]
        unsafe fn $run<J: SimdJob>(job: J) -> J::Output {
            job.run()
        }

        #[target_feature(enable = $features)]
        unsafe fn $split(
            row: &[i64],
            rest: &mut [i64],
            hi: &mut [i8],
            lo: &mut [i8],
        ) -> (u32, u32) {
            wide::split_i8_digits(row, rest, hi, lo)
        }

        #[target_feature(enable = $features)]
        unsafe fn $normalize(src: &[i64], bits: u32, out: &mut [i32]) -> u32 {
            wide::normalize(src, bits, out)
        }

        #[target_feature(enable = $features)]
        unsafe fn $dots(x: &[i32], rows: &[i32], out: &mut [i64]) {
            wide::dots(x, rows, out)
        }

        #[target_feature(enable = $features)]
        unsafe fn $gather(acc: &mut [i64], coefs: &[i32], rows: &[i32], stride: usize) {
            wide::gather(acc, coefs, rows, stride)
        }
    };
}

wide_kernels!(
    Avx2,
    "avx2",
    run_avx2,
    dots_avx2,
    gather_avx2,
    normalize_avx2,
    split_avx2
);
wide_kernels!(
    Avx512Vnni,
    "avx512f,avx512bw,avx512dq,avx512vl",
    run_avx512,
    dots_avx512,
    gather_avx512,
    normalize_avx512,
    split_avx512
);
