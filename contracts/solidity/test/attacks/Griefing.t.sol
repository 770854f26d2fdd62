// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState, Result } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";
import { Vm } from "../utils/Vm.sol";

/// @notice Griefing by doing nothing: a requester that never finalizes, a worker that never submits or never reveals,
/// a verifier that never attests, a dispute nobody carries on, a challenger facing an empty committee. Every
/// deadline has a transition anyone may call, so no job and no money stays stuck; the tests also pin down who pays.
contract GriefingAttackTest is Base {
    function test_RequesterNeverFinalizes_WorkerFinalizesAfterWindow() public {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.prank(worker);
        vm.expectPartialRevert(Errors.DeadlineNotReached.selector);
        market.finalize(jobId, audit);
        vm.warp(block.timestamp + cfg.challengeWindow + 1);
        vm.prank(worker);
        market.finalize(jobId, audit);
        assertEq(uint256(state(jobId)), uint256(JobState.Finalized));
        assertEq(market.accountOf(worker).balance, REWARD);
        assertEq(market.accountOf(verifier).balance, SAMPLES * VERIFIER_FEE);
        assertConserved(everyone(), one(jobId));
    }

    function test_RequesterNeverFinalizes_StrangerFinalizes() public {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(block.timestamp + cfg.challengeWindow + 1);
        vm.prank(eve); // no stake, no role
        market.finalize(jobId, audit);
        assertEq(market.accountOf(worker).balance, REWARD);
        assertEq(market.accountOf(eve).balance, 0, "the caller earns nothing");
    }

    function test_WorkerNeverSubmits_AnyoneExpiresAndBondGoesToRequester() public {
        uint256 jobId = createAndClaim();
        vm.warp(block.timestamp + TRAIN_DURATION + 1);
        vm.prank(eve);
        market.expireJob(jobId);
        assertEq(uint256(state(jobId)), uint256(JobState.Expired), "claim window over too");
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE + WORKER_BOND);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
        assertConserved(everyone(), one(jobId));
    }

    /// @notice The worker submits, someone starts the audit, the worker never reveals: anyone slashes it after the
    /// reveal window.
    function test_WorkerNeverReveals_AnyoneSlashesAfterRevealWindow() public {
        stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        Result memory result = submit(jobId, honestStates(jobId));
        vm.roll(result.anchorBlock + 1);
        vm.prank(eve);
        market.startAudit(jobId, result);
        vm.prank(eve);
        vm.expectPartialRevert(Errors.DeadlineNotReached.selector);
        market.expireJob(jobId);
        vm.warp(block.timestamp + cfg.revealWindow + 1);
        vm.prank(eve);
        market.expireJob(jobId);
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE + WORKER_BOND);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
        assertEq(market.accountOf(worker).locked, 0);
        assertConserved(everyone(), one(jobId));
    }

    /// @notice Behaviour to know: if nobody starts the audit, two deadline paths race. Once the anchor block aged out
    /// of blockhash range (256 blocks), anyone's startAudit slashes the worker (next test); once `auditStartTimeout`
    /// passed, anyone's expireJob ends the job with the worker's bond released, not slashed (this test). With a
    /// non-empty pool the first path opens long before the second, so whoever calls first decides what the worker
    /// loses: the requester has every reason to call startAudit.
    function test_NobodyStartsAudit_AnyoneExpiresAndWorkerKeepsBond() public {
        stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        submit(jobId, honestStates(jobId));
        vm.roll(block.number + 300); // the anchor aged out too
        vm.warp(block.timestamp + cfg.auditStartTimeout + 1);
        vm.prank(eve);
        market.expireJob(jobId);
        assertEq(uint256(state(jobId)), uint256(JobState.Expired));
        assertEq(market.accountOf(worker).stake, STAKE, "bond released, not slashed");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE, "escrow refunded");
        assertConserved(everyone(), one(jobId));
    }

    /// @notice A worker that does not open its audit (startAuditAndReveal) within 256 blocks of the anchor can be
    /// slashed by anyone: re-anchoring would let it choose its sample.
    function test_AnchorAgedOut_AnyoneSlashesWorker() public {
        stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        Result memory result = submit(jobId, honestStates(jobId));
        vm.roll(result.anchorBlock + 257);
        vm.prank(eve);
        market.startAudit(jobId, result);
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "bond slashed");
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE + WORKER_BOND);
        assertConserved(everyone(), one(jobId));
    }

    /// @notice After the timeout, starting the audit is still allowed and races expireJob: whoever calls first
    /// decides (the audit is not bound to the Submitted deadline).
    function test_StartAuditAfterTimeout_StillAllowed() public {
        stakeVerifier(verifier);
        uint256 jobId = createAndClaim();
        Result memory result = submit(jobId, honestStates(jobId));
        vm.warp(block.timestamp + cfg.auditStartTimeout + 1);
        vm.roll(result.anchorBlock + 1);
        market.startAudit(jobId, result);
        assertEq(uint256(state(jobId)), uint256(JobState.Auditing));
    }

    /// @notice A verifier that never attests is slashed and replaced each round; when the rounds run out the job
    /// expires: the requester is refunded (plus the penalties), the worker gets its bond back.
    function test_VerifierNeverAttests_ReplacedThenJobExpires() public {
        stakeVerifier(verifier);
        stakeVerifier(alice);
        uint256 jobId = createAndClaim();
        bytes32[] memory states = honestStates(jobId);
        Audit memory audit = startAudit(jobId, submit(jobId, states));
        reveal(jobId, audit, states);
        uint256 penalties = 0;
        for (uint256 round = 0; round <= cfg.maxReplacementRounds; ++round) {
            vm.warp(block.timestamp + cfg.attestWindow + 1);
            uint256 before = market.accountOf(verifier).stake + market.accountOf(alice).stake;
            vm.recordLogs();
            vm.prank(eve);
            market.replaceVerifiers(jobId, audit);
            penalties += before - market.accountOf(verifier).stake - market.accountOf(alice).stake;
            audit = _replaced(audit, vm.getRecordedLogs());
        }
        assertEq(penalties, (cfg.maxReplacementRounds + 1) * SAMPLES * cfg.verifierPenalty, "every no-show slashed");
        assertEq(uint256(state(jobId)), uint256(JobState.Expired));
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE, "the worker is not at fault");
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE + penalties);
        assertConserved(everyone(), one(jobId));
    }

    /// @notice A challenger disputes a verified job and then nobody else acts: anyone draws the committee and, once
    /// the reveal window is over, resolves. With no vote revealed the dispute is undecided and the challenge is
    /// dismissed: the job is Verified again with a new challenge window, the silent members are slashed to the
    /// worker, the challenger gets its bond back; after the window anyone finalizes.
    function test_AbandonedDispute_AnyoneResolvesAndJobStaysVerified() public {
        stakeVerifier(alice);
        stakeVerifier(bob);
        stakeVerifier(carol);
        stakeVerifier(dave);
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        stakeAs(eve, STAKE);
        vm.prank(eve);
        market.dispute(jobId, audit, 0);
        vm.roll(block.number + cfg.auditDelay + 1);
        vm.prank(requester);
        market.drawCommittee(jobId);
        vm.prank(requester);
        vm.expectPartialRevert(Errors.DeadlineNotReached.selector);
        market.resolveDispute(jobId, audit, new bytes32[](0));
        vm.warp(block.timestamp + cfg.commitWindow + cfg.voteRevealWindow + 1);
        vm.prank(requester);
        market.resolveDispute(jobId, audit, new bytes32[](0));
        assertEq(uint256(state(jobId)), uint256(JobState.Verified), "challenge dismissed");
        assertEq(market.accountOf(eve).stake, STAKE, "challenger's bond back");
        assertEq(market.accountOf(eve).locked, 0);
        uint256 penalties = market.accountOf(worker).balance;
        assertGt(penalties, 0, "the silent members' penalties go to the worker");

        vm.warp(block.timestamp + cfg.challengeWindow + 1);
        vm.prank(eve);
        market.finalize(jobId, audit);
        assertEq(market.accountOf(worker).balance, penalties + REWARD, "worker paid");
        assertEq(market.accountOf(requester).balance, VERIFIER_FEE, "the disputed interval's fee refunded");
        assertConserved(everyone(), one(jobId));
    }

    /// @notice When the pool has nobody eligible for the committee (only the job's parties and the attester), the
    /// committee is empty and the dispute is undecided at once: the challenge is dismissed and the job is Verified
    /// again, so an empty committee cannot void verified work. What it costs the honest side: the challenger risks
    /// nothing, each challenge restarts the challenge window (one per sampled interval, so payment can be delayed by
    /// up to `sampleCount` windows), and the disputed interval's verifier fee goes back to the requester.
    function test_EmptyCommittee_ChallengeDismissedForFree() public {
        (uint256 jobId, Audit memory audit,) = verifiedJob(); // the pool is `verifier` alone, the attester
        stakeAs(requester, 100 * USDT);
        for (uint256 index = 0; index < SAMPLES; ++index) {
            vm.prank(requester);
            market.dispute(jobId, audit, index);
            vm.roll(block.number + cfg.auditDelay + 1);
            market.drawCommittee(jobId);
            // No members: every (zero) vote is revealed, so it resolves at once, undecided.
            vm.prank(requester);
            market.resolveDispute(jobId, audit, new bytes32[](0));
            assertEq(uint256(state(jobId)), uint256(JobState.Verified), "dismissed");
            assertEq(market.accountOf(requester).stake, 100 * USDT, "the challenger risks nothing");
            vm.warp(block.timestamp + cfg.challengeWindow); // the last moment of the new window
        }
        vm.prank(requester);
        vm.expectPartialRevert(Errors.AlreadyDisputed.selector);
        market.dispute(jobId, audit, 0);
        vm.warp(block.timestamp + 1);
        market.finalize(jobId, audit);
        assertEq(market.accountOf(worker).balance, REWARD, "the honest worker is paid, late");
        assertEq(market.accountOf(verifier).balance, 0, "every fee was disputed away");
        assertEq(market.accountOf(requester).balance, SAMPLES * VERIFIER_FEE, "fees back to the requester");
        assertConserved(everyone(), one(jobId));
    }

    /// @dev The audit after a replaceVerifiers call, from its VerifierReplaced events.
    function _replaced(Audit memory audit, Vm.Log[] memory logs) internal pure returns (Audit memory) {
        bytes32 topic = keccak256("VerifierReplaced(uint256,uint256,address,address)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] != topic) continue;
            uint256 index = abi.decode(logs[i].data, (uint256));
            audit.verifiers[index] = address(uint160(uint256(logs[i].topics[3])));
        }
        return audit;
    }
}
