//! Trained adapters out: a Hugging Face PEFT LoRA (safetensors plus `adapter_config.json`), a llama.cpp GGUF LoRA
//! adapter, and merged projection weights.
//!
//! The trainer keeps `A` and `B` as integers with [`MASTER_FRAC`](crate::train::MASTER_FRAC) fractional bits; every
//! export writes `v / 2^29` as `f32`, which rounds `v` to 24 significant bits (round half to even) and scales exactly.
//! The rounding is a pure function of the state, so the exported bytes and the adapter hash (DESIGN.md §3.2) are
//! too.
//!
//! Row order: the base model comes from GGUF, whose llama Q and K rows are permuted per head so that RoPE rotates
//! adjacent pairs ([`permute`]). The `B` matrices of `q` and `k` therefore have their output rows in GGUF order. A
//! GGUF adapter keeps that order; a PEFT adapter, which applies to the Hugging Face weights, un-permutes them.

mod check;
mod error;
pub mod gguf_lora;
pub mod merged;
pub mod peft;
pub mod permute;

pub use error::ExportError;
pub use gguf_lora::export_gguf_lora;
pub use merged::merged_weight;
pub use peft::{PeftAdapter, adapter_hash, export_peft, export_peft_as, peft_module_name};
pub use permute::{permute_rows, unpermute_rows};
