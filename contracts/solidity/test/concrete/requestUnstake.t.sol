// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Base } from "../utils/Base.sol";

contract RequestUnstake_Concrete_Test is Base {
    function test_RevertWhen_TheAmountIsZero() external {
        stakeAs(alice, STAKE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, alice, STAKE, 0));
        market.requestUnstake(0);
    }

    function test_RevertGiven_NoStake() external {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, alice, 0, 1));
        market.requestUnstake(1);
    }

    function test_RevertWhen_TheAmountExceedsTheStake() external {
        stakeAs(alice, STAKE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, alice, STAKE, STAKE + 1));
        market.requestUnstake(STAKE + 1);
    }

    function test_RevertWhen_TheAmountExceedsTheFreeStake() external {
        uint256 jobId = createAndClaim();
        vm.prank(worker);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, worker, STAKE - WORKER_BOND, STAKE)
        );
        market.requestUnstake(STAKE);
        assertEq(job(jobId).worker, worker);
    }

    function test_RevertWhen_TheAmountDoesNotFitUint72() external {
        stakeAs(alice, STAKE);
        uint256 huge = uint256(type(uint72).max) + 1;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, alice, STAKE, huge));
        market.requestUnstake(huge);
    }

    function test_WhenAStakerUnstakesPart() external {
        stakeAs(alice, STAKE);
        uint256 releaseAt = vm.getBlockTimestamp() + cfg.unbondingDelay;
        vm.expectEmit(address(market));
        emit IStaking.UnstakeRequested(alice, 400 * USDT, releaseAt);
        vm.prank(alice);
        market.requestUnstake(400 * USDT);
        assertEq(market.accountOf(alice).stake, STAKE - 400 * USDT);
        assertEq(market.unbondingOf(alice).amount, 400 * USDT);
        assertEq(market.unbondingOf(alice).releaseAt, releaseAt);
        assertConserved(everyone(), new uint256[](0));
    }

    function test_WhenAStakerUnstakesAllTheFreeStake() external {
        uint256 jobId = createAndClaim();
        vm.prank(worker);
        market.requestUnstake(STAKE - WORKER_BOND);
        assertEq(market.accountOf(worker).stake, WORKER_BOND);
        assertEq(market.accountOf(worker).locked, WORKER_BOND);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenAnEarlierRequest() external {
        stakeAs(alice, STAKE);
        vm.prank(alice);
        market.requestUnstake(100 * USDT);
        vm.warp(vm.getBlockTimestamp() + 10 days);
        uint256 releaseAt = vm.getBlockTimestamp() + cfg.unbondingDelay;
        vm.expectEmit(address(market));
        emit IStaking.UnstakeRequested(alice, 50 * USDT, releaseAt);
        vm.prank(alice);
        market.requestUnstake(50 * USDT);
        assertEq(market.unbondingOf(alice).amount, 150 * USDT, "amounts add up");
        assertEq(market.unbondingOf(alice).releaseAt, releaseAt, "the delay restarts");
    }

    function test_GivenTheStakerIsInThePool() external {
        stakeVerifier(alice);
        stakeVerifier(bob);
        vm.prank(alice);
        market.requestUnstake(300 * USDT);
        assertEq(market.poolWeight(), 2 * STAKE - 300 * USDT, "unbonding stake has no weight");
        assertTrue(market.accountOf(alice).inPool, "still a member");
    }

    /// @dev A member may fall below the minimum stake and stay in the pool, drawn with its smaller weight.
    function test_GivenTheStakeFallsBelowThePoolMinimum() external {
        stakeVerifier(alice);
        vm.prank(alice);
        market.requestUnstake(STAKE - 1);
        assertTrue(market.accountOf(alice).inPool);
        assertEq(market.poolWeight(), 1);
    }
}
