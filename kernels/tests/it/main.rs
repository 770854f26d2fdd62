//! Integration tests of tern-kernels.
mod base_quant;
mod cache;
mod cpu_matmul;
mod data;
mod export;
mod io_gguf;
mod io_gguf_roundtrip;
mod io_mutations;
mod io_safetensors;
mod reference;
mod reference_smollm2;
mod reference_vs_integer;
mod smollm2_data;
mod smollm2_train;
mod tiny;
mod tokenizer;
mod train_step;
