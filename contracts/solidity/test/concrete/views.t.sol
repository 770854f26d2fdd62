// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, Job, JobState, MarketConfig } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract Views_Concrete_Test is Base {
    function test_GetJob_WhenTheJobDoesNotExist() external view {
        Job memory j = market.getJob(123);
        assertEq(uint256(j.state), uint256(JobState.None));
        assertEq(j.requester, address(0));
        assertEq(j.reward, 0);
    }

    function test_GetConfig() external view {
        MarketConfig memory c = market.getConfig();
        assertEq(keccak256(abi.encode(c)), keccak256(abi.encode(cfg)), "the deployed config");
        assertEq(market.unbondingDelay(), cfg.unbondingDelay);
        assertEq(market.minVerifierStake(), cfg.minVerifierStake);
        assertEq(address(market.token()), address(usdt));
        assertEq(market.MAX_SAMPLES(), 16);
        assertEq(market.MAX_COMMITTEE(), 15);
    }

    function test_JobCount() external {
        assertEq(market.jobCount(), 0);
        createJob();
        createJob();
        assertEq(market.jobCount(), 2);
    }

    // ================================================================ escrowOf

    function test_EscrowOf_WhenTheJobDoesNotExist() external view {
        assertEq(market.escrowOf(1), 0);
    }

    function test_EscrowOf_ThroughAnHonestLifecycle() external {
        uint256 escrow = REWARD + SAMPLES * VERIFIER_FEE;
        stakeVerifier(verifier);
        uint256 jobId = createJob();
        assertEq(market.escrowOf(jobId), escrow, "Open");
        stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
        assertEq(market.escrowOf(jobId), escrow, "Claimed");
        bytes32[] memory states = honestStates(jobId);
        Audit memory audit = startAudit(jobId, submit(jobId, states));
        assertEq(market.escrowOf(jobId), escrow, "Auditing");
        reveal(jobId, audit, states);
        attestAll(jobId, audit, states);
        assertEq(market.escrowOf(jobId), escrow, "Verified");
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        assertEq(market.escrowOf(jobId), 0, "Finalized");
    }

    function test_EscrowOf_WhileDisputed() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        assertEq(market.escrowOf(jobId), REWARD + SAMPLES * VERIFIER_FEE);
    }

    function test_EscrowOf_AfterEachTerminalState() external {
        uint256 refunded = createJob();
        vm.prank(requester);
        market.cancelJob(refunded);
        assertEq(market.escrowOf(refunded), 0, "Refunded");

        uint256 expired = createJob();
        vm.warp(job(expired).openUntil + 1);
        market.expireJob(expired);
        assertEq(market.escrowOf(expired), 0, "Expired");

        (uint256 slashed,,) = auditingJob();
        vm.warp(job(slashed).deadline + 1);
        market.expireJob(slashed);
        assertEq(market.escrowOf(slashed), 0, "Slashed");
    }

    // ================================================================ sampleIntervals

    function test_RevertWhen_SampleCountIsZero() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, 0, 20));
        market.sampleIntervals(bytes32(0), 20, 0);
    }

    function test_RevertWhen_SampleCountIsAboveSixteen() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, 17, 1000));
        market.sampleIntervals(bytes32(0), 1000, 17);
    }

    function test_RevertWhen_SampleCountIsHuge() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, type(uint256).max, 1000));
        market.sampleIntervals(bytes32(0), 1000, type(uint256).max);
    }

    function test_RevertWhen_TheSamplesDoNotFit() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, 3, 4));
        market.sampleIntervals(bytes32(0), 4, 3);
    }

    function test_RevertWhen_ThereAreNoIntervals() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, 1, 0));
        market.sampleIntervals(bytes32(0), 0, 1);
    }

    function test_SampleIntervals_WhenTheyExactlyFit() external view {
        uint256[] memory out = market.sampleIntervals(keccak256("seed"), 9, 5);
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(out[i], 2 * i, "every other interval");
        }
    }

    function test_SampleIntervals_WhenOneSample() external view {
        uint256[] memory out = market.sampleIntervals(keccak256("seed"), 20, 1);
        assertEq(out.length, 1);
        assertEq(out[0], 19, "only the last interval");
    }

    function test_SampleIntervals_Properties() external view {
        uint256[] memory out = market.sampleIntervals(keccak256("seed"), 20, SAMPLES);
        assertEq(out.length, SAMPLES);
        assertEq(out[SAMPLES - 1], 19, "the last interval is always audited");
        for (uint256 i = 1; i < SAMPLES; ++i) {
            assertGt(out[i], out[i - 1] + 1, "ascending and non-adjacent");
        }
        assertEq(keccak256(abi.encode(out)), keccak256(abi.encode(market.sampleIntervals(keccak256("seed"), 20, 3))));
    }

    // ================================================================ traceLeaf

    function test_TraceLeaf() external view {
        bytes32 h = keccak256("state");
        assertEq(market.traceLeaf(7, 30, h), keccak256(abi.encode(uint256(7), uint256(30), h)));
        assertEq(market.traceLeaf(7, 30, h), leafOf(7, 3, h));
        assertNotEq(market.traceLeaf(7, 30, h), market.traceLeaf(8, 30, h), "bound to the job");
        assertNotEq(market.traceLeaf(7, 30, h), market.traceLeaf(7, 40, h), "bound to the step");
    }

    // ================================================================ staking views

    function test_AccountOfAndUnbondingOf() external {
        assertEq(market.accountOf(alice).stake, 0);
        stakeVerifier(alice);
        vm.prank(alice);
        market.requestUnstake(100 * USDT);
        assertEq(market.accountOf(alice).stake, STAKE - 100 * USDT);
        assertTrue(market.accountOf(alice).inPool);
        assertEq(market.accountOf(alice).poolIndex, 1);
        assertEq(market.unbondingOf(alice).amount, 100 * USDT);
        assertEq(market.unbondingOf(alice).releaseAt, vm.getBlockTimestamp() + cfg.unbondingDelay);
    }

    function test_PoolMembers_WhenEmpty() external view {
        assertEq(market.poolMembers().length, 0);
        assertEq(market.poolWeight(), 0);
    }
}
