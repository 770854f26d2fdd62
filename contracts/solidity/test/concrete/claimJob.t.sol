// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract ClaimJob_Concrete_Test is Base {
    function test_RevertWhen_TheJobDoesNotExist() external {
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 7));
        market.claimJob(7);
    }

    function test_RevertGiven_TheJobIsAlreadyClaimed() external {
        uint256 jobId = createAndClaim();
        stakeAs(alice, STAKE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Claimed, JobState.Open));
        market.claimJob(jobId);
    }

    function test_RevertGiven_TheJobIsCancelled() external {
        uint256 jobId = createJob();
        vm.prank(requester);
        market.cancelJob(jobId);
        stakeAs(worker, STAKE);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Refunded, JobState.Open));
        market.claimJob(jobId);
    }

    function test_RevertWhen_TheClaimWindowHasPassed() external {
        uint256 jobId = createJob();
        stakeAs(worker, STAKE);
        uint256 openUntil = job(jobId).openUntil;
        vm.warp(openUntil + 1);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, openUntil, openUntil + 1));
        market.claimJob(jobId);
    }

    function test_RevertGiven_TheCallerHasNoStake() external {
        uint256 jobId = createJob();
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, worker, 0, WORKER_BOND));
        market.claimJob(jobId);
    }

    function test_RevertGiven_TheStakeIsBelowTheBond() external {
        uint256 jobId = createJob();
        stakeAs(worker, WORKER_BOND - 1);
        vm.prank(worker);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, worker, WORKER_BOND - 1, WORKER_BOND)
        );
        market.claimJob(jobId);
    }

    function test_RevertGiven_TheStakeIsLockedByAnotherJob() external {
        uint256 first = createJob();
        uint256 second = createJob();
        stakeAs(worker, WORKER_BOND + WORKER_BOND / 2);
        vm.prank(worker);
        market.claimJob(first);
        vm.prank(worker);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, worker, WORKER_BOND / 2, WORKER_BOND)
        );
        market.claimJob(second);
    }

    function test_RevertGiven_TheStakeIsUnbonding() external {
        uint256 jobId = createJob();
        stakeAs(worker, STAKE);
        vm.prank(worker);
        market.requestUnstake(STAKE);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, worker, 0, WORKER_BOND));
        market.claimJob(jobId);
    }

    function test_WhenTheWorkerHasEnoughFreeStake() external {
        uint256 jobId = createJob();
        stakeAs(worker, STAKE);
        uint256 deadline = vm.getBlockTimestamp() + TRAIN_DURATION;

        vm.expectEmit(address(market));
        emit IStaking.StakeLocked(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Claimed, deadline);
        vm.expectEmit(address(market));
        emit ITernMarket.JobClaimed(jobId, worker);
        vm.prank(worker);
        market.claimJob(jobId);

        assertJobState(jobId, JobState.Claimed);
        assertEq(job(jobId).worker, worker);
        assertEq(job(jobId).deadline, deadline);
        assertEq(market.accountOf(worker).stake, STAKE, "stake unchanged");
        assertEq(market.accountOf(worker).locked, WORKER_BOND, "bond locked");
        assertEq(market.escrowOf(jobId), REWARD + SAMPLES * VERIFIER_FEE);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheStakeIsExactlyTheBond() external {
        uint256 jobId = createJob();
        stakeAs(worker, WORKER_BOND);
        vm.prank(worker);
        market.claimJob(jobId);
        assertEq(market.accountOf(worker).locked, market.accountOf(worker).stake);
    }

    function test_WhenClaimingAtTheLastSecondOfTheWindow() external {
        uint256 jobId = createJob();
        stakeAs(worker, STAKE);
        vm.warp(job(jobId).openUntil);
        vm.prank(worker);
        market.claimJob(jobId);
        assertJobState(jobId, JobState.Claimed);
        assertEq(job(jobId).deadline, vm.getBlockTimestamp() + TRAIN_DURATION, "training may outlast the claim window");
    }

    function test_WhenOneWorkerClaimsTwoJobs() external {
        uint256 first = createJob();
        uint256 second = createJob();
        stakeAs(worker, 2 * WORKER_BOND);
        vm.startPrank(worker);
        market.claimJob(first);
        market.claimJob(second);
        vm.stopPrank();
        assertEq(market.accountOf(worker).locked, 2 * WORKER_BOND);
    }

    /// @dev Nothing stops a requester from working its own job (it is then never drawn as its verifier).
    function test_WhenTheRequesterClaimsItsOwnJob() external {
        uint256 jobId = createJob();
        stakeAs(requester, STAKE);
        vm.prank(requester);
        market.claimJob(jobId);
        assertEq(job(jobId).worker, requester);
    }

    function test_WhenAPoolMemberClaims() external {
        stakeVerifier(worker);
        uint256 weight = market.poolWeight();
        uint256 jobId = createJob();
        vm.prank(worker);
        market.claimJob(jobId);
        assertEq(market.poolWeight(), weight, "locked stake keeps its pool weight");
    }

    /// @dev A claim's deadline must fit uint32. createJob refuses a job whose training could end past it, so such a
    /// job is never posted and cannot become unclaimable.
    function test_RevertGiven_TheTrainingDeadlineDoesNotFitUint32() external {
        JobParams memory p = defaultParams();
        p.trainDuration = type(uint32).max;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.TrainingEndsTooLate.selector, p.openUntil, type(uint32).max));
        market.createJob(p);
        assertEq(market.jobCount(), 0, "no job was posted");
    }

    /// @dev The latest claim of a job whose training ends at the last uint32 second gets exactly that deadline.
    function test_WhenTheLatestClaimEndsAtTheLastUint32Second() external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(type(uint32).max - TRAIN_DURATION);
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        stakeAs(worker, STAKE);
        vm.warp(p.openUntil);
        vm.prank(worker);
        market.claimJob(jobId);
        assertJobState(jobId, JobState.Claimed);
        assertEq(job(jobId).deadline, type(uint32).max);
    }

    function test_GivenTheJobWasReopened() external {
        JobParams memory p = defaultParams();
        p.trainDuration = 1 hours;
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
        vm.warp(vm.getBlockTimestamp() + 1 hours + 1);
        market.expireJob(jobId);

        stakeAs(alice, STAKE);
        vm.prank(alice);
        market.claimJob(jobId);
        assertEq(job(jobId).worker, alice);
        assertEq(job(jobId).deadline, vm.getBlockTimestamp() + 1 hours);
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "the first worker lost its bond");
    }
}
