// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import { IERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

import { TernMarket } from "../../src/TernMarket.sol";
import { MockUSDT } from "../../src/mocks/MockUSDT.sol";
import { Account, Audit, Job, JobParams, JobState, MarketConfig, Result } from "../../src/types/DataTypes.sol";
import { TraceCommitment } from "../../src/libraries/TraceCommitment.sol";
import { Test, Vm } from "./Test.sol";
import { TraceBuilder } from "./TraceBuilder.sol";

/// @notice Shared fixture: a MockUSDT, a market with short windows, funded actors, and helpers that drive a job
/// to any state. Traces are built with the same leaf and tree rules as the Rust side (TraceBuilder).
abstract contract Base is Test {
    uint256 internal constant USDT = 1e6;
    uint256 internal constant FUNDS = 1_000_000 * USDT;

    uint256 internal constant REWARD = 100 * USDT;
    uint256 internal constant VERIFIER_FEE = 2 * USDT;
    uint256 internal constant WORKER_BOND = 50 * USDT;
    uint32 internal constant TOTAL_STEPS = 200;
    uint32 internal constant K = 10; // 20 intervals
    uint8 internal constant SAMPLES = 3;
    uint32 internal constant TRAIN_DURATION = 1 days;
    uint256 internal constant STAKE = 1000 * USDT;

    MockUSDT internal usdt;
    TernMarket internal market;
    MarketConfig internal cfg;

    address internal requester = makeAddr("requester");
    address internal worker = makeAddr("worker");
    address internal verifier = makeAddr("verifier");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal dave = makeAddr("dave");
    address internal eve = makeAddr("eve");

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        vm.roll(100);
        usdt = new MockUSDT();
        cfg = defaultConfig();
        market = new TernMarket(IERC20(address(usdt)), cfg);
        address[8] memory actors = [requester, worker, verifier, alice, bob, carol, dave, eve];
        for (uint256 i = 0; i < actors.length; ++i) {
            usdt.mint(actors[i], FUNDS);
            vm.prank(actors[i]);
            usdt.approve(address(market), type(uint256).max);
        }
    }

    function defaultConfig() internal pure returns (MarketConfig memory) {
        return MarketConfig({
            auditDelay: 2,
            auditStartTimeout: 1 days,
            revealWindow: 1 hours,
            attestWindow: 2 hours,
            challengeWindow: 1 days,
            commitWindow: 1 hours,
            voteRevealWindow: 1 hours,
            proofWindow: 1 hours,
            unbondingDelay: 14 days,
            committeeSize: 3,
            maxReplacementRounds: 2,
            verifierPenalty: 20 * USDT,
            disputeBond: 30 * USDT,
            minVerifierStake: 100 * USDT
        });
    }

    // ================================================================ actors

    function stakeAs(address who, uint256 amount) internal {
        vm.prank(who);
        market.stake(amount);
    }

    function stakeVerifier(address who) internal {
        stakeAs(who, STAKE);
        vm.prank(who);
        market.joinVerifierPool();
    }

    // ================================================================ jobs

    function defaultParams() internal view returns (JobParams memory) {
        return JobParams({
            specHash: keccak256("spec"),
            reward: REWARD,
            verifierFee: VERIFIER_FEE,
            workerBond: WORKER_BOND,
            totalSteps: TOTAL_STEPS,
            checkpointInterval: K,
            sampleCount: SAMPLES,
            openUntil: uint40(block.timestamp + 1 days),
            trainDuration: TRAIN_DURATION
        });
    }

    function createJob() internal returns (uint256 jobId) {
        vm.prank(requester);
        jobId = market.createJob(defaultParams());
    }

    function createAndClaim() internal returns (uint256 jobId) {
        jobId = createJob();
        if (market.accountOf(worker).stake < WORKER_BOND) stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
    }

    /// @notice The honest trace of a job: state hash j = keccak256(jobId, j).
    function honestStates(uint256 jobId) internal pure returns (bytes32[] memory states) {
        states = new bytes32[](TOTAL_STEPS / K + 1);
        for (uint256 j = 0; j < states.length; ++j) {
            states[j] = keccak256(abi.encode("state", jobId, j));
        }
    }

    function submit(uint256 jobId, bytes32[] memory states) internal returns (Result memory result) {
        bytes32 root = TraceBuilder.root(TraceBuilder.leaves(jobId, K, states));
        bytes32 adapter = keccak256(abi.encode("adapter", states[states.length - 1]));
        vm.prank(worker);
        market.submitResult(jobId, root, adapter);
        result = Result(root, adapter, block.number + cfg.auditDelay);
    }

    /// @notice Starts the audit (mining past the anchor) and returns the assignment from the AuditStarted event.
    function startAudit(uint256 jobId, Result memory result) internal returns (Audit memory audit) {
        vm.roll(result.anchorBlock + 1);
        vm.recordLogs();
        market.startAudit(jobId, result);
        audit = auditFromLogs(result, vm.getRecordedLogs());
    }

    function auditFromLogs(Result memory result, Vm.Log[] memory logs) internal pure returns (Audit memory audit) {
        bytes32 topic = keccak256("AuditStarted(uint256,bytes32,uint256[],address[])");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] != topic) continue;
            (bytes32 seed,, address[] memory verifiers) = abi.decode(logs[i].data, (bytes32, uint256[], address[]));
            return Audit(result.traceRoot, result.adapterHash, seed, verifiers);
        }
        revert("no AuditStarted event");
    }

    function intervals(Audit memory audit) internal view returns (uint256[] memory) {
        return market.sampleIntervals(audit.seed, TOTAL_STEPS / K, SAMPLES);
    }

    function reveal(uint256 jobId, Audit memory audit, bytes32[] memory states) internal {
        (bytes32[] memory starts, bytes32[][] memory proofs) = checkpointsAt(jobId, states, intervals(audit), 0);
        vm.prank(worker);
        market.revealCheckpoints(jobId, audit, starts, proofs);
    }

    /// @notice State hashes and proofs of checkpoints `points[i] + offset` (offset 0: interval starts, 1: ends).
    function checkpointsAt(uint256 jobId, bytes32[] memory states, uint256[] memory points, uint256 offset)
        internal
        pure
        returns (bytes32[] memory hashes, bytes32[][] memory proofs)
    {
        bytes32[] memory leaves = TraceBuilder.leaves(jobId, K, states);
        hashes = new bytes32[](points.length);
        proofs = new bytes32[][](points.length);
        for (uint256 i = 0; i < points.length; ++i) {
            hashes[i] = states[points[i] + offset];
            proofs[i] = TraceBuilder.proof(leaves, points[i] + offset);
        }
    }

    /// @notice Every assigned verifier attests its intervals with the hashes of `states`.
    function attestAll(uint256 jobId, Audit memory audit, bytes32[] memory states) internal {
        uint256[] memory points = intervals(audit);
        for (uint256 i = 0; i < points.length; ++i) {
            if (market.getJob(jobId).attestedMask & (1 << i) != 0) continue;
            attestOne(jobId, audit, states, i);
        }
    }

    function attestOne(uint256 jobId, Audit memory audit, bytes32[] memory states, uint256 index) internal {
        uint256[] memory points = new uint256[](1);
        points[0] = intervals(audit)[index];
        (bytes32[] memory ends, bytes32[][] memory proofs) = checkpointsAt(jobId, states, points, 1);
        uint256[] memory indexes = new uint256[](1);
        indexes[0] = index;
        vm.prank(audit.verifiers[index]);
        market.attest(jobId, audit, indexes, ends, proofs);
    }

    /// @notice Drives a fresh job through an honest audit to Verified; returns what later steps need.
    function verifiedJob() internal returns (uint256 jobId, Audit memory audit, bytes32[] memory states) {
        if (market.poolWeight() == 0) stakeVerifier(verifier);
        jobId = createAndClaim();
        states = honestStates(jobId);
        audit = startAudit(jobId, submit(jobId, states));
        reveal(jobId, audit, states);
        attestAll(jobId, audit, states);
    }

    function state(uint256 jobId) internal view returns (JobState) {
        return market.getJob(jobId).state;
    }

    function job(uint256 jobId) internal view returns (Job memory) {
        return market.getJob(jobId);
    }

    /// @notice Token conservation: what the market holds equals escrow + stakes + unbonding + balances.
    function assertConserved(address[] memory accounts, uint256[] memory jobIds) internal view {
        uint256 owed = 0;
        for (uint256 i = 0; i < jobIds.length; ++i) {
            owed += market.escrowOf(jobIds[i]);
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            owed += market.accountOf(accounts[i]).stake + market.accountOf(accounts[i]).balance
            + market.unbondingOf(accounts[i]).amount;
        }
        assertEq(usdt.balanceOf(address(market)), owed, "market holds exactly escrow + stakes + balances");
    }

    function everyone() internal view returns (address[] memory a) {
        a = new address[](8);
        (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]) = (requester, worker, verifier, alice, bob, carol, dave, eve);
    }

    function one(uint256 x) internal pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = x;
    }

    function leafOf(uint256 jobId, uint256 j, bytes32 stateHash) internal pure returns (bytes32) {
        return TraceCommitment.leaf(jobId, j * K, stateHash);
    }

    // ================================================================ helpers for the concrete and fuzz tests

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @notice `defaultParams` reading the clock through the cheatcode: with via_ir, `block.timestamp` read in a test
    /// after `vm.warp` may be the value from before the warp.
    function paramsNow() internal view returns (JobParams memory p) {
        p = defaultParams();
        p.openUntil = uint40(vm.getBlockTimestamp() + 1 days);
    }

    /// @notice `createJob` with `paramsNow`.
    function createJobNow() internal returns (uint256 jobId) {
        JobParams memory p = paramsNow();
        vm.prank(requester);
        jobId = market.createJob(p);
    }

    /// @notice `submit` reading the block number through the cheatcode (see `paramsNow`).
    function submitNow(uint256 jobId, bytes32[] memory states) internal returns (Result memory result) {
        bytes32 root = TraceBuilder.root(TraceBuilder.leaves(jobId, K, states));
        bytes32 adapter = keccak256(abi.encode("adapter", states[states.length - 1]));
        vm.prank(worker);
        market.submitResult(jobId, root, adapter);
        result = Result(root, adapter, vm.getBlockNumber() + cfg.auditDelay);
    }

    function assertJobState(uint256 jobId, JobState expected) internal view {
        assertEq(uint256(state(jobId)), uint256(expected), "job state");
    }

    /// @notice The private key behind `makeAddr(name)`.
    function keyOf(string memory name) internal pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(name)));
    }

    /// @notice An EIP-2612 permit signed with `key` letting `spender` pull `value` of `tokenAddr`.
    function signPermit(address tokenAddr, uint256 key, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address owner = vm.addr(key);
        uint256 nonce = IERC20Permit(tokenAddr).nonces(owner);
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", IERC20Permit(tokenAddr).DOMAIN_SEPARATOR(), structHash));
        (v, r, s) = vm.sign(key, digest);
    }

    /// @notice Replaces `market` with a fresh market (same config) on `tokenAddr`, a faucet token with
    /// `mint(address,uint256)`; mints FUNDS to every actor and, if `approveAll`, approves the new market for each.
    function useMarketOn(address tokenAddr, bool approveAll) internal {
        market = new TernMarket(IERC20(tokenAddr), cfg);
        address[] memory actors = everyone();
        for (uint256 i = 0; i < actors.length; ++i) {
            (bool minted,) = tokenAddr.call(abi.encodeWithSignature("mint(address,uint256)", actors[i], FUNDS));
            require(minted, "mint failed");
            if (!approveAll) continue;
            vm.prank(actors[i]);
            (bool approved,) =
                tokenAddr.call(abi.encodeWithSignature("approve(address,uint256)", address(market), type(uint256).max));
            require(approved, "approve failed");
        }
    }

    /// @notice `assertConserved` for a market on another token than `usdt`.
    function assertConservedOf(address tokenAddr, address[] memory accounts, uint256[] memory jobIds) internal view {
        uint256 owed = 0;
        for (uint256 i = 0; i < jobIds.length; ++i) {
            owed += market.escrowOf(jobIds[i]);
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            Account memory a = market.accountOf(accounts[i]);
            owed += uint256(a.stake) + a.balance + market.unbondingOf(accounts[i]).amount;
        }
        assertEq(IERC20(tokenAddr).balanceOf(address(market)), owed, "market holds exactly escrow + stakes + balances");
    }

    /// @notice Turns MockUSDT's fee switch on: `bps` basis points, no per-transfer ceiling.
    function setUsdtFee(uint256 bps) internal {
        usdt.setParams(bps, type(uint256).max);
    }

    /// @notice Stakes STAKE for verifier, alice, bob, carol and dave and puts them in the pool (eve stays out).
    function stakePool() internal {
        address[5] memory members = [verifier, alice, bob, carol, dave];
        for (uint256 i = 0; i < members.length; ++i) {
            if (!market.accountOf(members[i]).inPool) stakeVerifier(members[i]);
        }
    }

    /// @notice Creates, claims, submits and starts the audit of an honest job; the worker has not revealed.
    function auditingJob() internal returns (uint256 jobId, Audit memory audit, bytes32[] memory states) {
        if (market.poolWeight() == 0) stakeVerifier(verifier);
        jobId = createJobNow();
        uint256 free = market.accountOf(worker).stake - market.accountOf(worker).locked;
        if (free < WORKER_BOND) stakeAs(worker, STAKE);
        vm.prank(worker);
        market.claimJob(jobId);
        states = honestStates(jobId);
        audit = startAudit(jobId, submitNow(jobId, states));
    }

    /// @notice `auditingJob` plus the worker's reveal: the verifiers may attest.
    function revealedJob() internal returns (uint256 jobId, Audit memory audit, bytes32[] memory states) {
        (jobId, audit, states) = auditingJob();
        reveal(jobId, audit, states);
    }

    /// @notice The end state hash of sampled interval `index` in `states` and its Merkle proof.
    function endOf(uint256 jobId, Audit memory audit, bytes32[] memory states, uint256 index)
        internal
        view
        returns (bytes32 stateHash, bytes32[] memory proof)
    {
        uint256 checkpoint = intervals(audit)[index] + 1;
        stateHash = states[checkpoint];
        proof = TraceBuilder.proof(TraceBuilder.leaves(jobId, K, states), checkpoint);
    }

    /// @notice The adapter hash a committee member must reveal for sampled interval `index` (zero unless last).
    function adapterFor(Audit memory audit, uint256 index) internal pure returns (bytes32) {
        return index == SAMPLES - 1 ? audit.adapterHash : bytes32(0);
    }

    /// @notice `who` disputes sampled interval `index`; returns the block whose hash draws the committee.
    function disputeAs(address who, uint256 jobId, Audit memory audit, uint256 index)
        internal
        returns (uint256 anchorBlock)
    {
        vm.prank(who);
        market.dispute(jobId, audit, index);
        anchorBlock = vm.getBlockNumber() + cfg.auditDelay;
    }

    /// @notice Mines past `anchorBlock`, draws the committee and returns it with its deadlines.
    function drawAfter(uint256 jobId, uint256 anchorBlock)
        internal
        returns (address[] memory members, uint256 commitDeadline, uint256 revealDeadline)
    {
        vm.roll(anchorBlock + 1);
        vm.recordLogs();
        market.drawCommittee(jobId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 topic = keccak256("CommitteeDrawn(uint256,address[],uint256,uint256)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] != topic) continue;
            return abi.decode(logs[i].data, (address[], uint256, uint256));
        }
        revert("no CommitteeDrawn event");
    }

    function voteHash(bytes32 stateHash, bytes32 adapterHash, bytes32 salt, address member)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(stateHash, adapterHash, salt, member));
    }

    /// @notice The salt committee member `member` uses in these tests.
    function saltOf(address member) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", member));
    }

    function commitAs(address member, uint256 jobId, bytes32 stateHash, bytes32 adapterHash) internal {
        vm.prank(member);
        market.commitVote(jobId, voteHash(stateHash, adapterHash, saltOf(member), member));
    }

    function revealAs(address member, uint256 jobId, bytes32 stateHash, bytes32 adapterHash) internal {
        vm.prank(member);
        market.revealVote(jobId, stateHash, adapterHash, saltOf(member));
    }

    /// @notice Every member commits, then reveals, the same value.
    function voteAll(uint256 jobId, address[] memory members, bytes32 stateHash, bytes32 adapterHash) internal {
        for (uint256 m = 0; m < members.length; ++m) {
            commitAs(members[m], jobId, stateHash, adapterHash);
        }
        for (uint256 m = 0; m < members.length; ++m) {
            revealAs(members[m], jobId, stateHash, adapterHash);
        }
    }

    /// @notice `audit` with the replacements of the `VerifierReplaced` events in `logs` applied.
    function withReplacements(Audit memory audit, Vm.Log[] memory logs) internal pure returns (Audit memory out) {
        address[] memory verifiers = new address[](audit.verifiers.length);
        for (uint256 i = 0; i < verifiers.length; ++i) {
            verifiers[i] = audit.verifiers[i];
        }
        bytes32 topic = keccak256("VerifierReplaced(uint256,uint256,address,address)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics.length == 0 || logs[i].topics[0] != topic) continue;
            uint256 index = abi.decode(logs[i].data, (uint256));
            verifiers[index] = address(uint160(uint256(logs[i].topics[3])));
        }
        out = Audit(audit.traceRoot, audit.adapterHash, audit.seed, verifiers);
    }

    /// @notice A dispute with its committee drawn, and what the committee needs to vote.
    struct DisputeCase {
        uint256 jobId;
        Audit audit;
        bytes32[] states;
        uint256 index; // the disputed sampled interval
        address challenger;
        address[] members;
        uint256 commitDeadline;
        uint256 revealDeadline;
        bytes32 endHash; // the worker's (honest) end state of the interval
        bytes32[] proof; // its Merkle proof
        bytes32 adapter; // what an honest member reveals as the adapter hash
    }

    /// @notice With the pool of `stakePool`: a job audited (and, if `verified`, fully attested), then interval `index`
    /// disputed by `challenger` (address(0): the interval's assigned verifier) and the committee drawn.
    function disputeCase(uint256 index, address challenger, bool verified) internal returns (DisputeCase memory c) {
        stakePool();
        (c.jobId, c.audit, c.states) = revealedJob();
        if (verified) attestAll(c.jobId, c.audit, c.states);
        c.index = index;
        c.challenger = challenger == address(0) ? c.audit.verifiers[index] : challenger;
        uint256 anchorBlock = disputeAs(c.challenger, c.jobId, c.audit, index);
        (c.members, c.commitDeadline, c.revealDeadline) = drawAfter(c.jobId, anchorBlock);
        (c.endHash, c.proof) = endOf(c.jobId, c.audit, c.states, index);
        c.adapter = adapterFor(c.audit, index);
    }

    /// @notice Sum of `accounts`' withdrawable balances.
    function balancesOf(address[] memory accounts) internal view returns (uint256 sum) {
        for (uint256 i = 0; i < accounts.length; ++i) {
            sum += market.accountOf(accounts[i]).balance;
        }
    }
}
