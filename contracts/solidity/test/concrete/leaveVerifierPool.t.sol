// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract LeaveVerifierPool_Concrete_Test is Base {
    function test_RevertGiven_NeverJoined() external {
        stakeAs(alice, STAKE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotInPool.selector, alice));
        market.leaveVerifierPool();
    }

    function test_RevertGiven_AlreadyLeft() external {
        stakeVerifier(alice);
        vm.prank(alice);
        market.leaveVerifierPool();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotInPool.selector, alice));
        market.leaveVerifierPool();
    }

    function test_WhenAMemberLeaves() external {
        stakeVerifier(alice);
        stakeVerifier(bob);
        vm.expectEmit(address(market));
        emit IStaking.VerifierPoolLeft(alice);
        vm.prank(alice);
        market.leaveVerifierPool();
        assertFalse(market.accountOf(alice).inPool);
        assertEq(market.accountOf(alice).stake, STAKE, "the stake stays");
        assertEq(market.accountOf(alice).poolIndex, 1, "the place is kept for a return");
        assertEq(market.poolWeight(), STAKE);
        assertEq(market.poolMembers().length, 2, "poolMembers lists everyone who ever joined");
    }

    function test_WhenAMemberLeavesAfterLosingStake() external {
        stakeVerifier(alice);
        vm.prank(alice);
        market.requestUnstake(STAKE - 1);
        vm.prank(alice);
        market.leaveVerifierPool();
        assertEq(market.poolWeight(), 0);
    }

    function test_GivenTheMemberHasAnAssignment() external {
        stakeVerifier(verifier);
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        vm.prank(verifier);
        market.leaveVerifierPool();
        // Current assignments still stand.
        attestAll(jobId, audit, states);
        assertJobState(jobId, JobState.Verified);
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        assertEq(market.accountOf(verifier).balance, SAMPLES * VERIFIER_FEE);
    }

    function test_GivenTheMemberLeftAndWasSlashed() external {
        stakeVerifier(verifier);
        (uint256 jobId, Audit memory audit,) = revealedJob();
        stakeVerifier(alice);
        vm.prank(verifier);
        market.leaveVerifierPool();
        vm.warp(job(jobId).deadline + 1);
        market.replaceVerifiers(jobId, audit);
        assertEq(market.accountOf(verifier).stake, STAKE - SAMPLES * cfg.verifierPenalty);
        assertEq(market.poolWeight(), STAKE, "a slash outside the pool leaves the pool weight alone");
    }
}
