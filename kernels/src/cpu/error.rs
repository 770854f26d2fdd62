//! Errors of the CPU backend.

use super::SimdLevel;
use thiserror::Error;

/// What was wrong with a [`super::Cpu`] configuration or with the operands of one of its ops.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CpuError {
    /// The SIMD level asked for is not supported by this processor (or this build's architecture).
    #[error(
        "SIMD level {level} is not available on this CPU (best available: {best}); ask for a lower level"
    )]
    SimdUnavailable {
        /// Level asked for.
        level: SimdLevel,
        /// Best level this CPU has.
        best: SimdLevel,
    },
    /// A thread count of zero.
    #[error("thread count must be at least 1")]
    ZeroThreads,
    /// The reduction length `k` is zero.
    #[error("reduction length k must be at least 1")]
    EmptyReduction,
    /// An operand's length is not a whole number of rows of length `k`.
    #[error("operand `{operand}` has {len} values, not a multiple of the reduction length k = {k}")]
    RaggedOperand {
        /// Which operand (`x`, `y`).
        operand: &'static str,
        /// Its length.
        len: usize,
        /// The reduction length.
        k: usize,
    },
    /// The output slice does not hold `m × n` values.
    #[error("output has {got} values, expected m × n = {m} × {n} = {expected}")]
    OutputShape {
        /// Rows of the result.
        m: usize,
        /// Columns of the result.
        n: usize,
        /// `m × n`.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The reduction is too long for an exact i32 result.
    #[error(
        "reduction length k = {k} exceeds {max}, the largest for which i32 sums cannot overflow; split the reduction"
    )]
    ReductionTooLong {
        /// The reduction length given.
        k: usize,
        /// The largest allowed for this op.
        max: usize,
    },
    /// An operand holds -128, outside the [-127, 127] the kernels accept.
    #[error(
        "operand `{operand}` holds -128 at index {index}: i8 operands must lie in [-127, 127]; clamp when quantizing"
    )]
    ValueOutOfRange {
        /// Which operand (`x`, `y`).
        operand: &'static str,
        /// Index of the first bad value.
        index: usize,
    },
}
