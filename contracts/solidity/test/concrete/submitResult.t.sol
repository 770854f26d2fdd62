// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { JobState, Result } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract SubmitResult_Concrete_Test is Base {
    bytes32 internal constant ROOT = keccak256("root");
    bytes32 internal constant ADAPTER = keccak256("adapter");

    function test_RevertWhen_TheJobDoesNotExist() external {
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 1));
        market.submitResult(1, ROOT, ADAPTER);
    }

    function test_RevertGiven_TheJobIsOpen() external {
        uint256 jobId = createJob();
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Open, JobState.Claimed));
        market.submitResult(jobId, ROOT, ADAPTER);
    }

    function test_RevertGiven_TheResultIsAlreadySubmitted() external {
        uint256 jobId = createAndClaim();
        vm.prank(worker);
        market.submitResult(jobId, ROOT, ADAPTER);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Submitted, JobState.Claimed));
        market.submitResult(jobId, ROOT, ADAPTER);
    }

    function test_RevertWhen_TheCallerIsNotTheWorker() external {
        uint256 jobId = createAndClaim();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotWorker.selector, jobId, requester));
        market.submitResult(jobId, ROOT, ADAPTER);
    }

    function test_RevertWhen_TheTrainingDeadlineHasPassed() external {
        uint256 jobId = createAndClaim();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline + 1);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, deadline, deadline + 1));
        market.submitResult(jobId, ROOT, ADAPTER);
    }

    function test_RevertWhen_TheTraceRootIsZero() external {
        uint256 jobId = createAndClaim();
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.EmptyResult.selector));
        market.submitResult(jobId, bytes32(0), ADAPTER);
    }

    function test_RevertWhen_TheAdapterHashIsZero() external {
        uint256 jobId = createAndClaim();
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.EmptyResult.selector));
        market.submitResult(jobId, ROOT, bytes32(0));
    }

    function test_WhenTheWorkerSubmitsInTime() external {
        uint256 jobId = createAndClaim();
        uint256 anchor = vm.getBlockNumber() + cfg.auditDelay;
        uint256 deadline = vm.getBlockTimestamp() + cfg.auditStartTimeout;

        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Submitted, deadline);
        vm.expectEmit(address(market));
        emit ITernMarket.ResultSubmitted(jobId, ROOT, ADAPTER, anchor);
        vm.prank(worker);
        market.submitResult(jobId, ROOT, ADAPTER);

        assertJobState(jobId, JobState.Submitted);
        assertEq(job(jobId).deadline, deadline);
        assertEq(job(jobId).commitment, keccak256(abi.encode(Result(ROOT, ADAPTER, anchor))), "result hash kept");
        assertEq(market.accountOf(worker).locked, WORKER_BOND, "bond stays locked");
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheWorkerSubmitsAtTheDeadline() external {
        uint256 jobId = createAndClaim();
        vm.warp(job(jobId).deadline);
        vm.prank(worker);
        market.submitResult(jobId, ROOT, ADAPTER);
        assertJobState(jobId, JobState.Submitted);
    }
}
