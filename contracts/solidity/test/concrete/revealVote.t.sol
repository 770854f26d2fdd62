// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract RevealVote_Concrete_Test is Base {
    function expectRevertReveal(DisputeCase memory c, address who, bytes32 stateHash, bytes32 adapter, bytes memory err)
        internal
    {
        vm.prank(who);
        vm.expectRevert(err);
        market.revealVote(c.jobId, stateHash, adapter, saltOf(who));
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 15));
        market.revealVote(15, keccak256("s"), bytes32(0), keccak256("salt"));
    }

    function test_RevertGiven_TheJobIsNotDisputed() external {
        stakePool();
        (uint256 jobId,,) = revealedJob();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Disputed));
        market.revealVote(jobId, keccak256("s"), bytes32(0), keccak256("salt"));
    }

    function test_RevertGiven_TheCommitteeIsNotDrawn() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitteeNotDrawn.selector, jobId));
        market.revealVote(jobId, keccak256("s"), bytes32(0), keccak256("salt"));
    }

    function test_RevertWhen_TheCallerIsNotOnTheCommittee() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        expectRevertReveal(
            c, eve, c.endHash, bytes32(0), abi.encodeWithSelector(Errors.NotCommitteeMember.selector, c.jobId, eve)
        );
    }

    function test_RevertGiven_TheCommitPhaseIsRunningAndSomeoneHasNotCommitted() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        commitAs(c.members[1], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline);
        expectRevertReveal(
            c,
            c.members[0],
            c.endHash,
            bytes32(0),
            abi.encodeWithSelector(Errors.DeadlineNotReached.selector, c.jobId, c.commitDeadline, c.commitDeadline)
        );
    }

    function test_RevertWhen_TheRevealWindowHasPassed() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.revealDeadline + 1);
        expectRevertReveal(
            c,
            c.members[0],
            c.endHash,
            bytes32(0),
            abi.encodeWithSelector(Errors.DeadlinePassed.selector, c.jobId, c.revealDeadline, c.revealDeadline + 1)
        );
    }

    function test_RevertGiven_TheMemberAlreadyRevealed() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        expectRevertReveal(
            c,
            c.members[0],
            c.endHash,
            bytes32(0),
            abi.encodeWithSelector(Errors.AlreadyVoted.selector, c.jobId, c.members[0])
        );
    }

    function test_RevertWhen_AnAdapterHashIsGivenForAnotherThanTheLastInterval() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, c.audit.adapterHash);
        vm.warp(c.commitDeadline + 1);
        expectRevertReveal(
            c,
            c.members[0],
            c.endHash,
            c.audit.adapterHash,
            abi.encodeWithSelector(Errors.AdapterHashOnlyForLastInterval.selector, c.jobId)
        );
    }

    function test_RevertWhen_TheSaltIsWrong() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        vm.prank(c.members[0]);
        vm.expectRevert(abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[0]));
        market.revealVote(c.jobId, c.endHash, bytes32(0), keccak256("another salt"));
    }

    function test_RevertWhen_TheStateHashIsNotTheCommittedOne() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        expectRevertReveal(
            c,
            c.members[0],
            keccak256("changed my mind"),
            bytes32(0),
            abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[0])
        );
    }

    /// @dev A commitment binds the member: copying another member's commitment does not let you reveal its vote.
    function test_RevertWhen_TheCommitmentWasCopiedFromAnotherMember() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        bytes32 theirs = voteHash(c.endHash, bytes32(0), saltOf(c.members[0]), c.members[0]);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.prank(c.members[1]);
        market.commitVote(c.jobId, theirs);
        vm.warp(c.commitDeadline + 1);
        vm.prank(c.members[1]);
        vm.expectRevert(abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[1]));
        market.revealVote(c.jobId, c.endHash, bytes32(0), saltOf(c.members[0]));
    }

    function test_RevertGiven_TheMemberNeverCommitted() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.warp(c.commitDeadline + 1);
        expectRevertReveal(
            c,
            c.members[2],
            c.endHash,
            bytes32(0),
            abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[2])
        );
    }

    function test_GivenEveryMemberCommitted() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        for (uint256 m = 0; m < c.members.length; ++m) {
            commitAs(c.members[m], c.jobId, c.endHash, bytes32(0));
        }
        // Reveals open at once, before the commit deadline.
        vm.expectEmit(address(market));
        emit ITernMarket.VoteRevealed(c.jobId, c.members[1], c.endHash, bytes32(0));
        revealAs(c.members[1], c.jobId, c.endHash, bytes32(0));
        assertJobState(c.jobId, JobState.Disputed);
        assertEq(job(c.jobId).deadline, c.commitDeadline);
    }

    function test_GivenTheCommitPhaseIsOver() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        vm.expectEmit(address(market));
        emit ITernMarket.VoteRevealed(c.jobId, c.members[0], c.endHash, bytes32(0));
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
    }

    function test_WhenRevealingAtTheDeadline() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.revealDeadline);
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
    }

    function test_WhenTheLastIntervalIsDisputedWithTheAdapterHash() external {
        DisputeCase memory c = disputeCase(SAMPLES - 1, address(0), false);
        assertEq(c.adapter, c.audit.adapterHash);
        commitAs(c.members[0], c.jobId, c.endHash, c.adapter);
        vm.warp(c.commitDeadline + 1);
        vm.expectEmit(address(market));
        emit ITernMarket.VoteRevealed(c.jobId, c.members[0], c.endHash, c.adapter);
        revealAs(c.members[0], c.jobId, c.endHash, c.adapter);
    }

    function test_WhenTheLastIntervalIsDisputedWithoutAnAdapterHash() external {
        DisputeCase memory c = disputeCase(SAMPLES - 1, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0)); // accepted; resolveDispute judges it
    }
}
