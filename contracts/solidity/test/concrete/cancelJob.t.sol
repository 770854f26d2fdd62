// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract CancelJob_Concrete_Test is Base {
    function test_RevertWhen_TheJobDoesNotExist() external {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 42));
        market.cancelJob(42);
    }

    function test_RevertWhen_TheCallerIsNotTheRequester() external {
        uint256 jobId = createJob();
        vm.prank(eve);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotRequester.selector, jobId, eve));
        market.cancelJob(jobId);
    }

    function test_RevertGiven_TheJobIsClaimed() external {
        uint256 jobId = createAndClaim();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Claimed, JobState.Open));
        market.cancelJob(jobId);
    }

    function test_RevertGiven_TheJobIsAlreadyRefunded() external {
        uint256 jobId = createJob();
        vm.prank(requester);
        market.cancelJob(jobId);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Refunded, JobState.Open));
        market.cancelJob(jobId);
    }

    /// @dev The state is checked before the caller.
    function test_RevertGiven_TheJobIsClaimedAndTheCallerIsAStranger() external {
        uint256 jobId = createAndClaim();
        vm.prank(eve);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Claimed, JobState.Open));
        market.cancelJob(jobId);
    }

    function test_GivenTheJobIsOpen() external {
        uint256 jobId = createJob();
        uint256 escrow = REWARD + SAMPLES * VERIFIER_FEE;

        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, escrow);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Refunded, 0);
        vm.prank(requester);
        market.cancelJob(jobId);

        assertJobState(jobId, JobState.Refunded);
        assertEq(job(jobId).deadline, 0);
        assertEq(market.escrowOf(jobId), 0);
        assertEq(market.accountOf(requester).balance, escrow);
        assertConserved(everyone(), one(jobId));

        uint256 before = usdt.balanceOf(requester);
        vm.prank(requester);
        market.withdraw(requester);
        assertEq(usdt.balanceOf(requester) - before, escrow, "the requester gets everything back");
        assertEq(usdt.balanceOf(address(market)), 0);
    }

    function test_GivenTheClaimWindowHasPassed() external {
        uint256 jobId = createJob();
        vm.warp(job(jobId).openUntil + 1);
        vm.prank(requester);
        market.cancelJob(jobId);
        assertJobState(jobId, JobState.Refunded);
    }

    function test_GivenTheJobWasReopenedAfterAnAbandonedClaim() external {
        JobParams memory p = defaultParams();
        p.trainDuration = 1 hours;
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
        vm.warp(vm.getBlockTimestamp() + 1 hours + 1);
        market.expireJob(jobId);
        assertJobState(jobId, JobState.Open);

        vm.prank(requester);
        market.cancelJob(jobId);
        assertJobState(jobId, JobState.Refunded);
        assertEq(
            market.accountOf(requester).balance,
            REWARD + SAMPLES * VERIFIER_FEE + WORKER_BOND,
            "the escrow and the abandoned claim's bond"
        );
        assertConserved(everyone(), one(jobId));
    }
}
