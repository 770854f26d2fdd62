//! What can go wrong reading or writing a safetensors file.

use std::path::PathBuf;

use ::safetensors::Dtype;

/// An error reading, querying or writing a safetensors file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SafetensorsError {
    /// The file could not be read or written.
    #[error("safetensors file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The header or layout is invalid (as judged by the `safetensors` crate).
    #[error("invalid safetensors file: {0} (is the file complete and really safetensors?)")]
    Format(String),
    /// No tensor of that name.
    #[error("safetensors file has no tensor {0:?}")]
    NoTensor(String),
    /// A tensor of another dtype than the operation takes.
    #[error("safetensors tensor {tensor:?} is {found:?}, expected {expected}")]
    Dtype {
        /// The tensor.
        tensor: String,
        /// The dtype(s) accepted.
        expected: &'static str,
        /// Its dtype.
        found: Dtype,
    },
    /// A tensor whose shape does not fit the operation (or values that do not fit a shape, when writing).
    #[error("safetensors tensor {tensor:?}: {reason}")]
    Shape {
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A packed BitNet weight without its `weight_scale` tensor.
    #[error("BitNet weight {tensor:?} has no scale tensor {scale:?}; is this a BitNet checkpoint?")]
    MissingScale {
        /// The packed weight.
        tensor: String,
        /// The scale tensor looked for.
        scale: String,
    },
    /// A packed 2-bit code of 3, which is no ternary value.
    #[error(
        "BitNet weight {tensor:?}: packed byte {byte_index} holds code 3, which is not ternary"
    )]
    NotTernary {
        /// The packed weight.
        tensor: String,
        /// The offending byte's index in the packed data.
        byte_index: usize,
    },
    /// Two tensors with one name given to the writer.
    #[error("safetensors writer: tensor {0:?} added twice")]
    Duplicate(String),
}

impl From<::safetensors::SafeTensorError> for SafetensorsError {
    fn from(e: ::safetensors::SafeTensorError) -> Self {
        Self::Format(e.to_string())
    }
}
