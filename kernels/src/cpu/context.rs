//! [`Cpu`]: thread count plus SIMD level, and the checked integer matmuls.

use super::activations::{ActivationBlock, ROWS_PER_BLOCK};
use super::kernel::{Kernel, OutTile};
use super::split::{Split, Tile, plan};
use super::{CpuError, SimdLevel, Wide};
use crate::tensor::layout::panels;
use crate::tensor::{Int8Matrix, TensorError, TernaryMatrix};
use std::num::NonZeroUsize;

/// Longest i8 × i8 reduction with an exact i32 result: the largest `k` with `127·127·k < 2^31`.
pub const MAX_K_I8: usize = ((1u64 << 31) - 1) as usize / (127 * 127);

/// Longest i8 × ternary reduction with an exact i32 result: the largest `k` with `127·k < 2^31`.
pub const MAX_K_TERNARY: usize = ((1u64 << 31) - 1) as usize / 127;

/// The CPU backend: a thread count and a SIMD level (see the [module docs](super) for the contract).
///
/// ```
/// use tern_kernels::cpu::Cpu;
/// use tern_kernels::tensor::TernaryMatrix;
///
/// let cpu = Cpu::new();
/// let w = TernaryMatrix::from_values(2, 3, &[1, 0, -1, -1, 1, 1]).unwrap();
/// let x = [10, 20, 30]; // one row
/// let mut out = [0i32; 2];
/// cpu.matmul_i8_ternary(&x, &w, &mut out).unwrap();
/// assert_eq!(out, [10 - 30, -10 + 20 + 30]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    threads: usize,
    level: SimdLevel,
    kernel: Kernel,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    /// All cores (`std::thread::available_parallelism`, 1 if unknown) and the best SIMD level this CPU has.
    pub fn new() -> Self {
        let level = SimdLevel::detect();
        Self {
            threads: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            level,
            kernel: Kernel::new(level).unwrap_or(Kernel::Scalar),
        }
    }

    /// The same context with `threads` threads. Errors on zero.
    pub fn with_threads(self, threads: usize) -> Result<Self, CpuError> {
        if threads == 0 {
            return Err(CpuError::ZeroThreads);
        }
        Ok(Self { threads, ..self })
    }

    /// The same context forced to `level`. Errors if this CPU lacks it.
    pub fn with_simd(self, level: SimdLevel) -> Result<Self, CpuError> {
        let kernel = Kernel::new(level).ok_or(CpuError::SimdUnavailable {
            level,
            best: SimdLevel::detect(),
        })?;
        Ok(Self {
            level,
            kernel,
            ..self
        })
    }

    /// Threads the ops may use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// SIMD level the ops use.
    pub fn simd(&self) -> SimdLevel {
        self.level
    }

    /// The exact i32 × i32 → i64 kernels at this context's SIMD level.
    pub fn wide(&self) -> Wide {
        Wide(self.kernel)
    }

    /// `out[i][j] = Σ_t x[i][t]·w[j][t]`: `x` is `m × k` row-major i8 in [-127, 127], `w` is `n × k` ternary,
    /// `out` is `m × n` row-major, with `k = w.cols()` at most [`MAX_K_TERNARY`].
    pub fn matmul_i8_ternary(
        &self,
        x: &[i8],
        w: &TernaryMatrix,
        out: &mut [i32],
    ) -> Result<(), CpuError> {
        let (k, n) = (w.cols(), w.rows());
        let m = check_operands(x, k, n, out, MAX_K_TERNARY)?;
        let kernel = self.kernel;
        self.run((m, n, k), w.byte_len(), out, |tile, out| {
            for_each_block(x, k, w.padded_cols(), false, tile, out, |block, out| {
                kernel.ternary(block, w, tile.panels.clone(), out);
            });
        });
        Ok(())
    }

    /// `out[i][j] = Σ_t x[i][t]·w[j][t]`: `x` is `m × k` row-major i8 in [-127, 127], `w` is `n × k` int8,
    /// `out` is `m × n` row-major, with `k = w.cols()` at most [`MAX_K_I8`].
    pub fn matmul_i8_i8(&self, x: &[i8], w: &Int8Matrix, out: &mut [i32]) -> Result<(), CpuError> {
        let (k, n) = (w.cols(), w.rows());
        let m = check_operands(x, k, n, out, MAX_K_I8)?;
        let kernel = self.kernel;
        let offset = kernel.offset_int8_activations();
        self.run((m, n, k), w.byte_len(), out, |tile, out| {
            for_each_block(x, k, w.padded_cols(), offset, tile, out, |block, out| {
                kernel.int8(block, w, tile.panels.clone(), out);
            });
        });
        Ok(())
    }

    /// `out[i][j] = Σ_t x[i][t]·y[j][t]` for two plain row-major operands sharing the reduction length `k`:
    /// `x` is `m × k`, `y` is `n × k`, `out` is `m × n` (activations × activations: attention scores, LoRA
    /// gradients after a transpose). Both in [-127, 127]; `k` at most [`MAX_K_I8`].
    pub fn matmul_i8_i8_nt(
        &self,
        x: &[i8],
        y: &[i8],
        k: usize,
        out: &mut [i32],
    ) -> Result<(), CpuError> {
        if k == 0 {
            return Err(CpuError::EmptyReduction);
        }
        if k > MAX_K_I8 {
            // Before packing `y`, which would be wasted work.
            return Err(CpuError::ReductionTooLong { k, max: MAX_K_I8 });
        }
        if !y.len().is_multiple_of(k) {
            return Err(CpuError::RaggedOperand {
                operand: "y",
                len: y.len(),
                k,
            });
        }
        let n = y.len() / k;
        if n == 0 {
            // Nothing to pack; the shape checks below still apply to x and out.
            check_operands(x, k, 0, out, MAX_K_I8)?;
            return Ok(());
        }
        let w = Int8Matrix::from_values(n, k, y).map_err(|error| match error {
            TensorError::Int8OutOfRange { row, col } => CpuError::ValueOutOfRange {
                operand: "y",
                index: row * k + col,
            },
            other => unreachable!("shape of y was checked: {other}"),
        })?;
        self.matmul_i8_i8(x, &w, out)
    }

    /// `out[i] = Σ_t x[i][t]` for the `m × k` row-major `x` (`out` holds `m` values).
    pub fn row_sums_i8(&self, x: &[i8], k: usize, out: &mut [i32]) -> Result<(), CpuError> {
        let m = check_operands(x, k, 1, out, MAX_K_TERNARY)?;
        for (row, sum) in x.chunks_exact(k).zip(&mut out[..m]) {
            *sum = row.iter().map(|&v| i32::from(v)).sum();
        }
        Ok(())
    }

    /// Runs `tile` over the split of an `m × n × k` product with `weight_bytes` of packed weights, each call with
    /// its output rectangle (rows `tile.rows`, columns `tile.cols(n)`); for `m == 0` nothing runs.
    fn run(
        &self,
        (m, n, k): (usize, usize, usize),
        weight_bytes: usize,
        out: &mut [i32],
        tile: impl Fn(&Tile, TileOut<'_>) + Sync,
    ) {
        if m == 0 {
            return;
        }
        let all_panels = 0..panels(n);
        match plan(m, n, k, self.threads, weight_bytes) {
            Split::Single => {
                let job = Tile {
                    rows: 0..m,
                    panels: all_panels,
                };
                tile(&job, TileOut::Rows { data: out, n });
            }
            Split::Rows(bands) => std::thread::scope(|scope| {
                let mut rest = out;
                for rows in bands {
                    let (mine, tail) = rest.split_at_mut(rows.len() * n);
                    rest = tail;
                    let tile = &tile;
                    let job = Tile {
                        rows,
                        panels: all_panels.clone(),
                    };
                    scope.spawn(move || tile(&job, TileOut::Rows { data: mine, n }));
                }
            }),
            Split::Panels(bands) => {
                // Cut every output row at the band boundaries, so each thread owns its columns of every row.
                let mut segments: Vec<Vec<&mut [i32]>> =
                    bands.iter().map(|_| Vec::with_capacity(m)).collect();
                for row in out.chunks_exact_mut(n) {
                    let mut rest = row;
                    for (band, segments) in bands.iter().zip(&mut segments) {
                        let width = Tile {
                            rows: 0..m,
                            panels: band.clone(),
                        }
                        .cols(n)
                        .len();
                        let (mine, tail) = rest.split_at_mut(width);
                        segments.push(mine);
                        rest = tail;
                    }
                }
                std::thread::scope(|scope| {
                    for (panels, segments) in bands.into_iter().zip(segments) {
                        let tile = &tile;
                        let job = Tile { rows: 0..m, panels };
                        scope.spawn(move || tile(&job, TileOut::Segments(segments)));
                    }
                });
            }
        }
    }
}

/// Where one tile's results go.
enum TileOut<'a> {
    /// Whole output rows (`n` values each), starting at the tile's first row.
    Rows {
        /// The rows.
        data: &'a mut [i32],
        /// Row length.
        n: usize,
    },
    /// The tile's columns of each of its rows, one slice per row.
    Segments(Vec<&'a mut [i32]>),
}

/// Packs the tile's rows of `x` block by block and hands each block with its slice of the output to `compute`.
fn for_each_block(
    x: &[i8],
    k: usize,
    padded_k: usize,
    offset: bool,
    tile: &Tile,
    mut out: TileOut<'_>,
    mut compute: impl FnMut(&ActivationBlock, &mut OutTile<'_>),
) {
    let mut block = ActivationBlock::default();
    let mut scratch = Vec::new();
    let rows = &x[tile.rows.start * k..tile.rows.end * k];
    for (b, chunk) in rows.chunks(ROWS_PER_BLOCK * k).enumerate() {
        block.fill(chunk, k, padded_k, offset);
        let first_row = b * ROWS_PER_BLOCK;
        match &mut out {
            TileOut::Rows { data, n } => {
                let data = &mut data[first_row * *n..];
                compute(
                    &block,
                    &mut OutTile {
                        data,
                        stride: *n,
                        cols: *n,
                    },
                );
            }
            TileOut::Segments(segments) => {
                // A block-sized scratch tile, copied out while it is still in cache.
                let segments = &mut segments[first_row..first_row + block.rows];
                let width = segments[0].len();
                scratch.clear();
                scratch.resize(block.rows * width, 0);
                compute(
                    &block,
                    &mut OutTile {
                        data: &mut scratch,
                        stride: width,
                        cols: width,
                    },
                );
                for (segment, values) in segments.iter_mut().zip(scratch.chunks_exact(width)) {
                    segment.copy_from_slice(values);
                }
            }
        }
    }
}

/// Checks `x` (`m × k`) and `out` (`m × n`) against the weights' `k` and `n`, and `k` against `max_k`; returns `m`.
fn check_operands(
    x: &[i8],
    k: usize,
    n: usize,
    out: &[i32],
    max_k: usize,
) -> Result<usize, CpuError> {
    if k == 0 {
        return Err(CpuError::EmptyReduction);
    }
    if k > max_k {
        return Err(CpuError::ReductionTooLong { k, max: max_k });
    }
    if !x.len().is_multiple_of(k) {
        return Err(CpuError::RaggedOperand {
            operand: "x",
            len: x.len(),
            k,
        });
    }
    let m = x.len() / k;
    let expected = m.checked_mul(n).ok_or(CpuError::OutputShape {
        m,
        n,
        expected: usize::MAX,
        got: out.len(),
    })?;
    if out.len() != expected {
        return Err(CpuError::OutputShape {
            m,
            n,
            expected,
            got: out.len(),
        });
    }
    if let Some(index) = x.iter().position(|&v| v == i8::MIN) {
        return Err(CpuError::ValueOutOfRange {
            operand: "x",
            index,
        });
    }
    Ok(m)
}
