//! Integration tests of tern-kernels.
mod io_gguf;
mod tokenizer;
