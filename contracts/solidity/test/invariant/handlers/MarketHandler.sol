// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../../src/libraries/Errors.sol";
import { MockUSDT } from "../../../src/mocks/MockUSDT.sol";
import { Audit, Job, JobParams, JobState, Result } from "../../../src/types/DataTypes.sol";
import { MarketStore } from "../stores/MarketStore.sol";
import { TraceModel } from "../utils/TraceModel.sol";
import { BaseHandler } from "./BaseHandler.sol";
import { DisputeHandler } from "./DisputeHandler.sol";

/// @notice Drives the job lifecycle: requesters post and cancel, workers claim, submit (honest or cheating traces)
/// and reveal, verifiers attest (honestly, colluding, or with forged hashes that must be refused), anyone starts
/// audits, replaces absent verifiers, finalizes and expires; an outsider tries what it may not do.
/// @dev Seeds pick the job (the first one, from a seeded position, in a state where the action applies), the actor
/// and the variant. Where a deadline stands in the way, a `force` bit warps past it; otherwise the call is made
/// anyway and must be refused with DeadlineNotReached.
contract MarketHandler is BaseHandler {
    DisputeHandler internal immutable disputes;

    constructor(MarketStore store_, DisputeHandler disputes_) BaseHandler(store_) {
        disputes = disputes_;
    }

    // ================================================================ any party

    /// @notice Moves live jobs along, one step at a time, as its parties would: the claim, the submission (honest or
    /// cheating), the audit start with or without the reveal in the same call, every attestation, the finalization
    /// or a challenge, and each step of a dispute; past a deadline, the transition anyone may call. It calls the
    /// other actions (counted under their own names), so that random sequences reach the deep states.
    /// @dev Forge draws every target selector with the same probability; bursts give the lifecycle more weight.
    function advance(uint256 jobSeed, uint256 modeSeed, uint256 actorSeed) external instrument("advance") {
        // A burst of one to six steps, each on a job picked afresh.
        uint256 steps = 1 + modeSeed % 6;
        for (uint256 i = 0; i < steps; ++i) {
            uint256 r = uint256(keccak256(abi.encode(jobSeed, modeSeed, i)));
            this.step(i == 0 ? jobSeed : r, i == 0 ? modeSeed >> 2 : r >> 8, _mix(actorSeed, i));
        }
    }

    /// @notice One step of `advance` (called by it; not a fuzz target on its own).
    function step(uint256 jobSeed, uint256 modeSeed, uint256 actorSeed) external {
        (, Job memory j, bool found, uint256 p) = _pickAt(jobSeed, _isLive);
        if (!found) {
            this.createJob(actorSeed, modeSeed, modeSeed >> 32, modeSeed >> 64);
            return;
        }
        JobState st = j.state;
        uint256 deadline = st == JobState.Open ? j.openUntil : j.deadline;
        bool late = st != JobState.Disputed && block.timestamp > deadline;
        if (st == JobState.Open) {
            if (late) this.expireJob(p, actorSeed, 0);
            else this.claimJob(p, actorSeed);
        } else if (st == JobState.Claimed) {
            if (late) this.expireJob(p, actorSeed, 0);
            else this.submitResult(p, modeSeed);
        } else if (st == JobState.Submitted) {
            if (modeSeed % 2 == 0) this.revealCheckpoints(p, 0);
            else this.startAudit(p, actorSeed, modeSeed >> 8);
        } else if (st == JobState.Auditing && !j.revealed) {
            if (late) this.expireJob(p, actorSeed, 0);
            else this.revealCheckpoints(p, 2);
        } else if (st == JobState.Auditing) {
            if (late) this.replaceVerifiers(p, actorSeed, 0);
            else this.attest(p, modeSeed, modeSeed % 3 == 0 ? modeSeed >> 8 : 9);
        } else if (st == JobState.Verified) {
            if (!late && modeSeed % 4 == 0) disputes.dispute(p, actorSeed, modeSeed >> 8);
            else this.finalize(p, actorSeed, 0);
        } else {
            disputes.advanceDispute(p, modeSeed, actorSeed);
        }
    }

    // ================================================================ requester

    function createJob(uint256 actorSeed, uint256 shapeSeed, uint256 priceSeed, uint256 timeSeed)
        external
        instrument("createJob")
    {
        address requester = actorSeed % 8 == 7 ? _staker(actorSeed >> 8) : _pickFrom(store.requesters(), actorSeed >> 8);
        uint8 s = uint8(1 + shapeSeed % 3);
        uint32 n = uint32(_bound(shapeSeed >> 8, 2 * uint256(s) - 1, 16));
        JobParams memory p = JobParams({
            specHash: keccak256(abi.encode("spec", store.jobCount(), shapeSeed)),
            reward: _bound(priceSeed, 1e6, 200e6),
            verifierFee: _bound(priceSeed >> 64, 0, 5e6),
            workerBond: _bound(priceSeed >> 128, 1e6, 100e6),
            totalSteps: n * 10,
            checkpointInterval: 10,
            sampleCount: s,
            openUntil: uint40(block.timestamp + _bound(timeSeed, 1 hours, 3 days)),
            trainDuration: uint32(_bound(timeSeed >> 64, 10 minutes, 2 days))
        });
        uint256 fees = p.verifierFee * s;
        uint256 total = p.reward + fees;
        bool permit = (timeSeed >> 128) % 4 == 0;
        bytes memory data = permit
            ? abi.encodeCall(market.createJobWithPermit, (p, block.timestamp, 27, bytes32(0), bytes32(0)))
            : abi.encodeCall(market.createJob, (p));
        if (!_fund(requester, total)) {
            _expectRevert("createJob", 0, requester, data, MockUSDT.Blacklisted.selector);
            return;
        }
        uint256 received = total - usdt.feeFor(total);
        if (received <= fees) {
            _expectRevert("createJob", 0, requester, data, Errors.NoRewardAfterFee.selector);
            return;
        }
        (bool ok, bytes memory ret) = _expectOk("createJob", 0, requester, data);
        if (!ok) return;
        uint256 jobId = abi.decode(ret, (uint256));
        if (market.escrowOf(jobId) != received || market.getJob(jobId).reward != received - fees) {
            store.violate("escrow is not what arrived", jobId, "");
        }
    }

    function cancelJob(uint256 jobSeed, uint256 callerSeed) external instrument("cancelJob") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isOpen);
        if (!found) return;
        address caller = callerSeed % 4 == 0 ? _pickFrom(store.actors(), callerSeed >> 8) : j.requester;
        bytes memory data = abi.encodeCall(market.cancelJob, (jobId));
        if (caller != j.requester) {
            _expectRevert("cancelJob", jobId, caller, data, Errors.NotRequester.selector);
        } else {
            _expectOk("cancelJob", jobId, caller, data);
        }
    }

    // ================================================================ worker

    function claimJob(uint256 jobSeed, uint256 actorSeed) external instrument("claimJob") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isClaimable);
        if (!found) return;
        address worker = actorSeed % 3 == 0 ? _staker(actorSeed >> 8) : _pickFrom(store.workers(), actorSeed >> 8);
        if (worker == j.requester) return; // self-dealing is allowed by the contract but not modelled
        if (!_ensureFreeStake(worker, j.workerBond)) return;
        _expectOk("claimJob", jobId, worker, abi.encodeCall(market.claimJob, (jobId)));
    }

    function submitResult(uint256 jobSeed, uint256 cheatSeed) external instrument("submitResult") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isSubmittable);
        if (!found) return;
        uint256 c = cheatSeed % 10;
        TraceModel.Kind kind = c < 6 ? TraceModel.Kind.Honest : TraceModel.Kind(c - 5 > 3 ? 0 : c - 5);
        (bytes32[] memory states, bytes32 adapterHash) = TraceModel.build(jobId, j.numIntervals, kind, cheatSeed >> 8);
        store.setTrace(jobId, uint8(kind), states);
        bytes32 root = TraceModel.root(jobId, j.checkpointInterval, states);
        _expectOk("submitResult", jobId, j.worker, abi.encodeCall(market.submitResult, (jobId, root, adapterHash)));
    }

    /// @notice The worker reveals its sampled start states: after a separate startAudit, or in one call with it;
    /// a tampered start state must be refused.
    function revealCheckpoints(uint256 jobSeed, uint256 modeSeed) external instrument("revealCheckpoints") {
        uint256 mode = modeSeed % 4;
        if (mode == 0) {
            _startAndReveal(jobSeed);
            return;
        }
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isRevealable);
        if (!found) return;
        Audit memory a = _audit(jobId);
        (bytes32[] memory starts, bytes32[][] memory proofs) = _starts(jobId, j, a.seed);
        bytes memory data;
        if (mode == 1) {
            uint256 t = (modeSeed >> 8) % starts.length;
            starts[t] = keccak256(abi.encode("tampered", starts[t]));
            data = abi.encodeCall(market.revealCheckpoints, (jobId, a, starts, proofs));
            _expectRevert("revealCheckpoints tampered", jobId, j.worker, data, Errors.InvalidProof.selector);
            return;
        }
        data = abi.encodeCall(market.revealCheckpoints, (jobId, a, starts, proofs));
        _expectOk("revealCheckpoints", jobId, j.worker, data);
    }

    function _startAndReveal(uint256 jobSeed) private {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isSubmitted);
        if (!found) return;
        Result memory r = store.result(jobId);
        _rollPast(r.anchorBlock, false);
        bytes32 seed = blockhash(r.anchorBlock);
        if (seed == bytes32(0)) {
            bytes32[] memory none = new bytes32[](0);
            bytes memory stale = abi.encodeCall(market.startAuditAndReveal, (jobId, r, none, new bytes32[][](0)));
            _expectRevert("startAuditAndReveal stale", jobId, j.worker, stale, Errors.AnchorExpired.selector);
            return;
        }
        (bytes32[] memory starts, bytes32[][] memory proofs) = _starts(jobId, j, seed);
        bytes memory data = abi.encodeCall(market.startAuditAndReveal, (jobId, r, starts, proofs));
        _startOrNoVerifier("startAuditAndReveal", jobId, j.worker, data);
    }

    function _starts(uint256 jobId, Job memory j, bytes32 seed)
        private
        view
        returns (bytes32[] memory starts, bytes32[][] memory proofs)
    {
        bytes32[] memory states = store.states(jobId);
        uint256[] memory points = market.sampleIntervals(seed, j.numIntervals, j.sampleCount);
        starts = new bytes32[](points.length);
        proofs = new bytes32[][](points.length);
        for (uint256 i = 0; i < points.length; ++i) {
            starts[i] = states[points[i]];
            proofs[i] = TraceModel.proof(jobId, j.checkpointInterval, states, points[i]);
        }
    }

    // ================================================================ anyone

    /// @notice Anyone seeds the audit; sometimes too early, sometimes so late that the anchor aged out (then the
    /// worker is slashed, or with an empty pool the audit is re-anchored).
    function startAudit(uint256 jobSeed, uint256 callerSeed, uint256 rollSeed) external instrument("startAudit") {
        (uint256 jobId,, bool found) = _pick(jobSeed, _isSubmitted);
        if (!found) return;
        address caller = _pickFrom(store.actors(), callerSeed);
        Result memory r = store.result(jobId);
        bytes memory data = abi.encodeCall(market.startAudit, (jobId, r));
        if (block.number <= r.anchorBlock && rollSeed % 7 == 1) {
            _expectRevert("startAudit early", jobId, caller, data, Errors.AuditSeedNotReady.selector);
            return;
        }
        _rollPast(r.anchorBlock, rollSeed % 10 == 0);
        bool stale = blockhash(r.anchorBlock) == bytes32(0);
        bool slashes = stale && market.poolWeight() > 0;
        _startOrNoVerifier(slashes ? "startAudit stale (worker slashed)" : "startAudit", jobId, caller, data);
        if (slashes && market.getJob(jobId).state != JobState.Slashed) {
            store.violate("stale anchor did not slash the worker", jobId, "");
        }
    }

    /// @dev Starting an audit may be refused only because the pool has nobody but the job's parties.
    function _startOrNoVerifier(string memory what, uint256 jobId, address caller, bytes memory data) private {
        (bool ok, bytes memory ret) = _call(jobId, caller, data);
        if (ok) store.hit(what);
        else if (ret.length >= 4 && bytes4(ret) == Errors.NoEligibleVerifier.selector) store.hit("no eligible verifier");
        else store.violate(string.concat(what, ": unexpected revert"), jobId, ret);
    }

    function replaceVerifiers(uint256 jobSeed, uint256 callerSeed, uint256 forceSeed)
        external
        instrument("replaceVerifiers")
    {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isAttestable);
        if (!found) return;
        address caller = _pickFrom(store.actors(), callerSeed);
        bytes memory data = abi.encodeCall(market.replaceVerifiers, (jobId, _audit(jobId)));
        if (block.timestamp <= j.deadline) {
            if (forceSeed % 2 == 1) {
                _expectRevert("replaceVerifiers early", jobId, caller, data, Errors.DeadlineNotReached.selector);
                return;
            }
            _warpPast(j.deadline);
        }
        _expectOk("replaceVerifiers", jobId, caller, data);
    }

    function finalize(uint256 jobSeed, uint256 callerSeed, uint256 forceSeed) external instrument("finalize") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isVerified);
        if (!found) return;
        address caller = _pickFrom(store.actors(), callerSeed);
        bytes memory data = abi.encodeCall(market.finalize, (jobId, _audit(jobId)));
        if (block.timestamp <= j.deadline) {
            if (forceSeed % 3 == 1) {
                _expectRevert("finalize early", jobId, caller, data, Errors.DeadlineNotReached.selector);
                return;
            }
            _warpPast(j.deadline);
        }
        _expectOk("finalize", jobId, caller, data);
    }

    function expireJob(uint256 jobSeed, uint256 callerSeed, uint256 forceSeed) external instrument("expireJob") {
        address caller = _pickFrom(store.actors(), callerSeed);
        if (forceSeed % 8 == 7) {
            (uint256 other,, bool any) = _pick(jobSeed, _isNotExpirable);
            if (any) {
                bytes memory refused = abi.encodeCall(market.expireJob, (other));
                _expectRevert("expireJob", other, caller, refused, Errors.NothingToExpire.selector);
            }
            return;
        }
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isExpirable);
        if (!found) return;
        uint256 deadline = j.state == JobState.Open ? j.openUntil : j.deadline;
        bytes memory data = abi.encodeCall(market.expireJob, (jobId));
        if (block.timestamp <= deadline) {
            if (forceSeed % 2 == 1) {
                _expectRevert("expireJob early", jobId, caller, data, Errors.DeadlineNotReached.selector);
                return;
            }
            _warpPast(deadline);
        }
        _expectOk("expireJob", jobId, caller, data);
    }

    // ================================================================ verifier

    /// @notice An assigned verifier re-runs its interval: mode 0-5 honest (attests, or disputes a wrong trace),
    /// 6-7 colluding (attests the worker's committed hash whatever it is), 8 forged (a sibling leaf, the start hash,
    /// the leaf itself, or a start proof: must be refused), 9 every open interval by its verifier, honestly.
    function attest(uint256 jobSeed, uint256 indexSeed, uint256 modeSeed) external instrument("attest") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _isAttestableNow);
        if (!found) return;
        uint256 mode = modeSeed % 10;
        if (mode == 9) {
            for (uint256 i = 0; i < j.sampleCount; ++i) {
                if (!_isOpenIndex(jobId, i)) continue;
                if (!_honestAttest(jobId, i)) return;
            }
            return;
        }
        (uint256 index, bool any) = _openIndex(jobId, j.sampleCount, indexSeed);
        if (!any) return;
        if (mode < 6) {
            _honestAttest(jobId, index);
        } else if (mode < 8) {
            (bytes32 end, bytes32[] memory proof) = _committedEnd(jobId, index);
            _attestWith("attest colluding", jobId, index, end, proof, true);
        } else {
            _forgedAttest(jobId, index, indexSeed >> 8);
        }
    }

    /// @dev Attests when the worker's trace has the true end; otherwise disputes. False when it disputed or failed.
    function _honestAttest(uint256 jobId, uint256 index) private returns (bool) {
        (,, bool workerRight) = _truth(jobId, index);
        if (!workerRight) {
            _openDispute("dispute (auditor)", jobId, _audit(jobId).verifiers[index], index);
            return false;
        }
        (bytes32 end, bytes32[] memory proof) = _committedEnd(jobId, index);
        return _attestWith("attest", jobId, index, end, proof, true);
    }

    function _forgedAttest(uint256 jobId, uint256 index, uint256 variant) private {
        MarketStore.JobGhost memory g = store.ghost(jobId);
        uint256 k = market.getJob(jobId).checkpointInterval;
        uint256 start = g.intervals[index];
        (bytes32 end, bytes32[] memory proof) = _committedEnd(jobId, index);
        bytes32 forged;
        bytes32[] memory forgedProof = proof;
        variant %= 4;
        if (variant == 0 && proof.length > 0) {
            forged = proof[0]; // the sibling leaf seen in the proof
        } else if (variant == 1) {
            forged = g.states[start]; // the revealed start state hash
        } else if (variant == 2) {
            forged = market.traceLeaf(jobId, (start + 1) * k, end); // the end leaf itself
        } else {
            forged = g.states[start]; // the start state with the start's own proof
            forgedProof = TraceModel.proof(jobId, k, g.states, start);
        }
        if (forged == end) return;
        _attestWith("attest forged", jobId, index, forged, forgedProof, false);
    }

    function _attestWith(
        string memory what,
        uint256 jobId,
        uint256 index,
        bytes32 end,
        bytes32[] memory proof,
        bool succeeds
    ) private returns (bool ok) {
        Audit memory a = _audit(jobId);
        bytes memory data = abi.encodeCall(market.attest, (jobId, a, _one(index), _oneHash(end), _oneProof(proof)));
        if (succeeds) {
            (ok,) = _expectOk(what, jobId, a.verifiers[index], data);
        } else {
            _expectRevert(what, jobId, a.verifiers[index], data, Errors.InvalidProof.selector);
        }
    }

    // ================================================================ outsider

    /// @notice The outsider (no stake, never drawn) tries, in each state, what only a party may do.
    function meddle(uint256 jobSeed) external instrument("meddle") {
        (uint256 jobId, Job memory j, bool found) = _pick(jobSeed, _any);
        if (!found) return;
        address o = store.outsider();
        Audit memory a = _audit(jobId);
        if (j.state == JobState.Open) {
            _expectRevert(
                "meddle cancel", jobId, o, abi.encodeCall(market.cancelJob, (jobId)), Errors.NotRequester.selector
            );
        } else if (j.state == JobState.Claimed) {
            bytes memory data = abi.encodeCall(market.submitResult, (jobId, bytes32(uint256(1)), bytes32(uint256(2))));
            _expectRevert("meddle submit", jobId, o, data, Errors.NotWorker.selector);
        } else if (j.state == JobState.Submitted) {
            Result memory r = store.result(jobId);
            r.traceRoot = keccak256(abi.encode(r.traceRoot));
            bytes memory data = abi.encodeCall(market.startAudit, (jobId, r));
            _expectRevert("meddle forged result", jobId, o, data, Errors.CommitmentMismatch.selector);
        } else if (j.state == JobState.Auditing && !j.revealed) {
            bytes memory data =
                abi.encodeCall(market.revealCheckpoints, (jobId, a, new bytes32[](0), new bytes32[][](0)));
            _expectRevert("meddle reveal", jobId, o, data, Errors.NotWorker.selector);
        } else if (j.state == JobState.Auditing && block.timestamp <= j.deadline) {
            (bytes32 end, bytes32[] memory proof) = _committedEnd(jobId, 0);
            bytes memory data = abi.encodeCall(market.attest, (jobId, a, _one(0), _oneHash(end), _oneProof(proof)));
            _expectRevert("meddle attest", jobId, o, data, Errors.NotAssignedVerifier.selector);
        } else if (j.state == JobState.Verified && block.timestamp <= j.deadline) {
            // The worker may not challenge its own result; the outsider has no stake to bond.
            bytes memory data = abi.encodeCall(market.dispute, (jobId, a, 0));
            if ((j.disputedMask & 1) != 0) return;
            _expectRevert("meddle worker dispute", jobId, j.worker, data, Errors.ChallengerIsWorker.selector);
            _expectRevert("meddle dispute", jobId, o, data, Errors.InsufficientFreeStake.selector);
        } else if (j.state == JobState.Disputed) {
            bytes memory data = abi.encodeCall(market.commitVote, (jobId, keccak256("vote")));
            bytes4 err =
                store.ghost(jobId).drawn ? Errors.NotCommitteeMember.selector : Errors.CommitteeNotDrawn.selector;
            _expectRevert("meddle vote", jobId, o, data, err);
        } else if (_isTerminal(j.state)) {
            _expectRevert(
                "meddle expire", jobId, o, abi.encodeCall(market.expireJob, (jobId)), Errors.NothingToExpire.selector
            );
            bytes memory data = abi.encodeCall(market.finalize, (jobId, a));
            _expectRevert("meddle finalize", jobId, o, data, Errors.WrongState.selector);
        }
    }

    // ================================================================ predicates

    function _any(uint256, Job memory) private pure returns (bool) {
        return true;
    }

    function _isLive(uint256, Job memory j) private pure returns (bool) {
        return j.state != JobState.None && j.state < JobState.Finalized;
    }

    function _isOpen(uint256, Job memory j) private pure returns (bool) {
        return j.state == JobState.Open;
    }

    function _isClaimable(uint256, Job memory j) private view returns (bool) {
        return j.state == JobState.Open && block.timestamp <= j.openUntil;
    }

    function _isSubmittable(uint256, Job memory j) private view returns (bool) {
        return j.state == JobState.Claimed && block.timestamp <= j.deadline;
    }

    function _isSubmitted(uint256, Job memory j) private pure returns (bool) {
        return j.state == JobState.Submitted;
    }

    function _isRevealable(uint256, Job memory j) private view returns (bool) {
        return j.state == JobState.Auditing && !j.revealed && block.timestamp <= j.deadline;
    }

    function _isAttestable(uint256, Job memory j) private pure returns (bool) {
        return j.state == JobState.Auditing && j.revealed;
    }

    function _isAttestableNow(uint256, Job memory j) private view returns (bool) {
        return j.state == JobState.Auditing && j.revealed && block.timestamp <= j.deadline;
    }

    function _isVerified(uint256, Job memory j) private pure returns (bool) {
        return j.state == JobState.Verified;
    }

    function _isExpirable(uint256, Job memory j) private pure returns (bool) {
        return j.state == JobState.Open || j.state == JobState.Claimed || j.state == JobState.Submitted
            || (j.state == JobState.Auditing && !j.revealed);
    }

    function _isNotExpirable(uint256 id, Job memory j) private pure returns (bool) {
        return !_isExpirable(id, j);
    }

    function _isOpenIndex(uint256 jobId, uint256 i) private view returns (bool) {
        Job memory j = market.getJob(jobId);
        return j.state == JobState.Auditing && ((uint256(j.attestedMask) | j.disputedMask) & (1 << i)) == 0;
    }

    function _openIndex(uint256 jobId, uint256 s, uint256 seed) private view returns (uint256, bool) {
        for (uint256 t = 0; t < s; ++t) {
            uint256 i = (seed % s + t) % s;
            if (_isOpenIndex(jobId, i)) return (i, true);
        }
        return (0, false);
    }
}
