// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockERC20 } from "../../src/mocks/MockERC20.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Base } from "../utils/Base.sol";

contract Stake_Concrete_Test is Base {
    function test_RevertWhen_TheAmountIsZero() external {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingReceived.selector));
        market.stake(0);
    }

    function test_RevertGiven_NoAllowance() external {
        vm.prank(alice);
        usdt.approve(address(market), 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.InsufficientAllowance.selector, address(market), 0, STAKE));
        market.stake(STAKE);
    }

    function test_RevertGiven_InsufficientBalance() external {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.InsufficientBalance.selector, alice, FUNDS, FUNDS + 1));
        market.stake(FUNDS + 1);
    }

    function test_RevertGiven_TheStakerIsBlacklisted() external {
        usdt.addBlackList(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.Blacklisted.selector, alice));
        market.stake(STAKE);
    }

    function test_RevertWhen_TheStakeWouldExceedUint72() external {
        uint256 max = type(uint72).max;
        usdt.mint(alice, max);
        stakeAs(alice, max - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, max + 1, max));
        market.stake(2);
    }

    function test_WhenTheStakeIsTheLargestUint72() external {
        uint256 max = type(uint72).max;
        usdt.mint(alice, max);
        stakeAs(alice, max);
        assertEq(market.accountOf(alice).stake, max);
    }

    function test_WhenAStakerStakes() external {
        uint256 before = usdt.balanceOf(alice);
        vm.expectEmit(address(market));
        emit IStaking.Staked(alice, STAKE);
        stakeAs(alice, STAKE);
        assertEq(market.accountOf(alice).stake, STAKE);
        assertEq(market.accountOf(alice).locked, 0);
        assertEq(market.accountOf(alice).balance, 0);
        assertFalse(market.accountOf(alice).inPool);
        assertEq(before - usdt.balanceOf(alice), STAKE);
        assertEq(market.poolWeight(), 0, "outside the pool, stake has no weight");
        assertConserved(everyone(), new uint256[](0));
    }

    function test_WhenAStakerStakesAgain() external {
        stakeAs(alice, STAKE);
        stakeAs(alice, 1);
        assertEq(market.accountOf(alice).stake, STAKE + 1);
    }

    function test_GivenTheStakerIsInThePool() external {
        stakeVerifier(alice);
        stakeVerifier(bob);
        stakeAs(alice, 5 * USDT);
        assertEq(market.accountOf(alice).stake, STAKE + 5 * USDT);
        assertEq(market.poolWeight(), 2 * STAKE + 5 * USDT, "new stake weighs at once");
    }

    function test_GivenTheStakerHasLockedStake() external {
        uint256 jobId = createAndClaim();
        stakeAs(worker, 1);
        assertEq(market.accountOf(worker).locked, WORKER_BOND);
        assertEq(market.accountOf(worker).stake, STAKE + 1);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheTokenTakesAFee() external {
        setUsdtFee(100); // 1%
        uint256 arrived = STAKE - STAKE / 100;
        vm.expectEmit(address(market));
        emit IStaking.Staked(alice, arrived);
        stakeAs(alice, STAKE);
        assertEq(market.accountOf(alice).stake, arrived, "credits what arrived");
        assertEq(usdt.balanceOf(address(market)), arrived);
        assertConserved(everyone(), new uint256[](0));
    }

    function test_GivenTheTokenTakesAFeeAndTheStakerIsInThePool() external {
        stakeVerifier(alice);
        setUsdtFee(1000);
        stakeAs(alice, 100 * USDT);
        assertEq(market.accountOf(alice).stake, STAKE + 90 * USDT);
        assertEq(market.poolWeight(), STAKE + 90 * USDT);
    }

    /// @dev A fee rounding to zero leaves a 1-unit stake whole.
    function test_GivenTheFeeRoundsToZero() external {
        setUsdtFee(1000);
        stakeAs(alice, 9);
        assertEq(market.accountOf(alice).stake, 9);
    }

    function test_GivenAStandardToken() external {
        MockERC20 dai = new MockERC20("Dai", "DAI", 18);
        useMarketOn(address(dai), true);
        stakeAs(alice, STAKE);
        assertEq(market.accountOf(alice).stake, STAKE);
        assertEq(dai.balanceOf(address(market)), STAKE);
    }

    function test_RevertGiven_AStandardTokenWithoutAllowance() external {
        MockERC20 dai = new MockERC20("Dai", "DAI", 18);
        useMarketOn(address(dai), false);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, STAKE)
        );
        market.stake(STAKE);
    }
}
