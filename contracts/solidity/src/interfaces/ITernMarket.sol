// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Audit, DisputeOutcome, Job, JobParams, JobState, MarketConfig, Result } from "../types/DataTypes.sol";
import { IStaking } from "./IStaking.sol";

/// @title ITernMarket
/// @notice The job market of DESIGN.md §3: escrow, claim, trace commitment, sampled audit, disputes, payout.
/// Every state change emits `JobStateChanged`; the other events carry the data an indexer needs, including what
/// the contract keeps only as a hash (`Result`, `Audit`).
interface ITernMarket is IStaking {
    // ================================================================ events

    /// @notice `reward` is what the worker will be paid: `params.reward`, less any token fee on the deposit.
    event JobCreated(uint256 indexed jobId, address indexed requester, uint256 reward, JobParams params);
    /// @notice Emitted on every transition; `deadline` is the new state's deadline: 0 for terminal states and for
    /// Disputed before its committee is drawn (anyone may draw it once the anchor block is mined).
    event JobStateChanged(uint256 indexed jobId, JobState state, uint256 deadline);
    event JobClaimed(uint256 indexed jobId, address indexed worker);
    event ResultSubmitted(uint256 indexed jobId, bytes32 traceRoot, bytes32 adapterHash, uint256 anchorBlock);
    /// @notice The seed block aged out of `blockhash` range before anyone used it; a later block seeds instead.
    event AuditReanchored(uint256 indexed jobId, uint256 anchorBlock);
    event AuditStarted(uint256 indexed jobId, bytes32 seed, uint256[] intervals, address[] verifiers);
    /// @notice The worker's start state hashes, in sampled-interval order (checkpoint ids of the blobs to fetch).
    event CheckpointsRevealed(uint256 indexed jobId, bytes32[] startStateHashes);
    event IntervalsAttested(
        uint256 indexed jobId, address indexed verifier, uint256[] indexes, bytes32[] endStateHashes
    );
    event VerifierReplaced(uint256 indexed jobId, uint256 index, address indexed previous, address indexed replacement);
    event DisputeOpened(uint256 indexed jobId, uint256 index, address indexed challenger, uint256 anchorBlock);
    event DisputeReanchored(uint256 indexed jobId, uint256 anchorBlock);
    event CommitteeDrawn(uint256 indexed jobId, address[] members, uint256 commitDeadline, uint256 revealDeadline);
    event VoteCommitted(uint256 indexed jobId, address indexed member);
    event VoteRevealed(uint256 indexed jobId, address indexed member, bytes32 stateHash, bytes32 adapterHash);
    event DisputeResolved(
        uint256 indexed jobId, uint256 index, DisputeOutcome outcome, bytes32 stateHash, bytes32 adapterHash
    );

    // ================================================================ requester

    /// @notice Posts and funds a job: pulls reward + verifierFee * sampleCount (approve first). With a fee-on-transfer
    /// token the reward is what arrived minus the fees. Returns the job id, unique across chains and deployments.
    function createJob(JobParams calldata params) external returns (uint256 jobId);

    /// @notice `createJob` with an EIP-2612 permit where the token has one.
    function createJobWithPermit(JobParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 jobId);

    /// @notice The requester takes an Open job back and is refunded.
    function cancelJob(uint256 jobId) external;

    // ================================================================ worker

    /// @notice Locks the job's worker bond from the caller's free stake; training must be submitted in time.
    function claimJob(uint256 jobId) external;

    /// @notice Commits the trace root and the adapter hash. Only the root goes on chain; state hashes stay secret.
    function submitResult(uint256 jobId, bytes32 traceRoot, bytes32 adapterHash) external;

    /// @notice Reveals each sampled interval's start state hash with its Merkle proof.
    function revealCheckpoints(
        uint256 jobId,
        Audit calldata audit,
        bytes32[] calldata startStateHashes,
        bytes32[][] calldata proofs
    ) external;

    /// @notice `startAudit` then `revealCheckpoints` in one transaction (the worker reads the seed block first).
    function startAuditAndReveal(
        uint256 jobId,
        Result calldata result,
        bytes32[] calldata startStateHashes,
        bytes32[][] calldata proofs
    ) external;

    // ================================================================ anyone

    /// @notice Seeds the audit from the anchor block's hash: samples the intervals and draws one verifier per
    /// interval by stake. The audit must be opened within 256 blocks of the anchor (the worker's client does it with
    /// `startAuditAndReveal`): once the anchor aged out, this call slashes the worker, or, if the verifier pool is
    /// empty, re-anchors the audit to a later block.
    function startAudit(uint256 jobId, Result calldata result) external;

    /// @notice After the attest deadline, slashes every assigned verifier that did not attest and draws a
    /// replacement; after `maxReplacementRounds` the job expires instead.
    function replaceVerifiers(uint256 jobId, Audit calldata audit) external;

    /// @notice After the challenge window, pays the worker (reward, bond unlocked) and the verifiers (fees).
    function finalize(uint256 jobId, Audit calldata audit) external;

    /// @notice Moves a job whose deadline passed: Open -> Expired; Claimed -> Open or Expired (worker bond slashed
    /// to the requester); Submitted (audit never started) -> Expired; Auditing without reveal -> Slashed.
    function expireJob(uint256 jobId) external;

    // ================================================================ verifier

    /// @notice Attests sampled intervals with the end state hashes the caller recomputed and their Merkle proofs.
    function attest(
        uint256 jobId,
        Audit calldata audit,
        uint256[] calldata indexes,
        bytes32[] calldata endStateHashes,
        bytes32[][] calldata proofs
    ) external;

    /// @notice Contests sampled interval `index`, locking the dispute bond: the assigned verifier while auditing,
    /// or any staker (not the worker) during the challenge window.
    function dispute(uint256 jobId, Audit calldata audit, uint256 index) external;

    /// @notice Draws the dispute committee from the anchor block's hash (re-anchors if it aged out).
    function drawCommittee(uint256 jobId) external;

    /// @notice A committee member commits keccak256(abi.encode(stateHash, adapterHash, salt, member)).
    function commitVote(uint256 jobId, bytes32 commitment) external;

    /// @notice Opens a commitment. `adapterHash` is zero unless the disputed interval is the last one.
    function revealVote(uint256 jobId, bytes32 stateHash, bytes32 adapterHash, bytes32 salt) external;

    /// @notice Settles the dispute by majority of revealed votes. If the majority value's leaf is proven in the
    /// worker's trace (and, for the last interval, the adapter hash matches), the worker was honest; a missing proof
    /// after the proof window means it cheated.
    function resolveDispute(uint256 jobId, Audit calldata audit, bytes32[] calldata proof) external;

    // ================================================================ views

    function getJob(uint256 jobId) external view returns (Job memory);

    function getConfig() external view returns (MarketConfig memory);

    /// @notice Tokens the market holds for job `jobId` (zero once it reached a terminal state).
    function escrowOf(uint256 jobId) external view returns (uint256);

    /// @notice The audited intervals for a seed: see TraceCommitment.sampleIntervals.
    function sampleIntervals(bytes32 seed, uint256 numIntervals, uint256 sampleCount)
        external
        pure
        returns (uint256[] memory);

    /// @notice leaf = keccak256(abi.encode(jobId, step, stateHash)) (DESIGN.md §3.2).
    function traceLeaf(uint256 jobId, uint256 step, bytes32 stateHash) external pure returns (bytes32);
}
