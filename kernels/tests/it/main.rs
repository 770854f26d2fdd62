//! Integration tests of tern-kernels.
mod data;
