//! Tern's on-chain protocol, seen from Rust.
//!
//! Tern settles fine-tuning jobs on an EVM chain: a requester escrows USDT in the job
//! market contract, a worker claims the job and commits to its training trace, staked
//! verifiers audit sampled intervals of that trace, and the contract pays out or slashes.
//! The Solidity sources, their Foundry tests and the compiled artifacts live beside this
//! crate in `contracts/`; this crate is how the Rust parts (marketplace, worker, verifier,
//! end-to-end tests) talk to them.
//!
//! It has three layers:
//!
//! - **Bindings** (coming): alloy `sol!` bindings generated from the committed forge
//!   artifacts, so building this crate needs no Solidity compiler.
//! - **A typed client** (coming): a narrow API over the bindings (create, claim, submit,
//!   reveal, attest, withdraw, and the lifecycle events), which keeps alloy's generated
//!   types out of the callers' signatures.
//! - **Protocol helpers that need no chain**, available now: [`trace`] builds the trace
//!   commitment of DESIGN.md §3.2: the leaf
//!   `keccak256(abi.encode(jobId, step, stateHash))` for each checkpoint, the Merkle tree
//!   over the leaves with OpenZeppelin's `MerkleProof` conventions, its root (what
//!   `submitResult` puts on chain) and the proofs the worker and the verifiers send with a
//!   reveal or an attestation.
//!
//! Rust and Solidity must agree bit for bit on the trace commitment. Both sides check
//! themselves against the shared vectors in `contracts/test-vectors/merkle.json`, which
//! `tests/vectors.rs` regenerates from this crate (run it with `TERN_BLESS=1` to rewrite
//! the file after a deliberate change).
//!
//! ```
//! use alloy::primitives::{B256, U256};
//! use tern_contracts::trace::{TraceCommitment, TraceTree};
//!
//! // State hashes of checkpoints 0, 1, 2 of job 1, taken every 50 steps.
//! let state_hashes = [B256::repeat_byte(0xa0), B256::repeat_byte(0xa1), B256::repeat_byte(0xa2)];
//! let commitment = TraceCommitment::from_state_hashes(U256::from(1), 50, &state_hashes)?;
//! let root = commitment.root();
//!
//! // The contract derives the leaf of checkpoint 2 (step 100) and checks the proof.
//! let proof = commitment.proof(2)?;
//! assert!(TraceTree::verify(root, commitment.leaf_for(2, state_hashes[2])?, &proof));
//! # Ok::<(), tern_contracts::trace::TraceError>(())
//! ```

pub mod trace;
