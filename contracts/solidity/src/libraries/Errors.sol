// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { JobState } from "../types/DataTypes.sol";

/// @title Errors
/// @notice Every revert of the market, with the values a caller needs to see what was wrong.
library Errors {
    // ---------------------------------------------------------------- configuration
    error InvalidConfig(string reason);

    // ---------------------------------------------------------------- job parameters
    error ZeroSpecHash();
    error ZeroReward();
    error ZeroWorkerBond();
    error ZeroTrainDuration();
    /// @dev openUntil + trainDuration must fit uint32 (before 2106), or the job could never be claimed.
    error TrainingEndsTooLate(uint256 openUntil, uint256 trainDuration);
    /// @dev totalSteps must be a non-zero multiple of a non-zero checkpointInterval.
    error BadStepCount(uint256 totalSteps, uint256 checkpointInterval);
    /// @dev Needs 1 <= sampleCount <= 16 and 2 * sampleCount - 1 <= numIntervals (non-adjacent samples must fit).
    error BadSampleCount(uint256 sampleCount, uint256 numIntervals);
    /// @dev openUntil must be in the future and fit uint32 (before 2106).
    error BadOpenUntil(uint256 openUntil, uint256 nowTs);
    /// @dev The token's transfer fee left nothing for the reward once the verifier fees were set aside.
    error NoRewardAfterFee(uint256 received, uint256 fees);
    error EmptyResult();
    error AmountTooLarge(uint256 amount, uint256 max);
    error NothingReceived();

    // ---------------------------------------------------------------- job lifecycle
    error JobNotFound(uint256 jobId);
    error WrongState(uint256 jobId, JobState actual, JobState expected);
    error NotRequester(uint256 jobId, address caller);
    error NotWorker(uint256 jobId, address caller);
    error DeadlinePassed(uint256 jobId, uint256 deadline, uint256 nowTs);
    error DeadlineNotReached(uint256 jobId, uint256 deadline, uint256 nowTs);
    error NothingToExpire(uint256 jobId, JobState state);

    // ---------------------------------------------------------------- commitments and proofs
    error CommitmentMismatch(uint256 jobId);
    error AuditSeedNotReady(uint256 jobId, uint256 anchorBlock, uint256 currentBlock);
    /// @dev The anchor block aged out of blockhash range before the audit was opened (see startAudit).
    error AnchorExpired(uint256 jobId, uint256 anchorBlock);
    error WrongRevealCount(uint256 jobId, uint256 expected, uint256 actual);
    error InvalidProof(uint256 jobId, uint256 checkpoint);
    error AlreadyRevealed(uint256 jobId);
    error NotRevealed(uint256 jobId);
    error LengthMismatch();

    // ---------------------------------------------------------------- verifiers
    error NoEligibleVerifier();
    error NotAssignedVerifier(uint256 jobId, uint256 index, address caller);
    error IndexOutOfRange(uint256 index, uint256 count);
    error AlreadyAttested(uint256 jobId, uint256 index);
    error AlreadyDisputed(uint256 jobId, uint256 index);

    // ---------------------------------------------------------------- disputes
    error CommitteeAlreadyDrawn(uint256 jobId);
    error CommitteeNotDrawn(uint256 jobId);
    error NotCommitteeMember(uint256 jobId, address caller);
    error AlreadyCommitted(uint256 jobId, address member);
    error AlreadyVoted(uint256 jobId, address member);
    error VoteDoesNotMatchCommitment(uint256 jobId, address member);
    error AdapterHashOnlyForLastInterval(uint256 jobId);
    error ProofRequired(uint256 jobId, uint256 proofDeadline);
    error ChallengerIsWorker(uint256 jobId);

    // ---------------------------------------------------------------- staking
    error InsufficientFreeStake(address account, uint256 free, uint256 required);
    error StakeTooLow(address account, uint256 stake, uint256 minimum);
    error AlreadyInPool(address account);
    error NotInPool(address account);
    error StillUnbonding(address account, uint256 releaseAt, uint256 nowTs);
    error NothingToWithdraw(address account);
    error ZeroAddress();
}
