// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract ExpireJob_Concrete_Test is Base {
    uint256 internal escrow = REWARD + SAMPLES * VERIFIER_FEE;

    function expectRevertExpire(uint256 jobId, bytes memory err) internal {
        vm.expectRevert(err);
        market.expireJob(jobId);
    }

    /// @dev expireJob reports a missing job as having nothing to expire (state None), not JobNotFound.
    function test_RevertWhen_TheJobDoesNotExist() external {
        expectRevertExpire(17, abi.encodeWithSelector(Errors.JobNotFound.selector, 17));
    }

    // ================================================================ Open

    function test_RevertGiven_AnOpenJobBeforeItsClaimDeadline() external {
        uint256 jobId = createJob();
        uint256 openUntil = job(jobId).openUntil;
        vm.warp(openUntil);
        expectRevertExpire(
            jobId, abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, openUntil, openUntil)
        );
    }

    function test_GivenAnOpenJobNobodyClaimed() external {
        uint256 jobId = createJob();
        vm.warp(job(jobId).openUntil + 1);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, escrow);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Expired, 0);
        vm.prank(eve); // anyone
        market.expireJob(jobId);
        assertJobState(jobId, JobState.Expired);
        assertEq(market.accountOf(requester).balance, escrow);
        assertEq(market.escrowOf(jobId), 0);
        assertConserved(everyone(), one(jobId));
    }

    // ================================================================ Claimed

    function test_RevertGiven_AClaimedJobBeforeItsTrainingDeadline() external {
        uint256 jobId = createAndClaim();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, deadline));
    }

    function claimedWithShortTraining() internal returns (uint256 jobId) {
        JobParams memory p = defaultParams();
        p.trainDuration = 1 hours;
        vm.prank(requester);
        jobId = market.createJob(p);
        stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
    }

    function test_GivenAnAbandonedClaimWithinTheClaimWindow() external {
        uint256 jobId = claimedWithShortTraining();
        uint256 openUntil = job(jobId).openUntil;
        vm.warp(job(jobId).deadline + 1);

        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, WORKER_BOND);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Open, openUntil);
        market.expireJob(jobId);

        assertJobState(jobId, JobState.Open);
        assertEq(job(jobId).deadline, openUntil, "back to the claim deadline");
        assertEq(job(jobId).worker, address(0));
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "the bond is slashed");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(requester).balance, WORKER_BOND, "to the requester");
        assertEq(market.escrowOf(jobId), escrow, "the escrow stays for the next worker");
        assertConserved(everyone(), one(jobId));

        // Another worker claims and finishes the job.
        stakeAs(alice, STAKE);
        vm.prank(alice);
        market.claimJob(jobId);
        assertEq(job(jobId).worker, alice);
    }

    function test_GivenAnAbandonedClaimAtTheEndOfTheClaimWindow() external {
        uint256 jobId = claimedWithShortTraining();
        vm.warp(job(jobId).openUntil); // past the training deadline, at the claim deadline
        market.expireJob(jobId);
        assertJobState(jobId, JobState.Open);
        stakeAs(alice, STAKE);
        vm.prank(alice);
        market.claimJob(jobId);
    }

    function test_GivenAnAbandonedClaimAfterTheClaimWindow() external {
        uint256 jobId = createAndClaim();
        vm.warp(job(jobId).deadline + 1);
        assertGt(vm.getBlockTimestamp(), job(jobId).openUntil);

        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, escrow);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Expired, 0);
        market.expireJob(jobId);

        assertJobState(jobId, JobState.Expired);
        assertEq(job(jobId).worker, address(0));
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
        assertEq(market.accountOf(requester).balance, WORKER_BOND + escrow);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheWorkerIsInThePool() external {
        stakeVerifier(worker);
        uint256 weight = market.poolWeight();
        uint256 jobId = createAndClaim();
        vm.warp(job(jobId).deadline + 1);
        market.expireJob(jobId);
        assertEq(market.poolWeight(), weight - WORKER_BOND, "the slash leaves the pool weight");
    }

    // ================================================================ Submitted

    function test_RevertGiven_ASubmittedJobBeforeTheAuditStartDeadline() external {
        uint256 jobId = createAndClaim();
        submit(jobId, honestStates(jobId));
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, deadline));
    }

    function test_GivenASubmittedJobWhoseAuditNeverStarted() external {
        uint256 jobId = createAndClaim();
        submit(jobId, honestStates(jobId));
        vm.warp(job(jobId).deadline + 1);
        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, escrow);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Expired, 0);
        market.expireJob(jobId);
        assertJobState(jobId, JobState.Expired);
        assertEq(market.accountOf(worker).stake, STAKE, "not the worker's fault");
        assertEq(market.accountOf(worker).locked, 0);
        assertConserved(everyone(), one(jobId));
    }

    // ================================================================ Auditing

    function test_RevertGiven_AnAuditBeforeTheRevealDeadline() external {
        (uint256 jobId,,) = auditingJob();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, deadline));
    }

    function test_GivenTheWorkerNeverRevealed() external {
        (uint256 jobId,,) = auditingJob();
        vm.warp(job(jobId).deadline + 1);
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, escrow);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Slashed, 0);
        market.expireJob(jobId);
        assertJobState(jobId, JobState.Slashed);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(requester).balance, WORKER_BOND + escrow);
        assertEq(market.accountOf(verifier).balance, 0);
        assertConserved(everyone(), one(jobId));
    }

    function test_RevertGiven_TheWorkerRevealed() external {
        (uint256 jobId,,) = revealedJob();
        vm.warp(job(jobId).deadline + 1);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Auditing));
    }

    // ================================================================ states with their own exits

    function test_RevertGiven_AVerifiedJob() external {
        (uint256 jobId,,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Verified));
    }

    function test_RevertGiven_ADisputedJob() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        vm.warp(vm.getBlockTimestamp() + 30 days);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Disputed));
    }

    function test_RevertGiven_AFinalizedJob() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Finalized));
    }

    function test_RevertGiven_ARefundedJob() external {
        uint256 jobId = createJob();
        vm.prank(requester);
        market.cancelJob(jobId);
        vm.warp(vm.getBlockTimestamp() + 30 days);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Refunded));
    }

    function test_RevertGiven_AnExpiredJob() external {
        uint256 jobId = createJob();
        vm.warp(job(jobId).openUntil + 1);
        market.expireJob(jobId);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Expired));
    }

    function test_RevertGiven_ASlashedJob() external {
        (uint256 jobId,,) = auditingJob();
        vm.warp(job(jobId).deadline + 1);
        market.expireJob(jobId);
        expectRevertExpire(jobId, abi.encodeWithSelector(Errors.NothingToExpire.selector, jobId, JobState.Slashed));
    }
}
