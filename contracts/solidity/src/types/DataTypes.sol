// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Where a job is in its life (DESIGN.md §3.4). The last five are terminal.
enum JobState {
    None, // no such job
    Open, // funded, waiting for a worker
    Claimed, // a worker locked its bond and is training
    Submitted, // trace root and adapter hash committed; waiting for the audit seed block
    Auditing, // intervals sampled; waiting for the worker's reveal, then the verifiers' attestations
    Verified, // every sampled interval attested; challenge window running
    Disputed, // a sampled interval is contested; a committee decides
    Finalized, // paid out (terminal)
    Slashed, // the worker cheated or failed to reveal (terminal)
    Refunded, // cancelled by the requester before any claim (terminal)
    Expired // a deadline passed without fault proven; escrow refunded (terminal)
}

/// @notice How a dispute ended.
enum DisputeOutcome {
    WorkerHonest, // the committee's majority value is the worker's committed one
    WorkerCheated, // the majority value is not in the worker's trace
    Undecided // no majority revealed: nobody is proven wrong, the job expires
}

/// @notice One job's on-chain record, packed into five slots.
/// @dev What only the indexer needs (trace root, adapter hash, audit seed, assigned verifiers) is emitted and folded
/// into `commitment`; callers pass it back as calldata (`Result`, `Audit`) and the contract checks it against the hash.
/// Timestamps fit uint32 until 2106; amounts fit uint72 (4.7e21 base units, 4.7e15 USDT).
struct Job {
    // slot 0
    address requester;
    JobState state;
    uint8 sampleCount; // s: audited intervals, <= MAX_SAMPLES
    uint16 attestedMask; // bit i: sampled interval i attested (or upheld by a committee)
    uint16 disputedMask; // bit i: sampled interval i has been disputed
    uint8 replacementRounds; // times no-show verifiers were replaced
    bool revealed; // the worker revealed the sampled start states
    uint32 deadline; // the deadline of the current state (see JobState)
    // slot 1
    address worker;
    uint32 checkpointInterval; // k: training steps between checkpoints
    uint32 numIntervals; // n = T / k; checkpoints 0..n, intervals 0..n-1
    uint32 trainDuration; // seconds a worker has from claim to submit
    // slot 2
    uint72 reward;
    uint72 verifierFee; // paid per sampled interval attested
    uint72 workerBond;
    uint40 openUntil; // last moment a worker may claim
    // slot 3
    bytes32 specHash; // keccak256 of the RFC 8785 canonical spec JSON
    // slot 4
    bytes32 commitment; // keccak256(abi.encode(Result)) while Submitted, keccak256(abi.encode(Audit)) after
}

/// @notice What a requester fixes when it posts a job.
struct JobParams {
    bytes32 specHash;
    uint256 reward;
    uint256 verifierFee; // per sampled interval; the requester escrows reward + verifierFee * sampleCount
    uint256 workerBond; // locked from the worker's stake on claim
    uint32 totalSteps; // T
    uint32 checkpointInterval; // k, divides T
    uint8 sampleCount; // s
    uint40 openUntil; // claim deadline (timestamp)
    uint32 trainDuration; // seconds from claim to submit
}

/// @notice The submitted result, as emitted by `ResultSubmitted`.
struct Result {
    bytes32 traceRoot;
    bytes32 adapterHash;
    uint256 anchorBlock; // the block whose hash seeds the audit
}

/// @notice The audit assignment, as emitted by `AuditStarted` (and updated by `VerifierReplaced`).
struct Audit {
    bytes32 traceRoot;
    bytes32 adapterHash;
    bytes32 seed; // fixes the sampled intervals: see AuditSampling.sampleIntervals
    address[] verifiers; // verifiers[i] audits sampled interval i
}

/// @notice A staker's money held by the market. One slot.
struct Account {
    uint72 stake; // bonded, slashable; includes `locked`
    uint72 locked; // part of `stake` backing open obligations (worker bonds, dispute bonds)
    uint72 balance; // earnings and refunds, withdrawable at once
    uint32 poolIndex; // 1-based position in the verifier pool tree, 0 if never joined
    bool inPool; // draws as a verifier, with weight `stake`
}

/// @notice Stake on its way out: slashable until `releaseAt`, then withdrawable.
struct Unbonding {
    uint72 amount;
    uint40 releaseAt;
}

/// @notice One committee member's vote in a dispute.
struct Vote {
    address member;
    bool revealed;
    bytes32 commitment; // keccak256(abi.encode(stateHash, adapterHash, salt, member))
    bytes32 stateHash;
    bytes32 adapterHash; // zero unless the disputed interval is the last one
}

/// @notice A contested sampled interval and its committee.
struct Dispute {
    address challenger;
    address attester; // the verifier assigned to the interval when it was disputed
    uint8 index; // which sampled interval
    JobState resumeState; // Auditing or Verified: where the job goes back if the worker was right
    uint64 anchorBlock; // the block whose hash draws the committee
    uint32 revealDeadline; // commit deadline is the job's `deadline`
    uint72 bond;
    Vote[] votes;
}

/// @notice Market-wide settings, fixed at deployment.
struct MarketConfig {
    uint64 auditDelay; // blocks between the submission (or dispute) and the block whose hash seeds the draw
    uint32 auditStartTimeout; // seconds after submission before an audit nobody could start expires the job
    uint32 revealWindow; // seconds the worker has to reveal the sampled start states
    uint32 attestWindow; // seconds a verifier has to attest
    uint32 challengeWindow; // seconds after Verified during which anyone staked may dispute
    uint32 commitWindow; // seconds for committee commits
    uint32 voteRevealWindow; // seconds for committee reveals
    uint32 proofWindow; // seconds after the vote for anyone to prove the majority value is in the trace
    uint32 unbondingDelay; // seconds stake stays slashable after an unstake request
    uint8 committeeSize; // odd, 1..15
    uint8 maxReplacementRounds; // no-show replacement rounds before the job expires
    uint256 verifierPenalty; // slashed from a verifier or committee member that misses a deadline or votes wrong
    uint256 disputeBond; // locked from a challenger's stake
    uint256 minVerifierStake; // to join the verifier pool
}
