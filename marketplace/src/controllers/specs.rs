//! Job specs.

pub(crate) mod validate;
