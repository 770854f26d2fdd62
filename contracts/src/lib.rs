//! Tern's on-chain protocol, seen from Rust.
//!
//! Tern settles fine-tuning jobs on an EVM chain: a requester escrows USDT in the job
//! market contract, a worker claims the job and commits to its training trace, staked
//! verifiers audit sampled intervals of that trace, and the contract pays out or slashes.
//! The Solidity sources, their Foundry tests and the compiled artifacts live beside this
//! crate in `contracts/`; this crate is how the Rust parts (marketplace, worker, verifier,
//! end-to-end tests) talk to them.
//!
//! It has four parts:
//!
//! - **[`bindings`]**: alloy `sol!` bindings generated from the forge artifacts committed in
//!   `contracts/artifacts/` (trimmed by `contracts/scripts/artifacts.mjs`), so building this
//!   crate needs no Solidity compiler. Use them to decode the market's events (an indexer);
//!   everything else goes through the client.
//! - **A typed client**, [`Market`]: one per wallet, with a method for every call a
//!   requester, a worker, a verifier or anyone makes, and the views. Each transaction comes
//!   back as a [`Tx`] (receipt, gas used, and a typed outcome such as the new job id); a
//!   revert comes back as a [`ContractError`] holding the market's decoded custom error.
//!   The contract keeps the submitted result and the audit assignment only as hashes;
//!   [`Market::result_of`] and [`Market::audit_of`] rebuild the [`JobResult`] and [`Audit`]
//!   that later calls pass back, from the job's events.
//! - **[`devnet`]**: a local chain for tests, benchmarks and the demo: anvil with MockUSDT
//!   and the market deployed, funded named accounts, time control, and
//!   [`devnet::honest_scenario`], a whole job played to payout with the gas of each step.
//! - **Protocol helpers that need no chain**: [`trace`] builds the trace commitment of
//!   DESIGN.md §3.2: the leaf `keccak256(abi.encode(jobId, step, stateHash))` for each
//!   checkpoint, the Merkle tree over the leaves with OpenZeppelin's `MerkleProof`
//!   conventions, its root (what `submitResult` puts on chain) and the proofs the worker and
//!   the verifiers send with a reveal or an attestation ([`reveal_args`], [`attest_args`]).
//!
//! A worker's side of a job, on the local devnet:
//!
//! ```no_run
//! use tern_contracts::devnet::{Devnet, FakeTrace, Role};
//! use tern_contracts::{ContractError, reveal_args};
//!
//! # async fn demo() -> Result<(), ContractError> {
//! let devnet = Devnet::spawn().await?;
//! let requester = devnet.client(Role::Requester).await?;
//! let worker = devnet.client(Role::Worker).await?;
//!
//! let params = devnet.job_params("example").await?;
//! requester.approve(params.escrow()).await?;
//! let job_id = requester.create_job(&params).await?.outcome;
//!
//! worker.approve(params.worker_bond).await?;
//! worker.stake(params.worker_bond).await?;
//! worker.claim_job(job_id).await?;
//! let trace = FakeTrace::honest(job_id, params.num_intervals(), params.checkpoint_interval, 1)?;
//! let result = worker.submit_result(job_id, trace.root(), trace.adapter_hash).await?.outcome;
//!
//! // A few blocks later the anchor block's hash fixes the sampled intervals.
//! devnet.mine(devnet.config().audit_delay).await?;
//! let seed = worker.audit_seed(&result).await?;
//! let intervals = worker.sample_intervals(seed, params.num_intervals(), params.sample_count).await?;
//! let (starts, proofs) = reveal_args(&trace.commitment, &trace.state_hashes, &intervals)?;
//! let tx = worker.start_audit_and_reveal(job_id, &result, starts, proofs).await?;
//! println!("audit started, {} gas; verifiers {:?}", tx.gas_used(), tx.outcome.verifiers);
//! # Ok(())
//! # }
//! ```
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

pub mod bindings;
mod client;
pub mod devnet;
mod error;
pub mod trace;
mod types;

pub use client::{
    AuditStart, Committee, Market, Permit, TX_BASE_GAS, Tx, attest_args, calldata_gas, reveal_args,
    vote_commitment,
};
pub use error::{ContractError, MarketRevert, TokenRevert};
pub use types::{
    Account, Audit, DisputeOutcome, Job, JobParams, JobResult, JobState, MarketConfig, Unbonding,
};
