//! Integration tests of tern-kernels.
mod reference;
