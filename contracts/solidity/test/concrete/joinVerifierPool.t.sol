// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Base } from "../utils/Base.sol";

contract JoinVerifierPool_Concrete_Test is Base {
    function test_RevertGiven_NoStake() external {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.StakeTooLow.selector, alice, 0, cfg.minVerifierStake));
        market.joinVerifierPool();
    }

    function test_RevertGiven_TheStakeIsBelowTheMinimum() external {
        stakeAs(alice, cfg.minVerifierStake - 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.StakeTooLow.selector, alice, cfg.minVerifierStake - 1, cfg.minVerifierStake)
        );
        market.joinVerifierPool();
    }

    function test_RevertGiven_AlreadyInThePool() external {
        stakeVerifier(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.AlreadyInPool.selector, alice));
        market.joinVerifierPool();
    }

    function test_WhenTheStakeIsExactlyTheMinimum() external {
        stakeAs(alice, cfg.minVerifierStake);
        vm.prank(alice);
        market.joinVerifierPool();
        assertEq(market.poolWeight(), cfg.minVerifierStake);
    }

    function test_WhenAStakerJoins() external {
        stakeAs(alice, STAKE);
        vm.expectEmit(address(market));
        emit IStaking.VerifierPoolJoined(alice, STAKE);
        vm.prank(alice);
        market.joinVerifierPool();
        assertTrue(market.accountOf(alice).inPool);
        assertEq(market.accountOf(alice).poolIndex, 1);
        assertEq(market.poolWeight(), STAKE);
        address[] memory members = market.poolMembers();
        assertEq(members.length, 1);
        assertEq(members[0], alice);
    }

    function test_WhenSeveralStakersJoin() external {
        address[5] memory who = [alice, bob, carol, dave, eve];
        uint256 total = 0;
        for (uint256 i = 0; i < who.length; ++i) {
            stakeAs(who[i], (i + 1) * 100 * USDT);
            vm.prank(who[i]);
            market.joinVerifierPool();
            total += (i + 1) * 100 * USDT;
            assertEq(market.accountOf(who[i]).poolIndex, i + 1);
            assertEq(market.poolWeight(), total);
        }
        address[] memory members = market.poolMembers();
        for (uint256 i = 0; i < who.length; ++i) {
            assertEq(members[i], who[i], "in joining order");
        }
    }

    function test_GivenTheStakerLeftBefore() external {
        stakeVerifier(alice);
        stakeVerifier(bob);
        vm.prank(alice);
        market.leaveVerifierPool();
        stakeAs(alice, 5 * USDT); // stake changes while outside the pool
        vm.expectEmit(address(market));
        emit IStaking.VerifierPoolJoined(alice, STAKE + 5 * USDT);
        vm.prank(alice);
        market.joinVerifierPool();
        assertEq(market.accountOf(alice).poolIndex, 1, "the same place in the pool");
        assertEq(market.poolMembers().length, 2, "not listed twice");
        assertEq(market.poolWeight(), 2 * STAKE + 5 * USDT);
    }

    function test_GivenSomeStakeIsLocked() external {
        createAndClaim();
        vm.prank(worker);
        market.joinVerifierPool();
        assertEq(market.poolWeight(), STAKE, "locked stake weighs too");
    }
}
