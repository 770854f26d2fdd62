// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Base } from "../utils/Base.sol";

contract Withdraw_Concrete_Test is Base {
    uint256 internal escrow = REWARD + SAMPLES * VERIFIER_FEE;
    uint256 internal jobId;

    /// @dev The requester has its escrow back as a withdrawable balance.
    function setUp() public override {
        super.setUp();
        jobId = createJob();
        vm.prank(requester);
        market.cancelJob(jobId);
    }

    function test_RevertWhen_TheRecipientIsZero() external {
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.ZeroAddress.selector));
        market.withdraw(address(0));
    }

    function test_RevertGiven_NoBalance() external {
        stakeAs(alice, STAKE); // stake is not a balance
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingToWithdraw.selector, alice));
        market.withdraw(alice);
    }

    function test_RevertGiven_TheBalanceWasWithdrawn() external {
        vm.prank(requester);
        market.withdraw(requester);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingToWithdraw.selector, requester));
        market.withdraw(requester);
    }

    function test_RevertGiven_TheRecipientIsBlacklisted() external {
        usdt.addBlackList(requester);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, requester));
        market.withdraw(requester);
        assertEq(market.accountOf(requester).balance, escrow, "the balance stays");

        // The balance can go to another recipient instead.
        uint256 before = usdt.balanceOf(carol);
        vm.prank(requester);
        market.withdraw(carol);
        assertEq(usdt.balanceOf(carol) - before, escrow);
    }

    function test_RevertGiven_TheTokenIsPaused() external {
        usdt.pause();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Paused.selector));
        market.withdraw(requester);
    }

    function test_WhenTheBalanceIsWithdrawn() external {
        uint256 before = usdt.balanceOf(requester);
        vm.expectEmit(address(market));
        emit IStaking.Withdrawn(requester, requester, escrow);
        vm.prank(requester);
        market.withdraw(requester);
        assertEq(usdt.balanceOf(requester) - before, escrow);
        assertEq(market.accountOf(requester).balance, 0);
        assertEq(usdt.balanceOf(address(market)), 0);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheBalanceIsSentElsewhere() external {
        vm.expectEmit(address(market));
        emit IStaking.Withdrawn(requester, dave, escrow);
        vm.prank(requester);
        market.withdraw(dave);
        assertEq(usdt.balanceOf(dave), FUNDS + escrow);
    }

    function test_GivenTheCallerAlsoHasStake() external {
        stakeAs(requester, STAKE);
        vm.prank(requester);
        market.withdraw(requester);
        assertEq(market.accountOf(requester).stake, STAKE, "stake is untouched");
    }

    function test_GivenTheTokenTakesAFee() external {
        setUsdtFee(200);
        uint256 before = usdt.balanceOf(requester);
        vm.prank(requester);
        market.withdraw(requester);
        assertEq(usdt.balanceOf(requester) - before, escrow - escrow * 2 / 100, "the recipient bears the fee");
        assertConserved(everyone(), one(jobId));
    }
}
