// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../../src/interfaces/ITernMarket.sol";
import { TernMarket } from "../../../src/TernMarket.sol";
import { MockUSDT } from "../../../src/mocks/MockUSDT.sol";
import { Audit, DisputeOutcome, Job, JobParams, JobState, Result } from "../../../src/types/DataTypes.sol";
import { Vm, VM_ADDRESS } from "../../utils/Vm.sol";

/// @notice Ghost state of the invariant campaign, shared by the handlers: the actors, the jobs with what the events
/// and the handlers' own knowledge say about them (trace, result, audit, dispute, votes), money in and out of the
/// market, per-job credits and slashes, outcome counters, and the violations the handlers saw.
/// @dev Handlers feed it the recorded logs of every successful market call (`record`) and call `sync` after every
/// action, which checks each job's state transition against the lifecycle of DESIGN.md §3.4.
contract MarketStore {
    Vm private constant vm = Vm(VM_ADDRESS);

    struct JobGhost {
        address requester;
        uint256 reward; // what the worker is paid (params.reward less any token fee)
        uint256 deposit; // escrow that arrived at the market
        uint256 credited; // sum of Credited(., jobId, .)
        uint256 slashed; // sum of StakeSlashed in calls on this job
        uint256 rewardPayouts; // Credited(worker, jobId, reward) in a call that finalized the job
        uint256 finalizations; // JobStateChanged(jobId, Finalized)
        JobState last; // the state `sync` saw last
        // the committed result, as the worker knows it
        uint8 kind; // TraceModel.Kind
        bytes32[] states; // the committed checkpoint hashes
        bytes32 traceRoot;
        bytes32 adapterHash;
        uint256 anchor; // ResultSubmitted / AuditReanchored
        // the audit, from AuditStarted and VerifierReplaced
        bytes32 seed;
        uint256[] intervals;
        address[] verifiers;
        // the dispute in flight, from DisputeOpened and CommitteeDrawn
        uint256 disputes; // disputes opened so far (keys the votes)
        address challenger;
        address attester;
        uint256 index;
        uint256 disputeAnchor;
        bool drawn;
        address[] members;
        uint256 revealDeadline;
        DisputeOutcome lastOutcome;
    }

    struct VoteGhost {
        bool committed;
        bool copied; // the commitment was copied from another member
        bool revealed;
        bool lied;
        bytes32 stateHash;
        bytes32 adapterHash;
        bytes32 salt;
        bytes32 commitment;
    }

    TernMarket public immutable market;
    MockUSDT public immutable usdt;

    address[] internal _actors;
    address[] internal _requesters;
    address[] internal _workers;
    address[] internal _verifiers;
    address public immutable outsider;
    /// @notice Where actors that cannot receive send their withdrawals; never blacklisted.
    address public immutable sink;

    /// @notice Tokens that arrived at the market (stakes, escrow), and that left it (withdrawals).
    uint256 public moneyIn;
    uint256 public moneyOut;

    uint256[] internal _jobIds;
    mapping(uint256 jobId => JobGhost) internal _g;
    mapping(bytes32 key => VoteGhost) internal _votes;

    // ---------------------------------------------------------------- counters
    mapping(bytes32 name => uint256) internal _hits;
    string[] internal _hitNames;
    /// @notice Jobs that reached each state at least once (indexed by JobState).
    mapping(JobState => uint256) public reached;
    mapping(DisputeOutcome => uint256) public outcomes;
    uint256 public auditReanchors;
    uint256 public disputeReanchors;
    uint256 public replacements;

    // ---------------------------------------------------------------- violations
    uint256 public violations;
    string public firstViolation;

    constructor(TernMarket market_, MockUSDT usdt_) {
        market = market_;
        usdt = usdt_;
        _requesters.push(_named("requester-0"));
        _requesters.push(_named("requester-1"));
        _workers.push(_named("worker-0"));
        _workers.push(_named("worker-1"));
        for (uint256 i = 0; i < 5; ++i) {
            _verifiers.push(_named(string.concat("verifier-", vm.toString(i))));
        }
        outsider = _named("outsider");
        sink = _named("sink");
        for (uint256 i = 0; i < _requesters.length; ++i) {
            _actors.push(_requesters[i]);
        }
        for (uint256 i = 0; i < _workers.length; ++i) {
            _actors.push(_workers[i]);
        }
        for (uint256 i = 0; i < _verifiers.length; ++i) {
            _actors.push(_verifiers[i]);
        }
        _actors.push(outsider);
    }

    function _named(string memory name) private returns (address a) {
        a = vm.addr(uint256(keccak256(abi.encode("tern.invariant", name))));
        vm.label(a, name);
    }

    // ================================================================ actors

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function requesters() external view returns (address[] memory) {
        return _requesters;
    }

    function workers() external view returns (address[] memory) {
        return _workers;
    }

    function verifiers() external view returns (address[] memory) {
        return _verifiers;
    }

    // ================================================================ jobs

    function jobCount() external view returns (uint256) {
        return _jobIds.length;
    }

    function jobIdAt(uint256 i) external view returns (uint256) {
        return _jobIds[i];
    }

    function jobIds() external view returns (uint256[] memory) {
        return _jobIds;
    }

    function ghost(uint256 jobId) external view returns (JobGhost memory) {
        return _g[jobId];
    }

    /// @notice The money ghosts of one job (cheaper than `ghost`).
    function jobMoney(uint256 jobId)
        external
        view
        returns (uint256 deposit, uint256 credited, uint256 slashed, uint256 rewardPayouts, uint256 finalizations)
    {
        JobGhost storage g = _g[jobId];
        return (g.deposit, g.credited, g.slashed, g.rewardPayouts, g.finalizations);
    }

    /// @notice Who holds the bond of the dispute in flight on `jobId`, if any.
    function challengerOf(uint256 jobId) external view returns (address) {
        return _g[jobId].challenger;
    }

    function states(uint256 jobId) external view returns (bytes32[] memory) {
        return _g[jobId].states;
    }

    function result(uint256 jobId) external view returns (Result memory) {
        JobGhost storage g = _g[jobId];
        return Result(g.traceRoot, g.adapterHash, g.anchor);
    }

    function audit(uint256 jobId) external view returns (Audit memory) {
        JobGhost storage g = _g[jobId];
        return Audit(g.traceRoot, g.adapterHash, g.seed, g.verifiers);
    }

    function members(uint256 jobId) external view returns (address[] memory) {
        return _g[jobId].members;
    }

    /// @notice The worker's committed trace, known before submission (the events carry only its root).
    function setTrace(uint256 jobId, uint8 kind, bytes32[] memory committed) external {
        JobGhost storage g = _g[jobId];
        g.kind = kind;
        g.states = committed;
    }

    // ================================================================ votes

    function vote(uint256 jobId, address member) external view returns (VoteGhost memory) {
        return _votes[_voteKey(jobId, member)];
    }

    function setVote(uint256 jobId, address member, VoteGhost memory v) external {
        _votes[_voteKey(jobId, member)] = v;
    }

    function _voteKey(uint256 jobId, address member) private view returns (bytes32) {
        return keccak256(abi.encode(jobId, _g[jobId].disputes, member));
    }

    // ================================================================ money

    function noteMoney(uint256 before, uint256 afterwards) external {
        if (afterwards > before) moneyIn += afterwards - before;
        else moneyOut += before - afterwards;
    }

    // ================================================================ events

    /// @notice Folds the logs of one successful market call on `jobId` (0 when the call is not about a job) into the
    /// ghost state, and checks what the events claim (draws from the pool, sampling, credits for the right job).
    function record(uint256 jobId, Vm.Log[] memory logs) external {
        bool finalized = false;
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(market) || l.topics.length == 0) continue;
            bytes32 t = l.topics[0];
            if (t == ITernMarket.JobStateChanged.selector) {
                (JobState s,) = abi.decode(l.data, (JobState, uint256));
                if (s == JobState.Finalized) {
                    ++_g[uint256(l.topics[1])].finalizations;
                    finalized = true;
                }
            } else if (t == ITernMarket.JobCreated.selector) {
                uint256 id = uint256(l.topics[1]);
                _jobIds.push(id);
                JobGhost storage g = _g[id];
                g.requester = address(uint160(uint256(l.topics[2])));
                g.last = JobState.None;
                (g.reward,) = abi.decode(l.data, (uint256, JobParams));
                g.deposit = market.escrowOf(id);
            } else if (t == ITernMarket.ResultSubmitted.selector) {
                JobGhost storage g = _g[uint256(l.topics[1])];
                (g.traceRoot, g.adapterHash, g.anchor) = abi.decode(l.data, (bytes32, bytes32, uint256));
            } else if (t == ITernMarket.AuditReanchored.selector) {
                _g[uint256(l.topics[1])].anchor = abi.decode(l.data, (uint256));
                ++auditReanchors;
            } else if (t == ITernMarket.AuditStarted.selector) {
                _auditStarted(uint256(l.topics[1]), l.data);
            } else if (t == ITernMarket.VerifierReplaced.selector) {
                JobGhost storage g = _g[uint256(l.topics[1])];
                uint256 index = abi.decode(l.data, (uint256));
                address replacement = address(uint160(uint256(l.topics[3])));
                _checkDrawn(uint256(l.topics[1]), replacement, "replacement");
                g.verifiers[index] = replacement;
                ++replacements;
            } else if (t == ITernMarket.DisputeOpened.selector) {
                uint256 id = uint256(l.topics[1]);
                JobGhost storage g = _g[id];
                ++g.disputes;
                g.challenger = address(uint160(uint256(l.topics[2])));
                (g.index, g.disputeAnchor) = abi.decode(l.data, (uint256, uint256));
                g.attester = g.verifiers[g.index];
                g.drawn = false;
                delete g.members;
            } else if (t == ITernMarket.DisputeReanchored.selector) {
                _g[uint256(l.topics[1])].disputeAnchor = abi.decode(l.data, (uint256));
                ++disputeReanchors;
            } else if (t == ITernMarket.CommitteeDrawn.selector) {
                _committeeDrawn(uint256(l.topics[1]), l.data);
            } else if (t == ITernMarket.DisputeResolved.selector) {
                JobGhost storage g = _g[uint256(l.topics[1])];
                (, g.lastOutcome,,) = abi.decode(l.data, (uint256, DisputeOutcome, bytes32, bytes32));
                ++outcomes[g.lastOutcome];
                g.drawn = false;
                g.challenger = address(0);
            } else if (t == IStaking.Credited.selector) {
                uint256 id = uint256(l.topics[2]);
                if (jobId != 0 && id != jobId) _violate("credit for another job", jobId, "");
                _g[id].credited += abi.decode(l.data, (uint256));
            } else if (t == IStaking.StakeSlashed.selector) {
                if (jobId == 0) _violate("slash outside a job call", 0, "");
                _g[jobId].slashed += abi.decode(l.data, (uint256));
            }
        }
        if (finalized) _countRewardPayouts(jobId, logs);
    }

    function _auditStarted(uint256 jobId, bytes memory data) private {
        JobGhost storage g = _g[jobId];
        (g.seed, g.intervals, g.verifiers) = abi.decode(data, (bytes32, uint256[], address[]));
        for (uint256 i = 0; i < g.verifiers.length; ++i) {
            _checkDrawn(jobId, g.verifiers[i], "verifier");
        }
        Job memory j = market.getJob(jobId);
        uint256[] memory expected = market.sampleIntervals(g.seed, j.numIntervals, j.sampleCount);
        if (keccak256(abi.encode(expected)) != keccak256(abi.encode(g.intervals))) {
            _violate("AuditStarted intervals differ from sampleIntervals", jobId, "");
        }
        uint256 s = g.intervals.length;
        if (s != j.sampleCount || g.intervals[s - 1] != j.numIntervals - 1) {
            _violate("sample count or last interval wrong", jobId, "");
        }
        for (uint256 i = 1; i < s; ++i) {
            if (g.intervals[i] < g.intervals[i - 1] + 2) _violate("sampled intervals adjacent", jobId, "");
        }
    }

    function _committeeDrawn(uint256 jobId, bytes memory data) private {
        JobGhost storage g = _g[jobId];
        uint256 commitDeadline;
        (g.members, commitDeadline, g.revealDeadline) = abi.decode(data, (address[], uint256, uint256));
        g.drawn = true;
        Job memory j = market.getJob(jobId);
        for (uint256 m = 0; m < g.members.length; ++m) {
            address a = g.members[m];
            if (a == j.worker || a == j.requester || a == g.challenger || a == g.attester) {
                _violate("committee member is a party", jobId, "");
            }
            if (!market.accountOf(a).inPool) _violate("committee member not in pool", jobId, "");
            for (uint256 q = 0; q < m; ++q) {
                if (g.members[q] == a) _violate("committee member twice", jobId, "");
            }
        }
    }

    function _checkDrawn(uint256 jobId, address v, string memory what) private {
        Job memory j = market.getJob(jobId);
        if (v == j.worker || v == j.requester) _violate(string.concat(what, " is the worker or requester"), jobId, "");
        if (!market.accountOf(v).inPool || market.accountOf(v).stake == 0) {
            _violate(string.concat(what, " drawn outside the pool"), jobId, "");
        }
    }

    function _countRewardPayouts(uint256 jobId, Vm.Log[] memory logs) private {
        JobGhost storage g = _g[jobId];
        address worker = market.getJob(jobId).worker;
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(market) || l.topics.length < 3 || l.topics[0] != IStaking.Credited.selector) {
                continue;
            }
            if (address(uint160(uint256(l.topics[1]))) != worker) continue;
            if (abi.decode(l.data, (uint256)) == g.reward) ++g.rewardPayouts;
        }
    }

    // ================================================================ transitions

    /// @notice Reads every job's state and checks the step from the last one seen; terminal states never change.
    function sync() external {
        for (uint256 i = 0; i < _jobIds.length; ++i) {
            uint256 id = _jobIds[i];
            JobGhost storage g = _g[id];
            JobState next = market.getJob(id).state;
            JobState prev = g.last;
            if (next == prev) continue;
            if (!_allowed(prev, next)) {
                _violate(
                    string.concat(
                        "illegal transition ", vm.toString(uint256(prev)), " -> ", vm.toString(uint256(next))
                    ),
                    id,
                    ""
                );
            }
            g.last = next;
            ++reached[next];
        }
    }

    function _allowed(JobState from, JobState to) private pure returns (bool) {
        if (from == JobState.None) return to == JobState.Open;
        if (from == JobState.Open) return to == JobState.Claimed || to == JobState.Refunded || to == JobState.Expired;
        if (from == JobState.Claimed) return to == JobState.Submitted || to == JobState.Open || to == JobState.Expired;
        // Submitted -> Slashed: the anchor aged out before anyone opened the audit (startAudit slashes the worker).
        if (from == JobState.Submitted) {
            return to == JobState.Auditing || to == JobState.Expired || to == JobState.Slashed;
        }
        if (from == JobState.Auditing) {
            return
                to == JobState.Verified || to == JobState.Disputed || to == JobState.Expired || to == JobState.Slashed;
        }
        if (from == JobState.Verified) return to == JobState.Disputed || to == JobState.Finalized;
        if (from == JobState.Disputed) {
            return
                to == JobState.Auditing || to == JobState.Verified || to == JobState.Slashed || to == JobState.Expired;
        }
        return false; // terminal
    }

    // ================================================================ counters and violations

    function hit(string memory name) external {
        bytes32 key = keccak256(bytes(name));
        if (_hits[key] == 0) _hitNames.push(name);
        ++_hits[key];
    }

    function hits(string memory name) external view returns (uint256) {
        return _hits[keccak256(bytes(name))];
    }

    function hitNames() external view returns (string[] memory) {
        return _hitNames;
    }

    function violate(string memory what, uint256 jobId, bytes memory err) external {
        _violate(what, jobId, err);
    }

    function _violate(string memory what, uint256 jobId, bytes memory err) private {
        ++violations;
        if (bytes(firstViolation).length == 0) {
            firstViolation = string.concat(what, " (job ", vm.toString(jobId), ", error ", vm.toString(err), ")");
        }
    }
}
