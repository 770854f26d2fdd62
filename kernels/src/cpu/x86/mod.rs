//! x86-64 SIMD kernels. Each instruction set is a zero-sized token type that only run-time detection can
//! create, so holding one is the proof its `#[target_feature]` functions may run.

mod avx2;
mod avx512;

pub(crate) use avx2::Avx2;
pub(crate) use avx512::Avx512Vnni;

/// Rows of activations per register tile.
pub(super) const TILE_ROWS: usize = 8;

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
