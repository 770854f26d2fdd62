// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockPermitToken } from "../../src/mocks/MockPermitToken.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice createJobWithPermit on a USDT0-like permit token (no prior approve) and on USDT (no permit at all).
contract CreateJobWithPermit_Concrete_Test is Base {
    MockPermitToken internal usdt0;
    uint256 internal requesterKey;
    uint256 internal escrow;

    function setUp() public override {
        super.setUp();
        usdt0 = new MockPermitToken();
        useMarketOn(address(usdt0), false);
        requesterKey = keyOf("requester");
        escrow = REWARD + SAMPLES * VERIFIER_FEE;
    }

    function createWithPermit(uint256 deadline, uint8 v, bytes32 r, bytes32 s) internal returns (uint256) {
        vm.prank(requester);
        return market.createJobWithPermit(defaultParams(), deadline, v, r, s);
    }

    function test_GivenAValidPermit() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), requesterKey, address(market), escrow, deadline);
        uint256 before = usdt0.balanceOf(requester);
        uint256 expectedId = uint256(keccak256(abi.encode(block.chainid, address(market), uint256(1))));

        vm.expectEmit(address(market));
        emit ITernMarket.JobCreated(expectedId, requester, REWARD, defaultParams());
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(expectedId, JobState.Open, defaultParams().openUntil);
        uint256 jobId = createWithPermit(deadline, v, r, s);

        assertEq(jobId, expectedId);
        assertJobState(jobId, JobState.Open);
        assertEq(before - usdt0.balanceOf(requester), escrow);
        assertEq(usdt0.nonces(requester), 1, "permit used");
        assertEq(usdt0.allowance(requester, address(market)), 0, "permit allowance spent");
        assertConservedOf(address(usdt0), everyone(), one(jobId));
    }

    function test_GivenAPermitForMoreThanTheEscrow() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        // The market asks the token for a permit of exactly the escrow; a signature over another value is invalid.
        (uint8 v, bytes32 r, bytes32 s) =
            signPermit(address(usdt0), requesterKey, address(market), escrow + 1, deadline);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, escrow)
        );
        market.createJobWithPermit(defaultParams(), deadline, v, r, s);
    }

    function test_GivenAPermitThatWasFrontRun() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), requesterKey, address(market), escrow, deadline);
        // Someone submits the permit first: the market's own permit call fails, the allowance is there anyway.
        vm.prank(eve);
        usdt0.permit(requester, address(market), escrow, deadline, v, r, s);
        uint256 jobId = createWithPermit(deadline, v, r, s);
        assertJobState(jobId, JobState.Open);
        assertEq(usdt0.allowance(requester, address(market)), 0);
    }

    function test_GivenABadPermitAfterAnApprove() external {
        vm.prank(requester);
        usdt0.approve(address(market), escrow);
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        // Signed by the wrong key.
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), keyOf("eve"), address(market), escrow, deadline);
        uint256 jobId = createWithPermit(deadline, v, r, s);
        assertJobState(jobId, JobState.Open);
        assertEq(usdt0.nonces(requester), 0, "the bad permit was ignored");
        assertConservedOf(address(usdt0), everyone(), one(jobId));
    }

    function test_GivenAnAbsentPermitAfterAnApprove() external {
        vm.prank(requester);
        usdt0.approve(address(market), escrow);
        uint256 jobId = createWithPermit(0, 0, bytes32(0), bytes32(0));
        assertJobState(jobId, JobState.Open);
        assertEq(usdt0.balanceOf(address(market)), escrow);
    }

    function test_GivenAnExpiredPermitAfterAnApprove() external {
        vm.prank(requester);
        usdt0.approve(address(market), escrow);
        uint256 deadline = vm.getBlockTimestamp() - 1;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), requesterKey, address(market), escrow, deadline);
        uint256 jobId = createWithPermit(deadline, v, r, s);
        assertJobState(jobId, JobState.Open);
    }

    function test_RevertGiven_ABadPermitAndNoApprove() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), keyOf("eve"), address(market), escrow, deadline);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, escrow)
        );
        market.createJobWithPermit(defaultParams(), deadline, v, r, s);
    }

    function test_RevertGiven_AnExpiredPermitAndNoApprove() external {
        uint256 deadline = vm.getBlockTimestamp() - 1;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), requesterKey, address(market), escrow, deadline);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, escrow)
        );
        market.createJobWithPermit(defaultParams(), deadline, v, r, s);
    }

    function test_RevertWhen_TheParametersAreBadEvenWithAValidPermit() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        JobParams memory p = defaultParams();
        p.specHash = bytes32(0);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), requesterKey, address(market), escrow, deadline);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.ZeroSpecHash.selector));
        market.createJobWithPermit(p, deadline, v, r, s);
        assertEq(usdt0.nonces(requester), 0, "the whole call reverted, permit included");
    }

    /// @dev The parameters are checked before the permit amount is summed: an escrow that would overflow reverts
    /// AmountTooLarge, not an arithmetic panic.
    function test_RevertWhen_TheEscrowWouldOverflow() external {
        JobParams memory p = defaultParams();
        p.reward = type(uint256).max;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.reward, type(uint72).max));
        market.createJobWithPermit(p, 0, 0, bytes32(0), bytes32(0));
    }

    function test_RevertWhen_TheFeesWouldOverflow() external {
        JobParams memory p = defaultParams();
        p.verifierFee = type(uint256).max / 2;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.verifierFee, type(uint72).max));
        market.createJobWithPermit(p, 0, 0, bytes32(0), bytes32(0));
    }

    function test_RevertWhen_TheWorkerBondDoesNotFitUint72() external {
        JobParams memory p = defaultParams();
        p.workerBond = uint256(type(uint72).max) + 1;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.workerBond, type(uint72).max));
        market.createJobWithPermit(p, 0, 0, bytes32(0), bytes32(0));
    }

    function test_RevertWhen_TrainingWouldEndPastUint32() external {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        JobParams memory p = defaultParams();
        p.openUntil = type(uint32).max;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(address(usdt0), requesterKey, address(market), escrow, deadline);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.TrainingEndsTooLate.selector, type(uint32).max, TRAIN_DURATION));
        market.createJobWithPermit(p, deadline, v, r, s);
        assertEq(usdt0.nonces(requester), 0, "the whole call reverted, permit included");
    }

    // ================================================================ USDT: no permit function

    function test_GivenATokenWithoutPermitAfterAnApprove() external {
        useMarketOn(address(usdt), false);
        vm.prank(requester);
        usdt.approve(address(market), escrow);
        uint256 jobId = createWithPermit(vm.getBlockTimestamp() + 1, 27, keccak256("r"), keccak256("s"));
        assertJobState(jobId, JobState.Open);
        assertConserved(everyone(), one(jobId));
    }

    function test_RevertGiven_ATokenWithoutPermitAndNoApprove() external {
        useMarketOn(address(usdt), false);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(MockUSDT.InsufficientAllowance.selector, address(market), 0, escrow));
        market.createJobWithPermit(defaultParams(), vm.getBlockTimestamp() + 1, 27, keccak256("r"), keccak256("s"));
    }

    function test_GivenATokenWithoutPermitThatTakesAFee() external {
        useMarketOn(address(usdt), false);
        setUsdtFee(100);
        vm.prank(requester);
        usdt.approve(address(market), escrow);
        uint256 jobId = createWithPermit(0, 0, bytes32(0), bytes32(0));
        assertEq(job(jobId).reward, escrow - escrow / 100 - SAMPLES * VERIFIER_FEE);
        assertConserved(everyone(), one(jobId));
    }
}
