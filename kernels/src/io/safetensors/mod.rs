//! Hugging Face safetensors: float tensors (F32, F16, BF16) read as `f32`, and BitNet b1.58 packed ternary weights.
//!
//! Parsing and header validation are the `safetensors` crate's; this module adds typed access, BitNet unpacking
//! with the scale convention spelled out ([`bitnet`]), and a small writer for tests and adapters.

pub mod bitnet;
mod error;
mod reader;
mod writer;

pub use bitnet::{BitnetLinearClass, TernaryWeight, pack_ternary, unpack_ternary};
pub use error::SafetensorsError;
pub use reader::{Safetensors, TensorEntry};
pub use writer::SafetensorsWriter;

/// The element types of a safetensors file, re-exported from the `safetensors` crate.
pub use ::safetensors::Dtype;
