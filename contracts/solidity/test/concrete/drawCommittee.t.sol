// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, DisputeOutcome, JobState } from "../../src/types/DataTypes.sol";
import { Base, Vm } from "../utils/Base.sol";

contract DrawCommittee_Concrete_Test is Base {
    uint256 internal jobId;
    Audit internal audit;
    bytes32[] internal states;
    address internal challenger;

    function setUp() public override {
        super.setUp();
        stakePool();
        (jobId, audit, states) = revealedJob();
        challenger = audit.verifiers[0];
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 12));
        market.drawCommittee(12);
    }

    function test_RevertGiven_NoDisputeIsOpen() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Disputed));
        market.drawCommittee(jobId);
    }

    function test_RevertWhen_TheAnchorBlockIsTheCurrentBlock() external {
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        vm.roll(anchor);
        vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, anchor, anchor));
        market.drawCommittee(jobId);
    }

    function test_RevertWhen_TheAnchorBlockIsInTheFuture() external {
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        uint256 current = vm.getBlockNumber();
        vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, anchor, current));
        market.drawCommittee(jobId);
    }

    function test_RevertGiven_TheCommitteeIsAlreadyDrawn() external {
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        drawAfter(jobId, anchor);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitteeAlreadyDrawn.selector, jobId));
        market.drawCommittee(jobId);
    }

    function test_WhenTheAnchorBlockHasBeenMined() external {
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        vm.roll(anchor + 1);
        uint256 commitDeadline = vm.getBlockTimestamp() + cfg.commitWindow;
        uint256 revealDeadline = commitDeadline + cfg.voteRevealWindow;

        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Disputed, commitDeadline);
        vm.prank(eve); // anyone
        (address[] memory members, uint256 c, uint256 r) = drawNow();

        assertEq(c, commitDeadline);
        assertEq(r, revealDeadline);
        assertJobState(jobId, JobState.Disputed);
        assertEq(job(jobId).deadline, commitDeadline, "the job's deadline is the commit deadline");
        assertEq(members.length, cfg.committeeSize);
        for (uint256 m = 0; m < members.length; ++m) {
            address x = members[m];
            assertTrue(market.accountOf(x).inPool, "a pool member");
            assertNotEq(x, worker);
            assertNotEq(x, requester);
            assertNotEq(x, challenger, "not the challenger");
            for (uint256 q = 0; q < m; ++q) {
                assertNotEq(x, members[q], "distinct");
            }
        }
        assertConserved(everyone(), one(jobId));
    }

    function drawNow() internal returns (address[] memory, uint256, uint256) {
        vm.recordLogs();
        market.drawCommittee(jobId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 topic = keccak256("CommitteeDrawn(uint256,address[],uint256,uint256)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == topic) return abi.decode(logs[i].data, (address[], uint256, uint256));
        }
        revert("no CommitteeDrawn event");
    }

    function test_GivenAThirdPartyChallengedAVerifiedJob() external {
        attestAll(jobId, audit, states);
        stakeAs(eve, STAKE);
        uint256 anchor = disputeAs(eve, jobId, audit, 1);
        (address[] memory members,,) = drawAfter(jobId, anchor);
        for (uint256 m = 0; m < members.length; ++m) {
            assertNotEq(members[m], audit.verifiers[1], "not the attester");
            assertNotEq(members[m], eve);
        }
        assertGt(members.length, 0);
    }

    function test_GivenTheAnchorBlockAgedOut() external {
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        vm.roll(anchor + 257);
        uint256 next = vm.getBlockNumber() + cfg.auditDelay;

        vm.expectEmit(address(market));
        emit ITernMarket.DisputeReanchored(jobId, next);
        market.drawCommittee(jobId);
        assertJobState(jobId, JobState.Disputed);
        assertEq(job(jobId).deadline, 0, "still no committee");

        vm.expectRevert(abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, next, vm.getBlockNumber()));
        market.drawCommittee(jobId);

        (address[] memory members, uint256 commitDeadline,) = drawAfter(jobId, next);
        assertEq(members.length, cfg.committeeSize);
        assertEq(job(jobId).deadline, commitDeadline);
    }

    function test_WhenTheAnchorIsTheOldestReadableBlock() external {
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        vm.roll(anchor + 256);
        (address[] memory members,,) = drawNow();
        assertEq(members.length, cfg.committeeSize);
    }
}

/// @notice Committees from a pool too small to fill them.
contract DrawCommittee_SmallPool_Concrete_Test is Base {
    function test_GivenOnlyTwoMembersAreEligible() external {
        stakeVerifier(verifier);
        stakeVerifier(alice);
        stakeVerifier(bob);
        stakeVerifier(worker); // never on its own job's committee
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        address challenger = audit.verifiers[0];
        uint256 anchor = disputeAs(challenger, jobId, audit, 0);
        (address[] memory members,,) = drawAfter(jobId, anchor);
        assertEq(members.length, 2, "the committee shrinks to who is eligible");

        // Two agreeing members decide.
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 0);
        voteAll(jobId, members, endHash, bytes32(0));
        market.resolveDispute(jobId, audit, proof);
        assertJobState(jobId, JobState.Auditing);
    }

    function test_GivenNobodyIsEligible() external {
        stakeVerifier(verifier); // the only member: the challenger itself
        (uint256 jobId, Audit memory audit,) = revealedJob();
        uint256 anchor = disputeAs(verifier, jobId, audit, 0);
        (address[] memory members, uint256 commitDeadline,) = drawAfter(jobId, anchor);
        assertEq(members.length, 0);
        assertEq(job(jobId).deadline, commitDeadline);

        // An empty committee has "all revealed" at once: the dispute resolves as undecided right away.
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(jobId, 0, DisputeOutcome.Undecided, bytes32(0), bytes32(0));
        market.resolveDispute(jobId, audit, new bytes32[](0));
        assertJobState(jobId, JobState.Expired);
        assertEq(market.accountOf(verifier).locked, 0, "the challenger's bond is released");
        assertEq(market.accountOf(worker).locked, 0);
        assertConserved(everyone(), one(jobId));
    }
}
