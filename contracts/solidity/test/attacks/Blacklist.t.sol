// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../src/libraries/Errors.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Audit, JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice USDT's blacklist (MockUSDT: a blacklisted address can neither send nor receive). Payouts are pulled, so a
/// blacklisted party blocks nobody else: its own withdrawal to itself reverts and its balance stays owed, everyone
/// else withdraws normally. What the tests pin down:
///  - `withdraw(to)` and `withdrawUnstaked(to)` pay `to`; the token checks only the market (sender) and `to`, so a
///    blacklisted account can still route its money to another address it names. The market does not screen
///    accounts (mainnet USDT blocks only blacklisted senders, so there a blacklisted recipient could even be paid).
///  - once un-blacklisted, it withdraws to itself as usual;
///  - a blacklisted requester or staker cannot pay in (transferFrom from it reverts);
///  - if the market itself is blacklisted, every payout and deposit reverts and all balances stay owed until it is
///    lifted; no state is lost.
contract BlacklistAttackTest is Base {
    uint256 internal jobId;
    uint256 internal cancelled;

    function setUp() public override {
        Base.setUp();
        Audit memory audit;
        (jobId, audit,) = verifiedJob();
        vm.warp(block.timestamp + cfg.challengeWindow + 1);
        market.finalize(jobId, audit);
        // The requester also has a refund waiting.
        cancelled = createJob();
        vm.prank(requester);
        market.cancelJob(cancelled);
    }

    function test_BlacklistedVerifier_OthersStillWithdraw() public {
        usdt.addBlackList(verifier);
        uint256 fees = SAMPLES * VERIFIER_FEE;

        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, verifier));
        market.withdraw(verifier);
        assertEq(market.accountOf(verifier).balance, fees, "still owed");

        uint256 w = usdt.balanceOf(worker);
        vm.prank(worker);
        market.withdraw(worker);
        assertEq(usdt.balanceOf(worker) - w, REWARD, "worker paid");

        uint256 r = usdt.balanceOf(requester);
        vm.prank(requester);
        market.withdraw(requester);
        assertEq(usdt.balanceOf(requester) - r, REWARD + SAMPLES * VERIFIER_FEE, "requester refunded");

        assertConserved(everyone(), _jobs());
    }

    function test_BlacklistedVerifier_CanWithdrawToAnotherAddress() public {
        usdt.addBlackList(verifier);
        address elsewhere = makeAddr("verifier's other wallet");
        vm.prank(verifier);
        market.withdraw(elsewhere);
        assertEq(usdt.balanceOf(elsewhere), SAMPLES * VERIFIER_FEE, "paid to the named address");
        assertEq(market.accountOf(verifier).balance, 0);
        assertConserved(everyone(), _jobs());
    }

    function test_BlacklistedVerifier_WithdrawsToItselfOnceLifted() public {
        usdt.addBlackList(verifier);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, verifier));
        market.withdraw(verifier);
        usdt.removeBlackList(verifier);
        uint256 before = usdt.balanceOf(verifier);
        vm.prank(verifier);
        market.withdraw(verifier);
        assertEq(usdt.balanceOf(verifier) - before, SAMPLES * VERIFIER_FEE);
    }

    function test_BlacklistedStaker_UnstakedFundsWaitOrGoElsewhere() public {
        vm.prank(verifier);
        market.requestUnstake(STAKE);
        vm.warp(block.timestamp + cfg.unbondingDelay);
        usdt.addBlackList(verifier);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, verifier));
        market.withdrawUnstaked(verifier);
        assertEq(market.unbondingOf(verifier).amount, STAKE, "still owed");
        address elsewhere = makeAddr("verifier's other wallet");
        vm.prank(verifier);
        market.withdrawUnstaked(elsewhere);
        assertEq(usdt.balanceOf(elsewhere), STAKE);
    }

    function test_BlacklistedRequester_CannotPayIn() public {
        usdt.addBlackList(requester);
        JobParams memory p = defaultParams();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, requester));
        market.createJob(p);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, requester));
        market.stake(STAKE);
        // Its refund is still credited on chain; it can send it to an address it controls.
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE);
    }

    function test_BlacklistedMarket_FreezesTransfersNotBalances() public {
        usdt.addBlackList(address(market));
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, address(market)));
        market.withdraw(worker);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, address(market)));
        market.createJob(defaultParams());
        assertEq(market.accountOf(worker).balance, REWARD, "owed");
        usdt.removeBlackList(address(market));
        vm.prank(worker);
        market.withdraw(worker);
        assertEq(market.accountOf(worker).balance, 0);
        assertEq(uint256(state(createJob())), uint256(JobState.Open), "deposits work again");
    }

    function _jobs() internal view returns (uint256[] memory ids) {
        ids = new uint256[](2);
        (ids[0], ids[1]) = (jobId, cancelled);
    }
}
