// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobParams, JobState, Result } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice Every deadline-gated call, at random times around its deadline: each call succeeds strictly on its
/// side and reverts with the exact error on the other; the opposite transition does the reverse. Both are tried
/// from the same state (snapshot, try one, revert to the snapshot, try the other).
abstract contract Deadlines_Fuzz_Base is Base {
    /// @notice Warps to `deadline + delta`, with delta in [-window, window]; returns the new time.
    function around(uint256 deadline, int256 delta, uint256 window) internal returns (uint256 ts) {
        delta = bound(delta, -int256(window), int256(window));
        ts = uint256(int256(deadline) + delta);
        vm.warp(ts);
    }

    function passed(uint256 jobId, uint256 deadline, uint256 ts) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, deadline, ts);
    }

    function notReached(uint256 jobId, uint256 deadline, uint256 ts) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, ts);
    }
}

contract Deadlines_Fuzz_Test is Deadlines_Fuzz_Base {
    // ================================================================ claim window: claimJob | expireJob(Open)

    function testFuzz_ClaimWindow(int256 delta) external {
        stakeAs(worker, STAKE);
        uint256 jobId = createJob();
        uint256 deadline = job(jobId).openUntil;
        uint256 ts = around(deadline, delta, 3 hours);
        uint256 snap = vm.snapshotState();

        vm.prank(worker);
        if (ts <= deadline) {
            market.claimJob(jobId);
            assertJobState(jobId, JobState.Claimed);
        } else {
            vm.expectRevert(passed(jobId, deadline, ts));
            market.claimJob(jobId);
        }
        vm.revertToState(snap);
        if (ts <= deadline) {
            vm.expectRevert(notReached(jobId, deadline, ts));
            market.expireJob(jobId);
        } else {
            market.expireJob(jobId);
            assertJobState(jobId, JobState.Expired);
        }
    }

    // ================================================================ training: submitResult | expireJob(Claimed)

    function testFuzz_TrainingDeadline(int256 delta, uint256 trainDuration) external {
        JobParams memory p = defaultParams();
        p.trainDuration = uint32(bound(trainDuration, 1, 2 days));
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
        uint256 deadline = job(jobId).deadline;
        uint256 ts = around(deadline, delta, 3 hours);
        uint256 snap = vm.snapshotState();

        vm.prank(worker);
        if (ts <= deadline) {
            market.submitResult(jobId, keccak256("root"), keccak256("adapter"));
            assertJobState(jobId, JobState.Submitted);
        } else {
            vm.expectRevert(passed(jobId, deadline, ts));
            market.submitResult(jobId, keccak256("root"), keccak256("adapter"));
        }
        vm.revertToState(snap);
        if (ts <= deadline) {
            vm.expectRevert(notReached(jobId, deadline, ts));
            market.expireJob(jobId);
        } else {
            market.expireJob(jobId);
            // Reopened while the claim window lasts, expired after it.
            assertJobState(jobId, ts <= p.openUntil ? JobState.Open : JobState.Expired);
            assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
        }
    }

    /// @dev A job is posted only if training claimed at its last moment ends by the last uint32 second; then even
    /// that latest claim gets a deadline that fits.
    function testFuzz_TrainingEnd(uint256 openUntil, uint256 trainDuration) external {
        JobParams memory p = defaultParams();
        p.openUntil = uint40(bound(openUntil, vm.getBlockTimestamp() + 1, type(uint32).max));
        p.trainDuration = uint32(bound(trainDuration, 1, type(uint32).max));
        vm.prank(requester);
        if (uint256(p.openUntil) + p.trainDuration > type(uint32).max) {
            vm.expectRevert(abi.encodeWithSelector(Errors.TrainingEndsTooLate.selector, p.openUntil, p.trainDuration));
            market.createJob(p);
            return;
        }
        uint256 jobId = market.createJob(p);
        stakeAs(worker, STAKE);
        vm.warp(p.openUntil);
        vm.prank(worker);
        market.claimJob(jobId);
        assertEq(job(jobId).deadline, uint256(p.openUntil) + p.trainDuration);
    }

    // ================================================================ audit start: expireJob(Submitted); startAudit has no deadline

    function testFuzz_AuditStartDeadline(int256 delta) external {
        stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        Result memory result = submit(jobId, honestStates(jobId));
        vm.roll(result.anchorBlock + 1);
        uint256 deadline = job(jobId).deadline;
        uint256 ts = around(deadline, delta, 3 hours);
        uint256 snap = vm.snapshotState();

        if (ts <= deadline) {
            vm.expectRevert(notReached(jobId, deadline, ts));
            market.expireJob(jobId);
        } else {
            market.expireJob(jobId);
            assertJobState(jobId, JobState.Expired);
        }
        vm.revertToState(snap);
        market.startAudit(jobId, result); // on either side, while nobody expired the job
        assertJobState(jobId, JobState.Auditing);
    }

    // ================================================================ reveal: revealCheckpoints | expireJob(Auditing)

    function testFuzz_RevealDeadline(int256 delta) external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = auditingJob();
        (bytes32[] memory starts, bytes32[][] memory proofs) = checkpointsAt(jobId, states, intervals(audit), 0);
        uint256 deadline = job(jobId).deadline;
        uint256 ts = around(deadline, delta, cfg.revealWindow);
        uint256 snap = vm.snapshotState();

        vm.prank(worker);
        if (ts <= deadline) {
            market.revealCheckpoints(jobId, audit, starts, proofs);
            assertTrue(job(jobId).revealed);
        } else {
            vm.expectRevert(passed(jobId, deadline, ts));
            market.revealCheckpoints(jobId, audit, starts, proofs);
        }
        vm.revertToState(snap);
        if (ts <= deadline) {
            vm.expectRevert(notReached(jobId, deadline, ts));
            market.expireJob(jobId);
        } else {
            market.expireJob(jobId);
            assertJobState(jobId, JobState.Slashed);
        }
    }

    // ================================================================ attest: attest, dispute(Auditing) | replaceVerifiers

    function testFuzz_AttestDeadline(int256 delta) external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 0);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = endHash;
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = proof;
        uint256 deadline = job(jobId).deadline;
        uint256 ts = around(deadline, delta, cfg.attestWindow);
        uint256 snap = vm.snapshotState();

        vm.prank(verifier);
        if (ts <= deadline) {
            market.attest(jobId, audit, one(0), hashes, proofs);
            assertEq(job(jobId).attestedMask, 1);
        } else {
            vm.expectRevert(passed(jobId, deadline, ts));
            market.attest(jobId, audit, one(0), hashes, proofs);
        }
        vm.revertToState(snap);
        vm.prank(verifier);
        if (ts <= deadline) {
            market.dispute(jobId, audit, 0);
            assertJobState(jobId, JobState.Disputed);
        } else {
            vm.expectRevert(passed(jobId, deadline, ts));
            market.dispute(jobId, audit, 0);
        }
        vm.revertToState(snap);
        if (ts <= deadline) {
            vm.expectRevert(notReached(jobId, deadline, ts));
            market.replaceVerifiers(jobId, audit);
        } else {
            market.replaceVerifiers(jobId, audit);
            assertEq(market.accountOf(verifier).stake, STAKE - SAMPLES * cfg.verifierPenalty);
        }
    }

    // ================================================================ challenge: dispute(Verified) | finalize

    function testFuzz_ChallengeDeadline(int256 delta) external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        stakeAs(eve, STAKE);
        uint256 deadline = job(jobId).deadline;
        uint256 ts = around(deadline, delta, 3 hours);
        uint256 snap = vm.snapshotState();

        vm.prank(eve);
        if (ts <= deadline) {
            market.dispute(jobId, audit, 1);
            assertJobState(jobId, JobState.Disputed);
        } else {
            vm.expectRevert(passed(jobId, deadline, ts));
            market.dispute(jobId, audit, 1);
        }
        vm.revertToState(snap);
        if (ts <= deadline) {
            vm.expectRevert(notReached(jobId, deadline, ts));
            market.finalize(jobId, audit);
        } else {
            market.finalize(jobId, audit);
            assertJobState(jobId, JobState.Finalized);
        }
    }

    // ================================================================ unbonding

    function testFuzz_UnbondingDelay(int256 delta) external {
        stakeAs(alice, STAKE);
        vm.prank(alice);
        market.requestUnstake(STAKE);
        uint256 releaseAt = market.unbondingOf(alice).releaseAt;
        uint256 ts = around(releaseAt, delta, 1 days);
        vm.prank(alice);
        if (ts < releaseAt) {
            vm.expectRevert(abi.encodeWithSelector(Errors.StillUnbonding.selector, alice, releaseAt, ts));
            market.withdrawUnstaked(alice);
        } else {
            market.withdrawUnstaked(alice);
            assertEq(market.unbondingOf(alice).amount, 0);
        }
    }
}

/// @notice The committee's phases.
contract DisputeDeadlines_Fuzz_Test is Deadlines_Fuzz_Base {
    // ================================================================ commit: commitVote | revealVote opens

    function testFuzz_CommitDeadline(int256 delta) external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[1], c.jobId, c.endHash, bytes32(0));
        uint256 deadline = c.commitDeadline;
        uint256 ts = around(deadline, delta, cfg.commitWindow);
        bytes32 commitment = voteHash(c.endHash, bytes32(0), saltOf(c.members[0]), c.members[0]);
        uint256 snap = vm.snapshotState();

        vm.prank(c.members[0]);
        if (ts <= deadline) {
            market.commitVote(c.jobId, commitment);
        } else {
            vm.expectRevert(passed(c.jobId, deadline, ts));
            market.commitVote(c.jobId, commitment);
        }
        vm.revertToState(snap);
        vm.prank(c.members[1]);
        if (ts <= deadline) {
            vm.expectRevert(notReached(c.jobId, deadline, ts));
            market.revealVote(c.jobId, c.endHash, bytes32(0), saltOf(c.members[1]));
        } else {
            market.revealVote(c.jobId, c.endHash, bytes32(0), saltOf(c.members[1]));
        }
    }

    // ================================================================ reveal: revealVote | resolveDispute

    function testFuzz_VoteRevealDeadline(int256 delta) external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        for (uint256 m = 0; m < c.members.length; ++m) {
            commitAs(c.members[m], c.jobId, c.endHash, bytes32(0));
        }
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0)); // reveals opened early: all committed
        uint256 deadline = c.revealDeadline;
        uint256 ts = around(deadline, delta, cfg.voteRevealWindow);
        uint256 snap = vm.snapshotState();

        vm.prank(c.members[1]);
        if (ts <= deadline) {
            market.revealVote(c.jobId, c.endHash, bytes32(0), saltOf(c.members[1]));
        } else {
            vm.expectRevert(passed(c.jobId, deadline, ts));
            market.revealVote(c.jobId, c.endHash, bytes32(0), saltOf(c.members[1]));
        }
        vm.revertToState(snap);
        if (ts <= deadline) {
            vm.expectRevert(notReached(c.jobId, deadline, ts));
            market.resolveDispute(c.jobId, c.audit, c.proof);
        } else {
            market.resolveDispute(c.jobId, c.audit, c.proof);
            assertJobState(c.jobId, JobState.Auditing);
        }
    }

    // ================================================================ proof window: ProofRequired | WorkerCheated

    function testFuzz_ProofDeadline(int256 delta) external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, keccak256("other"), bytes32(0));
        uint256 deadline = c.revealDeadline + cfg.proofWindow;
        uint256 ts = around(deadline, delta, cfg.proofWindow);
        if (ts <= deadline) {
            vm.expectRevert(abi.encodeWithSelector(Errors.ProofRequired.selector, c.jobId, deadline));
            market.resolveDispute(c.jobId, c.audit, c.proof);
        } else {
            market.resolveDispute(c.jobId, c.audit, c.proof);
            assertJobState(c.jobId, JobState.Slashed);
        }
    }
}

/// @notice Seeds read from a block hash: not before the anchor is mined, and only while it is readable.
contract AnchorBlocks_Fuzz_Test is Deadlines_Fuzz_Base {
    /// @dev With verifiers in the pool, an anchor that aged out slashes the worker: the sample is never drawn again.
    function testFuzz_StartAudit_AroundTheAnchor(uint256 blockNumber) external {
        stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        uint256 submittedAt = vm.getBlockNumber();
        Result memory result = submitNow(jobId, honestStates(jobId));
        uint256 anchor = result.anchorBlock;
        blockNumber = bound(blockNumber, submittedAt, anchor + 600);
        vm.roll(blockNumber);

        if (blockNumber <= anchor) {
            vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, anchor, blockNumber));
            market.startAudit(jobId, result);
        } else if (blockNumber - anchor <= 256) {
            vm.recordLogs();
            market.startAudit(jobId, result);
            Audit memory audit = auditFromLogs(result, vm.getRecordedLogs());
            assertEq(audit.seed, blockhash(anchor), "seeded by the anchor block");
            assertJobState(jobId, JobState.Auditing);
        } else {
            vm.expectEmit(address(market));
            emit ITernMarket.JobStateChanged(jobId, JobState.Slashed, 0);
            market.startAudit(jobId, result);
            assertJobState(jobId, JobState.Slashed);
            assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "the bond is slashed");
            assertEq(market.accountOf(requester).balance, WORKER_BOND + REWARD + SAMPLES * VERIFIER_FEE);
            assertConserved(everyone(), one(jobId));
        }
    }

    /// @dev With an empty pool nobody can audit: an anchor that aged out moves to a later block instead.
    function testFuzz_StartAudit_AroundTheAnchorWithAnEmptyPool(uint256 blockNumber) external {
        uint256 jobId = createAndClaim();
        uint256 submittedAt = vm.getBlockNumber();
        Result memory result = submitNow(jobId, honestStates(jobId));
        uint256 anchor = result.anchorBlock;
        blockNumber = bound(blockNumber, submittedAt, anchor + 600);
        vm.roll(blockNumber);

        if (blockNumber <= anchor) {
            vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, anchor, blockNumber));
            market.startAudit(jobId, result);
        } else if (blockNumber - anchor <= 256) {
            vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
            market.startAudit(jobId, result);
        } else {
            vm.expectEmit(address(market));
            emit ITernMarket.AuditReanchored(jobId, blockNumber + cfg.auditDelay);
            market.startAudit(jobId, result);
            assertJobState(jobId, JobState.Submitted);
            assertEq(market.accountOf(worker).locked, WORKER_BOND, "no slash");
        }
    }

    /// @dev The worker's own start: an aged anchor reverts AnchorExpired and changes nothing.
    function testFuzz_StartAuditAndReveal_AroundTheAnchor(uint256 blockNumber, bool emptyPool) external {
        if (!emptyPool) stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        uint256 submittedAt = vm.getBlockNumber();
        bytes32[] memory states = honestStates(jobId);
        Result memory result = submitNow(jobId, states);
        uint256 anchor = result.anchorBlock;
        blockNumber = bound(blockNumber, submittedAt, anchor + 600);
        vm.roll(blockNumber);
        bytes32[] memory hashes = new bytes32[](SAMPLES);
        bytes32[][] memory proofs = new bytes32[][](SAMPLES);

        if (blockNumber <= anchor) {
            vm.prank(worker);
            vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, anchor, blockNumber));
            market.startAuditAndReveal(jobId, result, hashes, proofs);
        } else if (blockNumber - anchor <= 256) {
            if (emptyPool) {
                vm.prank(worker);
                vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
                market.startAuditAndReveal(jobId, result, hashes, proofs);
                return;
            }
            uint256[] memory sampled = market.sampleIntervals(blockhash(anchor), TOTAL_STEPS / K, SAMPLES);
            (hashes, proofs) = checkpointsAt(jobId, states, sampled, 0);
            vm.prank(worker);
            market.startAuditAndReveal(jobId, result, hashes, proofs);
            assertJobState(jobId, JobState.Auditing);
            assertTrue(job(jobId).revealed);
        } else {
            vm.prank(worker);
            vm.expectRevert(abi.encodeWithSelector(Errors.AnchorExpired.selector, jobId, anchor));
            market.startAuditAndReveal(jobId, result, hashes, proofs);
            assertJobState(jobId, JobState.Submitted);
            assertEq(job(jobId).commitment, keccak256(abi.encode(result)), "not re-anchored");
            assertEq(market.accountOf(worker).locked, WORKER_BOND, "not slashed");
        }
    }

    function testFuzz_DrawCommittee_AroundTheAnchor(uint256 blockNumber) external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        uint256 disputedAt = vm.getBlockNumber();
        uint256 anchor = disputeAs(audit.verifiers[0], jobId, audit, 0);
        blockNumber = bound(blockNumber, disputedAt, anchor + 600);
        vm.roll(blockNumber);

        if (blockNumber <= anchor) {
            vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, anchor, blockNumber));
            market.drawCommittee(jobId);
        } else if (blockNumber - anchor <= 256) {
            market.drawCommittee(jobId);
            assertGt(job(jobId).deadline, 0, "committee drawn");
        } else {
            vm.expectEmit(address(market));
            emit ITernMarket.DisputeReanchored(jobId, blockNumber + cfg.auditDelay);
            market.drawCommittee(jobId);
            assertEq(job(jobId).deadline, 0, "re-anchored, no committee yet");
        }
    }
}
