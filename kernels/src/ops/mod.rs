//! The transformer's non-matmul operations in integers, each with a forward and a backward pass, written in the
//! [`crate::fixed`] contract on [`Rows`] (per-row block floating point).
//!
//! Wide intermediates: these ops are `O(tokens · width)` next to the matmuls' `O(tokens · width²)`, so they may use
//! exact 64-bit products and sums (a 32-bit backend emulates them with carries); every bound is stated where the
//! arithmetic happens. The matmuls stay int8 × int8 → i32 ([`crate::cpu`]).

pub mod attention;
pub mod exact;
pub mod glu;
pub mod lora;
pub mod loss;
pub mod rmsnorm;
pub mod rope;
pub mod rows;

pub use attention::Attention;
pub use glu::{Activation, Glu};
pub use lora::{LoraActivations, LoraGrads, LoraShape};
pub use loss::{CrossEntropy, LossOutput};
pub use rmsnorm::RmsNorm;
pub use rope::Rope;
pub use rows::Rows;
