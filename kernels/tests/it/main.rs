//! Integration tests of tern-kernels.
mod data;
mod io_gguf;
mod io_gguf_roundtrip;
mod io_safetensors;
mod io_mutations;
mod tokenizer;
mod reference;
