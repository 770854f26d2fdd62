//! AVX2 kernels. A 64-byte weight chunk (see [`crate::tensor::layout`]) is two 256-bit halves of 8 output rows;
//! `vpmaddubsw` multiplies unsigned by signed bytes and adds pairs into i16, `vpmaddwd` by ones adds those pairs
//! into the 8 i32 lanes, one per output row. A register tile is up to 4 activation rows × one panel.
//!
//! * ternary: unsigned operand = weight code `w + 1 ∈ {0, 1, 2}`, signed = activation; a pair is at most
//!   2·2·127 in size, so a whole reduction span accumulates in i16 before one `vpmaddwd`. The tile subtracts
//!   each activation row's sum.
//! * int8: unsigned operand = `|w|`, signed = `x·sign(w)` (`vpsignb`); with both in [-127, 127] a pair is at
//!   most 2·127·127 = 32 258 < 2^15, so `vpmaddubsw` never saturates.
#![allow(unsafe_code)]

use super::{K_CHUNK, Span, spans};
use crate::cpu::activations::ActivationBlock;
use crate::cpu::kernel::OutTile;
use crate::tensor::layout::{CHUNK_BYTES, K_BLOCK, PANEL_ROWS};
use crate::tensor::{Int8Matrix, TernaryMatrix};
use std::arch::x86_64::*;
use std::ops::Range;

/// Activation rows per register tile: 4 rows × 2 halves = 8 accumulators of the 16 ymm registers.
const ROWS: usize = 4;

/// Proof that this CPU has AVX2.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// The token, if the CPU has AVX2.
    pub(crate) fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Self(()))
    }

    /// See [`crate::cpu::kernel::Kernel::ternary`].
    pub(crate) fn ternary(
        self,
        x: &ActivationBlock,
        w: &TernaryMatrix,
        panels: Range<usize>,
        out: &mut OutTile<'_>,
    ) {
        // SAFETY: the token exists only if `detect` found AVX2, and `Kernel::ternary` checked the tile's bounds
        // (`check_tile`) before calling.
        unsafe { ternary_tile(x, w, panels, out) }
    }

    /// See [`crate::cpu::kernel::Kernel::int8`].
    pub(crate) fn int8(
        self,
        x: &ActivationBlock,
        w: &Int8Matrix,
        panels: Range<usize>,
        out: &mut OutTile<'_>,
    ) {
        // SAFETY: as in `ternary`: AVX2 detected, bounds checked by `Kernel::int8`.
        unsafe { int8_tile(x, w, panels, out) }
    }
}

/// `maskstore` masks of the two 8-row halves of panel `q` of a tile with `cols` valid columns.
#[target_feature(enable = "avx2")]
fn lane_masks(cols: usize, q: usize) -> [__m256i; 2] {
    let valid = cols.saturating_sub(q * PANEL_ROWS).min(PANEL_ROWS) as i32;
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    [
        _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lanes),
        _mm256_cmpgt_epi32(_mm256_set1_epi32(valid - 8), lanes),
    ]
}

/// Walks the tile: panels outside (their weights stay in L1), groups of [`ROWS`] activation rows inside.
///
/// # Safety
/// The CPU has AVX2; the tile satisfies `check_tile`.
#[target_feature(enable = "avx2")]
unsafe fn ternary_tile(
    x: &ActivationBlock,
    w: &TernaryMatrix,
    panels: Range<usize>,
    out: &mut OutTile<'_>,
) {
    let (kp, panel_bytes) = (x.padded_k, w.panel_bytes());
    let weights = &w.packed_bytes()[panels.start * panel_bytes..panels.end * panel_bytes];
    for q in 0..panels.len() {
        let masks = lane_masks(out.cols, q);
        for (start, k) in spans(kp) {
            let wq = weights[q * panel_bytes + start / K_BLOCK * CHUNK_BYTES..].as_ptr();
            let mut i = 0;
            while i < x.rows {
                let mr = (x.rows - i).min(ROWS);
                let xp = x.bytes[i * kp + start..].as_ptr();
                let sums = x.sums[i..].as_ptr();
                let o = out.data[i * out.stride + q * PANEL_ROWS..].as_mut_ptr();
                // SAFETY: `xp` has `mr` rows (stride `kp`) with `k.len` bytes from it, `sums` `mr` values, `wq` the
                // panel's `k.len / 16` chunks from `start`, and `o` has `mr` rows of `stride` whose masked lanes
                // are valid columns.
                unsafe {
                    match mr {
                        1 => ternary_micro::<1>(xp, k, sums, wq, o, out.stride, masks),
                        2 => ternary_micro::<2>(xp, k, sums, wq, o, out.stride, masks),
                        3 => ternary_micro::<3>(xp, k, sums, wq, o, out.stride, masks),
                        _ => ternary_micro::<4>(xp, k, sums, wq, o, out.stride, masks),
                    }
                }
                i += mr;
            }
        }
    }
}

/// One register tile: `MR` activation rows × one panel (two halves), over the whole reduction.
///
/// # Safety
/// AVX2 present; pointers as described at the call in [`ternary_tile`].
#[target_feature(enable = "avx2")]
unsafe fn ternary_micro<const MR: usize>(
    x: *const u8,
    k: Span,
    sums: *const i32,
    w: *const u8,
    out: *mut i32,
    stride: usize,
    masks: [__m256i; 2],
) {
    let three = _mm256_set1_epi8(3);
    let ones = _mm256_set1_epi16(1);
    // i16 sums: one span adds at most K_CHUNK / 4 = 64 `vpmaddubsw` pairs of size ≤ 2·2·127 into each lane,
    // 64·508 = 32 512 < 2^15, so they are exact and widen once at the end.
    const { assert!(K_CHUNK <= 256) };
    let mut acc = [[_mm256_setzero_si256(); 2]; MR];
    for block in 0..k.len / K_BLOCK {
        // SAFETY: chunk `block` of the panel lies inside it.
        let mut packed = unsafe {
            let chunk = w.add(block * CHUNK_BYTES);
            [
                _mm256_loadu_si256(chunk.cast()),
                _mm256_loadu_si256(chunk.add(32).cast()),
            ]
        };
        for f in 0..4 {
            // 16-bit shifts pull bits across byte boundaries, but the mask keeps only each byte's own two bits.
            let codes = [
                _mm256_and_si256(packed[0], three),
                _mm256_and_si256(packed[1], three),
            ];
            for (i, acc) in acc.iter_mut().enumerate() {
                // SAFETY: row `i < MR` holds `k.len` bytes and `block·16 + 4f + 4 ≤ k.len`.
                let four = unsafe {
                    x.add(i * k.stride + block * K_BLOCK + 4 * f)
                        .cast::<i32>()
                        .read_unaligned()
                };
                let xv = _mm256_set1_epi32(four);
                for h in 0..2 {
                    acc[h] = _mm256_add_epi16(acc[h], _mm256_maddubs_epi16(codes[h], xv));
                }
            }
            packed = [
                _mm256_srli_epi16::<2>(packed[0]),
                _mm256_srli_epi16::<2>(packed[1]),
            ];
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        // SAFETY: `sums` holds `MR` values.
        let sum = _mm256_set1_epi32(unsafe { sums.add(i).read() });
        for (h, &acc) in acc.iter().enumerate() {
            let acc = _mm256_madd_epi16(acc, ones);
            // SAFETY: the masked lanes of row `i`, half `h` are valid output columns.
            unsafe { store(out.add(i * stride + 8 * h), masks[h], acc, sum, k.first) };
        }
    }
}

/// As [`ternary_tile`], for int8 weights.
///
/// # Safety
/// The CPU has AVX2; the tile satisfies `check_tile`.
#[target_feature(enable = "avx2")]
unsafe fn int8_tile(
    x: &ActivationBlock,
    w: &Int8Matrix,
    panels: Range<usize>,
    out: &mut OutTile<'_>,
) {
    let (kp, panel_len) = (x.padded_k, w.panel_len());
    let weights = &w.packed_values()[panels.start * panel_len..panels.end * panel_len];
    for q in 0..panels.len() {
        let masks = lane_masks(out.cols, q);
        for (start, k) in spans(kp) {
            let wq = weights[q * panel_len + start / 4 * CHUNK_BYTES..].as_ptr();
            let mut i = 0;
            while i < x.rows {
                let mr = (x.rows - i).min(ROWS);
                let xp = x.bytes[i * kp + start..].as_ptr();
                let o = out.data[i * out.stride + q * PANEL_ROWS..].as_mut_ptr();
                // SAFETY: `xp` has `mr` rows (stride `kp`) with `k.len` bytes from it, `wq` the panel's `k.len / 4`
                // chunks from `start`, and `o` has `mr` rows of `stride` whose masked lanes are valid columns.
                unsafe {
                    match mr {
                        1 => int8_micro::<1>(xp, k, wq, o, out.stride, masks),
                        2 => int8_micro::<2>(xp, k, wq, o, out.stride, masks),
                        3 => int8_micro::<3>(xp, k, wq, o, out.stride, masks),
                        _ => int8_micro::<4>(xp, k, wq, o, out.stride, masks),
                    }
                }
                i += mr;
            }
        }
    }
}

/// One int8 register tile: `MR` activation rows × one panel (two halves), over the whole reduction.
///
/// # Safety
/// AVX2 present; pointers as described at the call in [`int8_tile`].
#[target_feature(enable = "avx2")]
unsafe fn int8_micro<const MR: usize>(
    x: *const u8,
    k: Span,
    w: *const i8,
    out: *mut i32,
    stride: usize,
    masks: [__m256i; 2],
) {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; MR];
    for group in 0..k.len / 4 {
        // SAFETY: chunk `group` of the panel lies inside it.
        let weights = unsafe {
            let chunk = w.add(group * CHUNK_BYTES);
            [
                _mm256_loadu_si256(chunk.cast()),
                _mm256_loadu_si256(chunk.add(32).cast()),
            ]
        };
        let magnitudes = [_mm256_abs_epi8(weights[0]), _mm256_abs_epi8(weights[1])];
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row `i < MR` holds `k.len` bytes and `4·group + 4 ≤ k.len`.
            let four = unsafe {
                x.add(i * k.stride + 4 * group)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let xv = _mm256_set1_epi32(four);
            for h in 0..2 {
                let pairs = _mm256_maddubs_epi16(magnitudes[h], _mm256_sign_epi8(xv, weights[h]));
                acc[h] = _mm256_add_epi32(acc[h], _mm256_madd_epi16(pairs, ones));
            }
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        for (h, &acc) in acc.iter().enumerate() {
            // SAFETY: the masked lanes of row `i`, half `h` are valid output columns.
            unsafe {
                store(
                    out.add(i * stride + 8 * h),
                    masks[h],
                    acc,
                    _mm256_setzero_si256(),
                    k.first,
                )
            };
        }
    }
}

/// Writes the masked lanes of `acc − correction` on the first pass, adds `acc` to them on later ones.
///
/// # Safety
/// AVX2 present; the masked lanes of `out` are valid to read and write.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store(out: *mut i32, mask: __m256i, acc: __m256i, correction: __m256i, first: bool) {
    let result = if first {
        _mm256_sub_epi32(acc, correction)
    } else {
        // SAFETY: the caller guarantees the masked lanes are valid.
        _mm256_add_epi32(acc, unsafe { _mm256_maskload_epi32(out, mask) })
    };
    // SAFETY: as above.
    unsafe { _mm256_maskstore_epi32(out, mask, result) };
}
