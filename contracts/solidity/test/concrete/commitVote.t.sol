// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract CommitVote_Concrete_Test is Base {
    function test_RevertWhen_TheJobDoesNotExist() external {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 13));
        market.commitVote(13, keccak256("c"));
    }

    function test_RevertGiven_TheJobIsNotDisputed() external {
        stakePool();
        (uint256 jobId,,) = revealedJob();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Disputed));
        market.commitVote(jobId, keccak256("c"));
    }

    function test_RevertGiven_TheCommitteeIsNotDrawn() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitteeNotDrawn.selector, jobId));
        market.commitVote(jobId, keccak256("c"));
    }

    function test_RevertWhen_TheCallerIsNotOnTheCommittee() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.prank(c.challenger);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotCommitteeMember.selector, c.jobId, c.challenger));
        market.commitVote(c.jobId, keccak256("c"));
        vm.prank(eve);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotCommitteeMember.selector, c.jobId, eve));
        market.commitVote(c.jobId, keccak256("c"));
    }

    function test_RevertWhen_TheCommitWindowHasPassed() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.warp(c.commitDeadline + 1);
        vm.prank(c.members[0]);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.DeadlinePassed.selector, c.jobId, c.commitDeadline, c.commitDeadline + 1)
        );
        market.commitVote(c.jobId, keccak256("c"));
    }

    function test_RevertGiven_TheMemberAlreadyCommitted() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.prank(c.members[1]);
        market.commitVote(c.jobId, keccak256("first"));
        vm.prank(c.members[1]);
        vm.expectRevert(abi.encodeWithSelector(Errors.AlreadyCommitted.selector, c.jobId, c.members[1]));
        market.commitVote(c.jobId, keccak256("second"));
    }

    function test_RevertWhen_TheCommitmentIsZero() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.prank(c.members[0]);
        vm.expectRevert(abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[0]));
        market.commitVote(c.jobId, bytes32(0));
    }

    function test_WhenAMemberCommits() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        bytes32 commitment = voteHash(c.endHash, bytes32(0), saltOf(c.members[0]), c.members[0]);
        vm.expectEmit(address(market));
        emit ITernMarket.VoteCommitted(c.jobId, c.members[0]);
        vm.prank(c.members[0]);
        market.commitVote(c.jobId, commitment);
        assertJobState(c.jobId, JobState.Disputed);
        assertEq(job(c.jobId).deadline, c.commitDeadline, "a commit does not move the deadline");
        assertConserved(everyone(), one(c.jobId));
    }

    function test_WhenAMemberCommitsAtTheDeadline() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.warp(c.commitDeadline);
        commitAs(c.members[2], c.jobId, c.endHash, bytes32(0));
        // Its reveal waits for the commit phase to end (the others have not committed).
        vm.warp(c.commitDeadline + 1);
        revealAs(c.members[2], c.jobId, c.endHash, bytes32(0));
    }
}
