// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20Errors } from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockERC20 } from "../../src/mocks/MockERC20.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Job, JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract CreateJob_Concrete_Test is Base {
    function create(JobParams memory p) internal returns (uint256) {
        vm.prank(requester);
        return market.createJob(p);
    }

    function expectRevertCreate(JobParams memory p, bytes memory err) internal {
        vm.prank(requester);
        vm.expectRevert(err);
        market.createJob(p);
    }

    // ================================================================ parameter checks

    function test_RevertWhen_SpecHashIsZero() external {
        JobParams memory p = defaultParams();
        p.specHash = bytes32(0);
        expectRevertCreate(p, abi.encodeWithSelector(Errors.ZeroSpecHash.selector));
    }

    function test_RevertWhen_RewardIsZero() external {
        JobParams memory p = defaultParams();
        p.reward = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.ZeroReward.selector));
    }

    function test_RevertWhen_WorkerBondIsZero() external {
        JobParams memory p = defaultParams();
        p.workerBond = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.ZeroWorkerBond.selector));
    }

    function test_RevertWhen_CheckpointIntervalIsZero() external {
        JobParams memory p = defaultParams();
        p.checkpointInterval = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.BadStepCount.selector, TOTAL_STEPS, 0));
    }

    function test_RevertWhen_TotalStepsIsZero() external {
        JobParams memory p = defaultParams();
        p.totalSteps = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.BadStepCount.selector, 0, K));
    }

    function test_RevertWhen_TotalStepsIsNotAMultipleOfTheInterval() external {
        JobParams memory p = defaultParams();
        p.totalSteps = 205;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.BadStepCount.selector, 205, K));
    }

    function test_RevertWhen_SampleCountIsZero() external {
        JobParams memory p = defaultParams();
        p.sampleCount = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.BadSampleCount.selector, 0, 20));
    }

    function test_RevertWhen_SampleCountIsAboveSixteen() external {
        JobParams memory p = defaultParams();
        p.totalSteps = 1000; // 100 intervals: room for 17 samples, but masks are 16 bits
        p.sampleCount = 17;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.BadSampleCount.selector, 17, 100));
    }

    function test_RevertWhen_NonAdjacentSamplesDoNotFit() external {
        JobParams memory p = defaultParams();
        p.sampleCount = 11; // 2 * 11 - 1 = 21 > 20 intervals
        expectRevertCreate(p, abi.encodeWithSelector(Errors.BadSampleCount.selector, 11, 20));
    }

    function test_WhenSamplesExactlyFit() external {
        JobParams memory p = defaultParams();
        p.totalSteps = 310; // 31 intervals
        p.sampleCount = 16; // 2 * 16 - 1 = 31
        uint256 jobId = create(p);
        assertEq(job(jobId).sampleCount, 16);
        assertEq(job(jobId).numIntervals, 31);
        assertEq(market.escrowOf(jobId), REWARD + 16 * VERIFIER_FEE);
    }

    function test_WhenOneSampleOfOneInterval() external {
        JobParams memory p = defaultParams();
        p.totalSteps = K;
        p.sampleCount = 1;
        uint256 jobId = create(p);
        assertEq(job(jobId).numIntervals, 1);
        uint256[] memory sampled = market.sampleIntervals(keccak256("any"), 1, 1);
        assertEq(sampled.length, 1);
        assertEq(sampled[0], 0);
    }

    function test_RevertWhen_OpenUntilIsNow() external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(vm.getBlockTimestamp());
        expectRevertCreate(
            p, abi.encodeWithSelector(Errors.BadOpenUntil.selector, vm.getBlockTimestamp(), vm.getBlockTimestamp())
        );
    }

    function test_RevertWhen_OpenUntilIsInThePast() external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(vm.getBlockTimestamp() - 1);
        expectRevertCreate(
            p, abi.encodeWithSelector(Errors.BadOpenUntil.selector, vm.getBlockTimestamp() - 1, vm.getBlockTimestamp())
        );
    }

    function test_RevertWhen_OpenUntilDoesNotFitUint32() external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(uint256(type(uint32).max) + 1);
        expectRevertCreate(
            p,
            abi.encodeWithSelector(Errors.BadOpenUntil.selector, uint256(type(uint32).max) + 1, vm.getBlockTimestamp())
        );
    }

    /// @dev The last uint32 second is a valid claim deadline, but training claimed then would end past uint32.
    function test_RevertWhen_OpenUntilIsTheLastUint32Second() external {
        JobParams memory p = defaultParams();
        p.openUntil = type(uint32).max;
        expectRevertCreate(
            p, abi.encodeWithSelector(Errors.TrainingEndsTooLate.selector, type(uint32).max, TRAIN_DURATION)
        );
    }

    function test_WhenTrainingEndsAtTheLastUint32Second() external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(type(uint32).max - TRAIN_DURATION);
        uint256 jobId = create(p);
        assertEq(job(jobId).openUntil, type(uint32).max - TRAIN_DURATION);
        assertEq(job(jobId).deadline, type(uint32).max - TRAIN_DURATION);
    }

    function test_RevertWhen_TrainingEndsOneSecondPastUint32() external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(type(uint32).max - TRAIN_DURATION + 1);
        expectRevertCreate(p, abi.encodeWithSelector(Errors.TrainingEndsTooLate.selector, p.openUntil, TRAIN_DURATION));
    }

    function test_RevertWhen_TrainDurationIsTheLargestUint32() external {
        JobParams memory p = defaultParams();
        p.trainDuration = type(uint32).max;
        expectRevertCreate(
            p, abi.encodeWithSelector(Errors.TrainingEndsTooLate.selector, p.openUntil, type(uint32).max)
        );
    }

    function test_RevertWhen_TrainDurationIsZero() external {
        JobParams memory p = defaultParams();
        p.trainDuration = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.ZeroTrainDuration.selector));
    }

    /// @dev Checks run in a fixed order: the first failing one is reported.
    function test_RevertWhen_SeveralParametersAreBad() external {
        JobParams memory p = defaultParams();
        p.reward = 0;
        p.workerBond = 0;
        p.trainDuration = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.ZeroReward.selector));
    }

    // ================================================================ amounts

    /// @dev The amounts are checked before anything is pulled: the requester could not pay these.
    function test_RevertWhen_RewardDoesNotFitUint72() external {
        JobParams memory p = defaultParams();
        p.reward = uint256(type(uint72).max) + 1;
        p.verifierFee = 0;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.reward, type(uint72).max));
    }

    function test_RevertWhen_VerifierFeeDoesNotFitUint72() external {
        JobParams memory p = defaultParams();
        p.verifierFee = uint256(type(uint72).max) + 1;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.verifierFee, type(uint72).max));
    }

    function test_RevertWhen_WorkerBondDoesNotFitUint72() external {
        JobParams memory p = defaultParams();
        p.workerBond = uint256(type(uint72).max) + 1;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.workerBond, type(uint72).max));
    }

    /// @dev Amounts are checked first, in the order reward, verifierFee, workerBond, before the other parameters.
    function test_RevertWhen_SeveralAmountsAreTooLarge() external {
        JobParams memory p = defaultParams();
        p.specHash = bytes32(0);
        p.verifierFee = uint256(type(uint72).max) + 2;
        p.workerBond = uint256(type(uint72).max) + 3;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.verifierFee, type(uint72).max));
        p.reward = uint256(type(uint72).max) + 1;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.reward, type(uint72).max));
    }

    function test_WhenAmountsAreTheLargestUint72() external {
        JobParams memory p = defaultParams();
        p.reward = type(uint72).max;
        p.verifierFee = type(uint72).max;
        p.workerBond = type(uint72).max;
        usdt.mint(requester, uint256(type(uint72).max) * (SAMPLES + 1));
        uint256 jobId = create(p);
        assertEq(job(jobId).reward, type(uint72).max);
        assertEq(market.escrowOf(jobId), uint256(type(uint72).max) * (SAMPLES + 1));
        assertConserved(everyone(), one(jobId));
    }

    /// @dev The amounts are checked before the escrow sum is computed: fees that would overflow it revert
    /// AmountTooLarge, not an arithmetic panic.
    function test_RevertWhen_TheFeesWouldOverflow() external {
        JobParams memory p = defaultParams();
        p.verifierFee = type(uint256).max / 2;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.verifierFee, type(uint72).max));
    }

    function test_RevertWhen_TheEscrowSumWouldOverflow() external {
        JobParams memory p = defaultParams();
        p.reward = type(uint256).max;
        expectRevertCreate(p, abi.encodeWithSelector(Errors.AmountTooLarge.selector, p.reward, type(uint72).max));
    }

    function test_WhenVerifierFeeIsZero() external {
        JobParams memory p = defaultParams();
        p.verifierFee = 0;
        uint256 jobId = create(p);
        assertEq(market.escrowOf(jobId), REWARD);
        assertEq(usdt.balanceOf(address(market)), REWARD);
    }

    // ================================================================ token failures

    function test_RevertGiven_NoAllowance() external {
        vm.prank(requester);
        usdt.approve(address(market), 0);
        expectRevertCreate(
            defaultParams(),
            abi.encodeWithSelector(
                MockUSDT.InsufficientAllowance.selector, address(market), 0, REWARD + SAMPLES * VERIFIER_FEE
            )
        );
    }

    function test_RevertGiven_InsufficientBalance() external {
        JobParams memory p = defaultParams();
        p.reward = FUNDS;
        expectRevertCreate(
            p,
            abi.encodeWithSelector(
                MockUSDT.InsufficientBalance.selector, requester, FUNDS, FUNDS + SAMPLES * VERIFIER_FEE
            )
        );
    }

    function test_RevertGiven_TheTokenIsPaused() external {
        usdt.pause();
        expectRevertCreate(defaultParams(), abi.encodeWithSelector(MockUSDT.Paused.selector));
    }

    function test_RevertGiven_TheRequesterIsBlacklisted() external {
        usdt.addBlackList(requester);
        expectRevertCreate(defaultParams(), abi.encodeWithSelector(MockUSDT.Blacklisted.selector, requester));
    }

    // ================================================================ success

    function test_WhenTheParametersAreValid() external {
        JobParams memory p = defaultParams();
        uint256 expectedId = uint256(keccak256(abi.encode(block.chainid, address(market), uint256(1))));
        uint256 escrow = REWARD + SAMPLES * VERIFIER_FEE;
        uint256 before = usdt.balanceOf(requester);

        vm.expectEmit(address(market));
        emit ITernMarket.JobCreated(expectedId, requester, REWARD, p);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(expectedId, JobState.Open, p.openUntil);
        uint256 jobId = create(p);

        assertEq(jobId, expectedId, "job id");
        assertEq(market.jobCount(), 1);
        Job memory j = job(jobId);
        assertEq(j.requester, requester);
        assertEq(uint256(j.state), uint256(JobState.Open));
        assertEq(j.sampleCount, SAMPLES);
        assertEq(j.attestedMask, 0);
        assertEq(j.disputedMask, 0);
        assertEq(j.replacementRounds, 0);
        assertFalse(j.revealed);
        assertEq(j.deadline, p.openUntil);
        assertEq(j.worker, address(0));
        assertEq(j.checkpointInterval, K);
        assertEq(j.numIntervals, TOTAL_STEPS / K);
        assertEq(j.trainDuration, TRAIN_DURATION);
        assertEq(j.reward, REWARD);
        assertEq(j.verifierFee, VERIFIER_FEE);
        assertEq(j.workerBond, WORKER_BOND);
        assertEq(j.openUntil, p.openUntil);
        assertEq(j.specHash, p.specHash);
        assertEq(j.commitment, bytes32(0));

        assertEq(before - usdt.balanceOf(requester), escrow, "requester paid reward + fees");
        assertEq(usdt.balanceOf(address(market)), escrow);
        assertEq(market.escrowOf(jobId), escrow);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheSameRequesterPostsTwice() external {
        uint256 first = createJob();
        uint256 second = createJob();
        assertNotEq(first, second);
        assertEq(second, uint256(keccak256(abi.encode(block.chainid, address(market), uint256(2)))));
        assertEq(market.jobCount(), 2);
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (first, second);
        assertConserved(everyone(), ids);
    }

    function test_WhenTwoMarketsOnOneChainCountFromOne() external {
        uint256 first = createJob();
        useMarketOn(address(usdt), false);
        vm.prank(requester);
        usdt.approve(address(market), type(uint256).max);
        uint256 other = createJob();
        assertNotEq(first, other, "job ids differ across deployments");
    }

    // ================================================================ fee-on-transfer token

    function test_GivenTheTokenTakesAFee() external {
        setUsdtFee(100); // 1%
        uint256 pulled = REWARD + SAMPLES * VERIFIER_FEE;
        uint256 received = pulled - pulled / 100;
        uint256 reward = received - SAMPLES * VERIFIER_FEE;
        uint256 expectedId = uint256(keccak256(abi.encode(block.chainid, address(market), uint256(1))));

        vm.expectEmit(address(market));
        emit ITernMarket.JobCreated(expectedId, requester, reward, defaultParams());
        uint256 jobId = createJob();

        assertEq(job(jobId).reward, reward, "reward = received - fees");
        assertEq(job(jobId).verifierFee, VERIFIER_FEE, "fees are kept whole");
        assertEq(usdt.balanceOf(address(market)), received);
        assertEq(market.escrowOf(jobId), received);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheTokenTakesAFeeWithACeiling() external {
        usdt.setParams(1000, 1 * USDT); // 10%, at most 1 USDT
        uint256 jobId = createJob();
        assertEq(job(jobId).reward, REWARD - 1 * USDT);
        assertConserved(everyone(), one(jobId));
    }

    function test_RevertGiven_TheFeeLeavesNoReward() external {
        setUsdtFee(1000); // 10%
        JobParams memory p = defaultParams();
        p.reward = 1 * USDT;
        p.verifierFee = 3 * USDT; // pulls 10 USDT, 9 arrive, fees are 9
        expectRevertCreate(p, abi.encodeWithSelector(Errors.NoRewardAfterFee.selector, 9 * USDT, 9 * USDT));
    }

    function test_GivenTheFeeLeavesOneUnitOfReward() external {
        setUsdtFee(1000);
        JobParams memory p = defaultParams();
        p.reward = 1 * USDT + 10; // pulls 10 USDT + 10, fee 1 USDT + 1
        p.verifierFee = 3 * USDT;
        uint256 jobId = create(p);
        assertEq(job(jobId).reward, 9);
    }

    // ================================================================ standard ERC-20 token

    function test_GivenAStandardToken() external {
        MockERC20 dai = new MockERC20("Dai", "DAI", 18);
        useMarketOn(address(dai), true);
        uint256 before = dai.balanceOf(requester);
        uint256 jobId = createJob();
        assertEq(before - dai.balanceOf(requester), REWARD + SAMPLES * VERIFIER_FEE);
        assertEq(job(jobId).reward, REWARD);
        assertConservedOf(address(dai), everyone(), one(jobId));
    }

    function test_RevertGiven_AStandardTokenWithoutAllowance() external {
        MockERC20 dai = new MockERC20("Dai", "DAI", 18);
        useMarketOn(address(dai), false);
        expectRevertCreate(
            defaultParams(),
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, REWARD + SAMPLES * VERIFIER_FEE
            )
        );
    }
}
