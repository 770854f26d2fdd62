// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract RevealCheckpoints_Concrete_Test is Base {
    uint256 internal jobId;
    Audit internal audit;
    bytes32[] internal states;

    function setUp() public override {
        super.setUp();
        (jobId, audit, states) = auditingJob();
    }

    function starts() internal view returns (bytes32[] memory hashes, bytes32[][] memory proofs) {
        (hashes, proofs) = checkpointsAt(jobId, states, intervals(audit), 0);
    }

    function expectRevertReveal(bytes32[] memory hashes, bytes32[][] memory proofs, bytes memory err) internal {
        vm.prank(worker);
        vm.expectRevert(err);
        market.revealCheckpoints(jobId, audit, hashes, proofs);
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 9));
        market.revealCheckpoints(9, audit, hashes, proofs);
    }

    function test_RevertGiven_TheAuditHasNotStarted() external {
        uint256 other = createAndClaim();
        submit(other, honestStates(other));
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        vm.prank(worker);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.WrongState.selector, other, JobState.Submitted, JobState.Auditing)
        );
        market.revealCheckpoints(other, audit, hashes, proofs);
    }

    function test_RevertWhen_TheAuditIsNotTheCommittedOne() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        Audit memory wrong = audit;
        wrong.seed = keccak256("another seed");
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.revealCheckpoints(jobId, wrong, hashes, proofs);
    }

    function test_RevertWhen_TheCallerIsNotTheWorker() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotWorker.selector, jobId, requester));
        market.revealCheckpoints(jobId, audit, hashes, proofs);
    }

    function test_RevertGiven_TheWorkerAlreadyRevealed() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        vm.prank(worker);
        market.revealCheckpoints(jobId, audit, hashes, proofs);
        expectRevertReveal(hashes, proofs, abi.encodeWithSelector(Errors.AlreadyRevealed.selector, jobId));
    }

    function test_RevertWhen_TheRevealWindowHasPassed() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline + 1);
        expectRevertReveal(
            hashes, proofs, abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, deadline, deadline + 1)
        );
    }

    function test_RevertWhen_TooManyStartStates() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        bytes32[] memory longer = new bytes32[](SAMPLES + 1);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            longer[i] = hashes[i];
        }
        expectRevertReveal(
            longer, proofs, abi.encodeWithSelector(Errors.WrongRevealCount.selector, jobId, SAMPLES, SAMPLES + 1)
        );
    }

    /// @dev With the right number of state hashes, the error reports the number of proofs.
    function test_RevertWhen_TooFewProofs() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        bytes32[][] memory fewer = new bytes32[][](SAMPLES - 1);
        for (uint256 i = 0; i < fewer.length; ++i) {
            fewer[i] = proofs[i];
        }
        expectRevertReveal(
            hashes, fewer, abi.encodeWithSelector(Errors.WrongRevealCount.selector, jobId, SAMPLES, SAMPLES - 1)
        );
    }

    function test_RevertWhen_TooManyProofs() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        bytes32[][] memory more = new bytes32[][](SAMPLES + 1);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            more[i] = proofs[i];
        }
        expectRevertReveal(
            hashes, more, abi.encodeWithSelector(Errors.WrongRevealCount.selector, jobId, SAMPLES, SAMPLES + 1)
        );
    }

    /// @dev When both counts are wrong, the error reports the number of state hashes.
    function test_RevertWhen_TooFewStartStatesAndProofs() external {
        bytes32[] memory hashes = new bytes32[](SAMPLES - 1);
        bytes32[][] memory proofs = new bytes32[][](SAMPLES + 1);
        expectRevertReveal(
            hashes, proofs, abi.encodeWithSelector(Errors.WrongRevealCount.selector, jobId, SAMPLES, SAMPLES - 1)
        );
    }

    function test_RevertWhen_AStartStateIsNotInTheTrace() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        hashes[2] = keccak256("forged");
        expectRevertReveal(
            hashes, proofs, abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[2])
        );
    }

    function test_RevertWhen_AProofIsWrong() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        proofs[0] = proofs[1];
        expectRevertReveal(
            hashes, proofs, abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[0])
        );
    }

    function test_RevertWhen_TheEndStatesAreRevealedInsteadOfTheStarts() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = checkpointsAt(jobId, states, intervals(audit), 1);
        expectRevertReveal(
            hashes, proofs, abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[0])
        );
    }

    function test_RevertWhen_TheStatesAreInAnotherOrder() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        (hashes[0], hashes[1]) = (hashes[1], hashes[0]);
        (proofs[0], proofs[1]) = (proofs[1], proofs[0]);
        expectRevertReveal(
            hashes, proofs, abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, intervals(audit)[0])
        );
    }

    function test_WhenTheWorkerRevealsInTime() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        uint256 deadline = vm.getBlockTimestamp() + cfg.attestWindow;
        bytes32 commitment = job(jobId).commitment;

        vm.expectEmit(address(market));
        emit ITernMarket.CheckpointsRevealed(jobId, hashes);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Auditing, deadline);
        vm.prank(worker);
        market.revealCheckpoints(jobId, audit, hashes, proofs);

        assertJobState(jobId, JobState.Auditing);
        assertTrue(job(jobId).revealed);
        assertEq(job(jobId).deadline, deadline, "the attest window starts");
        assertEq(job(jobId).commitment, commitment, "the audit is unchanged");
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheWorkerRevealsAtTheDeadline() external {
        (bytes32[] memory hashes, bytes32[][] memory proofs) = starts();
        vm.warp(job(jobId).deadline);
        vm.prank(worker);
        market.revealCheckpoints(jobId, audit, hashes, proofs);
        assertTrue(job(jobId).revealed);
        assertEq(job(jobId).deadline, vm.getBlockTimestamp() + cfg.attestWindow);
    }
}
