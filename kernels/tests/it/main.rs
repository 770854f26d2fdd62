//! Integration tests of tern-kernels.
mod data;
mod io_gguf;
mod tokenizer;
mod reference;
