//! A block of activation rows copied into the form the kernels read: rows padded with zeros to the weights'
//! padded width, so kernels never test for a column tail, plus each row's sum for the ternary correction.

/// Up to [`ROWS_PER_BLOCK`] activation rows, each `padded_k` bytes.
#[derive(Debug, Default)]
pub(crate) struct ActivationBlock {
    /// Row-major bytes, `rows × padded_k`: i8 values, or `x + 128` when packed with `offset`.
    pub bytes: Vec<u8>,
    /// `Σ_t x[i][t]` of each row (of the signed values).
    pub sums: Vec<i32>,
    /// Rows held.
    pub rows: usize,
    /// Row stride.
    pub padded_k: usize,
}

/// Rows packed at a time: enough that a weight panel loaded into L1 is reused many times, few enough that the
/// block stays in L2 (64 × 1536 bytes = 96 KiB for the widest SmolLM2 reduction).
pub(crate) const ROWS_PER_BLOCK: usize = 64;

impl ActivationBlock {
    /// Refills the block from `x` (whole rows of length `k`), padding each row to `padded_k`. With `offset`, each
    /// byte is stored as `x + 128` (unsigned), the form the AVX-512 int8 kernel needs; padding is then 128 (x = 0).
    pub fn fill(&mut self, x: &[i8], k: usize, padded_k: usize, offset: bool) {
        let rows = x.len() / k;
        let flip = if offset { 0x80 } else { 0 };
        self.rows = rows;
        self.padded_k = padded_k;
        self.bytes.clear();
        self.bytes.resize(rows * padded_k, flip);
        self.sums.clear();
        for (row, packed) in x.chunks_exact(k).zip(self.bytes.chunks_exact_mut(padded_k)) {
            let mut sum = 0i32;
            for (&value, byte) in row.iter().zip(packed.iter_mut()) {
                *byte = value as u8 ^ flip;
                sum += i32::from(value);
            }
            self.sums.push(sum);
        }
    }
}
