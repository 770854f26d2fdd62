//! [`TernaryMatrix`]: weights in {-1, 0, +1}, 2 bits each, in the panel layout of [`super::layout`].

use super::error::{TensorError, check_shape};
use super::layout::{CHUNK_BYTES, K_BLOCK, PANEL_ROWS, padded_cols, panels};

/// Code stored for a weight: `w + 1`, so padding (code 1) means weight 0.
const PAD_CODE: u8 = 1;

/// A `rows × cols` matrix of ternary weights packed 2 bits per weight (plus panel and column padding).
///
/// Row `j` is the weight vector of output feature `j`: [`crate::cpu::Cpu::matmul_i8_ternary`] computes
/// `out[i][j] = Σ_t x[i][t]·w[j][t]`. The byte layout is described in [`super::layout`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TernaryMatrix {
    rows: usize,
    cols: usize,
    bytes: Vec<u8>,
}

impl TernaryMatrix {
    /// Packs a row-major `rows × cols` slice of values in {-1, 0, +1}.
    ///
    /// Errors if the shape is empty, the slice length is not `rows × cols`, or a value is not ternary.
    pub fn from_values(rows: usize, cols: usize, values: &[i8]) -> Result<Self, TensorError> {
        check_shape(rows, cols, values.len())?;
        let mut matrix = Self {
            rows,
            cols,
            bytes: vec![pad_byte(); panels(rows) * panel_bytes(cols)],
        };
        for (row, row_values) in values.chunks_exact(cols).enumerate() {
            for (col, &value) in row_values.iter().enumerate() {
                if !(-1..=1).contains(&value) {
                    return Err(TensorError::NotTernary { row, col, value });
                }
                let (byte, shift) = matrix.position(row, col);
                let code = (value + 1) as u8;
                matrix.bytes[byte] = (matrix.bytes[byte] & !(0b11 << shift)) | (code << shift);
            }
        }
        Ok(matrix)
    }

    /// Rows (output features).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (the reduction length `k`).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The weight at `(row, col)`, or `None` outside the matrix.
    pub fn get(&self, row: usize, col: usize) -> Option<i8> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        let (byte, shift) = self.position(row, col);
        Some(((self.bytes[byte] >> shift) & 0b11) as i8 - 1)
    }

    /// The weights, row-major, without padding.
    pub fn to_values(&self) -> Vec<i8> {
        let mut values = Vec::with_capacity(self.rows * self.cols);
        for row in 0..self.rows {
            values.extend((0..self.cols).map(|col| {
                let (byte, shift) = self.position(row, col);
                ((self.bytes[byte] >> shift) & 0b11) as i8 - 1
            }));
        }
        values
    }

    /// The `cols × rows` transpose (what the backward pass multiplies by), packed afresh.
    pub fn transpose(&self) -> Self {
        let values = self.to_values();
        let mut transposed = vec![0i8; values.len()];
        for (row, row_values) in values.chunks_exact(self.cols).enumerate() {
            for (col, &value) in row_values.iter().enumerate() {
                transposed[col * self.rows + row] = value;
            }
        }
        Self::from_values(self.cols, self.rows, &transposed)
            .expect("a transpose of a valid matrix is valid")
    }

    /// Bytes of packed storage, padding included.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The packed bytes, in the layout of [`super::layout`].
    pub fn packed_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Columns after padding to a multiple of [`K_BLOCK`].
    pub fn padded_cols(&self) -> usize {
        padded_cols(self.cols)
    }

    /// Bytes of one panel of [`PANEL_ROWS`] rows.
    pub fn panel_bytes(&self) -> usize {
        panel_bytes(self.cols)
    }

    /// Byte index and bit shift of the code for `(row, col)`.
    fn position(&self, row: usize, col: usize) -> (usize, u32) {
        let (panel, r) = (row / PANEL_ROWS, row % PANEL_ROWS);
        let (block, c) = (col / K_BLOCK, col % K_BLOCK);
        let byte = panel * panel_bytes(self.cols) + block * CHUNK_BYTES + 4 * r + c % 4;
        (byte, 2 * (c / 4) as u32)
    }
}

/// Bytes of one panel: one 64-byte chunk per block of 16 columns.
fn panel_bytes(cols: usize) -> usize {
    padded_cols(cols) / K_BLOCK * CHUNK_BYTES
}

/// A byte whose four codes are all padding.
const fn pad_byte() -> u8 {
    PAD_CODE * 0b0101_0101
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    fn random_values(key: Key, len: usize) -> Vec<i8> {
        (0..len as u32)
            .map(|i| key.below(3, i, 0, 0) as i8 - 1)
            .collect()
    }

    #[test]
    fn round_trips_any_shape() {
        for (rows, cols) in [
            (1, 1),
            (1, 3),
            (3, 1),
            (17, 15),
            (16, 16),
            (33, 257),
            (5, 576),
        ] {
            let values = random_values(Key(rows as u32 * 1000 + cols as u32), rows * cols);
            let m = TernaryMatrix::from_values(rows, cols, &values).unwrap();
            assert_eq!(m.to_values(), values, "{rows}×{cols}");
            assert_eq!(m.get(rows - 1, cols - 1), Some(values[rows * cols - 1]));
            assert_eq!(m.get(rows, 0), None);
            assert_eq!(m.get(0, cols), None);
            assert_eq!(
                m.byte_len(),
                rows.div_ceil(16) * 16 * cols.div_ceil(16) * 16 / 4
            );
        }
    }

    #[test]
    fn padding_is_weight_zero() {
        let m = TernaryMatrix::from_values(1, 1, &[-1]).unwrap();
        // Code 0 (w = -1) in the lowest bits of byte 0, code 1 everywhere else.
        assert_eq!(m.packed_bytes()[0], 0b0101_0100);
        assert!(m.packed_bytes()[1..].iter().all(|&b| b == 0b0101_0101));
    }

    #[test]
    fn round_trips_every_width_up_to_70() {
        for cols in 1..=70 {
            for rows in [1, 15, 16, 17] {
                let values = random_values(Key(cols as u32), rows * cols);
                let m = TernaryMatrix::from_values(rows, cols, &values).unwrap();
                assert_eq!(m.to_values(), values, "{rows}×{cols}");
                assert_eq!(m.padded_cols() % 16, 0);
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            TernaryMatrix::from_values(2, 2, &[0, 1, 2, 0]),
            Err(TensorError::NotTernary {
                row: 1,
                col: 0,
                value: 2
            })
        );
        assert!(matches!(
            TernaryMatrix::from_values(2, 2, &[0; 3]),
            Err(TensorError::LengthMismatch { .. })
        ));
        assert!(matches!(
            TernaryMatrix::from_values(0, 2, &[]),
            Err(TensorError::EmptyShape { .. })
        ));
    }

    #[test]
    fn transpose_swaps_indices() {
        let values = random_values(Key(9), 19 * 37);
        let m = TernaryMatrix::from_values(19, 37, &values).unwrap();
        let t = m.transpose();
        assert_eq!((t.rows(), t.cols()), (37, 19));
        for r in 0..19 {
            for c in 0..37 {
                assert_eq!(t.get(c, r), m.get(r, c));
            }
        }
        assert_eq!(t.transpose(), m);
    }
}
