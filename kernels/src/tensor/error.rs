//! Errors of the packed matrix constructors.

use thiserror::Error;

/// What was wrong with the values or shape given to a packed matrix constructor.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TensorError {
    /// A matrix needs at least one row and one column.
    #[error("matrix shape {rows}×{cols} is empty: rows and cols must both be at least 1")]
    EmptyShape {
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
    },
    /// The value slice does not hold `rows × cols` entries.
    #[error("expected {expected} values for a {rows}×{cols} matrix (row-major), got {got}")]
    LengthMismatch {
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
        /// `rows × cols`.
        expected: usize,
        /// Length of the slice given.
        got: usize,
    },
    /// `rows × cols` does not fit in memory addressing.
    #[error("matrix shape {rows}×{cols} is too large to address")]
    TooLarge {
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
    },
    /// A ternary weight was not -1, 0 or +1.
    #[error(
        "ternary weight at row {row}, column {col} is {value}: ternary weights must be -1, 0 or +1"
    )]
    NotTernary {
        /// Row of the bad value.
        row: usize,
        /// Column of the bad value.
        col: usize,
        /// The value found.
        value: i8,
    },
    /// An int8 weight was -128, which the kernels exclude so that `|w| ≤ 127` (see [`crate::cpu`]).
    #[error(
        "int8 weight at row {row}, column {col} is -128: int8 weights must lie in [-127, 127]; clamp before packing"
    )]
    Int8OutOfRange {
        /// Row of the bad value.
        row: usize,
        /// Column of the bad value.
        col: usize,
    },
}

/// Checks a shape and the length of its row-major value slice.
pub(crate) fn check_shape(rows: usize, cols: usize, len: usize) -> Result<(), TensorError> {
    if rows == 0 || cols == 0 {
        return Err(TensorError::EmptyShape { rows, cols });
    }
    let expected = rows
        .checked_mul(cols)
        .ok_or(TensorError::TooLarge { rows, cols })?;
    if len != expected {
        return Err(TensorError::LengthMismatch {
            rows,
            cols,
            expected,
            got: len,
        });
    }
    Ok(())
}
