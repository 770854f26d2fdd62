//! AVX-512 VNNI kernels: `vpdpbusd` multiplies 64 unsigned bytes with 64 signed bytes and adds each group of
//! four products into one of 16 i32 lanes. A 64-byte weight chunk (see [`crate::tensor::layout`]) has its 16
//! lanes on 16 output rows, so one `vpdpbusd` with four broadcast activation bytes advances 16 outputs by four
//! columns. A register tile is up to 8 activation rows × 2 panels (16 accumulators).
//!
//! * ternary: the unsigned operand is the weight code `w + 1`, the signed one the activation; the tile then
//!   subtracts each activation row's sum.
//! * int8: the unsigned operand is the activation stored as `x + 128`, the signed one the weight; the tile then
//!   subtracts `128·Σ_t w[j][t]`.
//!
//! Sums wrap modulo 2^32 on the way (e.g. `Σ (x+128)·w` can pass 2^31); the corrected result is exact.
#![allow(unsafe_code)]

use super::{Span, TILE_ROWS, by_rows, spans};
use crate::cpu::activations::ActivationBlock;
use crate::cpu::kernel::OutTile;
use crate::tensor::layout::{CHUNK_BYTES, K_BLOCK, PANEL_ROWS};
use crate::tensor::{Int8Matrix, TernaryMatrix};
use std::arch::x86_64::*;
use std::ops::Range;

/// Proof that this CPU has AVX-512 F, BW, DQ, VL and VNNI.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512Vnni(());

impl Avx512Vnni {
    /// The token, if the CPU has the features.
    pub(crate) fn detect() -> Option<Self> {
        let found = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
            // For the wide kernels (64-bit lane products); every VNNI CPU has them.
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl");
        found.then_some(Self(()))
    }

    /// See [`crate::cpu::kernel::Kernel::ternary`].
    pub(crate) fn ternary(
        self,
        x: &ActivationBlock,
        w: &TernaryMatrix,
        panels: Range<usize>,
        out: &mut OutTile<'_>,
    ) {
        // SAFETY: the token exists only if `detect` found the features `ternary_tile` enables, and
        // `Kernel::ternary` checked the tile's bounds (`check_tile`) before calling.
        unsafe { ternary_tile(x, w, panels, out) }
    }

    /// See [`crate::cpu::kernel::Kernel::int8`]; `x` must be packed as `x + 128`.
    pub(crate) fn int8(
        self,
        x: &ActivationBlock,
        w: &Int8Matrix,
        panels: Range<usize>,
        out: &mut OutTile<'_>,
    ) {
        // SAFETY: as in `ternary`: features detected, bounds checked by `Kernel::int8`.
        unsafe { int8_tile(x, w, panels, out) }
    }
}

/// Store mask for panel `q` of a tile with `cols` valid columns.
fn lane_mask(cols: usize, q: usize) -> u16 {
    let valid = cols.saturating_sub(q * PANEL_ROWS).min(PANEL_ROWS);
    if valid == PANEL_ROWS {
        u16::MAX
    } else {
        (1u16 << valid) - 1
    }
}

/// Walks the tile: pairs of panels outside (so their weights stay in L1), row groups of [`TILE_ROWS`] inside.
///
/// # Safety
/// The CPU has AVX-512 F/BW/VNNI; the tile satisfies `check_tile`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn ternary_tile(
    x: &ActivationBlock,
    w: &TernaryMatrix,
    panels: Range<usize>,
    out: &mut OutTile<'_>,
) {
    let (kp, panel_bytes) = (x.padded_k, w.panel_bytes());
    let weights = &w.packed_bytes()[panels.start * panel_bytes..panels.end * panel_bytes];
    let npanels = panels.len();
    let mut q = 0;
    while q < npanels {
        let np = (npanels - q).min(2);
        let masks = [lane_mask(out.cols, q), lane_mask(out.cols, q + 1)];
        for (start, k) in spans(kp) {
            let wq = weights[q * panel_bytes + start / K_BLOCK * CHUNK_BYTES..].as_ptr();
            let mut i = 0;
            while i < x.rows {
                let mr = (x.rows - i).min(TILE_ROWS);
                let xp = x.bytes[i * kp + start..].as_ptr();
                let sums = x.sums[i..].as_ptr();
                let o = out.data[i * out.stride + q * PANEL_ROWS..].as_mut_ptr();
                // SAFETY: `xp` has `mr` rows (stride `kp`) with `k.len` bytes from it, `sums` `mr` values, `wq`
                // `np` panels of `panel_bytes` with `k.len / 16` chunks from `start`, and `o` has `mr` rows of
                // `stride` whose masked lanes are valid columns.
                unsafe {
                    if np == 2 {
                        by_rows!(
                            mr,
                            ternary_micro::<_, 2>(
                                xp,
                                k,
                                sums,
                                wq,
                                panel_bytes,
                                o,
                                out.stride,
                                masks
                            )
                        );
                    } else {
                        by_rows!(
                            mr,
                            ternary_micro::<_, 1>(
                                xp,
                                k,
                                sums,
                                wq,
                                panel_bytes,
                                o,
                                out.stride,
                                masks
                            )
                        );
                    }
                }
                i += mr;
            }
        }
        q += np;
    }
}

/// One register tile: `MR` activation rows × `NP` panels, over the whole reduction.
///
/// # Safety
/// AVX-512 F/BW/VNNI present; pointers as described at the call in [`ternary_tile`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn ternary_micro<const MR: usize, const NP: usize>(
    x: *const u8,
    k: Span,
    sums: *const i32,
    w: *const u8,
    panel_bytes: usize,
    out: *mut i32,
    stride: usize,
    masks: [u16; 2],
) {
    let three = _mm512_set1_epi8(3);
    let mut acc = [[_mm512_setzero_si512(); NP]; MR];
    for block in 0..k.len / K_BLOCK {
        let mut codes = [[_mm512_setzero_si512(); 4]; NP];
        for (p, codes) in codes.iter_mut().enumerate() {
            // SAFETY: chunk `block` of panel `p` lies inside the `NP` panels the caller passed.
            let packed =
                unsafe { _mm512_loadu_si512(w.add(p * panel_bytes + block * CHUNK_BYTES).cast()) };
            // 16-bit shifts pull bits across byte boundaries, but the mask keeps only each byte's own two bits.
            *codes = [
                _mm512_and_si512(packed, three),
                _mm512_and_si512(_mm512_srli_epi16::<2>(packed), three),
                _mm512_and_si512(_mm512_srli_epi16::<4>(packed), three),
                _mm512_and_si512(_mm512_srli_epi16::<6>(packed), three),
            ];
        }
        #[allow(clippy::needless_range_loop)] // `f` picks both the codes and the activation bytes
        for f in 0..4 {
            for (i, acc) in acc.iter_mut().enumerate() {
                // SAFETY: row `i < MR` holds `k.len` bytes and `block·16 + 4f + 4 ≤ k.len`.
                let four = unsafe {
                    x.add(i * k.stride + block * K_BLOCK + 4 * f)
                        .cast::<i32>()
                        .read_unaligned()
                };
                let xv = _mm512_set1_epi32(four);
                for p in 0..NP {
                    acc[p] = _mm512_dpbusd_epi32(acc[p], codes[p][f], xv);
                }
            }
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        // SAFETY: `sums` holds `MR` values.
        let sum = _mm512_set1_epi32(unsafe { sums.add(i).read() });
        for (p, &acc) in acc.iter().enumerate() {
            // SAFETY: the masked lanes of row `i`, panel `p` are valid output columns.
            unsafe {
                store(
                    out.add(i * stride + p * PANEL_ROWS),
                    masks[p],
                    acc,
                    sum,
                    k.first,
                )
            };
        }
    }
}

/// As [`ternary_tile`], for int8 weights.
///
/// # Safety
/// The CPU has AVX-512 F/BW/VNNI; the tile satisfies `check_tile`; `x` is packed as `x + 128`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn int8_tile(
    x: &ActivationBlock,
    w: &Int8Matrix,
    panels: Range<usize>,
    out: &mut OutTile<'_>,
) {
    let (kp, panel_len) = (x.padded_k, w.panel_len());
    let weights = &w.packed_values()[panels.start * panel_len..panels.end * panel_len];
    let row_sums = &w.row_sums()[panels.start * PANEL_ROWS..panels.end * PANEL_ROWS];
    let npanels = panels.len();
    let mut q = 0;
    while q < npanels {
        let np = (npanels - q).min(2);
        let masks = [lane_mask(out.cols, q), lane_mask(out.cols, q + 1)];
        let wsums = row_sums[q * PANEL_ROWS..].as_ptr();
        for (start, k) in spans(kp) {
            let wq = weights[q * panel_len + start / 4 * CHUNK_BYTES..].as_ptr();
            let mut i = 0;
            while i < x.rows {
                let mr = (x.rows - i).min(TILE_ROWS);
                let xp = x.bytes[i * kp + start..].as_ptr();
                let o = out.data[i * out.stride + q * PANEL_ROWS..].as_mut_ptr();
                // SAFETY: `xp` has `mr` rows (stride `kp`) with `k.len` bytes from it, `wq` `np` panels of
                // `panel_len` with `k.len / 4` chunks from `start`, `wsums` `16·np` values, and `o` has `mr` rows
                // of `stride` whose masked lanes are valid.
                unsafe {
                    if np == 2 {
                        by_rows!(
                            mr,
                            int8_micro::<_, 2>(xp, k, wq, panel_len, wsums, o, out.stride, masks)
                        );
                    } else {
                        by_rows!(
                            mr,
                            int8_micro::<_, 1>(xp, k, wq, panel_len, wsums, o, out.stride, masks)
                        );
                    }
                }
                i += mr;
            }
        }
        q += np;
    }
}

/// One int8 register tile: `MR` activation rows × `NP` panels, over the whole reduction.
///
/// # Safety
/// AVX-512 F/BW/VNNI present; pointers as described at the call in [`int8_tile`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn int8_micro<const MR: usize, const NP: usize>(
    x: *const u8,
    k: Span,
    w: *const i8,
    panel_len: usize,
    wsums: *const i32,
    out: *mut i32,
    stride: usize,
    masks: [u16; 2],
) {
    let mut acc = [[_mm512_setzero_si512(); NP]; MR];
    for group in 0..k.len / 4 {
        let mut weights = [_mm512_setzero_si512(); NP];
        for (p, weights) in weights.iter_mut().enumerate() {
            // SAFETY: chunk `group` of panel `p` lies inside the `NP` panels the caller passed.
            *weights =
                unsafe { _mm512_loadu_si512(w.add(p * panel_len + group * CHUNK_BYTES).cast()) };
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row `i < MR` holds `k.len` bytes and `4·group + 4 ≤ k.len`.
            let four = unsafe {
                x.add(i * k.stride + 4 * group)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let xv = _mm512_set1_epi32(four);
            for p in 0..NP {
                acc[p] = _mm512_dpbusd_epi32(acc[p], xv, weights[p]);
            }
        }
    }
    let mut corrections = [_mm512_setzero_si512(); NP];
    for (p, correction) in corrections.iter_mut().enumerate() {
        // SAFETY: `wsums` holds 16 values per panel.
        let sums = unsafe { _mm512_loadu_si512(wsums.add(p * PANEL_ROWS).cast()) };
        *correction = _mm512_slli_epi32::<7>(sums);
    }
    for (i, acc) in acc.iter().enumerate() {
        for (p, &acc) in acc.iter().enumerate() {
            // SAFETY: the masked lanes of row `i`, panel `p` are valid output columns.
            unsafe {
                store(
                    out.add(i * stride + p * PANEL_ROWS),
                    masks[p],
                    acc,
                    corrections[p],
                    k.first,
                )
            };
        }
    }
}

/// Writes the masked lanes of `acc − correction` on the first pass, adds `acc` to them on later ones.
///
/// # Safety
/// AVX-512 F present; the masked lanes of `out` are valid to read and write.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn store(out: *mut i32, mask: u16, acc: __m512i, correction: __m512i, first: bool) {
    let result = if first {
        _mm512_sub_epi32(acc, correction)
    } else {
        // SAFETY: the caller guarantees the masked lanes are valid.
        _mm512_add_epi32(acc, unsafe { _mm512_maskz_loadu_epi32(mask, out) })
    };
    // SAFETY: as above.
    unsafe { _mm512_mask_storeu_epi32(out, mask, result) };
}
