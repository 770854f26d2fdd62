//! Integration tests of tern-kernels.
mod cpu_matmul;
mod data;
mod io_gguf;
mod tokenizer;
