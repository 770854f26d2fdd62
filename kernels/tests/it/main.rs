//! Integration tests of tern-kernels.
mod cpu_matmul;
mod data;
mod io_gguf;
mod io_gguf_roundtrip;
mod io_mutations;
mod io_safetensors;
mod tokenizer;
mod train_step;
