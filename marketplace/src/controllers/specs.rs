//! Job specs.

pub(crate) mod create;
pub(crate) mod get;
pub(crate) mod validate;
