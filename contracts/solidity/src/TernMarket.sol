// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import { Staking } from "./abstracts/Staking.sol";
import { ITernMarket } from "./interfaces/ITernMarket.sol";
import { Errors } from "./libraries/Errors.sol";
import { TraceCommitment } from "./libraries/TraceCommitment.sol";
import {
    Audit,
    Dispute,
    DisputeOutcome,
    Job,
    JobParams,
    JobState,
    MarketConfig,
    Result,
    Vote
} from "./types/DataTypes.sol";

/// @title TernMarket
/// @notice One market for every fine-tuning job, keyed by job id: USDT escrow, worker bonds, the trace commitment,
/// the sampled audit with stake-weighted verifiers, disputes settled by a commit-reveal committee, and pull payouts.
/// @dev Lifecycle (DESIGN.md §3.4): Open -> Claimed -> Submitted -> Auditing -> Verified -> Finalized, with Disputed,
/// Slashed, Refunded and Expired. Every deadline has a transition anyone can call, so no job or stake is stuck
/// because one party stops. The contract keeps `Result` and `Audit` only as a hash in `Job.commitment`; callers pass
/// them back from the events, which keeps an honest lifecycle cheap.
contract TernMarket is ITernMarket, Staking {
    using SafeCast for uint256;

    /// @notice Most intervals one job may audit (the attested and disputed masks are 16 bits).
    uint256 public constant MAX_SAMPLES = 16;
    /// @notice Largest dispute committee.
    uint256 public constant MAX_COMMITTEE = 15;
    /// @dev Draw attempts per verifier before giving up (skips the worker, the requester, the challenger).
    uint256 private constant DRAW_ATTEMPTS = 16;

    uint64 private immutable _auditDelay;
    uint32 private immutable _auditStartTimeout;
    uint32 private immutable _revealWindow;
    uint32 private immutable _attestWindow;
    uint32 private immutable _challengeWindow;
    uint32 private immutable _commitWindow;
    uint32 private immutable _voteRevealWindow;
    uint32 private immutable _proofWindow;
    uint8 private immutable _committeeSize;
    uint8 private immutable _maxReplacementRounds;
    uint256 private immutable _verifierPenalty;
    uint256 private immutable _disputeBond;

    /// @notice Jobs created so far; the next job id is derived from it.
    uint256 public jobCount;

    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Dispute) private _disputes;

    constructor(IERC20 token_, MarketConfig memory c) Staking(token_, c.unbondingDelay, c.minVerifierStake) {
        if (c.auditDelay == 0) revert Errors.InvalidConfig("auditDelay must be at least one block");
        if (c.committeeSize == 0 || c.committeeSize % 2 == 0 || c.committeeSize > MAX_COMMITTEE) {
            revert Errors.InvalidConfig("committeeSize must be odd and at most 15");
        }
        if (
            c.auditStartTimeout == 0 || c.revealWindow == 0 || c.attestWindow == 0 || c.challengeWindow == 0
                || c.commitWindow == 0 || c.voteRevealWindow == 0 || c.proofWindow == 0
        ) {
            revert Errors.InvalidConfig("every window and timeout must be non-zero");
        }
        if (c.disputeBond == 0 || c.verifierPenalty == 0) {
            revert Errors.InvalidConfig("disputeBond and verifierPenalty must be non-zero");
        }
        // A verifier must stay slashable for as long as one assignment can last.
        uint256 liable = uint256(c.revealWindow) + uint256(c.attestWindow) * (uint256(c.maxReplacementRounds) + 1)
            + c.challengeWindow + c.commitWindow + c.voteRevealWindow + c.proofWindow;
        if (c.unbondingDelay < liable) revert Errors.InvalidConfig("unbondingDelay shorter than an assignment");
        _auditDelay = c.auditDelay;
        _auditStartTimeout = c.auditStartTimeout;
        _revealWindow = c.revealWindow;
        _attestWindow = c.attestWindow;
        _challengeWindow = c.challengeWindow;
        _commitWindow = c.commitWindow;
        _voteRevealWindow = c.voteRevealWindow;
        _proofWindow = c.proofWindow;
        _committeeSize = c.committeeSize;
        _maxReplacementRounds = c.maxReplacementRounds;
        _verifierPenalty = c.verifierPenalty;
        _disputeBond = c.disputeBond;
    }

    // ================================================================ requester

    /// @inheritdoc ITernMarket
    function createJob(JobParams calldata params) external nonReentrant returns (uint256) {
        _checkParams(params);
        return _createJob(params);
    }

    /// @inheritdoc ITernMarket
    function createJobWithPermit(JobParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256)
    {
        _checkParams(params);
        _tryPermit(params.reward + params.verifierFee * params.sampleCount, deadline, v, r, s);
        return _createJob(params);
    }

    /// @inheritdoc ITernMarket
    function cancelJob(uint256 jobId) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Open);
        if (msg.sender != j.requester) revert Errors.NotRequester(jobId, msg.sender);
        _close(jobId, j, new address[](0), JobState.Refunded, false);
    }

    // ================================================================ worker

    /// @inheritdoc ITernMarket
    function claimJob(uint256 jobId) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Open);
        if (block.timestamp > j.openUntil) revert Errors.DeadlinePassed(jobId, j.openUntil, block.timestamp);
        _lock(msg.sender, j.workerBond);
        j.worker = msg.sender;
        _setState(jobId, j, JobState.Claimed, block.timestamp + j.trainDuration);
        emit JobClaimed(jobId, msg.sender);
    }

    /// @inheritdoc ITernMarket
    function submitResult(uint256 jobId, bytes32 traceRoot, bytes32 adapterHash) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Claimed);
        if (msg.sender != j.worker) revert Errors.NotWorker(jobId, msg.sender);
        _expectBefore(jobId, j.deadline);
        if (traceRoot == bytes32(0) || adapterHash == bytes32(0)) {
            revert Errors.EmptyResult();
        }
        uint256 anchor = block.number + _auditDelay;
        j.commitment = keccak256(abi.encode(Result(traceRoot, adapterHash, anchor)));
        _setState(jobId, j, JobState.Submitted, block.timestamp + _auditStartTimeout);
        emit ResultSubmitted(jobId, traceRoot, adapterHash, anchor);
    }

    /// @inheritdoc ITernMarket
    function revealCheckpoints(
        uint256 jobId,
        Audit calldata audit,
        bytes32[] calldata startStateHashes,
        bytes32[][] calldata proofs
    ) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Auditing);
        _expectAudit(jobId, j, audit);
        _reveal(jobId, j, audit.traceRoot, audit.seed, startStateHashes, proofs);
    }

    /// @inheritdoc ITernMarket
    function startAuditAndReveal(
        uint256 jobId,
        Result calldata result,
        bytes32[] calldata startStateHashes,
        bytes32[][] calldata proofs
    ) external {
        Job storage j = _jobs[jobId];
        (bool started, bytes32 seed) = _startAudit(jobId, j, result);
        if (!started) revert Errors.AnchorExpired(jobId, result.anchorBlock);
        _reveal(jobId, j, result.traceRoot, seed, startStateHashes, proofs);
    }

    // ================================================================ anyone

    /// @inheritdoc ITernMarket
    function startAudit(uint256 jobId, Result calldata result) external {
        _startAudit(jobId, _jobs[jobId], result);
    }

    /// @inheritdoc ITernMarket
    function replaceVerifiers(uint256 jobId, Audit calldata audit) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Auditing);
        _expectAudit(jobId, j, audit);
        if (!j.revealed) revert Errors.NotRevealed(jobId);
        _expectAfter(jobId, j.deadline);

        address[] memory verifiers = audit.verifiers;
        bool exhausted = j.replacementRounds >= _maxReplacementRounds;
        bytes32 seed = keccak256(abi.encode(audit.seed, j.replacementRounds, blockhash(block.number - 1)));
        uint256 attested = j.attestedMask;
        for (uint256 i = 0; i < verifiers.length; ++i) {
            if (attested & (1 << i) != 0) continue;
            address absent = verifiers[i];
            _credit(j.requester, jobId, _slashFree(absent, _verifierPenalty));
            if (exhausted) continue;
            address replacement = _drawVerifier(seed, TraceCommitment.VERIFIER_TAG, i, j.worker, j.requester, absent);
            if (replacement == address(0)) {
                exhausted = true;
                continue;
            }
            verifiers[i] = replacement;
            emit VerifierReplaced(jobId, i, absent, replacement);
        }
        if (exhausted) {
            // Nobody proved the work wrong: the worker gets its bond back, the requester its money.
            _unlock(j.worker, j.workerBond);
            _close(jobId, j, audit.verifiers, JobState.Expired, false);
            return;
        }
        ++j.replacementRounds;
        j.commitment = keccak256(abi.encode(Audit(audit.traceRoot, audit.adapterHash, audit.seed, verifiers)));
        _setState(jobId, j, JobState.Auditing, block.timestamp + _attestWindow);
    }

    /// @inheritdoc ITernMarket
    function finalize(uint256 jobId, Audit calldata audit) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Verified);
        _expectAudit(jobId, j, audit);
        _expectAfter(jobId, j.deadline);
        _close(jobId, j, audit.verifiers, JobState.Finalized, true);
    }

    /// @inheritdoc ITernMarket
    function expireJob(uint256 jobId) external {
        Job storage j = _jobs[jobId];
        JobState state = j.state;
        if (state == JobState.None) revert Errors.JobNotFound(jobId);
        if (state == JobState.Open) {
            _expectAfter(jobId, j.openUntil);
            _close(jobId, j, new address[](0), JobState.Expired, false);
        } else if (state == JobState.Claimed) {
            _expectAfter(jobId, j.deadline);
            _slashBondToRequester(jobId, j);
            j.worker = address(0);
            if (block.timestamp <= j.openUntil) {
                _setState(jobId, j, JobState.Open, j.openUntil);
            } else {
                _close(jobId, j, new address[](0), JobState.Expired, false);
            }
        } else if (state == JobState.Submitted) {
            _expectAfter(jobId, j.deadline);
            _unlock(j.worker, j.workerBond);
            _close(jobId, j, new address[](0), JobState.Expired, false);
        } else if (state == JobState.Auditing && !j.revealed) {
            _expectAfter(jobId, j.deadline);
            _slashBondToRequester(jobId, j);
            _close(jobId, j, new address[](0), JobState.Slashed, false);
        } else {
            revert Errors.NothingToExpire(jobId, state);
        }
    }

    // ================================================================ verifier

    /// @inheritdoc ITernMarket
    function attest(
        uint256 jobId,
        Audit calldata audit,
        uint256[] calldata indexes,
        bytes32[] calldata endStateHashes,
        bytes32[][] calldata proofs
    ) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Auditing);
        _expectAudit(jobId, j, audit);
        if (!j.revealed) revert Errors.NotRevealed(jobId);
        _expectBefore(jobId, j.deadline);
        if (indexes.length == 0 || indexes.length != endStateHashes.length || indexes.length != proofs.length) {
            revert Errors.LengthMismatch();
        }

        uint256[] memory intervals = TraceCommitment.sampleIntervals(audit.seed, j.numIntervals, j.sampleCount);
        uint256 mask = j.attestedMask;
        for (uint256 t = 0; t < indexes.length; ++t) {
            mask = _attestOne(jobId, j, audit, indexes[t], mask);
            _expectInTrace(jobId, j, audit.traceRoot, intervals[indexes[t]] + 1, endStateHashes[t], proofs[t]);
        }
        j.attestedMask = uint16(mask);
        emit IntervalsAttested(jobId, msg.sender, indexes, endStateHashes);
        if (mask == (1 << j.sampleCount) - 1) {
            _setState(jobId, j, JobState.Verified, block.timestamp + _challengeWindow);
        }
    }

    /// @inheritdoc ITernMarket
    function dispute(uint256 jobId, Audit calldata audit, uint256 index) external {
        Job storage j = _jobs[jobId];
        _expectAudit(jobId, j, audit);
        if (index >= j.sampleCount) revert Errors.IndexOutOfRange(index, j.sampleCount);
        uint256 bit = 1 << index;
        if (j.disputedMask & bit != 0) revert Errors.AlreadyDisputed(jobId, index);
        JobState state = j.state;
        if (state == JobState.Auditing) {
            if (!j.revealed) revert Errors.NotRevealed(jobId);
            if (audit.verifiers[index] != msg.sender) revert Errors.NotAssignedVerifier(jobId, index, msg.sender);
            if (j.attestedMask & bit != 0) revert Errors.AlreadyAttested(jobId, index);
        } else if (state == JobState.Verified) {
            if (msg.sender == j.worker) revert Errors.ChallengerIsWorker(jobId);
        } else {
            revert Errors.WrongState(jobId, state, JobState.Verified);
        }
        _expectBefore(jobId, j.deadline);
        _lock(msg.sender, _disputeBond);

        Dispute storage d = _disputes[jobId];
        d.challenger = msg.sender;
        d.attester = audit.verifiers[index];
        d.index = uint8(index);
        d.resumeState = state;
        d.anchorBlock = uint64(block.number + _auditDelay);
        d.bond = uint72(_disputeBond);
        j.disputedMask = uint16(j.disputedMask | bit);
        _setState(jobId, j, JobState.Disputed, 0);
        emit DisputeOpened(jobId, index, msg.sender, d.anchorBlock);
    }

    /// @inheritdoc ITernMarket
    function drawCommittee(uint256 jobId) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Disputed);
        Dispute storage d = _disputes[jobId];
        if (d.revealDeadline != 0) revert Errors.CommitteeAlreadyDrawn(jobId);
        if (block.number <= d.anchorBlock) revert Errors.AuditSeedNotReady(jobId, d.anchorBlock, block.number);
        bytes32 seed = blockhash(d.anchorBlock);
        if (seed == bytes32(0)) {
            d.anchorBlock = uint64(block.number + _auditDelay);
            emit DisputeReanchored(jobId, d.anchorBlock);
            return;
        }
        address[] memory members = _drawCommittee(seed, j, d);
        for (uint256 m = 0; m < members.length; ++m) {
            d.votes.push(Vote(members[m], false, bytes32(0), bytes32(0), bytes32(0)));
        }
        uint256 commitDeadline = block.timestamp + _commitWindow;
        uint256 revealDeadline = commitDeadline + _voteRevealWindow;
        d.revealDeadline = revealDeadline.toUint32();
        _setState(jobId, j, JobState.Disputed, commitDeadline);
        emit CommitteeDrawn(jobId, members, commitDeadline, revealDeadline);
    }

    /// @inheritdoc ITernMarket
    function commitVote(uint256 jobId, bytes32 commitment) external {
        Job storage j = _jobs[jobId];
        Vote storage vote = _memberVote(jobId, j);
        _expectBefore(jobId, j.deadline);
        if (vote.commitment != bytes32(0)) revert Errors.AlreadyCommitted(jobId, msg.sender);
        if (commitment == bytes32(0)) revert Errors.VoteDoesNotMatchCommitment(jobId, msg.sender);
        vote.commitment = commitment;
        emit VoteCommitted(jobId, msg.sender);
    }

    /// @inheritdoc ITernMarket
    function revealVote(uint256 jobId, bytes32 stateHash, bytes32 adapterHash, bytes32 salt) external {
        Job storage j = _jobs[jobId];
        Vote storage vote = _memberVote(jobId, j);
        Dispute storage d = _disputes[jobId];
        // Reveals open once the commit phase is over, or early when every member has committed.
        if (block.timestamp <= j.deadline && !_allCommitted(d)) {
            revert Errors.DeadlineNotReached(jobId, j.deadline, block.timestamp);
        }
        if (block.timestamp > d.revealDeadline) {
            revert Errors.DeadlinePassed(jobId, d.revealDeadline, block.timestamp);
        }
        if (vote.revealed) revert Errors.AlreadyVoted(jobId, msg.sender);
        if (adapterHash != bytes32(0) && d.index != j.sampleCount - 1) {
            revert Errors.AdapterHashOnlyForLastInterval(jobId);
        }
        if (keccak256(abi.encode(stateHash, adapterHash, salt, msg.sender)) != vote.commitment) {
            revert Errors.VoteDoesNotMatchCommitment(jobId, msg.sender);
        }
        vote.revealed = true;
        vote.stateHash = stateHash;
        vote.adapterHash = adapterHash;
        emit VoteRevealed(jobId, msg.sender, stateHash, adapterHash);
    }

    /// @inheritdoc ITernMarket
    function resolveDispute(uint256 jobId, Audit calldata audit, bytes32[] calldata proof) external {
        Job storage j = _jobs[jobId];
        _expectState(jobId, j.state, JobState.Disputed);
        _expectAudit(jobId, j, audit);
        Dispute storage d = _disputes[jobId];
        if (d.revealDeadline == 0) revert Errors.CommitteeNotDrawn(jobId);
        if (block.timestamp <= d.revealDeadline && !_allRevealed(d)) {
            revert Errors.DeadlineNotReached(jobId, d.revealDeadline, block.timestamp);
        }
        (bool decided, bytes32 stateHash, bytes32 adapterHash) = _majority(d.votes);
        DisputeOutcome outcome;
        if (!decided) {
            outcome = DisputeOutcome.Undecided;
            _resolveUndecided(jobId, j, d, audit.verifiers);
        } else if (_inTrace(jobId, j, d.index, audit, stateHash, adapterHash, proof)) {
            outcome = DisputeOutcome.WorkerHonest;
            _resolveHonest(jobId, j, d, stateHash, adapterHash);
        } else {
            uint256 proofDeadline = uint256(d.revealDeadline) + _proofWindow;
            if (block.timestamp <= proofDeadline) revert Errors.ProofRequired(jobId, proofDeadline);
            outcome = DisputeOutcome.WorkerCheated;
            _resolveCheated(jobId, j, d, audit.verifiers, stateHash, adapterHash);
        }
        uint256 index = d.index;
        delete _disputes[jobId];
        emit DisputeResolved(jobId, index, outcome, stateHash, adapterHash);
    }

    // ================================================================ views

    /// @inheritdoc ITernMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @inheritdoc ITernMarket
    function getConfig() external view returns (MarketConfig memory) {
        return MarketConfig({
            auditDelay: _auditDelay,
            auditStartTimeout: _auditStartTimeout,
            revealWindow: _revealWindow,
            attestWindow: _attestWindow,
            challengeWindow: _challengeWindow,
            commitWindow: _commitWindow,
            voteRevealWindow: _voteRevealWindow,
            proofWindow: _proofWindow,
            unbondingDelay: uint32(unbondingDelay),
            committeeSize: _committeeSize,
            maxReplacementRounds: _maxReplacementRounds,
            verifierPenalty: _verifierPenalty,
            disputeBond: _disputeBond,
            minVerifierStake: minVerifierStake
        });
    }

    /// @inheritdoc ITernMarket
    function escrowOf(uint256 jobId) external view returns (uint256) {
        Job storage j = _jobs[jobId];
        if (j.state == JobState.None || j.state >= JobState.Finalized) return 0;
        return uint256(j.reward) + uint256(j.verifierFee) * j.sampleCount;
    }

    /// @inheritdoc ITernMarket
    function sampleIntervals(bytes32 seed, uint256 numIntervals, uint256 sampleCount)
        external
        pure
        returns (uint256[] memory)
    {
        if (sampleCount == 0 || sampleCount > MAX_SAMPLES || 2 * sampleCount - 1 > numIntervals) {
            revert Errors.BadSampleCount(sampleCount, numIntervals);
        }
        return TraceCommitment.sampleIntervals(seed, numIntervals, sampleCount);
    }

    /// @inheritdoc ITernMarket
    function traceLeaf(uint256 jobId, uint256 step, bytes32 stateHash) external pure returns (bytes32) {
        return TraceCommitment.leaf(jobId, step, stateHash);
    }

    // ================================================================ private: lifecycle steps

    /// @dev Expects `_checkParams(p)` to have passed.
    function _createJob(JobParams calldata p) private returns (uint256 jobId) {
        uint256 fees = p.verifierFee * p.sampleCount;
        uint256 received = _pull(p.reward + fees);
        if (received <= fees) revert Errors.NoRewardAfterFee(received, fees);
        uint256 reward = received - fees;

        jobId = uint256(keccak256(abi.encode(block.chainid, address(this), ++jobCount)));
        Job storage j = _jobs[jobId];
        j.requester = msg.sender;
        j.sampleCount = p.sampleCount;
        j.checkpointInterval = p.checkpointInterval;
        j.numIntervals = p.totalSteps / p.checkpointInterval;
        j.trainDuration = p.trainDuration;
        j.reward = _toAmount(reward);
        j.verifierFee = _toAmount(p.verifierFee);
        j.workerBond = _toAmount(p.workerBond);
        j.openUntil = p.openUntil;
        j.specHash = p.specHash;
        emit JobCreated(jobId, msg.sender, reward, p);
        _setState(jobId, j, JobState.Open, p.openUntil);
    }

    function _checkParams(JobParams calldata p) private view {
        uint256 maxAmount = type(uint72).max;
        if (p.reward > maxAmount) revert Errors.AmountTooLarge(p.reward, maxAmount);
        if (p.verifierFee > maxAmount) revert Errors.AmountTooLarge(p.verifierFee, maxAmount);
        if (p.workerBond > maxAmount) revert Errors.AmountTooLarge(p.workerBond, maxAmount);
        if (p.specHash == bytes32(0)) revert Errors.ZeroSpecHash();
        if (p.reward == 0) revert Errors.ZeroReward();
        if (p.workerBond == 0) revert Errors.ZeroWorkerBond();
        if (p.checkpointInterval == 0 || p.totalSteps == 0 || p.totalSteps % p.checkpointInterval != 0) {
            revert Errors.BadStepCount(p.totalSteps, p.checkpointInterval);
        }
        uint256 n = p.totalSteps / p.checkpointInterval;
        if (p.sampleCount == 0 || p.sampleCount > MAX_SAMPLES || 2 * uint256(p.sampleCount) - 1 > n) {
            revert Errors.BadSampleCount(p.sampleCount, n);
        }
        if (p.openUntil <= block.timestamp || p.openUntil > type(uint32).max) {
            revert Errors.BadOpenUntil(p.openUntil, block.timestamp);
        }
        if (p.trainDuration == 0) revert Errors.ZeroTrainDuration();
        if (uint256(p.openUntil) + p.trainDuration > type(uint32).max) {
            revert Errors.TrainingEndsTooLate(p.openUntil, p.trainDuration);
        }
    }

    /// @return started false when the anchor aged out and the audit was re-anchored instead
    /// @return seed the audit seed, when started
    function _startAudit(uint256 jobId, Job storage j, Result calldata result)
        private
        returns (bool started, bytes32 seed)
    {
        _expectState(jobId, j.state, JobState.Submitted);
        if (keccak256(abi.encode(result)) != j.commitment) revert Errors.CommitmentMismatch(jobId);
        if (block.number <= result.anchorBlock) {
            revert Errors.AuditSeedNotReady(jobId, result.anchorBlock, block.number);
        }
        seed = blockhash(result.anchorBlock);
        if (seed == bytes32(0)) {
            // The anchor aged out of blockhash range (256 blocks). Re-anchoring would let a worker that waited pick
            // its sample, so while verifiers exist the worker fails the audit it did not open in time (it may open
            // it itself with startAuditAndReveal). With nobody to audit, the audit moves to a later block.
            if (poolWeight > 0) {
                _slashBondToRequester(jobId, j);
                _close(jobId, j, new address[](0), JobState.Slashed, false);
            } else {
                uint256 anchor = block.number + _auditDelay;
                j.commitment = keccak256(abi.encode(Result(result.traceRoot, result.adapterHash, anchor)));
                emit AuditReanchored(jobId, anchor);
            }
            return (false, seed);
        }
        uint256 s = j.sampleCount;
        address[] memory verifiers = new address[](s);
        for (uint256 i = 0; i < s; ++i) {
            verifiers[i] = _drawVerifier(seed, TraceCommitment.VERIFIER_TAG, i, j.worker, j.requester, address(0));
            if (verifiers[i] == address(0)) revert Errors.NoEligibleVerifier();
        }
        j.commitment = keccak256(abi.encode(Audit(result.traceRoot, result.adapterHash, seed, verifiers)));
        _setState(jobId, j, JobState.Auditing, block.timestamp + _revealWindow);
        emit AuditStarted(jobId, seed, TraceCommitment.sampleIntervals(seed, j.numIntervals, s), verifiers);
        return (true, seed);
    }

    function _reveal(
        uint256 jobId,
        Job storage j,
        bytes32 traceRoot,
        bytes32 seed,
        bytes32[] calldata startStateHashes,
        bytes32[][] calldata proofs
    ) private {
        if (msg.sender != j.worker) revert Errors.NotWorker(jobId, msg.sender);
        if (j.revealed) revert Errors.AlreadyRevealed(jobId);
        _expectBefore(jobId, j.deadline);
        uint256 s = j.sampleCount;
        if (startStateHashes.length != s || proofs.length != s) {
            revert Errors.WrongRevealCount(
                jobId, s, startStateHashes.length != s ? startStateHashes.length : proofs.length
            );
        }
        uint256[] memory intervals = TraceCommitment.sampleIntervals(seed, j.numIntervals, s);
        for (uint256 i = 0; i < s; ++i) {
            _expectInTrace(jobId, j, traceRoot, intervals[i], startStateHashes[i], proofs[i]);
        }
        j.revealed = true;
        emit CheckpointsRevealed(jobId, startStateHashes);
        _setState(jobId, j, JobState.Auditing, block.timestamp + _attestWindow);
    }

    /// @dev Whether the committee's value is the worker's: its end leaf is proven under the trace root and, for the
    /// last interval, the adapter hash is the committed one.
    function _inTrace(
        uint256 jobId,
        Job storage j,
        uint256 index,
        Audit calldata audit,
        bytes32 stateHash,
        bytes32 adapterHash,
        bytes32[] calldata proof
    ) private view returns (bool) {
        uint256 s = j.sampleCount;
        if (index == s - 1 && adapterHash != audit.adapterHash) return false;
        uint256 checkpoint = TraceCommitment.sampleIntervals(audit.seed, j.numIntervals, s)[index] + 1;
        return TraceCommitment.contains(audit.traceRoot, jobId, j.checkpointInterval, checkpoint, stateHash, proof);
    }

    function _expectInTrace(
        uint256 jobId,
        Job storage j,
        bytes32 traceRoot,
        uint256 checkpoint,
        bytes32 stateHash,
        bytes32[] calldata proof
    ) private view {
        if (!TraceCommitment.contains(traceRoot, jobId, j.checkpointInterval, checkpoint, stateHash, proof)) {
            revert Errors.InvalidProof(jobId, checkpoint);
        }
    }

    /// @dev Checks one attestation's caller and index; returns the mask with it set.
    function _attestOne(uint256 jobId, Job storage j, Audit calldata audit, uint256 index, uint256 mask)
        private
        view
        returns (uint256)
    {
        if (index >= j.sampleCount) revert Errors.IndexOutOfRange(index, j.sampleCount);
        if (audit.verifiers[index] != msg.sender) revert Errors.NotAssignedVerifier(jobId, index, msg.sender);
        uint256 bit = 1 << index;
        // A disputed interval is never open to attestation: a dispute ends attested (worker honest) or the job ends.
        if (mask & bit != 0) revert Errors.AlreadyAttested(jobId, index);
        return mask | bit;
    }

    // ================================================================ private: disputes

    function _drawCommittee(bytes32 seed, Job storage j, Dispute storage d) private view returns (address[] memory) {
        uint256 size = _committeeSize;
        address[] memory members = new address[](size);
        uint256 count = 0;
        uint256 total = poolWeight;
        address worker = j.worker;
        address requester = j.requester;
        for (uint256 attempt = 0; total > 0 && count < size && attempt < size * DRAW_ATTEMPTS; ++attempt) {
            address m = _poolFind(uint256(keccak256(abi.encode(seed, TraceCommitment.COMMITTEE_TAG, attempt))) % total);
            if (m == worker || m == requester || m == d.challenger || m == d.attester) continue;
            bool seen = false;
            for (uint256 q = 0; q < count; ++q) {
                if (members[q] == m) seen = true;
            }
            if (!seen) members[count++] = m;
        }
        assembly ("memory-safe") {
            mstore(members, count)
        }
        return members;
    }

    function _memberVote(uint256 jobId, Job storage j) private view returns (Vote storage) {
        _expectState(jobId, j.state, JobState.Disputed);
        Dispute storage d = _disputes[jobId];
        if (d.revealDeadline == 0) revert Errors.CommitteeNotDrawn(jobId);
        Vote[] storage votes = d.votes;
        for (uint256 m = 0; m < votes.length; ++m) {
            if (votes[m].member == msg.sender) return votes[m];
        }
        revert Errors.NotCommitteeMember(jobId, msg.sender);
    }

    function _allCommitted(Dispute storage d) private view returns (bool) {
        for (uint256 m = 0; m < d.votes.length; ++m) {
            if (d.votes[m].commitment == bytes32(0)) return false;
        }
        return true;
    }

    function _allRevealed(Dispute storage d) private view returns (bool) {
        for (uint256 m = 0; m < d.votes.length; ++m) {
            if (!d.votes[m].revealed) return false;
        }
        return true;
    }

    /// @dev The value more than half of the revealed votes agree on, if any.
    function _majority(Vote[] storage votes)
        private
        view
        returns (bool decided, bytes32 stateHash, bytes32 adapterHash)
    {
        uint256 revealed = 0;
        for (uint256 m = 0; m < votes.length; ++m) {
            if (votes[m].revealed) ++revealed;
        }
        for (uint256 m = 0; m < votes.length; ++m) {
            if (!votes[m].revealed) continue;
            uint256 agree = 0;
            for (uint256 q = 0; q < votes.length; ++q) {
                if (_sameVote(votes[q], votes[m])) ++agree;
            }
            if (2 * agree > revealed) return (true, votes[m].stateHash, votes[m].adapterHash);
        }
        return (false, bytes32(0), bytes32(0));
    }

    function _sameVote(Vote storage a, Vote storage b) private view returns (bool) {
        return a.revealed && b.revealed && a.stateHash == b.stateHash && a.adapterHash == b.adapterHash;
    }

    /// @dev Slashes the members that did not reveal or voted against the majority (only non-revealers when
    /// undecided); returns the sum taken and the members that voted with the majority.
    function _slashWrongMembers(Dispute storage d, bytes32 stateHash, bytes32 adapterHash, bool decided)
        private
        returns (uint256 taken, address[] memory winners)
    {
        Vote[] storage votes = d.votes;
        winners = new address[](votes.length);
        uint256 count = 0;
        for (uint256 m = 0; m < votes.length; ++m) {
            Vote storage v = votes[m];
            bool right = decided && v.revealed && v.stateHash == stateHash && v.adapterHash == adapterHash;
            bool excused = !decided && v.revealed;
            if (right) winners[count++] = v.member;
            else if (!excused) taken += _slashFree(v.member, _verifierPenalty);
        }
        assembly ("memory-safe") {
            mstore(winners, count)
        }
    }

    /// @dev Splits `amount` evenly over `winners`; returns what is left over.
    function _share(uint256 jobId, address[] memory winners, uint256 amount) private returns (uint256 rest) {
        if (winners.length == 0) return amount;
        uint256 each = amount / winners.length;
        for (uint256 w = 0; w < winners.length; ++w) {
            _credit(winners[w], jobId, each);
        }
        return amount - each * winners.length;
    }

    function _resolveHonest(uint256 jobId, Job storage j, Dispute storage d, bytes32 stateHash, bytes32 adapterHash)
        private
    {
        uint256 bond = d.bond;
        _slashLocked(d.challenger, bond);
        (uint256 taken, address[] memory winners) = _slashWrongMembers(d, stateHash, adapterHash, true);
        uint256 workerShare = bond / 2;
        uint256 rest = _share(jobId, winners, bond - workerShare + taken);
        _credit(j.worker, jobId, workerShare + rest);

        uint256 mask = j.attestedMask | (1 << d.index);
        j.attestedMask = uint16(mask);
        if (mask == (1 << j.sampleCount) - 1) {
            _setState(jobId, j, JobState.Verified, block.timestamp + _challengeWindow);
        } else {
            _setState(jobId, j, JobState.Auditing, block.timestamp + _attestWindow);
        }
    }

    function _resolveCheated(
        uint256 jobId,
        Job storage j,
        Dispute storage d,
        address[] calldata verifiers,
        bytes32 stateHash,
        bytes32 adapterHash
    ) private {
        uint256 bond = j.workerBond;
        _slashLocked(j.worker, bond);
        _unlock(d.challenger, d.bond);
        (uint256 taken, address[] memory winners) = _slashWrongMembers(d, stateHash, adapterHash, true);
        uint256 pot = bond + taken;
        // An assigned verifier that attested the interval the committee found wrong attested a false hash.
        if (j.attestedMask & (1 << d.index) != 0 && d.attester != d.challenger) {
            pot += _slashFree(d.attester, _verifierPenalty);
        }
        uint256 challengerShare = pot / 2;
        _credit(d.challenger, jobId, challengerShare);
        uint256 rest = _share(jobId, winners, pot / 4);
        _credit(j.requester, jobId, pot - challengerShare - pot / 4 + rest);
        _close(jobId, j, verifiers, JobState.Slashed, false);
    }

    /// @dev Nobody is proven wrong. A challenge to a Verified job is dismissed: the audit already passed. A verifier's
    /// challenge during the audit leaves the interval unverified, so the job expires without pay.
    function _resolveUndecided(uint256 jobId, Job storage j, Dispute storage d, address[] calldata verifiers) private {
        _unlock(d.challenger, d.bond);
        (uint256 taken,) = _slashWrongMembers(d, bytes32(0), bytes32(0), false);
        if (d.resumeState == JobState.Verified) {
            _credit(j.worker, jobId, taken);
            _setState(jobId, j, JobState.Verified, block.timestamp + _challengeWindow);
        } else {
            _credit(j.requester, jobId, taken);
            _unlock(j.worker, j.workerBond);
            _close(jobId, j, verifiers, JobState.Expired, false);
        }
    }

    // ================================================================ private: money out and helpers

    /// @dev Ends a job: fees to the verifiers of attested, undisputed intervals; the reward to the worker if
    /// `payWorker` (with its bond unlocked), else back to the requester with the unearned fees.
    function _close(uint256 jobId, Job storage j, address[] memory verifiers, JobState terminal, bool payWorker)
        private
    {
        uint256 fee = j.verifierFee;
        uint256 refund = payWorker ? 0 : j.reward;
        uint256 paid = j.attestedMask & ~uint256(j.disputedMask);
        uint256 s = j.sampleCount;
        // One credit per run of intervals paid to the same verifier (often one verifier audits all of them).
        address payee;
        uint256 owed;
        for (uint256 i = 0; i < s; ++i) {
            if (paid & (1 << i) == 0) {
                refund += fee;
                continue;
            }
            if (verifiers[i] != payee) {
                _credit(payee, jobId, owed);
                (payee, owed) = (verifiers[i], 0);
            }
            owed += fee;
        }
        _credit(payee, jobId, owed);
        if (payWorker) {
            _unlock(j.worker, j.workerBond);
            _credit(j.worker, jobId, j.reward);
        }
        _credit(j.requester, jobId, refund);
        _setState(jobId, j, terminal, 0);
    }

    function _slashBondToRequester(uint256 jobId, Job storage j) private {
        _slashLocked(j.worker, j.workerBond);
        _credit(j.requester, jobId, j.workerBond);
    }

    /// @dev A stake-weighted draw skipping up to three addresses; address(0) when the pool cannot give one.
    function _drawVerifier(bytes32 seed, bytes32 tag, uint256 i, address skip1, address skip2, address skip3)
        private
        view
        returns (address)
    {
        uint256 total = poolWeight;
        if (total == 0) return address(0);
        for (uint256 attempt = 0; attempt < DRAW_ATTEMPTS; ++attempt) {
            address v = _poolFind(uint256(keccak256(abi.encode(seed, tag, i, attempt))) % total);
            if (v != skip1 && v != skip2 && v != skip3) return v;
        }
        return address(0);
    }

    function _setState(uint256 jobId, Job storage j, JobState state, uint256 deadline) private {
        j.state = state;
        j.deadline = deadline.toUint32();
        emit JobStateChanged(jobId, state, deadline);
    }

    function _expectState(uint256 jobId, JobState actual, JobState expected) private pure {
        if (actual == JobState.None) revert Errors.JobNotFound(jobId);
        if (actual != expected) revert Errors.WrongState(jobId, actual, expected);
    }

    function _expectAudit(uint256 jobId, Job storage j, Audit calldata audit) private view {
        if (j.state == JobState.None) revert Errors.JobNotFound(jobId);
        if (keccak256(abi.encode(audit)) != j.commitment) revert Errors.CommitmentMismatch(jobId);
    }

    function _expectBefore(uint256 jobId, uint256 deadline) private view {
        if (block.timestamp > deadline) revert Errors.DeadlinePassed(jobId, deadline, block.timestamp);
    }

    function _expectAfter(uint256 jobId, uint256 deadline) private view {
        if (block.timestamp <= deadline) revert Errors.DeadlineNotReached(jobId, deadline, block.timestamp);
    }
}
