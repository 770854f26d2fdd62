//! x86-64 SIMD kernels. Each instruction set is a zero-sized token type that only run-time detection can
//! create, so holding one is the proof its `#[target_feature]` functions may run.

mod avx2;
mod avx512;
mod wide;

pub(crate) use avx2::Avx2;
pub(crate) use avx512::Avx512Vnni;

/// Rows of activations per register tile.
pub(super) const TILE_ROWS: usize = 8;

/// Reduction columns per pass over a panel: a 16-row int8 panel slice of 256 columns is 4 KiB, so the weights
/// and the activation rows of one pass stay in L1 however long the reduction is.
pub(super) const K_CHUNK: usize = 256;

/// The part of the reduction one register-tile pass covers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    /// Distance between activation rows (the padded `k`).
    pub stride: usize,
    /// Columns in this pass, a multiple of [`crate::tensor::layout::K_BLOCK`].
    pub len: usize,
    /// First pass: apply the correction and overwrite the output; later passes add to it.
    pub first: bool,
}

/// The passes over a padded reduction of `padded_k` columns: `(first column, span)`.
pub(super) fn spans(padded_k: usize) -> impl Iterator<Item = (usize, Span)> {
    (0..padded_k).step_by(K_CHUNK).map(move |start| {
        (
            start,
            Span {
                stride: padded_k,
                len: (padded_k - start).min(K_CHUNK),
                first: start == 0,
            },
        )
    })
}

/// Calls `$f::<MR, ...>` with `MR = $rows` for `$rows` in `1..=8`, so each row count gets a fully unrolled tile.
macro_rules! by_rows {
    ($rows:expr, $f:ident::<_ $(, $c:literal)*>($($arg:expr),* $(,)?)) => {
        match $rows {
            1 => $f::<1 $(, $c)*>($($arg),*),
            2 => $f::<2 $(, $c)*>($($arg),*),
            3 => $f::<3 $(, $c)*>($($arg),*),
            4 => $f::<4 $(, $c)*>($($arg),*),
            5 => $f::<5 $(, $c)*>($($arg),*),
            6 => $f::<6 $(, $c)*>($($arg),*),
            7 => $f::<7 $(, $c)*>($($arg),*),
            _ => $f::<8 $(, $c)*>($($arg),*),
        }
    };
}
pub(super) use by_rows;
