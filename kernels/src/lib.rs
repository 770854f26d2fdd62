//! Tern's compute: everything between a model file plus a dataset and a trained LoRA adapter.
//!
//! The training step is integer arithmetic with one specified rounding rule (see [`fixed`]), so every backend
//! produces the same bits and a verifier's audit is a hash comparison (DESIGN.md §4). This crate depends on nothing
//! else of the project.
//!
//! | module | what it holds |
//! |---|---|
//! | [`io`] | model files in and adapters out: GGUF v3 (read and write), Hugging Face safetensors |
//! | [`tokenizer`] | the BPE tokenizer a model file embeds |
//! | [`data`] | plain-text and chat datasets: tokenization, train/validation split, batch order |
//! | [`rng`] | counter-based random words: the same `(key, counter)` gives the same bits on every backend |
//! | [`fixed`] | integer primitives: the rounding rule, block floating point, fixed-point rescaling |
//! | [`ops`] | the non-matmul layers (RMSNorm, RoPE, softmax, activations) forward and backward on per-row block floating point |
//! | [`tensor`] | packed ternary and int8 matrices |
//! | [`model`] | model configuration, base weights and LoRA adapters |
//! | [`train`] | the optimizer (integer AdamW), the learning-rate schedule |
//! | [`cpu`] | the CPU backend: integer matmuls with SIMD chosen at run time, over all cores |
//! | [`export`] | trained adapters out: PEFT safetensors, llama.cpp GGUF LoRA, merged weights |

pub mod cpu;
pub mod data;
pub mod export;
pub mod fixed;
pub mod io;
pub mod model;
pub mod ops;
#[cfg(feature = "reference")]
pub mod reference;
pub mod rng;
pub mod tensor;
pub mod tokenizer;
pub mod train;
