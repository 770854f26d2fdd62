//! The CPU backend: exact integer matmuls with the SIMD path chosen at run time, over all cores.
//!
//! A [`Cpu`] holds a thread count and a [`SimdLevel`]. Its ops compute `out[i][j] = Σ_t x[i][t]·w[j][t]` with
//! i8 operands and i32 results and no rounding anywhere, so every SIMD level and every thread count returns the
//! same bits as the scalar path, and a later wgpu backend can reproduce them exactly.
//!
//! Contract of every op:
//! * operands are i8 in [-127, 127] (activations are checked on every call, weights when packed); excluding
//!   -128 keeps AVX2's `vpsignb`/`vpmaddubsw` products from overflowing i16;
//! * the reduction length `k` is bounded so that no i32 sum can overflow: `127·127·k < 2^31` for i8 × i8
//!   ([`MAX_K_I8`]) and `127·k < 2^31` for i8 × ternary ([`MAX_K_TERNARY`]); longer reductions are an error;
//! * shapes are checked and reported as [`CpuError`], never a panic.
//!
//! How the kernels work: weights are panel-interleaved (see [`crate::tensor::layout`]), so one 64-byte load
//! holds four columns of 16 output rows. AVX-512 VNNI multiplies it with four broadcast activation bytes by
//! `vpdpbusd` into 16 i32 lanes, one per output; AVX2 does the same on 8-row halves with `vpmaddubsw` +
//! `vpmaddwd`. `vpdpbusd` and `vpmaddubsw` want one unsigned operand:
//! * ternary: the unsigned operand is the stored code `w + 1 ∈ {0, 1, 2}`; the kernel subtracts `Σ_t x[i][t]`;
//! * int8 on AVX-512: activations go in as `x + 128` (a xor of the sign bit); the kernel subtracts
//!   `128·Σ_t w[j][t]` (kept in [`crate::tensor::Int8Matrix::row_sums`]);
//! * int8 on AVX2: `|w| · (x·sign(w))`, whose pairwise i16 sums stay ≤ 2·127·127 < 2^15.
//!
//! Intermediate i32 sums may wrap (e.g. `Σ (x+128)·w`), but arithmetic modulo 2^32 is exact and the final value
//! fits in i32 by the bound on `k`, so the result is the true one.
//!
//! Work is split over threads by output rows (or, for few rows, by output panels into scratch buffers); integer
//! addition is associative and each output is computed by exactly one thread, so no result depends on the split.

mod activations;
mod context;
mod error;
mod kernel;
mod scalar;
mod simd_level;
mod split;
mod wide;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use context::{Cpu, MAX_K_I8, MAX_K_TERNARY};
pub use error::CpuError;
pub use simd_level::SimdLevel;
pub use wide::{SimdJob, Wide};
