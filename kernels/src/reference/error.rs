//! What can go wrong when building or running the reference trainer.

use crate::model::{Architecture, LoraTarget};

use super::lora::LoraParam;

/// An error of the f32 reference trainer.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The model file could not be read.
    #[error("reading the model file: {0}")]
    Gguf(String),
    /// The base weights lack a tensor the configuration needs.
    #[error(
        "base weights lack tensor `{name}`: a {architecture:?} model needs it; load every tensor of the model file"
    )]
    MissingTensor {
        /// GGUF tensor name.
        name: String,
        /// The architecture that needs it.
        architecture: Architecture,
    },
    /// A tensor's shape disagrees with the configuration.
    #[error(
        "tensor `{name}` has shape {got:?} but the model configuration implies {expected:?} \
         (shapes are outermost first: [out_features, in_features], GGUF's ne reversed)"
    )]
    ShapeMismatch {
        /// GGUF tensor name.
        name: String,
        /// Shape found.
        got: Vec<usize>,
        /// Shape the configuration implies.
        expected: Vec<usize>,
    },
    /// A tensor's data length disagrees with its own shape.
    #[error("tensor `{name}` declares shape {shape:?} ({expected} values) but holds {got} values")]
    LengthMismatch {
        /// GGUF tensor name.
        name: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Values the shape implies.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// The model configuration, LoRA or optimizer settings are unusable.
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// The token batch or loss mask is malformed.
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
    /// The LoRA A initialiser returned the wrong number of values.
    #[error(
        "LoRA initialiser returned {got} values for layer {layer} {target:?} A, expected {expected} \
         (rank × in_features, row-major)"
    )]
    BadLoraInit {
        /// Layer index.
        layer: usize,
        /// Adapted projection.
        target: LoraTarget,
        /// Values expected.
        expected: usize,
        /// Values returned.
        got: usize,
    },
    /// A LoRA parameter that this adapter does not have, or values of the wrong length for it.
    #[error("LoRA parameter {param:?}: {reason}")]
    LoraParam {
        /// The parameter asked for.
        param: LoraParam,
        /// What was wrong.
        reason: String,
    },
    /// A tensor operation failed inside candle (a bug in this module rather than bad input).
    #[error("candle tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
}
