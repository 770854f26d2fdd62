// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice An attacker (eve) front-runs the honest worker's claim, then abandons the job. Her bond is slashed to the
/// requester, the job reopens while its claim window lasts, and the honest worker claims and is paid; eve loses her
/// bond. If the claim window is over by then, the job expires and the requester gets escrow and bond back.
contract FrontRunClaimAttackTest is Base {
    function _job(uint256 openFor) internal returns (uint256 jobId) {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(block.timestamp + openFor);
        vm.prank(requester);
        jobId = market.createJob(p);
    }

    function _wealth(address who) internal view returns (uint256) {
        return usdt.balanceOf(who) + market.accountOf(who).stake + market.accountOf(who).balance
            + market.unbondingOf(who).amount;
    }

    function test_FrontRunThenAbandon_SlashesAttackerReopensAndPaysHonestWorker() public {
        stakeVerifier(verifier);
        uint256 jobId = _job(3 days);
        stakeAs(eve, STAKE);
        stakeAs(worker, STAKE);
        uint256 eveBefore = _wealth(eve);

        // eve's claim lands first; the honest worker's is refused.
        vm.prank(eve);
        market.claimJob(jobId);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Claimed, JobState.Open));
        market.claimJob(jobId);

        // eve never submits. Before the training deadline nobody can take the job from her...
        vm.prank(worker);
        vm.expectPartialRevert(Errors.DeadlineNotReached.selector);
        market.expireJob(jobId);
        // ...after it, anyone can: her bond goes to the requester and the job reopens.
        vm.warp(block.timestamp + TRAIN_DURATION + 1);
        vm.prank(worker);
        market.expireJob(jobId);
        assertEq(uint256(state(jobId)), uint256(JobState.Open), "reopened");
        assertEq(job(jobId).worker, address(0));
        assertEq(market.accountOf(eve).stake, STAKE - WORKER_BOND, "eve's bond slashed");
        assertEq(market.accountOf(eve).locked, 0);
        assertEq(market.accountOf(requester).balance, WORKER_BOND, "bond to the requester");

        // The honest worker claims and completes the job.
        vm.prank(worker);
        market.claimJob(jobId);
        bytes32[] memory states = honestStates(jobId);
        Audit memory audit = startAudit(jobId, submit(jobId, states));
        reveal(jobId, audit, states);
        attestAll(jobId, audit, states);
        vm.warp(block.timestamp + cfg.challengeWindow + 1);
        market.finalize(jobId, audit);
        assertEq(uint256(state(jobId)), uint256(JobState.Finalized));
        assertEq(market.accountOf(worker).balance, REWARD, "honest worker paid");
        assertEq(market.accountOf(worker).stake, STAKE, "honest worker's bond intact");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(requester).balance, WORKER_BOND, "requester keeps the attacker's bond");

        // eve lost exactly her bond.
        assertEq(eveBefore - _wealth(eve), WORKER_BOND, "attacker loses the bond");
        vm.startPrank(eve);
        market.requestUnstake(STAKE - WORKER_BOND);
        vm.warp(block.timestamp + cfg.unbondingDelay);
        market.withdrawUnstaked(eve);
        vm.stopPrank();
        assertEq(usdt.balanceOf(eve), FUNDS - WORKER_BOND, "and can take out only the rest");

        address[] memory all = everyone();
        uint256[] memory ids = one(jobId);
        assertConserved(all, ids);
    }

    function test_FrontRunAfterClaimWindow_ExpiresWithEscrowAndBondToRequester() public {
        uint256 jobId = _job(1 hours);
        stakeAs(eve, STAKE);
        vm.prank(eve);
        market.claimJob(jobId);
        vm.warp(block.timestamp + TRAIN_DURATION + 1); // past openUntil too
        vm.prank(worker);
        market.expireJob(jobId);
        assertEq(uint256(state(jobId)), uint256(JobState.Expired), "no time left to reopen");
        assertEq(
            market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE + WORKER_BOND, "escrow and bond back"
        );
        assertEq(market.accountOf(eve).stake, STAKE - WORKER_BOND);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Expired, JobState.Open));
        market.claimJob(jobId);
        assertConserved(everyone(), one(jobId));
    }

    /// @notice Claiming again and again does not help: each abandoned claim costs a bond.
    function test_RepeatedFrontRuns_CostABondEach() public {
        uint256 jobId = _job(10 days);
        stakeAs(eve, STAKE);
        for (uint256 round = 1; round <= 3; ++round) {
            vm.prank(eve);
            market.claimJob(jobId);
            vm.warp(block.timestamp + TRAIN_DURATION + 1);
            market.expireJob(jobId);
            assertEq(market.accountOf(eve).stake, STAKE - round * WORKER_BOND);
            assertEq(market.accountOf(requester).balance, round * WORKER_BOND);
        }
        assertEq(uint256(state(jobId)), uint256(JobState.Open));
        assertConserved(everyone(), one(jobId));
    }
}
