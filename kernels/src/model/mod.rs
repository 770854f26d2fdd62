//! The transformer: configuration, the frozen integer base loaded from a model file, and the forward and backward
//! pass with LoRA adapters.

mod base;
mod base_gguf;
mod config;
mod generate;
mod hf;
mod quantize;
pub mod synthetic;
mod transformer;

pub use base::{BaseModel, Block, ModelError, config_from_gguf};
pub use base_gguf::{BASE_QUANT_KEY, quantized_base_gguf};
pub use config::{Architecture, LoraTarget, ModelConfig};
pub use generate::{Sampling, generate};
pub use hf::config_from_hf;
pub use quantize::{BaseQuant, int8_from_q8_0};
pub use transformer::{ActivationMemory, Adapters, BatchGradients, HEAD_CHUNK, Transformer};
