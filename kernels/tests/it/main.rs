//! Integration tests of tern-kernels.
