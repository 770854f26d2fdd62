//! Packed integer matrices: the frozen base's ternary weights and int8 weights, laid out for the CPU kernels.
//!
//! Both types store an `rows × cols` matrix whose rows are the *output* features of a matmul: the kernels compute
//! `out[i][j] = Σ_t x[i][t]·w[j][t]`, so row `j` of the matrix is dotted with row `i` of the activations. Any
//! `rows` and `cols` are accepted; the storage pads internally (see [`layout`]) and the padding is invisible
//! through the API ([`TernaryMatrix::get`], [`TernaryMatrix::to_values`], …).
//!
//! The layout is the same for both types: rows are grouped in panels of [`layout::PANEL_ROWS`], so that one
//! 64-byte load holds a few columns of 16 consecutive output rows. The kernels then broadcast four activation
//! bytes and compute 16 outputs at once, with no horizontal reduction (see [`crate::cpu`]).

mod error;
mod int8;
pub mod layout;
mod ternary;

pub use error::TensorError;
pub use int8::Int8Matrix;
pub use ternary::TernaryMatrix;
