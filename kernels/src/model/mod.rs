//! The transformer: configuration, frozen base weights, LoRA adapters (in progress).

mod config;

pub use config::{Architecture, LoraTarget, ModelConfig};
