//! The panel layout shared by [`super::TernaryMatrix`] and [`super::Int8Matrix`].
//!
//! Rows are grouped into panels of [`PANEL_ROWS`] rows (the last panel padded with zero rows) and columns are
//! padded with zeros to a multiple of [`K_BLOCK`]. Storage is panel after panel; inside a panel, every 64-byte
//! chunk holds 4 consecutive columns of each of the 16 rows, at byte `4·r + c` (row `r` of the panel, column `c`
//! of the 4). That is exactly one 512-bit operand of `vpdpbusd` whose 16 i32 lanes are the 16 rows, or two
//! 256-bit halves of 8 rows each for AVX2, so a kernel multiplies it by 4 broadcast activation bytes and gets 16
//! (or 8) output columns without any horizontal sum.
//!
//! * int8: one chunk per group of 4 columns; `(K_BLOCK / 4)` chunks per block of 16 columns.
//! * ternary: one chunk per block of 16 columns. The chunk's byte `4·r + c` carries four 2-bit codes; the code
//!   for column `4·f + c` of the block sits at bits `2f..2f+2`. A code is `w + 1 ∈ {0, 1, 2}`, so shifting the
//!   chunk right by `2f` and masking with `0x03` gives the unsigned bytes `vpdpbusd`/`vpmaddubsw` multiply with
//!   signed activations; the kernel subtracts the activation row sum to undo the `+1`. Padding is code 1 (w = 0).

/// Rows per panel: the 16 i32 lanes of a 512-bit register.
pub const PANEL_ROWS: usize = 16;

/// Columns are padded to a multiple of this (one ternary chunk, four int8 chunks).
pub const K_BLOCK: usize = 16;

/// Bytes in one chunk (one 512-bit load).
pub const CHUNK_BYTES: usize = 64;

/// Number of panels for `rows` rows.
pub const fn panels(rows: usize) -> usize {
    rows.div_ceil(PANEL_ROWS)
}

/// `cols` rounded up to a multiple of [`K_BLOCK`].
pub const fn padded_cols(cols: usize) -> usize {
    cols.div_ceil(K_BLOCK) * K_BLOCK
}
