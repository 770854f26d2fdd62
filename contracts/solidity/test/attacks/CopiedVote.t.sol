// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, DisputeOutcome, Job, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";
import { TraceBuilder } from "../utils/TraceBuilder.sol";
import { Vm } from "../utils/Vm.sol";

/// @notice A committee member that does no work copies another member's vote commitment. The commitment binds the
/// member's address, so the copier can never open it: it is slashed as a non-revealer, and the honest majority
/// decides. Shown once against a cheating worker (the worker is slashed) and once for a false accusation (the
/// worker is upheld with its proof).
contract CopiedVoteAttackTest is Base {
    struct Case {
        uint256 jobId;
        Audit audit;
        bytes32[] states; // what the worker committed
        uint256 index; // the disputed sampled interval
        address challenger;
        address[] members;
        bytes32 trueEnd;
        bytes32 trueAdapter;
    }

    function setUp() public override {
        Base.setUp();
        address[5] memory pool = [verifier, alice, bob, carol, dave];
        for (uint256 i = 0; i < pool.length; ++i) {
            stakeVerifier(pool[i]);
        }
    }

    /// @dev A job audited up to a dispute on `index` by its assigned verifier, with the committee drawn.
    function _disputed(bool cheat, uint256 index) internal returns (Case memory c) {
        c.jobId = createAndClaim();
        bytes32[] memory honest = honestStates(c.jobId);
        c.states = honestStates(c.jobId);
        uint256 n = TOTAL_STEPS / K;
        if (cheat) c.states[n] = keccak256("skipped the last interval");
        c.audit = startAudit(c.jobId, submit(c.jobId, c.states));
        reveal(c.jobId, c.audit, c.states);
        c.index = index;
        uint256 interval = intervals(c.audit)[index];
        c.trueEnd = honest[interval + 1];
        c.trueAdapter = index == SAMPLES - 1 ? keccak256(abi.encode("adapter", c.trueEnd)) : bytes32(0);
        c.challenger = c.audit.verifiers[index];
        vm.prank(c.challenger);
        market.dispute(c.jobId, c.audit, index);

        vm.roll(block.number + cfg.auditDelay + 1);
        vm.recordLogs();
        market.drawCommittee(c.jobId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 topic = keccak256("CommitteeDrawn(uint256,address[],uint256,uint256)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == topic) (c.members,,) = abi.decode(logs[i].data, (address[], uint256, uint256));
        }
        assertEq(c.members.length, 3, "a full committee");
    }

    function _salt(address member) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", member));
    }

    function _commitment(bytes32 stateHash, bytes32 adapterHash, address member) internal pure returns (bytes32) {
        return keccak256(abi.encode(stateHash, adapterHash, _salt(member), member));
    }

    /// @dev members[0] and members[1] vote the truth; members[2] copies members[0]'s commitment and cannot open it.
    function _voteWithCopier(Case memory c) internal {
        bytes32 honest0 = _commitment(c.trueEnd, c.trueAdapter, c.members[0]);
        vm.prank(c.members[0]);
        market.commitVote(c.jobId, honest0);
        vm.prank(c.members[1]);
        market.commitVote(c.jobId, _commitment(c.trueEnd, c.trueAdapter, c.members[1]));
        vm.prank(c.members[2]);
        market.commitVote(c.jobId, honest0); // the copy

        // Everyone committed, so reveals open at once.
        vm.prank(c.members[0]);
        market.revealVote(c.jobId, c.trueEnd, c.trueAdapter, _salt(c.members[0]));
        vm.prank(c.members[1]);
        market.revealVote(c.jobId, c.trueEnd, c.trueAdapter, _salt(c.members[1]));

        // The copier saw member 0's opening and replays it: its own address is in the hash, so it fails.
        vm.prank(c.members[2]);
        vm.expectRevert(abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[2]));
        market.revealVote(c.jobId, c.trueEnd, c.trueAdapter, _salt(c.members[0]));
        vm.prank(c.members[2]);
        vm.expectRevert(abi.encodeWithSelector(Errors.VoteDoesNotMatchCommitment.selector, c.jobId, c.members[2]));
        market.revealVote(c.jobId, c.trueEnd, c.trueAdapter, _salt(c.members[2]));
    }

    function test_CopierSlashed_CheatingWorkerSlashedByHonestMajority() public {
        Case memory c = _disputed(true, SAMPLES - 1);
        _voteWithCopier(c);
        uint256 revealDeadline = block.timestamp + cfg.commitWindow + cfg.voteRevealWindow;

        // The copier never reveals: nobody may resolve before the reveal deadline, and the majority value (not in
        // the worker's trace) needs the proof window to pass.
        vm.expectPartialRevert(Errors.DeadlineNotReached.selector);
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        vm.warp(revealDeadline + 1);
        vm.expectPartialRevert(Errors.ProofRequired.selector);
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        vm.warp(revealDeadline + cfg.proofWindow + 1);
        vm.recordLogs();
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        assertEq(uint256(_outcome(vm.getRecordedLogs())), uint256(DisputeOutcome.WorkerCheated));

        assertEq(uint256(state(c.jobId)), uint256(JobState.Slashed));
        assertEq(market.accountOf(c.members[2]).stake, STAKE - cfg.verifierPenalty, "copier slashed");
        assertEq(market.accountOf(c.members[0]).stake, STAKE, "honest member kept its stake");
        assertEq(market.accountOf(c.members[1]).stake, STAKE, "honest member kept its stake");
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "cheating worker slashed");
        // pot = worker bond + copier's penalty; half to the challenger, a quarter over the two honest members.
        uint256 pot = WORKER_BOND + cfg.verifierPenalty;
        assertGe(market.accountOf(c.challenger).balance, pot / 2, "challenger rewarded");
        assertGe(market.accountOf(c.members[0]).balance, pot / 8, "honest member rewarded");
        assertGe(market.accountOf(c.members[1]).balance, pot / 8, "honest member rewarded");
        assertEq(market.accountOf(c.challenger).locked, 0, "dispute bond released");
        assertConserved(everyone(), one(c.jobId));
    }

    function test_CopierSlashed_FalseAccusationLosesToWorkersProof() public {
        Case memory c = _disputed(false, 0);
        _voteWithCopier(c);
        vm.warp(block.timestamp + cfg.commitWindow + cfg.voteRevealWindow + 1);
        uint256 end = intervals(c.audit)[c.index] + 1;
        bytes32[] memory proof = TraceBuilder.proof(TraceBuilder.leaves(c.jobId, K, c.states), end);
        vm.recordLogs();
        market.resolveDispute(c.jobId, c.audit, proof);
        assertEq(uint256(_outcome(vm.getRecordedLogs())), uint256(DisputeOutcome.WorkerHonest));

        Job memory j = job(c.jobId);
        assertEq(uint256(j.state), uint256(JobState.Auditing), "back to auditing");
        assertEq(j.attestedMask & 1, 1, "the disputed interval counts as attested");
        assertEq(market.accountOf(c.members[2]).stake, STAKE - cfg.verifierPenalty, "copier slashed");
        assertEq(market.accountOf(c.challenger).stake, STAKE - cfg.disputeBond, "false accuser loses its bond");
        assertEq(market.accountOf(worker).locked, WORKER_BOND, "worker still bonded, job goes on");
        assertGt(market.accountOf(worker).balance, 0, "worker compensated");
        assertConserved(everyone(), one(c.jobId));
    }

    function _outcome(Vm.Log[] memory logs) internal pure returns (DisputeOutcome) {
        bytes32 topic = keccak256("DisputeResolved(uint256,uint256,uint8,bytes32,bytes32)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] != topic) continue;
            (, DisputeOutcome outcome,,) = abi.decode(logs[i].data, (uint256, DisputeOutcome, bytes32, bytes32));
            return outcome;
        }
        revert("no DisputeResolved event");
    }
}
