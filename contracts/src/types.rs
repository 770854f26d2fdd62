//! Plain Rust twins of the market's Solidity types (`solidity/src/types/DataTypes.sol`).
//!
//! The client speaks these instead of the `sol!`-generated structs: field names are
//! snake_case, amounts are [`U256`] in the token's base units (USDT has 6 decimals),
//! timestamps are `u64` seconds, and enums are Rust enums.

use alloy::primitives::{Address, B256, U256, aliases::U40, keccak256};
use alloy::sol_types::SolValue;

use crate::bindings::TernMarket as sol;
use crate::error::ContractError;

/// Where a job is in its life (DESIGN.md §3.4). The last five are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum JobState {
    /// No such job.
    None = 0,
    /// Funded, waiting for a worker.
    Open = 1,
    /// A worker locked its bond and is training.
    Claimed = 2,
    /// Trace root and adapter hash committed; waiting for the audit seed block.
    Submitted = 3,
    /// Intervals sampled; waiting for the worker's reveal, then the verifiers' attestations.
    Auditing = 4,
    /// Every sampled interval attested; the challenge window is running.
    Verified = 5,
    /// A sampled interval is contested; a committee decides.
    Disputed = 6,
    /// Paid out (terminal).
    Finalized = 7,
    /// The worker cheated or failed to reveal (terminal).
    Slashed = 8,
    /// Cancelled by the requester before any claim (terminal).
    Refunded = 9,
    /// A deadline passed without fault proven; escrow refunded (terminal).
    Expired = 10,
}

impl JobState {
    /// Every state, in the contract's numbering.
    pub const ALL: [JobState; 11] = [
        Self::None,
        Self::Open,
        Self::Claimed,
        Self::Submitted,
        Self::Auditing,
        Self::Verified,
        Self::Disputed,
        Self::Finalized,
        Self::Slashed,
        Self::Refunded,
        Self::Expired,
    ];

    /// The state with the contract's number `value`, if there is one.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }

    /// Whether the job is over (Finalized, Slashed, Refunded or Expired).
    pub fn is_terminal(self) -> bool {
        self >= Self::Finalized
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl TryFrom<u8> for JobState {
    type Error = ContractError;

    fn try_from(value: u8) -> Result<Self, ContractError> {
        Self::from_u8(value).ok_or(ContractError::UnknownEnumValue {
            name: "JobState",
            value,
        })
    }
}

/// How a dispute ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DisputeOutcome {
    /// The committee's majority value is the worker's committed one.
    WorkerHonest = 0,
    /// The majority value is not in the worker's trace: the worker was slashed.
    WorkerCheated = 1,
    /// No majority revealed: nobody is proven wrong, the job expired.
    Undecided = 2,
}

impl TryFrom<u8> for DisputeOutcome {
    type Error = ContractError;

    fn try_from(value: u8) -> Result<Self, ContractError> {
        match value {
            0 => Ok(Self::WorkerHonest),
            1 => Ok(Self::WorkerCheated),
            2 => Ok(Self::Undecided),
            _ => Err(ContractError::UnknownEnumValue {
                name: "DisputeOutcome",
                value,
            }),
        }
    }
}

/// What a requester fixes when it posts a job (`JobParams`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobParams {
    /// keccak256 of the RFC 8785 canonical spec JSON.
    pub spec_hash: B256,
    /// What the worker is paid on success.
    pub reward: U256,
    /// Paid per sampled interval attested.
    pub verifier_fee: U256,
    /// Locked from the worker's stake on claim.
    pub worker_bond: U256,
    /// Training steps `T`.
    pub total_steps: u32,
    /// Checkpoint interval `k`; divides `T`.
    pub checkpoint_interval: u32,
    /// Sampled intervals `s`: `1 <= s <= 16` and `2s - 1 <= T / k`.
    pub sample_count: u8,
    /// Last moment (timestamp) a worker may claim.
    pub open_until: u64,
    /// Seconds a worker has from claim to submit.
    pub train_duration: u32,
}

impl JobParams {
    /// What `createJob` pulls from the requester: `reward + verifier_fee * sample_count`.
    pub fn escrow(&self) -> U256 {
        self.reward + self.verifier_fee * U256::from(self.sample_count)
    }

    /// The number of intervals `n = T / k` (0 when `k` is 0).
    pub fn num_intervals(&self) -> u32 {
        self.total_steps
            .checked_div(self.checkpoint_interval)
            .unwrap_or(0)
    }
}

impl From<&JobParams> for sol::JobParams {
    fn from(p: &JobParams) -> Self {
        Self {
            specHash: p.spec_hash,
            reward: p.reward,
            verifierFee: p.verifier_fee,
            workerBond: p.worker_bond,
            totalSteps: p.total_steps,
            checkpointInterval: p.checkpoint_interval,
            sampleCount: p.sample_count,
            // Out of range saturates; the contract then rejects it with BadOpenUntil.
            openUntil: U40::saturating_from(p.open_until),
            trainDuration: p.train_duration,
        }
    }
}

impl From<sol::JobParams> for JobParams {
    fn from(p: sol::JobParams) -> Self {
        Self {
            spec_hash: p.specHash,
            reward: p.reward,
            verifier_fee: p.verifierFee,
            worker_bond: p.workerBond,
            total_steps: p.totalSteps,
            checkpoint_interval: p.checkpointInterval,
            sample_count: p.sampleCount,
            open_until: p.openUntil.to(),
            train_duration: p.trainDuration,
        }
    }
}

/// One job's on-chain record (`Job`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Who posted and funded the job.
    pub requester: Address,
    /// Where the job is.
    pub state: JobState,
    /// Sampled intervals `s`.
    pub sample_count: u8,
    /// Bit `i`: sampled interval `i` attested (or upheld by a committee).
    pub attested_mask: u16,
    /// Bit `i`: sampled interval `i` has been disputed.
    pub disputed_mask: u16,
    /// Times no-show verifiers were replaced.
    pub replacement_rounds: u8,
    /// Whether the worker revealed the sampled start states.
    pub revealed: bool,
    /// The current state's deadline (timestamp; 0 for terminal states and some dispute phases).
    pub deadline: u64,
    /// The worker that claimed the job (zero while open).
    pub worker: Address,
    /// Checkpoint interval `k`.
    pub checkpoint_interval: u32,
    /// Intervals `n = T / k`; checkpoints `0..=n`.
    pub num_intervals: u32,
    /// Seconds a worker has from claim to submit.
    pub train_duration: u32,
    /// The worker's reward (net of any token fee on the deposit).
    pub reward: U256,
    /// Fee per attested sampled interval.
    pub verifier_fee: U256,
    /// The worker bond locked on claim.
    pub worker_bond: U256,
    /// Last moment a worker may claim.
    pub open_until: u64,
    /// keccak256 of the canonical spec JSON.
    pub spec_hash: B256,
    /// keccak256 of the `Result` (while Submitted) or of the `Audit` (after).
    pub commitment: B256,
}

impl TryFrom<sol::Job> for Job {
    type Error = ContractError;

    fn try_from(j: sol::Job) -> Result<Self, ContractError> {
        Ok(Self {
            requester: j.requester,
            state: JobState::try_from(j.state)?,
            sample_count: j.sampleCount,
            attested_mask: j.attestedMask,
            disputed_mask: j.disputedMask,
            replacement_rounds: j.replacementRounds,
            revealed: j.revealed,
            deadline: u64::from(j.deadline),
            worker: j.worker,
            checkpoint_interval: j.checkpointInterval,
            num_intervals: j.numIntervals,
            train_duration: j.trainDuration,
            reward: U256::from(j.reward),
            verifier_fee: U256::from(j.verifierFee),
            worker_bond: U256::from(j.workerBond),
            open_until: j.openUntil.to(),
            spec_hash: j.specHash,
            commitment: j.commitment,
        })
    }
}

/// The submitted result, as emitted by `ResultSubmitted` (and re-anchored by `AuditReanchored`).
///
/// The contract keeps only its hash; `startAudit` and `startAuditAndReveal` take it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobResult {
    /// Merkle root of the trace leaves.
    pub trace_root: B256,
    /// sha256 of the exported adapter file.
    pub adapter_hash: B256,
    /// The block whose hash seeds the audit.
    pub anchor_block: u64,
}

impl JobResult {
    /// What the contract stores for it while the job is Submitted:
    /// `keccak256(abi.encode(result))`, compared with [`Job::commitment`].
    pub fn commitment(&self) -> B256 {
        keccak256(sol::Result::from(self).abi_encode())
    }
}

impl From<&JobResult> for sol::Result {
    fn from(r: &JobResult) -> Self {
        Self {
            traceRoot: r.trace_root,
            adapterHash: r.adapter_hash,
            anchorBlock: U256::from(r.anchor_block),
        }
    }
}

/// The audit assignment, as emitted by `AuditStarted` and updated by `VerifierReplaced`.
///
/// The contract keeps only its hash; every call during the audit takes it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Merkle root of the trace leaves.
    pub trace_root: B256,
    /// sha256 of the exported adapter file.
    pub adapter_hash: B256,
    /// The seed that fixes the sampled intervals.
    pub seed: B256,
    /// `verifiers[i]` audits sampled interval `i`.
    pub verifiers: Vec<Address>,
}

impl Audit {
    /// What the contract stores for it once the audit started:
    /// `keccak256(abi.encode(audit))`, compared with [`Job::commitment`].
    pub fn commitment(&self) -> B256 {
        keccak256(sol::Audit::from(self).abi_encode())
    }
}

impl From<&Audit> for sol::Audit {
    fn from(a: &Audit) -> Self {
        Self {
            traceRoot: a.trace_root,
            adapterHash: a.adapter_hash,
            seed: a.seed,
            verifiers: a.verifiers.clone(),
        }
    }
}

/// A staker's money held by the market (`Account`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    /// Bonded, slashable; includes `locked`.
    pub stake: U256,
    /// Part of `stake` backing open obligations (worker bonds, dispute bonds).
    pub locked: U256,
    /// Earnings and refunds, withdrawable at once.
    pub balance: U256,
    /// 1-based position in the verifier pool tree, 0 if never joined.
    pub pool_index: u32,
    /// Whether the account draws as a verifier.
    pub in_pool: bool,
}

impl Account {
    /// Stake that is not locked: what can be locked, unstaked or slashed for a no-show.
    pub fn free(&self) -> U256 {
        self.stake.saturating_sub(self.locked)
    }
}

impl From<sol::Account> for Account {
    fn from(a: sol::Account) -> Self {
        Self {
            stake: U256::from(a.stake),
            locked: U256::from(a.locked),
            balance: U256::from(a.balance),
            pool_index: a.poolIndex,
            in_pool: a.inPool,
        }
    }
}

/// Stake on its way out: slashable until `release_at`, then withdrawable (`Unbonding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unbonding {
    /// Amount unbonding.
    pub amount: U256,
    /// When it can be withdrawn (timestamp).
    pub release_at: u64,
}

impl From<sol::Unbonding> for Unbonding {
    fn from(u: sol::Unbonding) -> Self {
        Self {
            amount: U256::from(u.amount),
            release_at: u.releaseAt.to(),
        }
    }
}

/// Market-wide settings, fixed at deployment (`MarketConfig`). Windows are in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketConfig {
    /// Blocks between a submission (or dispute) and the block whose hash seeds the draw.
    pub audit_delay: u64,
    /// Seconds after submission before an audit nobody could start expires the job.
    pub audit_start_timeout: u32,
    /// Seconds the worker has to reveal the sampled start states.
    pub reveal_window: u32,
    /// Seconds a verifier has to attest.
    pub attest_window: u32,
    /// Seconds after Verified during which anyone staked may dispute.
    pub challenge_window: u32,
    /// Seconds for committee commits.
    pub commit_window: u32,
    /// Seconds for committee reveals.
    pub vote_reveal_window: u32,
    /// Seconds after the vote for anyone to prove the majority value is in the trace.
    pub proof_window: u32,
    /// Seconds stake stays slashable after an unstake request.
    pub unbonding_delay: u32,
    /// Dispute committee size: odd, 1..=15.
    pub committee_size: u8,
    /// No-show replacement rounds before the job expires.
    pub max_replacement_rounds: u8,
    /// Slashed from a verifier or committee member that misses a deadline or votes wrong.
    pub verifier_penalty: U256,
    /// Locked from a challenger's stake.
    pub dispute_bond: U256,
    /// Stake needed to join the verifier pool.
    pub min_verifier_stake: U256,
}

impl From<&MarketConfig> for sol::MarketConfig {
    fn from(c: &MarketConfig) -> Self {
        Self {
            auditDelay: c.audit_delay,
            auditStartTimeout: c.audit_start_timeout,
            revealWindow: c.reveal_window,
            attestWindow: c.attest_window,
            challengeWindow: c.challenge_window,
            commitWindow: c.commit_window,
            voteRevealWindow: c.vote_reveal_window,
            proofWindow: c.proof_window,
            unbondingDelay: c.unbonding_delay,
            committeeSize: c.committee_size,
            maxReplacementRounds: c.max_replacement_rounds,
            verifierPenalty: c.verifier_penalty,
            disputeBond: c.dispute_bond,
            minVerifierStake: c.min_verifier_stake,
        }
    }
}

impl From<sol::MarketConfig> for MarketConfig {
    fn from(c: sol::MarketConfig) -> Self {
        Self {
            audit_delay: c.auditDelay,
            audit_start_timeout: c.auditStartTimeout,
            reveal_window: c.revealWindow,
            attest_window: c.attestWindow,
            challenge_window: c.challengeWindow,
            commit_window: c.commitWindow,
            vote_reveal_window: c.voteRevealWindow,
            proof_window: c.proofWindow,
            unbonding_delay: c.unbondingDelay,
            committee_size: c.committeeSize,
            max_replacement_rounds: c.maxReplacementRounds,
            verifier_penalty: c.verifierPenalty,
            dispute_bond: c.disputeBond,
            min_verifier_stake: c.minVerifierStake,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_state_numbering_matches_solidity() {
        for (i, state) in JobState::ALL.iter().enumerate() {
            assert_eq!(*state as usize, i);
            assert_eq!(JobState::from_u8(i as u8), Some(*state));
        }
        assert_eq!(JobState::from_u8(11), None);
        assert!(JobState::Finalized.is_terminal() && !JobState::Disputed.is_terminal());
    }

    #[test]
    fn escrow_and_intervals() {
        let p = JobParams {
            spec_hash: B256::repeat_byte(1),
            reward: U256::from(100),
            verifier_fee: U256::from(3),
            worker_bond: U256::from(50),
            total_steps: 60,
            checkpoint_interval: 10,
            sample_count: 3,
            open_until: 1,
            train_duration: 1,
        };
        assert_eq!(p.escrow(), U256::from(109));
        assert_eq!(p.num_intervals(), 6);
        let back = JobParams::from(sol::JobParams::from(&p));
        assert_eq!(back, p);
    }
}
