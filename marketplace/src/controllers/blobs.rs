//! Content-addressed blobs.

pub(crate) mod get;
pub(crate) mod put;
