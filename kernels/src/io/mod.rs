//! Model files in and out: GGUF (read and write, every block format Tern uses) and Hugging Face safetensors
//! (float tensors and BitNet's packed ternary weights).
//!
//! Both readers take the whole file into memory and check every length, count and offset against its size before
//! allocating, so a hostile or truncated file gives an error, never a panic or an out-of-memory abort.

pub mod gguf;
pub mod safetensors;
