//! [`Int8Matrix`]: int8 weights in [-127, 127], in the panel layout of [`super::layout`].

use super::error::{TensorError, check_shape};
use super::layout::{CHUNK_BYTES, PANEL_ROWS, padded_cols, panels};

/// A `rows × cols` matrix of int8 weights in [-127, 127], panel-interleaved (see [`super::layout`]).
///
/// Row `j` is the weight vector of output feature `j`: [`crate::cpu::Cpu::matmul_i8_i8`] computes
/// `out[i][j] = Σ_t x[i][t]·w[j][t]`. Each row's sum is kept beside the values: the AVX-512 kernel feeds
/// activations as unsigned `x + 128` and subtracts `128·Σ_t w[j][t]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Int8Matrix {
    rows: usize,
    cols: usize,
    values: Vec<i8>,
    row_sums: Vec<i32>,
}

impl Int8Matrix {
    /// Packs a row-major `rows × cols` slice of values in [-127, 127].
    ///
    /// Errors if the shape is empty, the slice length is not `rows × cols`, or a value is -128 (excluded so
    /// that the AVX2 sign trick cannot overflow).
    pub fn from_values(rows: usize, cols: usize, values: &[i8]) -> Result<Self, TensorError> {
        check_shape(rows, cols, values.len())?;
        let padded_rows = panels(rows) * PANEL_ROWS;
        let mut matrix = Self {
            rows,
            cols,
            values: vec![0; padded_rows * padded_cols(cols)],
            row_sums: vec![0; padded_rows],
        };
        for (row, row_values) in values.chunks_exact(cols).enumerate() {
            let mut sum = 0i32;
            for (col, &value) in row_values.iter().enumerate() {
                if value == i8::MIN {
                    return Err(TensorError::Int8OutOfRange { row, col });
                }
                let index = matrix.position(row, col);
                matrix.values[index] = value;
                // Wrapping: the kernels use the sum modulo 2^32 and the products are exact modulo 2^32 too.
                sum = sum.wrapping_add(i32::from(value));
            }
            matrix.row_sums[row] = sum;
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
        (row < self.rows && col < self.cols).then(|| self.values[self.position(row, col)])
    }

    /// The weights, row-major, without padding.
    pub fn to_values(&self) -> Vec<i8> {
        let mut values = Vec::with_capacity(self.rows * self.cols);
        for row in 0..self.rows {
            values.extend((0..self.cols).map(|col| self.values[self.position(row, col)]));
        }
        values
    }

    /// The `cols × rows` transpose, packed afresh.
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

    /// Bytes of packed storage, padding and row sums included.
    pub fn byte_len(&self) -> usize {
        self.values.len() + 4 * self.row_sums.len()
    }

    /// The packed values, in the layout of [`super::layout`].
    pub fn packed_values(&self) -> &[i8] {
        &self.values
    }

    /// `Σ_t w[j][t]` for each row `j` (wrapping), padded with zeros to a whole number of panels.
    pub fn row_sums(&self) -> &[i32] {
        &self.row_sums
    }

    /// Columns after padding to a multiple of [`super::layout::K_BLOCK`].
    pub fn padded_cols(&self) -> usize {
        padded_cols(self.cols)
    }

    /// Values in one panel of [`PANEL_ROWS`] rows.
    pub fn panel_len(&self) -> usize {
        PANEL_ROWS * padded_cols(self.cols)
    }

    /// Index in `values` of `(row, col)`: one 64-byte chunk per panel and group of 4 columns.
    fn position(&self, row: usize, col: usize) -> usize {
        let (panel, r) = (row / PANEL_ROWS, row % PANEL_ROWS);
        panel * self.panel_len() + col / 4 * CHUNK_BYTES + 4 * r + col % 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    fn random_values(key: Key, len: usize) -> Vec<i8> {
        (0..len as u32)
            .map(|i| (key.below(255, i, 0, 0) as i32 - 127) as i8)
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
            let m = Int8Matrix::from_values(rows, cols, &values).unwrap();
            assert_eq!(m.to_values(), values, "{rows}×{cols}");
            assert_eq!(m.get(rows - 1, cols - 1), Some(values[rows * cols - 1]));
            assert_eq!(m.get(rows, 0), None);
            for (row, sum) in m.row_sums()[..rows].iter().enumerate() {
                let expected: i32 = values[row * cols..][..cols]
                    .iter()
                    .map(|&v| i32::from(v))
                    .sum();
                assert_eq!(*sum, expected);
            }
        }
    }

    #[test]
    fn round_trips_every_width_up_to_70() {
        for cols in 1..=70 {
            for rows in [1, 15, 16, 17] {
                let values = random_values(Key(cols as u32), rows * cols);
                let m = Int8Matrix::from_values(rows, cols, &values).unwrap();
                assert_eq!(m.to_values(), values, "{rows}×{cols}");
                assert_eq!(m.padded_cols() % 16, 0);
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            Int8Matrix::from_values(1, 3, &[0, 127, -128]),
            Err(TensorError::Int8OutOfRange { row: 0, col: 2 })
        );
        assert!(matches!(
            Int8Matrix::from_values(2, 2, &[0; 5]),
            Err(TensorError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn transpose_swaps_indices() {
        let values = random_values(Key(3), 21 * 40);
        let m = Int8Matrix::from_values(21, 40, &values).unwrap();
        let t = m.transpose();
        for r in 0..21 {
            for c in 0..40 {
                assert_eq!(t.get(c, r), m.get(r, c));
            }
        }
        assert_eq!(t.transpose(), m);
    }
}
