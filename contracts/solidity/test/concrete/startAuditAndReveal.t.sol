// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState, Result } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract StartAuditAndReveal_Concrete_Test is Base {
    uint256 internal jobId;
    Result internal result;
    bytes32[] internal states;

    function setUp() public override {
        super.setUp();
        stakeVerifier(verifier);
        jobId = createAndClaim();
        states = honestStates(jobId);
        result = submit(jobId, states);
        vm.roll(result.anchorBlock + 1);
    }

    /// @notice What the worker reveals for the seed of `anchor`.
    function starts(uint256 anchor) internal view returns (bytes32[] memory hashes, bytes32[][] memory proofs) {
        uint256[] memory sampled = market.sampleIntervals(blockhash(anchor), TOTAL_STEPS / K, SAMPLES);
        (hashes, proofs) = checkpointsAt(jobId, states, sampled, 0);
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 5));
        market.startAuditAndReveal(5, result, hashes, proofs);
    }

    function test_RevertGiven_TheAuditHasStarted() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        market.startAudit(jobId, result);
        vm.prank(worker);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Submitted)
        );
        market.startAuditAndReveal(jobId, result, hashes, proofs);
    }

    function test_RevertWhen_TheResultIsNotTheCommittedOne() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        Result memory wrong = Result(result.traceRoot, keccak256("other adapter"), result.anchorBlock);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.startAuditAndReveal(jobId, wrong, hashes, proofs);
    }

    function test_RevertWhen_TheSeedIsNotReady() external {
        vm.roll(result.anchorBlock);
        bytes32[] memory hashes = new bytes32[](SAMPLES);
        bytes32[][] memory proofs = new bytes32[][](SAMPLES);
        vm.prank(worker);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, result.anchorBlock, result.anchorBlock)
        );
        market.startAuditAndReveal(jobId, result, hashes, proofs);
    }

    /// @dev With verifiers in the pool, startAudit would slash the worker; that slash is rolled back with the revert.
    /// The worker that missed its 256 blocks cannot escape it: anyone's startAudit then slashes.
    function test_RevertGiven_TheAnchorAgedOut() external {
        vm.roll(result.anchorBlock + 257);
        bytes32[] memory hashes = new bytes32[](SAMPLES);
        bytes32[][] memory proofs = new bytes32[][](SAMPLES);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.AnchorExpired.selector, jobId, result.anchorBlock));
        market.startAuditAndReveal(jobId, result, hashes, proofs);
        assertJobState(jobId, JobState.Submitted);
        assertEq(job(jobId).commitment, keccak256(abi.encode(result)), "not re-anchored");
        assertEq(market.accountOf(worker).locked, WORKER_BOND, "not slashed");

        market.startAudit(jobId, result);
        assertJobState(jobId, JobState.Slashed);
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "the worker lost its bond");
    }

    /// @dev With an empty pool, startAudit would re-anchor; that is rolled back with the revert too. Re-anchor with
    /// startAudit instead, then start and reveal on the new anchor.
    function test_RevertGiven_TheAnchorAgedOutWithAnEmptyPool() external {
        vm.prank(verifier);
        market.leaveVerifierPool();
        vm.roll(result.anchorBlock + 257);
        bytes32[] memory hashes = new bytes32[](SAMPLES);
        bytes32[][] memory proofs = new bytes32[][](SAMPLES);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.AnchorExpired.selector, jobId, result.anchorBlock));
        market.startAuditAndReveal(jobId, result, hashes, proofs);
        assertEq(job(jobId).commitment, keccak256(abi.encode(result)), "not re-anchored");

        market.startAudit(jobId, result); // re-anchors
        assertJobState(jobId, JobState.Submitted);
        Result memory second = Result(result.traceRoot, result.adapterHash, vm.getBlockNumber() + cfg.auditDelay);
        assertEq(job(jobId).commitment, keccak256(abi.encode(second)), "re-anchored");
        vm.prank(verifier);
        market.joinVerifierPool();
        vm.roll(second.anchorBlock + 1);
        (hashes, proofs) = starts(second.anchorBlock);
        vm.prank(worker);
        market.startAuditAndReveal(jobId, second, hashes, proofs);
        assertTrue(job(jobId).revealed);
    }

    /// @dev At 256 blocks past the anchor its hash is still readable: the worker may still start and reveal.
    function test_WhenTheAnchorIsTheOldestReadableBlock() external {
        vm.roll(result.anchorBlock + 256);
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        vm.prank(worker);
        market.startAuditAndReveal(jobId, result, hashes, proofs);
        assertJobState(jobId, JobState.Auditing);
        assertTrue(job(jobId).revealed);
    }

    function test_RevertWhen_TheCallerIsNotTheWorker() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        vm.prank(eve);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotWorker.selector, jobId, eve));
        market.startAuditAndReveal(jobId, result, hashes, proofs);
    }

    function test_RevertGiven_NoVerifierCanBeDrawn() external {
        vm.prank(verifier);
        market.leaveVerifierPool();
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
        market.startAuditAndReveal(jobId, result, hashes, proofs);
    }

    function test_RevertWhen_TooFewStartStates() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        bytes32[] memory shorter = new bytes32[](SAMPLES - 1);
        for (uint256 i = 0; i < shorter.length; ++i) {
            shorter[i] = hashes[i];
        }
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongRevealCount.selector, jobId, SAMPLES, SAMPLES - 1));
        market.startAuditAndReveal(jobId, result, shorter, proofs);
    }

    /// @dev With the right number of state hashes, the error reports the number of proofs.
    function test_RevertWhen_TooFewProofs() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        bytes32[][] memory fewer = new bytes32[][](SAMPLES - 1);
        for (uint256 i = 0; i < fewer.length; ++i) {
            fewer[i] = proofs[i];
        }
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongRevealCount.selector, jobId, SAMPLES, SAMPLES - 1));
        market.startAuditAndReveal(jobId, result, hashes, fewer);
    }

    function test_RevertWhen_AStartStateIsWrong() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        uint256[] memory sampled = market.sampleIntervals(blockhash(result.anchorBlock), TOTAL_STEPS / K, SAMPLES);
        hashes[1] = keccak256("not the state");
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, sampled[1]));
        market.startAuditAndReveal(jobId, result, hashes, proofs);
    }

    function test_WhenTheWorkerStartsAndReveals() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts(result.anchorBlock);
        bytes32 seed = blockhash(result.anchorBlock);
        address[] memory verifiers = new address[](SAMPLES);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            verifiers[i] = verifier;
        }
        uint256[] memory sampled = market.sampleIntervals(seed, TOTAL_STEPS / K, SAMPLES);

        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Auditing, vm.getBlockTimestamp() + cfg.revealWindow);
        vm.expectEmit(address(market));
        emit ITernMarket.AuditStarted(jobId, seed, sampled, verifiers);
        vm.expectEmit(address(market));
        emit ITernMarket.CheckpointsRevealed(jobId, hashes);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Auditing, vm.getBlockTimestamp() + cfg.attestWindow);
        vm.prank(worker);
        market.startAuditAndReveal(jobId, result, hashes, proofs);

        assertJobState(jobId, JobState.Auditing);
        assertTrue(job(jobId).revealed);
        assertEq(job(jobId).deadline, vm.getBlockTimestamp() + cfg.attestWindow);
        Audit memory audit = Audit(result.traceRoot, result.adapterHash, seed, verifiers);
        assertEq(job(jobId).commitment, keccak256(abi.encode(audit)));

        attestAll(jobId, audit, states);
        assertJobState(jobId, JobState.Verified);
    }
}
