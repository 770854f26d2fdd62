//! The marketplace's side of the chain.

pub mod requester_txs;
pub mod sender;
