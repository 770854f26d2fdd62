// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Audit } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract WithdrawUnstaked_Concrete_Test is Base {
    uint256 internal releaseAt;

    function setUp() public override {
        super.setUp();
        stakeAs(alice, STAKE);
        vm.prank(alice);
        market.requestUnstake(STAKE);
        releaseAt = market.unbondingOf(alice).releaseAt;
    }

    function test_RevertWhen_TheRecipientIsZero() external {
        vm.warp(releaseAt);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.ZeroAddress.selector));
        market.withdrawUnstaked(address(0));
    }

    function test_RevertGiven_NothingIsUnbonding() external {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingToWithdraw.selector, bob));
        market.withdrawUnstaked(bob);
    }

    function test_RevertGiven_TheDelayIsRunning() external {
        vm.warp(releaseAt - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.StillUnbonding.selector, alice, releaseAt, releaseAt - 1));
        market.withdrawUnstaked(alice);
    }

    function test_RevertGiven_ItWasAlreadyWithdrawn() external {
        vm.warp(releaseAt);
        vm.prank(alice);
        market.withdrawUnstaked(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingToWithdraw.selector, alice));
        market.withdrawUnstaked(alice);
    }

    function test_RevertGiven_TheRecipientIsBlacklisted() external {
        vm.warp(releaseAt);
        usdt.addBlackList(carol);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, carol));
        market.withdrawUnstaked(carol);
        assertEq(market.unbondingOf(alice).amount, STAKE, "kept for another try");
    }

    function test_WhenTheDelayHasPassed() external {
        vm.warp(releaseAt);
        uint256 before = usdt.balanceOf(carol);
        vm.expectEmit(address(market));
        emit IStaking.UnstakeWithdrawn(alice, carol, STAKE);
        vm.prank(alice);
        market.withdrawUnstaked(carol);
        assertEq(usdt.balanceOf(carol) - before, STAKE, "to any recipient");
        assertEq(market.unbondingOf(alice).amount, 0);
        assertEq(market.unbondingOf(alice).releaseAt, 0);
        assertEq(usdt.balanceOf(address(market)), 0);
        assertConserved(everyone(), new uint256[](0));
    }

    function test_GivenPartOfItWasSlashed() external {
        stakeVerifier(bob); // the only pool member: assigned every sampled interval
        (uint256 jobId, Audit memory audit,) = revealedJob();
        vm.prank(bob);
        market.requestUnstake(STAKE);
        vm.warp(job(jobId).deadline + 1);
        market.replaceVerifiers(jobId, audit); // bob missed all three: slashed while unbonding
        uint256 left = STAKE - SAMPLES * cfg.verifierPenalty;
        assertEq(market.unbondingOf(bob).amount, left);

        vm.warp(market.unbondingOf(bob).releaseAt);
        uint256 before = usdt.balanceOf(bob);
        vm.expectEmit(address(market));
        emit IStaking.UnstakeWithdrawn(bob, bob, left);
        vm.prank(bob);
        market.withdrawUnstaked(bob);
        assertEq(usdt.balanceOf(bob) - before, left);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenAllOfItWasSlashed() external {
        stakeAs(bob, cfg.minVerifierStake);
        vm.prank(bob);
        market.joinVerifierPool();
        (uint256 first, Audit memory firstAudit,) = revealedJob();
        (uint256 second, Audit memory secondAudit,) = revealedJob();
        vm.prank(bob);
        market.requestUnstake(cfg.minVerifierStake);
        vm.warp(job(second).deadline + 1);
        market.replaceVerifiers(first, firstAudit); // takes 60 of 100
        market.replaceVerifiers(second, secondAudit); // takes the last 40 of the 60 due
        assertEq(market.unbondingOf(bob).amount, 0);
        assertEq(market.accountOf(requester).balance - 2 * (REWARD + SAMPLES * VERIFIER_FEE), cfg.minVerifierStake);

        vm.warp(market.unbondingOf(bob).releaseAt);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingToWithdraw.selector, bob));
        market.withdrawUnstaked(bob);
    }

    function test_GivenTheTokenTakesAFee() external {
        vm.warp(releaseAt);
        setUsdtFee(100);
        uint256 before = usdt.balanceOf(alice);
        vm.prank(alice);
        market.withdrawUnstaked(alice);
        assertEq(usdt.balanceOf(alice) - before, STAKE - STAKE / 100);
    }
}
