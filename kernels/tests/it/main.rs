//! Integration tests of tern-kernels.
mod data;
mod io_gguf;
mod io_gguf_roundtrip;
mod io_mutations;
mod io_safetensors;
mod reference;
mod reference_smollm2;
mod tokenizer;
