// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { TernMarket } from "../../../src/TernMarket.sol";
import { MockUSDT } from "../../../src/mocks/MockUSDT.sol";
import { Audit, Job, JobState, MarketConfig } from "../../../src/types/DataTypes.sol";
import { Vm, VM_ADDRESS } from "../../utils/Vm.sol";
import { MarketStore } from "../stores/MarketStore.sol";
import { TraceModel } from "../utils/TraceModel.sol";

/// @notice What every handler shares: the market, the token and the store; bounded inputs; picking a job in a
/// given state; market calls made as an actor whose logs feed the store; expectations on their outcome; call counts.
/// @dev A handler action never reverts on purpose: an outcome the model did not expect (a revert where the honest
/// party must be able to act, a success where the contract must refuse) is written to the store as a violation, and
/// the invariant `invariant_HandlersSawNoViolation` fails on it with the first message.
abstract contract BaseHandler {
    Vm internal constant vm = Vm(VM_ADDRESS);

    TernMarket internal immutable market;
    MockUSDT internal immutable usdt;
    MarketStore internal immutable store;

    mapping(bytes32 name => uint256) internal _calls;
    string[] internal _callNames;
    uint256 public totalCalls;

    constructor(MarketStore store_) {
        store = store_;
        market = store_.market();
        usdt = store_.usdt();
    }

    /// @dev Counts the action, runs it, then lets the store check every job's transition.
    modifier instrument(string memory name) {
        bytes32 key = keccak256(bytes(name));
        if (_calls[key] == 0) _callNames.push(name);
        ++_calls[key];
        ++totalCalls;
        _;
        store.sync();
    }

    function calls(string memory name) external view returns (uint256) {
        return _calls[keccak256(bytes(name))];
    }

    function callNames() external view returns (string[] memory) {
        return _callNames;
    }

    // ================================================================ inputs

    /// @dev Test.bound: maps x into [min, max].
    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (x < 4 && x < size) return min + x;
        uint256 fromTop = type(uint256).max - x;
        if (fromTop < 4 && fromTop < size) return max - fromTop;
        return min + (x % size);
    }

    /// @dev A fresh seed from a seed and a counter (fuzzed seeds can be anything, `seed + i` could overflow).
    function _mix(uint256 seed, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    function _pickFrom(address[] memory list, uint256 seed) internal pure returns (address) {
        return list[seed % list.length];
    }

    /// @dev Any actor but the outsider (the outsider never stakes).
    function _staker(uint256 seed) internal view returns (address) {
        address[] memory all = store.actors();
        return all[seed % (all.length - 1)];
    }

    function _cfg() internal view returns (MarketConfig memory) {
        return market.getConfig();
    }

    /// @dev The first job, from a seeded position on, for which `pred` holds.
    function _pick(uint256 seed, function(uint256, Job memory) view returns (bool) pred)
        internal
        view
        returns (uint256 jobId, Job memory j, bool found)
    {
        (jobId, j, found,) = _pickAt(seed, pred);
    }

    /// @dev `_pick`, also returning the job's position in the store (a seed that picks it again).
    function _pickAt(uint256 seed, function(uint256, Job memory) view returns (bool) pred)
        internal
        view
        returns (uint256 jobId, Job memory j, bool found, uint256 position)
    {
        uint256 count = store.jobCount();
        if (count == 0) return (0, j, false, 0);
        uint256 start = seed % count;
        for (uint256 t = 0; t < count; ++t) {
            position = (start + t) % count;
            uint256 id = store.jobIdAt(position);
            Job memory candidate = market.getJob(id);
            if (pred(id, candidate)) return (id, candidate, true, position);
        }
    }

    function _isTerminal(JobState s) internal pure returns (bool) {
        return s >= JobState.Finalized;
    }

    // ================================================================ time

    function _warpPast(uint256 deadline) internal {
        if (block.timestamp <= deadline) vm.warp(deadline + 1);
    }

    /// @dev Mines past `anchor`; with `stale`, so far that the anchor's hash ages out of the 256-block window.
    function _rollPast(uint256 anchor, bool stale) internal {
        uint256 target = anchor + 1 + (stale ? 257 : 0);
        if (block.number < target) vm.roll(target);
    }

    // ================================================================ calls

    /// @dev Calls the market as `who`; on success the logs go to the store and the token movement to the ghost totals.
    function _call(uint256 jobId, address who, bytes memory data) internal returns (bool ok, bytes memory ret) {
        uint256 before = usdt.balanceOf(address(market));
        vm.recordLogs();
        vm.prank(who);
        (ok, ret) = address(market).call(data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (ok) {
            store.record(jobId, logs);
            store.noteMoney(before, usdt.balanceOf(address(market)));
        }
    }

    function _expectOk(string memory what, uint256 jobId, address who, bytes memory data)
        internal
        returns (bool ok, bytes memory ret)
    {
        (ok, ret) = _call(jobId, who, data);
        if (ok) store.hit(what);
        else store.violate(string.concat(what, ": unexpected revert"), jobId, ret);
    }

    function _expectRevert(string memory what, uint256 jobId, address who, bytes memory data, bytes4 err) internal {
        (bool ok, bytes memory ret) = _call(jobId, who, data);
        if (ok) {
            store.violate(string.concat(what, ": should have reverted"), jobId, "");
        } else if (ret.length < 4 || bytes4(ret) != err) {
            store.violate(string.concat(what, ": wrong revert"), jobId, ret);
        } else {
            store.hit(string.concat(what, " (refused)"));
        }
    }

    // ================================================================ actors' money

    /// @dev Gives `who` at least `amount` tokens (false when the token refuses it, e.g. blacklisted).
    function _fund(address who, uint256 amount) internal returns (bool) {
        if (usdt.isBlackListed(who)) return false;
        uint256 have = usdt.balanceOf(who);
        if (have < amount) usdt.mint(who, amount - have);
        return true;
    }

    /// @dev Tops `who`'s free stake up to `amount`; false when it cannot (blacklisted, or the fee eats it).
    function _ensureFreeStake(address who, uint256 amount) internal returns (bool) {
        uint256 stake = market.accountOf(who).stake;
        uint256 free = stake - market.accountOf(who).locked;
        if (free >= amount) return true;
        uint256 missing = amount - free;
        // Gross up for the token fee (rate at most 10%) with a margin.
        uint256 gross = missing + missing / 8 + 1e6;
        if (!_fund(who, gross)) return false;
        (bool ok,) = _expectOk("stake (top-up)", 0, who, abi.encodeCall(market.stake, (gross)));
        return ok && market.accountOf(who).stake - market.accountOf(who).locked >= amount;
    }

    /// @dev `challenger` disputes sampled interval `index`, topping its free stake up to the dispute bond first.
    function _openDispute(string memory what, uint256 jobId, address challenger, uint256 index)
        internal
        returns (bool ok)
    {
        if (!_ensureFreeStake(challenger, _cfg().disputeBond)) return false;
        (ok,) = _expectOk(what, jobId, challenger, abi.encodeCall(market.dispute, (jobId, _audit(jobId), index)));
    }

    // ================================================================ the trace model

    /// @dev The true end of sampled interval `index`, run from the start the worker revealed, and whether the worker's
    /// trace commits to it (and, for the last interval, to the adapter exported from it).
    function _truth(uint256 jobId, uint256 index)
        internal
        view
        returns (bytes32 trueEnd, bytes32 trueAdapter, bool workerRight)
    {
        MarketStore.JobGhost memory g = store.ghost(jobId);
        uint256 interval = g.intervals[index];
        trueEnd = TraceModel.step(jobId, interval, g.states[interval]);
        bool last = index == g.intervals.length - 1;
        trueAdapter = last ? TraceModel.adapter(trueEnd) : bytes32(0);
        workerRight = g.states[interval + 1] == trueEnd && (!last || trueAdapter == g.adapterHash);
    }

    /// @dev The committed end checkpoint of sampled interval `index` with its Merkle proof.
    function _committedEnd(uint256 jobId, uint256 index) internal view returns (bytes32 end, bytes32[] memory proof) {
        MarketStore.JobGhost memory g = store.ghost(jobId);
        uint256 checkpoint = g.intervals[index] + 1;
        end = g.states[checkpoint];
        proof = TraceModel.proof(jobId, market.getJob(jobId).checkpointInterval, g.states, checkpoint);
    }

    function _one(uint256 x) internal pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = x;
    }

    function _oneHash(bytes32 x) internal pure returns (bytes32[] memory a) {
        a = new bytes32[](1);
        a[0] = x;
    }

    function _oneProof(bytes32[] memory p) internal pure returns (bytes32[][] memory a) {
        a = new bytes32[][](1);
        a[0] = p;
    }

    function _audit(uint256 jobId) internal view returns (Audit memory) {
        return store.audit(jobId);
    }
}
