//! The chain side of the marketplace: the indexer that mirrors the market contract's events into the database
//! ([`indexer`]), the jobs view folded from them, and the leader election that lets exactly one replica run the
//! indexer, the keeper ([`keeper`]) and the settlement sender ([`sender`]) at a time ([`leader`]); and the transactions requesters sign to
//! post a job ([`requester_txs`]).
//!
//! The contract is the source of truth: the marketplace's view of jobs is built from its events only
//! (DESIGN.md §3.4), decoded with the bindings of `tern-contracts`.

pub(crate) mod events;
pub(crate) mod fold;
pub mod indexer;
pub mod keeper;
pub mod leader;
pub mod requester_txs;
pub mod sender;

pub use events::DecodeError;
pub use indexer::{Indexer, IndexerConfig, IndexerError, SyncStep};
pub use leader::{Leader, LeaderStatus};
