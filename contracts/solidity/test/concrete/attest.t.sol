// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract Attest_Concrete_Test is Base {
    uint256 internal jobId;
    Audit internal audit;
    bytes32[] internal states;

    /// @dev One pool member: `verifier` holds every sampled interval.
    function setUp() public override {
        super.setUp();
        stakeVerifier(verifier);
        (jobId, audit, states) = revealedJob();
    }

    /// @notice The end states and proofs of sampled intervals `indexes`.
    function ends(uint256[] memory indexes) internal view returns (bytes32[] memory hashes, bytes32[][] memory proofs) {
        hashes = new bytes32[](indexes.length);
        proofs = new bytes32[][](indexes.length);
        for (uint256 t = 0; t < indexes.length; ++t) {
            (hashes[t], proofs[t]) = endOf(jobId, audit, states, indexes[t]);
        }
    }

    function three(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory x) {
        x = new uint256[](3);
        (x[0], x[1], x[2]) = (a, b, c);
    }

    function two(uint256 a, uint256 b) internal pure returns (uint256[] memory x) {
        x = new uint256[](2);
        (x[0], x[1]) = (a, b);
    }

    function expectRevertAttest(address who, uint256[] memory indexes, bytes memory err) internal {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(indexes);
        vm.prank(who);
        vm.expectRevert(err);
        market.attest(jobId, audit, indexes, hashes, proofs);
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(one(0));
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 4));
        market.attest(4, audit, one(0), hashes, proofs);
    }

    function test_RevertGiven_TheJobIsVerified() external {
        attestAll(jobId, audit, states);
        expectRevertAttest(
            verifier,
            one(0),
            abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Verified, JobState.Auditing)
        );
    }

    function test_RevertWhen_TheAuditIsNotTheCommittedOne() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(one(0));
        Audit memory wrong = audit;
        wrong.verifiers = new address[](SAMPLES);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.attest(jobId, wrong, one(0), hashes, proofs);
    }

    function test_RevertGiven_TheWorkerHasNotRevealed() external {
        (uint256 other, Audit memory otherAudit, bytes32[] memory otherStates) = auditingJob();
        (bytes32 hash, bytes32[] memory proof) = endOf(other, otherAudit, otherStates, 0);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = hash;
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = proof;
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotRevealed.selector, other));
        market.attest(other, otherAudit, one(0), hashes, proofs);
    }

    function test_RevertWhen_TheAttestWindowHasPassed() external {
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline + 1);
        expectRevertAttest(
            verifier, one(0), abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, deadline, deadline + 1)
        );
    }

    function test_RevertWhen_FewerHashesThanIndexes() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(two(0, 1));
        bytes32[] memory fewer = new bytes32[](1);
        fewer[0] = hashes[0];
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.LengthMismatch.selector));
        market.attest(jobId, audit, two(0, 1), fewer, proofs);
    }

    function test_RevertWhen_FewerProofsThanIndexes() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(two(0, 1));
        bytes32[][] memory fewer = new bytes32[][](1);
        fewer[0] = proofs[0];
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.LengthMismatch.selector));
        market.attest(jobId, audit, two(0, 1), hashes, fewer);
    }

    function test_RevertWhen_AnIndexIsOutOfRange() external {
        bytes32[] memory hashes = new bytes32[](1);
        bytes32[][] memory proofs = new bytes32[][](1);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(Errors.IndexOutOfRange.selector, SAMPLES, SAMPLES));
        market.attest(jobId, audit, one(SAMPLES), hashes, proofs);
    }

    function test_RevertWhen_TheCallerIsNotTheAssignedVerifier() external {
        expectRevertAttest(alice, one(1), abi.encodeWithSelector(Errors.NotAssignedVerifier.selector, jobId, 1, alice));
    }

    function test_RevertWhen_TheWorkerAttestsItself() external {
        expectRevertAttest(
            worker, one(0), abi.encodeWithSelector(Errors.NotAssignedVerifier.selector, jobId, 0, worker)
        );
    }

    function test_RevertWhen_AnIndexRepeatsInOneCall() external {
        expectRevertAttest(verifier, two(1, 1), abi.encodeWithSelector(Errors.AlreadyAttested.selector, jobId, 1));
    }

    function test_RevertGiven_TheIntervalIsAlreadyAttested() external {
        attestOne(jobId, audit, states, 2);
        expectRevertAttest(verifier, one(2), abi.encodeWithSelector(Errors.AlreadyAttested.selector, jobId, 2));
    }

    function test_RevertWhen_TheEndStateIsWrong() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(one(1));
        hashes[0] = keccak256("lazy guess");
        bytes memory err = abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[1] + 1);
        vm.prank(verifier);
        vm.expectRevert(err);
        market.attest(jobId, audit, one(1), hashes, proofs);
    }

    /// @dev The revealed start state cannot be passed off as the end state: the leaf binds the step.
    function test_RevertWhen_TheStartStateIsGivenAsTheEnd() external {
        (bytes32[] memory starts, bytes32[][] memory startProofs) = checkpointsAt(jobId, states, intervals(audit), 0);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = starts[0];
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = startProofs[0];
        bytes memory err = abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[0] + 1);
        vm.prank(verifier);
        vm.expectRevert(err);
        market.attest(jobId, audit, one(0), hashes, proofs);
    }

    /// @dev A sibling leaf seen in a proof is not a state hash.
    function test_RevertWhen_AProofSiblingIsGivenAsTheEnd() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(one(0));
        hashes[0] = proofs[0][0];
        bytes memory err = abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[0] + 1);
        vm.prank(verifier);
        vm.expectRevert(err);
        market.attest(jobId, audit, one(0), hashes, proofs);
    }

    function test_RevertWhen_TheSecondOfTwoIsWrong() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(two(0, 2));
        hashes[1] = keccak256("wrong");
        bytes memory err = abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[2] + 1);
        vm.prank(verifier);
        vm.expectRevert(err);
        market.attest(jobId, audit, two(0, 2), hashes, proofs);
        assertEq(job(jobId).attestedMask, 0, "all or nothing");
    }

    function test_WhenOneIntervalIsAttested() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(one(1));
        uint256 deadline = job(jobId).deadline;

        vm.expectEmit(address(market));
        emit ITernMarket.IntervalsAttested(jobId, verifier, one(1), hashes);
        vm.prank(verifier);
        market.attest(jobId, audit, one(1), hashes, proofs);

        assertJobState(jobId, JobState.Auditing);
        assertEq(job(jobId).attestedMask, 2);
        assertEq(job(jobId).deadline, deadline, "the attest deadline stays");
        assertEq(market.accountOf(verifier).balance, 0, "fees are paid at the end");
    }

    function test_WhenTheLastIntervalIsAttested() external {
        attestOne(jobId, audit, states, 0);
        attestOne(jobId, audit, states, 2);
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(one(1));
        uint256 deadline = vm.getBlockTimestamp() + cfg.challengeWindow;

        vm.expectEmit(address(market));
        emit ITernMarket.IntervalsAttested(jobId, verifier, one(1), hashes);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Verified, deadline);
        vm.prank(verifier);
        market.attest(jobId, audit, one(1), hashes, proofs);

        assertJobState(jobId, JobState.Verified);
        assertEq(job(jobId).attestedMask, 7);
        assertEq(job(jobId).deadline, deadline, "the challenge window starts");
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenEveryIntervalIsAttestedInOneCallInAnyOrder() external {
        uint256[] memory indexes = three(2, 0, 1);
        (bytes32[] memory hashes, bytes32[][] memory proofs) = ends(indexes);
        vm.expectEmit(address(market));
        emit ITernMarket.IntervalsAttested(jobId, verifier, indexes, hashes);
        vm.prank(verifier);
        market.attest(jobId, audit, indexes, hashes, proofs);
        assertJobState(jobId, JobState.Verified);
    }

    function test_WhenAttestingAtTheDeadline() external {
        vm.warp(job(jobId).deadline);
        attestAll(jobId, audit, states);
        assertJobState(jobId, JobState.Verified);
    }

    /// @dev An empty attestation is refused, whoever sends it: it would attest nothing and only emit an event.
    function test_RevertWhen_NoIndexIsGiven() external {
        uint256[] memory none = new uint256[](0);
        bytes32[] memory hashes = new bytes32[](0);
        bytes32[][] memory proofs = new bytes32[][](0);
        address[2] memory callers = [eve, verifier];
        for (uint256 i = 0; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(Errors.LengthMismatch.selector));
            market.attest(jobId, audit, none, hashes, proofs);
        }
        assertEq(job(jobId).attestedMask, 0);
        assertJobState(jobId, JobState.Auditing);
    }
}

/// @notice Attesting with several verifiers, and after a dispute.
contract Attest_Pool_Concrete_Test is Base {
    function test_RevertGiven_TheIntervalWasUpheldByACommittee() external {
        stakePool();
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        address challenger = audit.verifiers[0];
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        (address[] memory members,,) = drawAfter(jobId, anchor);
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 0);
        voteAll(jobId, members, endHash, bytes32(0));
        market.resolveDispute(jobId, audit, proof);
        assertJobState(jobId, JobState.Auditing);

        // The disputed bit is set and the upheld interval counts as attested: attest refuses it as attested (it has
        // no separate disputed-interval check).
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = endHash;
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = proof;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Errors.AlreadyAttested.selector, jobId, 0));
        market.attest(jobId, audit, one(0), hashes, proofs);
    }

    /// @dev While the committee decides, the disputed interval (like every other) cannot be attested.
    function test_RevertGiven_TheIntervalIsUnderDispute() external {
        stakePool();
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        address challenger = audit.verifiers[0];
        disputeAs(challenger, jobId, audit, 0);
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 0);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = endHash;
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = proof;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Disputed, JobState.Auditing));
        market.attest(jobId, audit, one(0), hashes, proofs);
    }

    function test_WhenEachVerifierAttestsItsOwnIntervals() external {
        stakePool();
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        for (uint256 i = 0; i < SAMPLES; ++i) {
            attestOne(jobId, audit, states, i);
            assertEq(job(jobId).attestedMask, (1 << (i + 1)) - 1);
        }
        assertJobState(jobId, JobState.Verified);
    }
}
