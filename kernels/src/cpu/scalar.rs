//! Portable kernels: unpack a weight panel to plain i16 rows, then plain dot products.
//!
//! Widening both operands to i16 first lets the compiler use 16-bit multiply-adds (`pmaddwd` on x86, `smlal` on
//! Arm) for the dot products instead of widening byte by byte inside them.
//!
//! These are the semantics every SIMD kernel must match bit for bit (and the fallback on CPUs without AVX2).

use super::activations::ActivationBlock;
use super::kernel::OutTile;
use crate::tensor::layout::{CHUNK_BYTES, K_BLOCK, PANEL_ROWS};
use crate::tensor::{Int8Matrix, TernaryMatrix};
use std::ops::Range;

/// `out[i][j] = Σ_t x[i][t]·w[j][t]` for the rows of `x` and the panels `panels` of `w`.
pub(crate) fn ternary(
    x: &ActivationBlock,
    w: &TernaryMatrix,
    panels: Range<usize>,
    out: &mut OutTile<'_>,
) {
    let kp = x.padded_k;
    let mut rows = vec![0i16; PANEL_ROWS * kp];
    let xs = widen(x);
    for (q, panel) in panels.enumerate() {
        let bytes = &w.packed_bytes()[panel * w.panel_bytes()..][..w.panel_bytes()];
        for (block, chunk) in bytes.chunks_exact(CHUNK_BYTES).enumerate() {
            for (index, &byte) in chunk.iter().enumerate() {
                let (r, c) = (index / 4, index % 4);
                for f in 0..4 {
                    let code = (byte >> (2 * f)) & 0b11;
                    rows[r * kp + block * K_BLOCK + 4 * f + c] = i16::from(code) - 1;
                }
            }
        }
        dot_panel(&xs, kp, &rows, q, out);
    }
}

/// `out[i][j] = Σ_t x[i][t]·w[j][t]` for the rows of `x` and the panels `panels` of `w`.
pub(crate) fn int8(
    x: &ActivationBlock,
    w: &Int8Matrix,
    panels: Range<usize>,
    out: &mut OutTile<'_>,
) {
    let kp = x.padded_k;
    let mut rows = vec![0i16; PANEL_ROWS * kp];
    let xs = widen(x);
    for (q, panel) in panels.enumerate() {
        let values = &w.packed_values()[panel * w.panel_len()..][..w.panel_len()];
        for (group, chunk) in values.chunks_exact(CHUNK_BYTES).enumerate() {
            for (index, &value) in chunk.iter().enumerate() {
                rows[index / 4 * kp + 4 * group + index % 4] = i16::from(value);
            }
        }
        dot_panel(&xs, kp, &rows, q, out);
    }
}

/// The activation rows as i16.
fn widen(x: &ActivationBlock) -> Vec<i16> {
    x.bytes[..x.rows * x.padded_k]
        .iter()
        .map(|&b| i16::from(b as i8))
        .collect()
}

/// Dots every activation row with the 16 unpacked rows of panel `q` of the tile.
fn dot_panel(xs: &[i16], kp: usize, rows: &[i16], q: usize, out: &mut OutTile<'_>) {
    let first = q * PANEL_ROWS;
    let last = (first + PANEL_ROWS).min(out.cols);
    for (i, xrow) in xs.chunks_exact(kp).enumerate() {
        for j in first..last {
            let wrow = &rows[(j - first) * kp..][..kp];
            // The bound on k keeps the sum in range; a wrapping fold lets the compiler vectorize the loop, which
            // an overflow-checked `sum` (debug-assertion builds) would not.
            out.data[i * out.stride + j] = xrow.iter().zip(wrow).fold(0i32, |sum, (&a, &b)| {
                sum.wrapping_add(i32::from(a) * i32::from(b))
            });
        }
    }
}
