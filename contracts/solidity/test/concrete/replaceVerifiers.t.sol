// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base, Vm } from "../utils/Base.sol";

contract ReplaceVerifiers_Concrete_Test is Base {
    uint256 internal penalty;

    function setUp() public override {
        super.setUp();
        penalty = cfg.verifierPenalty;
    }

    /// @notice A revealed job whose every interval is assigned to `verifier`; alice joins the pool afterwards, so
    /// she is the only possible replacement.
    function soloJob() internal returns (uint256 jobId, Audit memory audit, bytes32[] memory states) {
        stakeVerifier(verifier);
        (jobId, audit, states) = revealedJob();
        stakeVerifier(alice);
    }

    function replace(uint256 jobId, Audit memory audit) internal returns (Audit memory) {
        vm.recordLogs();
        market.replaceVerifiers(jobId, audit);
        return withReplacements(audit, vm.getRecordedLogs());
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        (, Audit memory audit,) = soloJob();
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 8));
        market.replaceVerifiers(8, audit);
    }

    function test_RevertGiven_TheJobIsVerified() external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = soloJob();
        attestAll(jobId, audit, states);
        vm.warp(vm.getBlockTimestamp() + 1 days);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Verified, JobState.Auditing));
        market.replaceVerifiers(jobId, audit);
    }

    function test_RevertWhen_TheAuditIsNotTheCommittedOne() external {
        (uint256 jobId, Audit memory audit,) = soloJob();
        vm.warp(job(jobId).deadline + 1);
        audit.traceRoot = bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.replaceVerifiers(jobId, audit);
    }

    /// @dev Before the reveal the worker is the one late: expireJob slashes it instead.
    function test_RevertGiven_TheWorkerHasNotRevealed() external {
        stakeVerifier(verifier);
        (uint256 jobId, Audit memory audit,) = auditingJob();
        vm.warp(job(jobId).deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotRevealed.selector, jobId));
        market.replaceVerifiers(jobId, audit);
    }

    function test_RevertWhen_TheAttestWindowIsStillOpen() external {
        (uint256 jobId, Audit memory audit,) = soloJob();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, deadline));
        market.replaceVerifiers(jobId, audit);
    }

    function test_WhenEveryVerifierIsAbsent() external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = soloJob();
        vm.warp(job(jobId).deadline + 1);
        uint256 deadline = vm.getBlockTimestamp() + cfg.attestWindow;
        uint256 weight = market.poolWeight();

        for (uint256 i = 0; i < SAMPLES; ++i) {
            vm.expectEmit(address(market));
            emit IStaking.StakeSlashed(verifier, penalty);
            vm.expectEmit(address(market));
            emit IStaking.Credited(requester, jobId, penalty);
            vm.expectEmit(address(market));
            emit ITernMarket.VerifierReplaced(jobId, i, verifier, alice);
        }
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Auditing, deadline);
        Audit memory next = replace(jobId, audit);

        assertJobState(jobId, JobState.Auditing);
        assertEq(job(jobId).deadline, deadline);
        assertEq(job(jobId).replacementRounds, 1);
        assertEq(market.accountOf(verifier).stake, STAKE - SAMPLES * penalty, "slashed once per missed interval");
        assertEq(market.poolWeight(), weight - SAMPLES * penalty, "the slash leaves the pool too");
        assertEq(market.accountOf(requester).balance, SAMPLES * penalty, "penalties go to the requester");
        for (uint256 i = 0; i < SAMPLES; ++i) {
            assertEq(next.verifiers[i], alice);
        }
        assertEq(job(jobId).commitment, keccak256(abi.encode(next)), "the new assignment is committed");
        assertConserved(everyone(), one(jobId));

        // The old assignment is void; the replacements attest with the new one.
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 0);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = endHash;
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = proof;
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.attest(jobId, audit, one(0), hashes, proofs);

        attestAll(jobId, next, states);
        assertJobState(jobId, JobState.Verified);
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, next);
        assertEq(market.accountOf(alice).balance, SAMPLES * VERIFIER_FEE, "the replacement earns the fees");
        assertEq(market.accountOf(verifier).balance, 0);
        assertEq(market.accountOf(worker).balance, REWARD);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenSomeIntervalsWereAttested() external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = soloJob();
        attestOne(jobId, audit, states, 1);
        vm.warp(job(jobId).deadline + 1);
        Audit memory next = replace(jobId, audit);
        assertEq(next.verifiers[0], alice);
        assertEq(next.verifiers[1], verifier, "an attested interval keeps its verifier");
        assertEq(next.verifiers[2], alice);
        assertEq(market.accountOf(verifier).stake, STAKE - 2 * penalty);
        assertEq(job(jobId).attestedMask, 2);

        attestOne(jobId, next, states, 0);
        attestOne(jobId, next, states, 2);
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, next);
        assertEq(market.accountOf(verifier).balance, VERIFIER_FEE);
        assertEq(market.accountOf(alice).balance, 2 * VERIFIER_FEE);
    }

    function test_WhenReplacementRoundsRunOut() external {
        (uint256 jobId, Audit memory audit,) = soloJob();
        assertEq(cfg.maxReplacementRounds, 2);

        vm.warp(job(jobId).deadline + 1);
        audit = replace(jobId, audit); // round 1: verifier -> alice
        vm.warp(job(jobId).deadline + 1);
        audit = replace(jobId, audit); // round 2: alice -> verifier
        assertEq(job(jobId).replacementRounds, 2);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            assertEq(audit.verifiers[i], verifier);
        }

        vm.warp(job(jobId).deadline + 1);
        uint256 requesterBefore = market.accountOf(requester).balance;
        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Expired, 0);
        vm.recordLogs();
        market.replaceVerifiers(jobId, audit); // exhausted: slash and expire
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 replaced = keccak256("VerifierReplaced(uint256,uint256,address,address)");
        for (uint256 i = 0; i < logs.length; ++i) {
            assertNotEq(logs[i].topics[0], replaced, "no replacement in the last round");
        }

        assertJobState(jobId, JobState.Expired);
        assertEq(job(jobId).replacementRounds, 2);
        assertEq(market.accountOf(verifier).stake, STAKE - 2 * SAMPLES * penalty);
        assertEq(market.accountOf(alice).stake, STAKE - SAMPLES * penalty);
        assertEq(
            market.accountOf(requester).balance - requesterBefore,
            SAMPLES * penalty + REWARD + SAMPLES * VERIFIER_FEE,
            "last penalties and the whole escrow"
        );
        assertEq(market.accountOf(requester).balance, 3 * SAMPLES * penalty + REWARD + SAMPLES * VERIFIER_FEE);
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE, "the worker is not at fault");
        assertEq(market.escrowOf(jobId), 0);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheLastRoundPaysTheIntervalsAttestedBefore() external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = soloJob();
        for (uint256 round = 0; round < 2; ++round) {
            vm.warp(job(jobId).deadline + 1);
            audit = replace(jobId, audit);
        }
        attestOne(jobId, audit, states, 2);
        vm.warp(job(jobId).deadline + 1);
        market.replaceVerifiers(jobId, audit);
        assertJobState(jobId, JobState.Expired);
        assertEq(market.accountOf(verifier).balance, VERIFIER_FEE, "the attested interval's fee is paid");
        assertEq(
            market.accountOf(requester).balance,
            (3 + 3 + 2) * penalty + REWARD + (SAMPLES - 1) * VERIFIER_FEE,
            "the other fees come back"
        );
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenNoReplacementCanBeDrawn() external {
        stakeVerifier(verifier); // the only member: an absent verifier is never its own replacement
        (uint256 jobId, Audit memory audit,) = revealedJob();
        vm.warp(job(jobId).deadline + 1);
        vm.recordLogs();
        market.replaceVerifiers(jobId, audit);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 replaced = keccak256("VerifierReplaced(uint256,uint256,address,address)");
        for (uint256 i = 0; i < logs.length; ++i) {
            assertNotEq(logs[i].topics[0], replaced);
        }
        assertJobState(jobId, JobState.Expired);
        assertEq(job(jobId).replacementRounds, 0);
        assertEq(market.accountOf(verifier).stake, STAKE - SAMPLES * penalty, "every absent interval is slashed");
        assertEq(market.accountOf(requester).balance, SAMPLES * penalty + REWARD + SAMPLES * VERIFIER_FEE);
        assertEq(market.accountOf(worker).locked, 0);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheOnlyOtherMemberIsTheWorker() external {
        stakeVerifier(verifier);
        (uint256 jobId, Audit memory audit,) = revealedJob();
        stakeVerifier(worker);
        vm.warp(job(jobId).deadline + 1);
        market.replaceVerifiers(jobId, audit);
        assertJobState(jobId, JobState.Expired);
    }

    function test_GivenTheAbsentVerifierIsUnbonding() external {
        (uint256 jobId, Audit memory audit,) = soloJob();
        vm.prank(verifier);
        market.requestUnstake(STAKE);
        vm.warp(job(jobId).deadline + 1);
        replace(jobId, audit);
        assertEq(market.accountOf(verifier).stake, 0);
        assertEq(market.unbondingOf(verifier).amount, STAKE - SAMPLES * penalty, "slashed while unbonding");
        assertEq(market.accountOf(requester).balance, SAMPLES * penalty);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheAbsentVerifierHasLessThanThePenalty() external {
        stakeAs(verifier, cfg.minVerifierStake);
        vm.prank(verifier);
        market.joinVerifierPool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        stakeVerifier(alice);
        // 10 USDT free, 90 unbonding: 60 USDT of penalties are due.
        vm.prank(verifier);
        market.requestUnstake(cfg.minVerifierStake - 10 * USDT);
        vm.warp(job(jobId).deadline + 1);

        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(verifier, penalty); // 10 from stake, 10 from unbonding
        replace(jobId, audit);
        assertEq(market.accountOf(verifier).stake, 0);
        assertEq(market.unbondingOf(verifier).amount, cfg.minVerifierStake - SAMPLES * penalty);
        assertEq(market.accountOf(requester).balance, SAMPLES * penalty);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheAbsentVerifierHasNothingLeft() external {
        (uint256 jobId, Audit memory audit,) = soloJob();
        vm.prank(verifier);
        market.requestUnstake(STAKE);
        vm.warp(vm.getBlockTimestamp() + cfg.unbondingDelay);
        vm.prank(verifier);
        market.withdrawUnstaked(verifier);
        // The job's deadline long passed; the verifier left with its stake before anyone replaced it.
        vm.recordLogs();
        market.replaceVerifiers(jobId, audit);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 slashed = keccak256("StakeSlashed(address,uint256)");
        for (uint256 i = 0; i < logs.length; ++i) {
            assertNotEq(logs[i].topics[0], slashed, "nothing to slash, no event");
        }
        assertEq(market.accountOf(requester).balance, 0);
        assertJobState(jobId, JobState.Auditing);
        assertConserved(everyone(), one(jobId));
    }
}
