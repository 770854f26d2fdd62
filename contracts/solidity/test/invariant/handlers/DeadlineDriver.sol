// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../../src/libraries/Errors.sol";
import { Account, Job, JobState } from "../../../src/types/DataTypes.sol";
import { MarketStore } from "../stores/MarketStore.sol";
import { BaseHandler } from "./BaseHandler.sol";

/// @notice Not a fuzz target. From whatever state the campaign left, it lets deadlines pass and makes only the
/// calls anyone may make (expireJob, startAudit, replaceVerifiers, finalize, drawCommittee, resolveDispute), as the
/// outsider, until every job is terminal; then every actor unstakes and withdraws everything. The invariant runs it
/// on a state snapshot and reverts afterwards, so the campaign goes on from where it was.
contract DeadlineDriver is BaseHandler {
    /// @notice Why the last settlement failed.
    string public failure;

    constructor(MarketStore store_) BaseHandler(store_) { }

    /// @notice Drives every job to a terminal state; false (see `failure`) if a call reverts or jobs stay open.
    function settleAll() external returns (bool) {
        for (uint256 round = 0; round < 64; ++round) {
            bool pending = false;
            uint256 count = store.jobCount();
            for (uint256 i = 0; i < count; ++i) {
                uint256 id = store.jobIdAt(i);
                Job memory j = market.getJob(id);
                if (_isTerminal(j.state)) continue;
                pending = true;
                if (!_advance(id, j)) return false;
            }
            if (!pending) return true;
        }
        failure = "jobs still not terminal after 64 rounds";
        return false;
    }

    /// @notice Once every job is terminal: no stake is locked, and unstaking plus withdrawing empties the market.
    function drainAll() external returns (bool) {
        address[] memory actors = store.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            Account memory a = market.accountOf(actors[i]);
            if (a.locked != 0) {
                return _fail(string.concat("stake locked with every job terminal: ", vm.toString(actors[i])), 0, "");
            }
            if (a.stake > 0 && !_ok(0, actors[i], abi.encodeCall(market.requestUnstake, (a.stake)))) return false;
        }
        vm.warp(block.timestamp + market.unbondingDelay());
        address sink = store.sink();
        for (uint256 i = 0; i < actors.length; ++i) {
            address who = actors[i];
            if (market.unbondingOf(who).amount > 0 && !_ok(0, who, abi.encodeCall(market.withdrawUnstaked, (sink)))) {
                return false;
            }
            if (market.accountOf(who).balance > 0 && !_ok(0, who, abi.encodeCall(market.withdraw, (sink)))) {
                return false;
            }
        }
        uint256 left = usdt.balanceOf(address(market));
        if (left != 0) return _fail(string.concat("tokens left in the market: ", vm.toString(left)), 0, "");
        return true;
    }

    function _advance(uint256 id, Job memory j) private returns (bool) {
        address anyone = store.outsider();
        if (j.state == JobState.Open) {
            _warpPast(j.openUntil);
            return _ok(id, anyone, abi.encodeCall(market.expireJob, (id)));
        }
        if (j.state == JobState.Submitted) {
            if (id % 2 == 0 && market.poolWeight() > 0) {
                _rollPast(store.ghost(id).anchor, false);
                (bool ok, bytes memory ret) =
                    _call(id, anyone, abi.encodeCall(market.startAudit, (id, store.result(id))));
                if (ok) return true;
                if (bytes4(ret) != Errors.NoEligibleVerifier.selector) return _fail("startAudit", id, ret);
            }
            _warpPast(j.deadline);
            return _ok(id, anyone, abi.encodeCall(market.expireJob, (id)));
        }
        if (j.state == JobState.Claimed || (j.state == JobState.Auditing && !j.revealed)) {
            _warpPast(j.deadline);
            return _ok(id, anyone, abi.encodeCall(market.expireJob, (id)));
        }
        if (j.state == JobState.Auditing) {
            _warpPast(j.deadline);
            return _ok(id, anyone, abi.encodeCall(market.replaceVerifiers, (id, _audit(id))));
        }
        if (j.state == JobState.Verified) {
            _warpPast(j.deadline);
            return _ok(id, anyone, abi.encodeCall(market.finalize, (id, _audit(id))));
        }
        // Disputed
        MarketStore.JobGhost memory g = store.ghost(id);
        if (!g.drawn) {
            _rollPast(g.disputeAnchor, false);
            return _ok(id, anyone, abi.encodeCall(market.drawCommittee, (id)));
        }
        _warpPast(g.revealDeadline + _cfg().proofWindow);
        (, bytes32[] memory proof) = _committedEnd(id, g.index);
        return _ok(id, anyone, abi.encodeCall(market.resolveDispute, (id, _audit(id), proof)));
    }

    function _ok(uint256 id, address who, bytes memory data) private returns (bool) {
        (bool ok, bytes memory ret) = _call(id, who, data);
        if (!ok) return _fail("call reverted", id, ret);
        return true;
    }

    function _fail(string memory what, uint256 id, bytes memory err) private returns (bool) {
        failure = string.concat(
            what,
            " (job ",
            vm.toString(id),
            ", state ",
            vm.toString(id == 0 ? 0 : uint256(market.getJob(id).state)),
            ", error ",
            vm.toString(err),
            ")"
        );
        return false;
    }
}
