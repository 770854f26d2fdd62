//! Integration tests of tern-kernels.
mod cache;
mod cpu_matmul;
mod data;
mod export;
mod io_gguf;
mod io_gguf_roundtrip;
mod io_mutations;
mod io_safetensors;
mod smollm2_train;
mod tokenizer;
mod train_step;
