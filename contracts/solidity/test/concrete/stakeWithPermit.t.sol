// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockPermitToken } from "../../src/mocks/MockPermitToken.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Base } from "../utils/Base.sol";

contract StakeWithPermit_Concrete_Test is Base {
    MockPermitToken internal usdt0;
    uint256 internal aliceKey;

    function setUp() public override {
        super.setUp();
        usdt0 = new MockPermitToken();
        useMarketOn(address(usdt0), false);
        aliceKey = keyOf("alice");
    }

    function test_GivenAValidPermit() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), aliceKey, address(market), STAKE, deadline);
        vm.expectEmit(address(market));
        emit IStaking.Staked(alice, STAKE);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, deadline, v, r, s);
        assertEq(market.accountOf(alice).stake, STAKE);
        assertEq(usdt0.nonces(alice), 1);
        assertEq(usdt0.allowance(alice, address(market)), 0);
        assertConservedOf(address(usdt0), everyone(), new uint256[](0));
    }

    function test_GivenAValidPermitAndThePool() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), aliceKey, address(market), STAKE, deadline);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, deadline, v, r, s);
        vm.prank(alice);
        market.joinVerifierPool();
        (v, r, s) = signPermit(address(usdt0), aliceKey, address(market), 7, deadline);
        vm.prank(alice);
        market.stakeWithPermit(7, deadline, v, r, s);
        assertEq(market.poolWeight(), STAKE + 7);
    }

    function test_GivenABadPermitAfterAnApprove() external {
        vm.prank(alice);
        usdt0.approve(address(market), STAKE);
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), keyOf("bob"), address(market), STAKE, deadline);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, deadline, v, r, s);
        assertEq(market.accountOf(alice).stake, STAKE);
        assertEq(usdt0.nonces(alice), 0);
    }

    function test_GivenAnAbsentPermitAfterAnApprove() external {
        vm.prank(alice);
        usdt0.approve(address(market), STAKE);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, 0, 0, bytes32(0), bytes32(0));
        assertEq(market.accountOf(alice).stake, STAKE);
    }

    function test_GivenAPermitThatWasFrontRun() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), aliceKey, address(market), STAKE, deadline);
        usdt0.permit(alice, address(market), STAKE, deadline, v, r, s);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, deadline, v, r, s);
        assertEq(market.accountOf(alice).stake, STAKE);
    }

    function test_RevertGiven_ABadPermitAndNoApprove() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), keyOf("bob"), address(market), STAKE, deadline);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, STAKE)
        );
        market.stakeWithPermit(STAKE, deadline, v, r, s);
    }

    function test_RevertGiven_AnExpiredPermitAndNoApprove() external {
        uint256 deadline = vm.getBlockTimestamp() - 1;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), aliceKey, address(market), STAKE, deadline);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, STAKE)
        );
        market.stakeWithPermit(STAKE, deadline, v, r, s);
    }

    function test_RevertWhen_TheAmountIsZero() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), aliceKey, address(market), 0, deadline);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingReceived.selector));
        market.stakeWithPermit(0, deadline, v, r, s);
    }

    function test_GivenATokenWithoutPermitAfterAnApprove() external {
        useMarketOn(address(usdt), false);
        vm.prank(alice);
        usdt.approve(address(market), STAKE);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, vm.getBlockTimestamp() + 1, 28, keccak256("r"), keccak256("s"));
        assertEq(market.accountOf(alice).stake, STAKE);
        assertConserved(everyone(), new uint256[](0));
    }

    function test_GivenATokenWithoutPermitThatTakesAFee() external {
        useMarketOn(address(usdt), false);
        setUsdtFee(100);
        vm.prank(alice);
        usdt.approve(address(market), STAKE);
        vm.prank(alice);
        market.stakeWithPermit(STAKE, 0, 0, bytes32(0), bytes32(0));
        assertEq(market.accountOf(alice).stake, STAKE - STAKE / 100);
    }

    function test_RevertGiven_ATokenWithoutPermitAndNoApprove() external {
        useMarketOn(address(usdt), false);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.InsufficientAllowance.selector, address(market), 0, STAKE));
        market.stakeWithPermit(STAKE, 0, 0, bytes32(0), bytes32(0));
    }
}
