//! The marketplace's side of the chain.

pub mod sender;
