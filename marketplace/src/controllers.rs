//! The handlers, one file per resource and action (`specs/validate.rs`, `blobs/put.rs`), and their extractors.

pub(crate) mod accounts;
pub(crate) mod auth;
pub(crate) mod blobs;
pub(crate) mod devices;
pub(crate) mod extract;
pub(crate) mod jobs;
pub(crate) mod service;
pub(crate) mod specs;
