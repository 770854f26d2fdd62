//! The wide kernels of [`crate::cpu::Wide`] compiled for AVX2 and AVX-512: the portable bodies, inlined into
//! functions that enable the instruction set, so the auto-vectorizer can use it.
#![allow(unsafe_code)]

use super::{Avx2, Avx512Vnni};
use crate::cpu::wide;

macro_rules! wide_kernels {
    ($token:ty, $features:literal, $dots:ident, $gather:ident, $scatter:ident) => {
        impl $token {
            /// See [`crate::cpu::Wide::dots`].
            pub(crate) fn dots(self, x: &[i32], rows: &[i32], out: &mut [i64]) {
                // SAFETY: the token exists only if `detect` found the features; the body is safe code.
                unsafe { $dots(x, rows, out) }
            }

            /// See [`crate::cpu::Wide::gather`].
            pub(crate) fn gather(self, acc: &mut [i64], coefs: &[i32], rows: &[i32]) {
                // SAFETY: as in `dots`.
                unsafe { $gather(acc, coefs, rows) }
            }

            /// See [`crate::cpu::Wide::scatter`].
            pub(crate) fn scatter(self, accs: &mut [i64], coefs: &[i32], x: &[i32]) {
                // SAFETY: as in `dots`.
                unsafe { $scatter(accs, coefs, x) }
            }
        }

        #[target_feature(enable = $features)]
        unsafe fn $dots(x: &[i32], rows: &[i32], out: &mut [i64]) {
            wide::dots(x, rows, out)
        }

        #[target_feature(enable = $features)]
        unsafe fn $gather(acc: &mut [i64], coefs: &[i32], rows: &[i32]) {
            wide::gather(acc, coefs, rows)
        }

        #[target_feature(enable = $features)]
        unsafe fn $scatter(accs: &mut [i64], coefs: &[i32], x: &[i32]) {
            wide::scatter(accs, coefs, x)
        }
    };
}

wide_kernels!(Avx2, "avx2", dots_avx2, gather_avx2, scatter_avx2);
wide_kernels!(
    Avx512Vnni,
    "avx512f,avx512bw,avx512dq,avx512vl",
    dots_avx512,
    gather_avx512,
    scatter_avx512
);
