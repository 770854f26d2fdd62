//! [`Kernel`]: one SIMD level's implementations, chosen once when a [`super::Cpu`] is built.

use super::SimdLevel;
use super::activations::ActivationBlock;
use super::scalar;
#[cfg(target_arch = "x86_64")]
use super::x86::{Avx2, Avx512Vnni};
use crate::tensor::{Int8Matrix, TernaryMatrix};
use std::ops::Range;

/// Where a kernel writes: `data[i·stride + c]` for activation row `i` and tile column `c < cols`, the tile's
/// column 0 being the first column of its first panel.
#[derive(Debug)]
pub(crate) struct OutTile<'a> {
    /// Output values, starting at the tile's first row and column.
    pub data: &'a mut [i32],
    /// Distance between rows.
    pub stride: usize,
    /// Valid columns: at least `16·(panels − 1) + 1`, at most `16·panels`.
    pub cols: usize,
}

/// A SIMD level together with the proof that the CPU supports it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kernel {
    /// Portable code.
    Scalar,
    /// AVX2, detected.
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    /// AVX-512 VNNI, detected.
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni(Avx512Vnni),
}

impl Kernel {
    /// The kernel for `level`, or `None` if this CPU lacks it.
    pub fn new(level: SimdLevel) -> Option<Self> {
        match level {
            SimdLevel::Scalar => Some(Kernel::Scalar),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => Avx2::detect().map(Kernel::Avx2),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => Avx512Vnni::detect().map(Kernel::Avx512Vnni),
            #[cfg(not(target_arch = "x86_64"))]
            _ => None,
        }
    }

    /// Whether int8 activations must be packed as `x + 128`.
    pub fn offset_int8_activations(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Kernel::Avx512Vnni(_) = self {
            return true;
        }
        false
    }

    /// `out[i][j] = Σ_t x[i][t]·w[j][t]` over the panels `panels` of `w`.
    pub fn ternary(
        self,
        x: &ActivationBlock,
        w: &TernaryMatrix,
        panels: Range<usize>,
        out: &mut OutTile<'_>,
    ) {
        check_tile(x, w.padded_cols(), w.rows(), &panels, out);
        match self {
            Kernel::Scalar => scalar::ternary(x, w, panels, out),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(avx2) => avx2.ternary(x, w, panels, out),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(avx512) => avx512.ternary(x, w, panels, out),
        }
    }

    /// `out[i][j] = Σ_t x[i][t]·w[j][t]` over the panels `panels` of `w`.
    pub fn int8(
        self,
        x: &ActivationBlock,
        w: &Int8Matrix,
        panels: Range<usize>,
        out: &mut OutTile<'_>,
    ) {
        check_tile(x, w.padded_cols(), w.rows(), &panels, out);
        match self {
            Kernel::Scalar => scalar::int8(x, w, panels, out),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(avx2) => avx2.int8(x, w, panels, out),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni(avx512) => avx512.int8(x, w, panels, out),
        }
    }
}

/// The invariants the SIMD kernels' raw loads and stores rely on. Callers inside this module uphold them; a
/// failure is a bug here, never a user error, and stopping is what keeps the raw accesses in bounds.
fn check_tile(
    x: &ActivationBlock,
    padded_k: usize,
    w_rows: usize,
    panels: &Range<usize>,
    out: &OutTile<'_>,
) {
    use crate::tensor::layout::{PANEL_ROWS, panels as panel_count};
    assert_eq!(
        x.padded_k, padded_k,
        "activations padded to the weights' width"
    );
    assert!(x.bytes.len() >= x.rows * x.padded_k && x.sums.len() >= x.rows);
    assert!(panels.start < panels.end && panels.end <= panel_count(w_rows));
    let tile_cols = (panels.end - panels.start) * PANEL_ROWS;
    assert!(
        out.cols > tile_cols - PANEL_ROWS && out.cols <= tile_cols,
        "every panel has a column to write"
    );
    assert!(x.rows == 0 || out.data.len() >= (x.rows - 1) * out.stride + out.cols);
}
