//! Integration tests of tern-kernels.
mod cpu_matmul;
