//! The handlers, one file per resource and action (`specs/validate.rs`, `blobs/put.rs`), and their extractors.

pub(crate) mod blobs;
mod extract;
pub(crate) mod jobs;
pub(crate) mod service;
pub(crate) mod specs;
