//! The market's events as the indexer stores them: decoded with the contract bindings into [`JobEvent`]s (a job's
//! timeline, folded into the jobs view) and [`AccountEvent`]s (stakes and balances, for the earnings pages).
//!
//! Stored as a `kind` (the Solidity event's name) and `data` (its fields as JSON, snake_case; addresses and hashes
//! `0x` and lowercase hex; token amounts as decimal strings, since they may exceed what JSON numbers carry exactly).
//! A rollback folds a job again from these rows, so what is stored is exactly what the fold reads back.

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEventInterface;
use serde::{Deserialize, Serialize};
use tern_contracts::bindings::TernMarket::TernMarketEvents;
use tern_contracts::{DisputeOutcome, JobState};

/// `0x` and lowercase hex of an address.
pub(crate) fn address_hex(address: Address) -> String {
    alloy::hex::encode_prefixed(address)
}

/// `0x` and 64 lowercase hex digits of a 32-byte word.
pub(crate) fn word_hex(word: B256) -> String {
    alloy::hex::encode_prefixed(word)
}

/// A job id as the API writes it: the uint256 as 32 bytes, `0x` and 64 lowercase hex digits.
pub(crate) fn job_id_hex(job_id: U256) -> String {
    word_hex(B256::from(job_id))
}

/// snake_case name of a job state (`open`, `claimed`, ...).
pub(crate) fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::None => "none",
        JobState::Open => "open",
        JobState::Claimed => "claimed",
        JobState::Submitted => "submitted",
        JobState::Auditing => "auditing",
        JobState::Verified => "verified",
        JobState::Disputed => "disputed",
        JobState::Finalized => "finalized",
        JobState::Slashed => "slashed",
        JobState::Refunded => "refunded",
        JobState::Expired => "expired",
    }
}

/// The states a job can be in once it exists, by their snake_case names (the `state` filter's values).
pub(crate) const STATE_NAMES: [&str; 10] = [
    "open",
    "claimed",
    "submitted",
    "auditing",
    "verified",
    "disputed",
    "finalized",
    "slashed",
    "refunded",
    "expired",
];

fn outcome_name(outcome: u8) -> String {
    match DisputeOutcome::try_from(outcome) {
        Ok(DisputeOutcome::WorkerHonest) => "worker_honest".to_string(),
        Ok(DisputeOutcome::WorkerCheated) => "worker_cheated".to_string(),
        Ok(DisputeOutcome::Undecided) => "undecided".to_string(),
        Err(_) => format!("unknown_{outcome}"),
    }
}

fn small(value: U256) -> u64 {
    value.saturating_to()
}

fn words(values: &[B256]) -> Vec<String> {
    values.iter().copied().map(word_hex).collect()
}

fn addresses(values: &[Address]) -> Vec<String> {
    values.iter().copied().map(address_hex).collect()
}

/// An event of one job, with its fields (the job id is stored beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
#[allow(missing_docs)]
pub enum JobEvent {
    /// The job was posted and funded. `reward` is what the worker will be paid (net of any token fee);
    /// `params_reward` is the requester's `params.reward`.
    JobCreated {
        requester: String,
        reward: String,
        spec_hash: String,
        params_reward: String,
        verifier_fee: String,
        worker_bond: String,
        total_steps: u32,
        checkpoint_interval: u32,
        sample_count: u8,
        open_until: u64,
        train_duration: u32,
    },
    /// Every transition; `state` snake_case, `deadline` the new state's (0 if none).
    JobStateChanged {
        state: String,
        deadline: u64,
    },
    JobClaimed {
        worker: String,
    },
    ResultSubmitted {
        trace_root: String,
        adapter_hash: String,
        anchor_block: u64,
    },
    AuditReanchored {
        anchor_block: u64,
    },
    AuditStarted {
        seed: String,
        intervals: Vec<u64>,
        verifiers: Vec<String>,
    },
    CheckpointsRevealed {
        start_state_hashes: Vec<String>,
    },
    IntervalsAttested {
        verifier: String,
        indexes: Vec<u64>,
        end_state_hashes: Vec<String>,
    },
    VerifierReplaced {
        index: u64,
        previous: String,
        replacement: String,
    },
    DisputeOpened {
        index: u64,
        challenger: String,
        anchor_block: u64,
    },
    DisputeReanchored {
        anchor_block: u64,
    },
    CommitteeDrawn {
        members: Vec<String>,
        commit_deadline: u64,
        reveal_deadline: u64,
    },
    VoteCommitted {
        member: String,
    },
    VoteRevealed {
        member: String,
        state_hash: String,
        adapter_hash: String,
    },
    /// `outcome`: worker_honest, worker_cheated or undecided.
    DisputeResolved {
        index: u64,
        outcome: String,
        state_hash: String,
        adapter_hash: String,
    },
}

/// A staking or balance event of one account (the account is stored beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
#[allow(missing_docs)]
pub enum AccountEvent {
    Staked {
        amount: String,
    },
    UnstakeRequested {
        amount: String,
        release_at: u64,
    },
    UnstakeWithdrawn {
        to: String,
        amount: String,
    },
    StakeLocked {
        amount: String,
    },
    StakeUnlocked {
        amount: String,
    },
    StakeSlashed {
        amount: String,
    },
    VerifierPoolJoined {
        weight: String,
    },
    VerifierPoolLeft {},
    /// A payout, a refund or a share of a slash, for job `job_id`.
    Credited {
        job_id: String,
        amount: String,
    },
    Withdrawn {
        to: String,
        amount: String,
    },
}

/// `(kind, data)` of a tagged event enum's JSON.
fn split(value: serde_json::Value) -> (String, serde_json::Value) {
    let serde_json::Value::Object(mut map) = value else {
        return (String::new(), serde_json::Value::Null);
    };
    let kind = map
        .remove("kind")
        .and_then(|k| k.as_str().map(str::to_string))
        .unwrap_or_default();
    let data = map
        .remove("data")
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    (kind, data)
}

/// The tagged enum `T` from a stored `kind` and `data`.
fn join<T: for<'de> Deserialize<'de>>(
    kind: &str,
    data: serde_json::Value,
) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::json!({ "kind": kind, "data": data }))
}

impl JobEvent {
    /// The event's name and its fields as stored.
    pub(crate) fn to_stored(&self) -> (String, serde_json::Value) {
        split(serde_json::to_value(self).unwrap_or_default())
    }

    /// The event from its stored name and fields.
    pub(crate) fn from_stored(
        kind: &str,
        data: serde_json::Value,
    ) -> Result<Self, serde_json::Error> {
        join(kind, data)
    }
}

impl AccountEvent {
    /// The event's name and its fields as stored.
    pub(crate) fn to_stored(&self) -> (String, serde_json::Value) {
        split(serde_json::to_value(self).unwrap_or_default())
    }

    /// The amount the event moved, if it has one.
    pub(crate) fn amount(&self) -> Option<&str> {
        match self {
            Self::Staked { amount }
            | Self::UnstakeRequested { amount, .. }
            | Self::UnstakeWithdrawn { amount, .. }
            | Self::StakeLocked { amount }
            | Self::StakeUnlocked { amount }
            | Self::StakeSlashed { amount }
            | Self::Credited { amount, .. }
            | Self::Withdrawn { amount, .. } => Some(amount),
            Self::VerifierPoolJoined { .. } | Self::VerifierPoolLeft {} => None,
        }
    }

    /// The job of a `Credited` event.
    pub(crate) fn job_id(&self) -> Option<&str> {
        match self {
            Self::Credited { job_id, .. } => Some(job_id),
            _ => None,
        }
    }
}

/// Where a log is on the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogPosition {
    pub(crate) block_number: u64,
    pub(crate) block_hash: B256,
    pub(crate) log_index: u64,
    pub(crate) tx_hash: B256,
}

/// A market event, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MarketEvent {
    /// An event of job `job_id` (`0x` + 64 hex).
    Job { job_id: String, event: JobEvent },
    /// A staking or balance event of `account` (`0x` + 40 hex).
    Account {
        account: String,
        event: AccountEvent,
    },
}

/// A decoded log with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexedEvent {
    pub(crate) position: LogPosition,
    pub(crate) event: MarketEvent,
}

/// Why a log could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The node returned a log without its block, index or transaction (pending logs are never asked for).
    #[error("the node returned a log without its {0}")]
    MissingField(&'static str),
    /// The log does not decode as the market's event with its topic.
    #[error("log {log_index} of block {block_number} does not decode as a market event: {source}")]
    Abi {
        /// The log's block.
        block_number: u64,
        /// The log's index in its block.
        log_index: u64,
        /// The ABI decoder's error.
        source: alloy::sol_types::Error,
    },
}

/// Decodes one log of the market. `Ok(None)` for an event the indexer does not keep (none today; a newer contract
/// could add some).
pub(crate) fn decode(log: &Log) -> Result<Option<IndexedEvent>, DecodeError> {
    let position = LogPosition {
        block_number: log
            .block_number
            .ok_or(DecodeError::MissingField("block number"))?,
        block_hash: log
            .block_hash
            .ok_or(DecodeError::MissingField("block hash"))?,
        log_index: log
            .log_index
            .ok_or(DecodeError::MissingField("log index"))?,
        tx_hash: log
            .transaction_hash
            .ok_or(DecodeError::MissingField("transaction hash"))?,
    };
    let known = log
        .topic0()
        .is_some_and(|t| TernMarketEvents::SELECTORS.iter().any(|s| s == &t.0));
    if !known {
        return Ok(None);
    }
    let decoded = TernMarketEvents::decode_log(&log.inner).map_err(|source| DecodeError::Abi {
        block_number: position.block_number,
        log_index: position.log_index,
        source,
    })?;
    Ok(classify(decoded.data).map(|event| IndexedEvent { position, event }))
}

fn job(job_id: U256, event: JobEvent) -> Option<MarketEvent> {
    Some(MarketEvent::Job {
        job_id: job_id_hex(job_id),
        event,
    })
}

fn account(account: Address, event: AccountEvent) -> Option<MarketEvent> {
    Some(MarketEvent::Account {
        account: address_hex(account),
        event,
    })
}

fn classify(event: TernMarketEvents) -> Option<MarketEvent> {
    use TernMarketEvents as E;
    match event {
        E::JobCreated(e) => job(
            e.jobId,
            JobEvent::JobCreated {
                requester: address_hex(e.requester),
                reward: e.reward.to_string(),
                spec_hash: word_hex(e.params.specHash),
                params_reward: e.params.reward.to_string(),
                verifier_fee: e.params.verifierFee.to_string(),
                worker_bond: e.params.workerBond.to_string(),
                total_steps: e.params.totalSteps,
                checkpoint_interval: e.params.checkpointInterval,
                sample_count: e.params.sampleCount,
                open_until: e.params.openUntil.to(),
                train_duration: e.params.trainDuration,
            },
        ),
        E::JobStateChanged(e) => job(
            e.jobId,
            JobEvent::JobStateChanged {
                state: JobState::from_u8(e.state).map_or_else(
                    || format!("unknown_{}", e.state),
                    |s| state_name(s).to_string(),
                ),
                deadline: small(e.deadline),
            },
        ),
        E::JobClaimed(e) => job(
            e.jobId,
            JobEvent::JobClaimed {
                worker: address_hex(e.worker),
            },
        ),
        E::ResultSubmitted(e) => job(
            e.jobId,
            JobEvent::ResultSubmitted {
                trace_root: word_hex(e.traceRoot),
                adapter_hash: word_hex(e.adapterHash),
                anchor_block: small(e.anchorBlock),
            },
        ),
        E::AuditReanchored(e) => job(
            e.jobId,
            JobEvent::AuditReanchored {
                anchor_block: small(e.anchorBlock),
            },
        ),
        E::AuditStarted(e) => job(
            e.jobId,
            JobEvent::AuditStarted {
                seed: word_hex(e.seed),
                intervals: e.intervals.iter().copied().map(small).collect(),
                verifiers: addresses(&e.verifiers),
            },
        ),
        E::CheckpointsRevealed(e) => job(
            e.jobId,
            JobEvent::CheckpointsRevealed {
                start_state_hashes: words(&e.startStateHashes),
            },
        ),
        E::IntervalsAttested(e) => job(
            e.jobId,
            JobEvent::IntervalsAttested {
                verifier: address_hex(e.verifier),
                indexes: e.indexes.iter().copied().map(small).collect(),
                end_state_hashes: words(&e.endStateHashes),
            },
        ),
        E::VerifierReplaced(e) => job(
            e.jobId,
            JobEvent::VerifierReplaced {
                index: small(e.index),
                previous: address_hex(e.previous),
                replacement: address_hex(e.replacement),
            },
        ),
        E::DisputeOpened(e) => job(
            e.jobId,
            JobEvent::DisputeOpened {
                index: small(e.index),
                challenger: address_hex(e.challenger),
                anchor_block: small(e.anchorBlock),
            },
        ),
        E::DisputeReanchored(e) => job(
            e.jobId,
            JobEvent::DisputeReanchored {
                anchor_block: small(e.anchorBlock),
            },
        ),
        E::CommitteeDrawn(e) => job(
            e.jobId,
            JobEvent::CommitteeDrawn {
                members: addresses(&e.members),
                commit_deadline: small(e.commitDeadline),
                reveal_deadline: small(e.revealDeadline),
            },
        ),
        E::VoteCommitted(e) => job(
            e.jobId,
            JobEvent::VoteCommitted {
                member: address_hex(e.member),
            },
        ),
        E::VoteRevealed(e) => job(
            e.jobId,
            JobEvent::VoteRevealed {
                member: address_hex(e.member),
                state_hash: word_hex(e.stateHash),
                adapter_hash: word_hex(e.adapterHash),
            },
        ),
        E::DisputeResolved(e) => job(
            e.jobId,
            JobEvent::DisputeResolved {
                index: small(e.index),
                outcome: outcome_name(e.outcome),
                state_hash: word_hex(e.stateHash),
                adapter_hash: word_hex(e.adapterHash),
            },
        ),
        E::Staked(e) => account(
            e.account,
            AccountEvent::Staked {
                amount: e.amount.to_string(),
            },
        ),
        E::UnstakeRequested(e) => account(
            e.account,
            AccountEvent::UnstakeRequested {
                amount: e.amount.to_string(),
                release_at: small(e.releaseAt),
            },
        ),
        E::UnstakeWithdrawn(e) => account(
            e.account,
            AccountEvent::UnstakeWithdrawn {
                to: address_hex(e.to),
                amount: e.amount.to_string(),
            },
        ),
        E::StakeLocked(e) => account(
            e.account,
            AccountEvent::StakeLocked {
                amount: e.amount.to_string(),
            },
        ),
        E::StakeUnlocked(e) => account(
            e.account,
            AccountEvent::StakeUnlocked {
                amount: e.amount.to_string(),
            },
        ),
        E::StakeSlashed(e) => account(
            e.account,
            AccountEvent::StakeSlashed {
                amount: e.amount.to_string(),
            },
        ),
        E::VerifierPoolJoined(e) => account(
            e.account,
            AccountEvent::VerifierPoolJoined {
                weight: e.weight.to_string(),
            },
        ),
        E::VerifierPoolLeft(e) => account(e.account, AccountEvent::VerifierPoolLeft {}),
        E::Credited(e) => account(
            e.account,
            AccountEvent::Credited {
                job_id: job_id_hex(e.jobId),
                amount: e.amount.to_string(),
            },
        ),
        E::Withdrawn(e) => account(
            e.account,
            AccountEvent::Withdrawn {
                to: address_hex(e.to),
                amount: e.amount.to_string(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_with_prefix() {
        let a = Address::repeat_byte(0xAB);
        assert_eq!(address_hex(a), format!("0x{}", "ab".repeat(20)));
        assert_eq!(job_id_hex(U256::from(1)), format!("0x{}1", "0".repeat(63)));
    }

    #[test]
    fn stored_form_round_trips() {
        let e = JobEvent::AuditStarted {
            seed: word_hex(B256::repeat_byte(1)),
            intervals: vec![0, 3, 5],
            verifiers: vec![address_hex(Address::repeat_byte(2))],
        };
        let (kind, data) = e.to_stored();
        assert_eq!(kind, "AuditStarted");
        assert_eq!(data["intervals"], serde_json::json!([0, 3, 5]));
        assert_eq!(JobEvent::from_stored(&kind, data).unwrap(), e);
        let a = AccountEvent::VerifierPoolLeft {};
        let (kind, data) = a.to_stored();
        assert_eq!(kind, "VerifierPoolLeft");
        assert_eq!(data, serde_json::json!({}));
    }
}
