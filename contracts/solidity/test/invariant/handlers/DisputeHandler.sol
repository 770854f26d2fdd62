// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../../src/libraries/Errors.sol";
import { Audit, DisputeOutcome, Job, JobState } from "../../../src/types/DataTypes.sol";
import { MarketStore } from "../stores/MarketStore.sol";
import { BaseHandler } from "./BaseHandler.sol";

/// @notice Drives disputes: challenges in the challenge window (by anyone staked, rightly or wrongly) and by an
/// assigned verifier while auditing (including false accusations), the committee draw (sometimes after the anchor
/// aged out), commits and reveals by honest, lying (coordinated) and copying members, and the resolution with the
/// worker's proof, without it, or with no majority. Every resolution's outcome is checked against the model.
contract DisputeHandler is BaseHandler {
    constructor(MarketStore store_) BaseHandler(store_) { }

    /// @notice The next step of a dispute in flight (the first Disputed job from a seeded position on): the draw,
    /// every member's commit (most honest, now and then a liar or a copier), every reveal, or the resolution.
    function advanceDispute(uint256 jobSeed, uint256 modeSeed, uint256 actorSeed)
        external
        instrument("advanceDispute")
    {
        (uint256 jobId, Job memory j, bool found, uint256 p) = _pickAt(jobSeed, _isDisputed);
        if (!found) return;
        MarketStore.JobGhost memory g = store.ghost(jobId);
        if (!g.drawn) {
            this.drawCommittee(p, actorSeed, modeSeed >> 8);
            return;
        }
        (, bool uncommitted) = _member(jobId, g.members, 0, false);
        (, bool unrevealed) = _member(jobId, g.members, 0, true);
        bool revealOpen = block.timestamp > j.deadline || !uncommitted;
        if (!revealOpen && uncommitted) {
            // Every member commits (most honestly; a liar or a copier now and then).
            for (uint256 m = 0; m < g.members.length; ++m) {
                uint256 r = uint256(keccak256(abi.encode(modeSeed, m)));
                this.commitVote(p, _mix(actorSeed, m), r % 6 == 0 ? 2 : (r % 6 == 1 ? 3 : 0));
            }
        } else if (revealOpen && unrevealed && block.timestamp <= g.revealDeadline && modeSeed % 10 != 0) {
            for (uint256 m = 0; m < g.members.length; ++m) {
                this.revealVote(p, _mix(actorSeed, m));
            }
        } else {
            // forceSeed 5: warp past the reveal and proof deadlines rather than expect a refusal
            this.resolveDispute(p, modeSeed % 8 == 0 ? 3 : 0, (actorSeed << 8) | 5);
        }
    }

    /// @notice In the challenge window any staker but the worker may contest an interval; while auditing, the
    /// assigned verifier of an interval it has not attested may (here: whatever the truth).
    function dispute(uint256 jobSeed, uint256 actorSeed, uint256 indexSeed) external instrument("dispute") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isDisputable);
        if (!found) return;
        uint256 s = j.sampleCount;
        uint256 taken = j.state == JobState.Verified ? j.disputedMask : uint256(j.disputedMask) | j.attestedMask;
        for (uint256 t = 0; t < s; ++t) {
            uint256 index = (indexSeed % s + t) % s;
            if (taken & (1 << index) != 0) continue;
            if (j.state == JobState.Auditing) {
                _openDispute("dispute (auditor, any)", jobId, _audit(jobId).verifiers[index], index);
                return;
            }
            address challenger = _staker(actorSeed);
            if (challenger == j.worker) {
                bytes memory data = abi.encodeCall(market.dispute, (jobId, _audit(jobId), index));
                _expectRevert("dispute by worker", jobId, challenger, data, Errors.ChallengerIsWorker.selector);
                return;
            }
            _openDispute("dispute (challenger)", jobId, challenger, index);
            return;
        }
    }

    function drawCommittee(uint256 jobSeed, uint256 callerSeed, uint256 rollSeed) external instrument("drawCommittee") {
        (uint256 jobId,, bool found) = _pick(jobSeed, _isUndrawn);
        if (!found) return;
        address caller = _pickFrom(store.actors(), callerSeed);
        uint256 anchor = store.ghost(jobId).disputeAnchor;
        bytes memory data = abi.encodeCall(market.drawCommittee, (jobId));
        if (block.number <= anchor && rollSeed % 7 == 1) {
            _expectRevert("drawCommittee early", jobId, caller, data, Errors.AuditSeedNotReady.selector);
            return;
        }
        _rollPast(anchor, rollSeed % 5 == 0);
        _expectOk("drawCommittee", jobId, caller, data);
    }

    /// @notice A member commits: mode 0-1 the true value, 2 a coordinated lie (the worker's committed value when it is
    /// false, a shared made-up value otherwise), 3 a copy of another member's commitment.
    function commitVote(uint256 jobSeed, uint256 memberSeed, uint256 modeSeed) external instrument("commitVote") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isCommitting);
        if (!found || block.timestamp > j.deadline) return;
        address[] memory members = store.members(jobId);
        (address member, bool any) = _member(jobId, members, memberSeed, false);
        if (!any) return;
        MarketStore.VoteGhost memory v;
        uint256 mode = modeSeed % 4;
        if (mode == 3) {
            for (uint256 m = 0; m < members.length; ++m) {
                MarketStore.VoteGhost memory other = store.vote(jobId, members[m]);
                if (!other.committed || other.copied) continue;
                v = other;
                v.copied = true;
                v.revealed = false;
                break;
            }
        }
        if (!v.copied) {
            (v.stateHash, v.adapterHash) = _value(jobId, mode == 2);
            v.lied = mode == 2;
            v.salt = keccak256(abi.encode("salt", jobId, member, modeSeed));
            v.commitment = keccak256(abi.encode(v.stateHash, v.adapterHash, v.salt, member));
        }
        v.committed = true;
        store.setVote(jobId, member, v);
        _expectOk("commitVote", jobId, member, abi.encodeCall(market.commitVote, (jobId, v.commitment)));
    }

    /// @notice A member reveals; a copier cannot open the copied commitment.
    function revealVote(uint256 jobSeed, uint256 memberSeed) external instrument("revealVote") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isCommitting);
        if (!found) return;
        MarketStore.JobGhost memory g = store.ghost(jobId);
        if (block.timestamp > g.revealDeadline) return;
        (address member, bool any) = _member(jobId, g.members, memberSeed, true);
        if (!any) return;
        MarketStore.VoteGhost memory v = store.vote(jobId, member);
        bytes memory data = abi.encodeCall(market.revealVote, (jobId, v.stateHash, v.adapterHash, v.salt));
        if (block.timestamp <= j.deadline && !_allCommitted(jobId, g.members)) {
            _expectRevert("revealVote early", jobId, member, data, Errors.DeadlineNotReached.selector);
            return;
        }
        if (v.copied) {
            _expectRevert("revealVote copied", jobId, member, data, Errors.VoteDoesNotMatchCommitment.selector);
            return;
        }
        (bool ok,) = _expectOk("revealVote", jobId, member, data);
        if (ok) {
            v.revealed = true;
            store.setVote(jobId, member, v);
        }
    }

    /// @notice Anyone resolves: with the worker's proof of the majority value where it is in the trace (mode 0-2),
    /// or without (mode 3: an absent worker loses after the proof window even when it was right).
    function resolveDispute(uint256 jobSeed, uint256 modeSeed, uint256 forceSeed)
        external
        instrument("resolveDispute")
    {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isCommitting);
        if (!found) return;
        MarketStore.JobGhost memory g = store.ghost(jobId);
        address caller = _pickFrom(store.actors(), forceSeed >> 8);
        Audit memory a = _audit(jobId);
        if (block.timestamp <= g.revealDeadline && !_allRevealed(jobId, g.members)) {
            if (forceSeed % 3 == 1) {
                bytes memory early = abi.encodeCall(market.resolveDispute, (jobId, a, new bytes32[](0)));
                _expectRevert("resolveDispute early", jobId, caller, early, Errors.DeadlineNotReached.selector);
                return;
            }
            _warpPast(g.revealDeadline);
        }
        (bool decided, bytes32 stateHash, bytes32 adapterHash) = _majority(jobId, g.members);
        (bytes32 end, bytes32[] memory proof) = _committedEnd(jobId, g.index);
        bool last = g.index == j.sampleCount - 1;
        bool inTrace = decided && stateHash == end && (!last || adapterHash == g.adapterHash);
        bool withProof = modeSeed % 4 != 3;
        DisputeOutcome expected;
        if (!decided) {
            expected = DisputeOutcome.Undecided;
        } else if (inTrace && withProof) {
            expected = DisputeOutcome.WorkerHonest;
        } else {
            expected = DisputeOutcome.WorkerCheated;
            uint256 proofDeadline = g.revealDeadline + _cfg().proofWindow;
            if (block.timestamp <= proofDeadline) {
                if (forceSeed % 2 == 0) {
                    bytes memory none = abi.encodeCall(market.resolveDispute, (jobId, a, new bytes32[](0)));
                    _expectRevert("resolveDispute unproven", jobId, caller, none, Errors.ProofRequired.selector);
                    return;
                }
                _warpPast(proofDeadline);
            }
        }
        if (!withProof) proof = new bytes32[](0);
        bytes memory data = abi.encodeCall(market.resolveDispute, (jobId, a, proof));
        (bool ok,) = _expectOk("resolveDispute", jobId, caller, data);
        if (ok && store.ghost(jobId).lastOutcome != expected) {
            store.violate(
                string.concat("dispute outcome ", vm.toString(uint256(store.ghost(jobId).lastOutcome))), jobId, ""
            );
        }
    }

    // ================================================================ the committee, as the handler knows it

    /// @dev The value a member votes: the true end (and adapter, for the last interval), or a coordinated lie.
    function _value(uint256 jobId, bool lie) private view returns (bytes32 stateHash, bytes32 adapterHash) {
        MarketStore.JobGhost memory g = store.ghost(jobId);
        (bytes32 trueEnd, bytes32 trueAdapter, bool workerRight) = _truth(jobId, g.index);
        if (!lie) return (trueEnd, trueAdapter);
        bool last = g.index == g.intervals.length - 1;
        if (!workerRight) {
            // Collude with the cheating worker: vote its committed value.
            return (g.states[g.intervals[g.index] + 1], last ? g.adapterHash : bytes32(0));
        }
        return (keccak256(abi.encode("lie", jobId)), last ? keccak256(abi.encode("lie adapter", jobId)) : bytes32(0));
    }

    function _member(uint256 jobId, address[] memory members, uint256 seed, bool toReveal)
        private
        view
        returns (address, bool)
    {
        for (uint256 t = 0; t < members.length; ++t) {
            address m = members[(seed % members.length + t) % members.length];
            MarketStore.VoteGhost memory v = store.vote(jobId, m);
            if (toReveal ? (v.committed && !v.revealed) : !v.committed) return (m, true);
        }
        return (address(0), false);
    }

    function _allCommitted(uint256 jobId, address[] memory members) private view returns (bool) {
        for (uint256 m = 0; m < members.length; ++m) {
            if (!store.vote(jobId, members[m]).committed) return false;
        }
        return true;
    }

    function _allRevealed(uint256 jobId, address[] memory members) private view returns (bool) {
        for (uint256 m = 0; m < members.length; ++m) {
            if (!store.vote(jobId, members[m]).revealed) return false;
        }
        return true;
    }

    /// @dev The contract's rule: a value more than half of the revealed votes share.
    function _majority(uint256 jobId, address[] memory members)
        private
        view
        returns (bool decided, bytes32 stateHash, bytes32 adapterHash)
    {
        uint256 revealed = 0;
        for (uint256 m = 0; m < members.length; ++m) {
            if (store.vote(jobId, members[m]).revealed) ++revealed;
        }
        for (uint256 m = 0; m < members.length; ++m) {
            MarketStore.VoteGhost memory v = store.vote(jobId, members[m]);
            if (!v.revealed) continue;
            uint256 agree = 0;
            for (uint256 q = 0; q < members.length; ++q) {
                MarketStore.VoteGhost memory w = store.vote(jobId, members[q]);
                if (w.revealed && w.stateHash == v.stateHash && w.adapterHash == v.adapterHash) ++agree;
            }
            if (2 * agree > revealed) return (true, v.stateHash, v.adapterHash);
        }
    }

    // ================================================================ predicates

    function _isDisputable(uint256, Job memory j) private view returns (bool) {
        if (block.timestamp > j.deadline) return false;
        return j.state == JobState.Verified || (j.state == JobState.Auditing && j.revealed);
    }

    function _isDisputed(uint256, Job memory j) private pure returns (bool) {
        return j.state == JobState.Disputed;
    }

    function _isUndrawn(uint256 id, Job memory j) private view returns (bool) {
        return j.state == JobState.Disputed && !store.ghost(id).drawn;
    }

    function _isCommitting(uint256 id, Job memory j) private view returns (bool) {
        return j.state == JobState.Disputed && store.ghost(id).drawn;
    }
}
