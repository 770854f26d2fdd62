// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState, Result } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";
import { Vm } from "../utils/Vm.sol";

contract StartAudit_Concrete_Test is Base {
    function submitted() internal returns (uint256 jobId, Result memory result) {
        jobId = createAndClaim();
        result = submit(jobId, honestStates(jobId));
    }

    function test_RevertWhen_TheJobDoesNotExist() external {
        Result memory result = Result(keccak256("r"), keccak256("a"), 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 3));
        market.startAudit(3, result);
    }

    function test_RevertGiven_TheJobIsClaimed() external {
        uint256 jobId = createAndClaim();
        Result memory result = Result(keccak256("r"), keccak256("a"), vm.getBlockNumber() + cfg.auditDelay);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Claimed, JobState.Submitted));
        market.startAudit(jobId, result);
    }

    function test_RevertGiven_TheAuditHasStarted() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        startAudit(jobId, result);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Submitted)
        );
        market.startAudit(jobId, result);
    }

    function test_RevertWhen_TheTraceRootIsNotTheCommittedOne() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        result.traceRoot = keccak256("another root");
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.startAudit(jobId, result);
    }

    function test_RevertWhen_TheAnchorBlockIsNotTheCommittedOne() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 5);
        result.anchorBlock += 1;
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.startAudit(jobId, result);
    }

    function test_RevertWhen_TheAnchorBlockIsTheCurrentBlock() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, result.anchorBlock, result.anchorBlock)
        );
        market.startAudit(jobId, result);
    }

    function test_RevertWhen_TheAnchorBlockIsInTheFuture() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.expectRevert(
            abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, result.anchorBlock, vm.getBlockNumber())
        );
        market.startAudit(jobId, result);
    }

    function test_WhenTheAnchorBlockHasJustBeenMined() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        bytes32 seed = blockhash(result.anchorBlock);
        assertNotEq(seed, bytes32(0));
        uint256[] memory sampled = market.sampleIntervals(seed, TOTAL_STEPS / K, SAMPLES);
        address[] memory verifiers = new address[](SAMPLES);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            verifiers[i] = verifier; // the only pool member
        }
        uint256 deadline = vm.getBlockTimestamp() + cfg.revealWindow;

        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Auditing, deadline);
        vm.expectEmit(address(market));
        emit ITernMarket.AuditStarted(jobId, seed, sampled, verifiers);
        vm.prank(eve); // anyone may start it
        market.startAudit(jobId, result);

        assertJobState(jobId, JobState.Auditing);
        assertEq(job(jobId).deadline, deadline);
        assertFalse(job(jobId).revealed);
        assertEq(
            job(jobId).commitment,
            keccak256(abi.encode(Audit(result.traceRoot, result.adapterHash, seed, verifiers))),
            "audit hash kept"
        );
        assertEq(market.accountOf(worker).locked, WORKER_BOND);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheAnchorIsTheOldestReadableBlock() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 256);
        bytes32 seed = blockhash(result.anchorBlock);
        assertNotEq(seed, bytes32(0));
        Audit memory audit = auditAfterStart(jobId, result);
        assertEq(audit.seed, seed);
        assertJobState(jobId, JobState.Auditing);
    }

    function auditAfterStart(uint256 jobId, Result memory result) internal returns (Audit memory) {
        vm.recordLogs();
        market.startAudit(jobId, result);
        return auditFromLogs(result, vm.getRecordedLogs());
    }

    /// @dev With verifiers in the pool, a worker that let its anchor age out fails the audit it did not open in
    /// time: re-anchoring would let it pick its sample. Anyone may call it; the requester gets the bond and escrow.
    function test_GivenTheAnchorBlockAgedOut() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        uint256 escrow = REWARD + SAMPLES * VERIFIER_FEE;
        vm.roll(result.anchorBlock + 257);
        assertEq(blockhash(result.anchorBlock), bytes32(0));

        vm.recordLogs();
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, escrow);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Slashed, 0);
        vm.prank(eve);
        market.startAudit(jobId, result);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 reanchored = keccak256("AuditReanchored(uint256,uint256)");
        for (uint256 i = 0; i < logs.length; ++i) {
            assertNotEq(logs[i].topics[0], reanchored, "not re-anchored");
        }

        assertJobState(jobId, JobState.Slashed);
        assertEq(job(jobId).deadline, 0);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "the bond is slashed");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(requester).balance, WORKER_BOND + escrow, "bond and escrow to the requester");
        assertEq(market.accountOf(verifier).balance, 0, "nothing was attested");
        assertEq(market.escrowOf(jobId), 0);
        assertConserved(everyone(), one(jobId));

        // The job is over: neither the old nor a later anchor starts an audit.
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Slashed, JobState.Submitted));
        market.startAudit(jobId, result);
    }

    /// @dev The worker itself cannot re-roll its sample by waiting: its own late startAudit slashes it too.
    function test_GivenTheAnchorAgedOut_TheSeedIsNotDrawnAgain() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 257);
        vm.prank(worker);
        market.startAudit(jobId, result);
        assertJobState(jobId, JobState.Slashed);

        Result memory second = Result(result.traceRoot, result.adapterHash, vm.getBlockNumber() + cfg.auditDelay);
        vm.roll(second.anchorBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Slashed, JobState.Submitted));
        market.startAudit(jobId, second);
    }

    /// @dev A worker in the pool loses the bond and the pool weight it backed.
    function test_GivenTheAnchorAgedOutAndTheWorkerIsInThePool() external {
        stakeVerifier(verifier);
        stakeVerifier(worker);
        (uint256 jobId, Result memory result) = submitted();
        uint256 weight = market.poolWeight();
        vm.roll(result.anchorBlock + 257);
        market.startAudit(jobId, result);
        assertJobState(jobId, JobState.Slashed);
        assertEq(market.poolWeight(), weight - WORKER_BOND, "the slash leaves the pool weight");
    }

    /// @dev With nobody to audit, nobody could have opened the audit in time: it moves to a later block instead.
    function test_GivenTheAnchorBlockAgedOutAndThePoolIsEmpty() external {
        (uint256 jobId, Result memory result) = submitted();
        uint256 deadline = job(jobId).deadline;
        vm.roll(result.anchorBlock + 257);
        assertEq(blockhash(result.anchorBlock), bytes32(0));
        uint256 anchor = vm.getBlockNumber() + cfg.auditDelay;

        vm.expectEmit(address(market));
        emit ITernMarket.AuditReanchored(jobId, anchor);
        market.startAudit(jobId, result);

        assertJobState(jobId, JobState.Submitted);
        assertEq(job(jobId).deadline, deadline, "the audit start deadline does not move");
        assertEq(market.accountOf(worker).locked, WORKER_BOND, "no slash");
        Result memory reanchored = Result(result.traceRoot, result.adapterHash, anchor);
        assertEq(job(jobId).commitment, keccak256(abi.encode(reanchored)));

        // A verifier joins; the old result no longer matches.
        stakeVerifier(verifier);
        vm.roll(anchor + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.startAudit(jobId, result);

        // The new anchor seeds the audit.
        Audit memory audit = auditAfterStart(jobId, reanchored);
        assertEq(audit.seed, blockhash(anchor));
        assertJobState(jobId, JobState.Auditing);

        // And the audit runs to the end.
        bytes32[] memory states = honestStates(jobId);
        reveal(jobId, audit, states);
        attestAll(jobId, audit, states);
        assertJobState(jobId, JobState.Verified);
    }

    /// @dev Only with an empty pool does an aged-out anchor draw the sample again from another block.
    function test_GivenTheAnchorAgedOutAndThePoolIsEmpty_TheSeedIsDrawnAgain() external {
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        bytes32 first = blockhash(result.anchorBlock);
        vm.roll(result.anchorBlock + 257);
        market.startAudit(jobId, result);
        stakeVerifier(verifier);
        Result memory second = Result(result.traceRoot, result.adapterHash, vm.getBlockNumber() + cfg.auditDelay);
        vm.roll(second.anchorBlock + 1);
        Audit memory audit = auditAfterStart(jobId, second);
        assertNotEq(audit.seed, first, "a new seed");
    }

    function test_GivenTheNewAnchorAgedOutToo() external {
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1000);
        market.startAudit(jobId, result);
        Result memory second = Result(result.traceRoot, result.adapterHash, vm.getBlockNumber() + cfg.auditDelay);
        vm.roll(second.anchorBlock + 300);
        uint256 third = vm.getBlockNumber() + cfg.auditDelay;
        vm.expectEmit(address(market));
        emit ITernMarket.AuditReanchored(jobId, third);
        market.startAudit(jobId, second);
        assertJobState(jobId, JobState.Submitted);
    }

    /// @dev Once a verifier has joined, the re-anchored audit is due within 256 blocks like the first one.
    function test_GivenTheNewAnchorAgedOutAfterAVerifierJoined() external {
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1000);
        market.startAudit(jobId, result);
        Result memory second = Result(result.traceRoot, result.adapterHash, vm.getBlockNumber() + cfg.auditDelay);
        stakeVerifier(verifier);
        vm.roll(second.anchorBlock + 257);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Slashed, 0);
        market.startAudit(jobId, second);
        assertJobState(jobId, JobState.Slashed);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
        assertConserved(everyone(), one(jobId));
    }

    function test_RevertGiven_TheReanchoredSeedIsNotReady() external {
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 257);
        market.startAudit(jobId, result);
        Result memory second = Result(result.traceRoot, result.adapterHash, vm.getBlockNumber() + cfg.auditDelay);
        stakeVerifier(verifier);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.AuditSeedNotReady.selector, jobId, second.anchorBlock, vm.getBlockNumber())
        );
        market.startAudit(jobId, second);
    }

    function test_RevertGiven_TheVerifierPoolIsEmpty() external {
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
        market.startAudit(jobId, result);

        // Nobody can start the audit: once its deadline passes the job expires, the worker keeps its bond.
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, deadline));
        market.expireJob(jobId);
        vm.warp(deadline + 1);
        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, jobId, REWARD + SAMPLES * VERIFIER_FEE);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Expired, 0);
        market.expireJob(jobId);
        assertJobState(jobId, JobState.Expired);
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE, "no slash: the worker did its part");
        assertEq(market.accountOf(requester).balance, REWARD + SAMPLES * VERIFIER_FEE);
        assertConserved(everyone(), one(jobId));
    }

    function test_RevertGiven_TheOnlyPoolMemberIsTheWorker() external {
        stakeVerifier(worker);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
        market.startAudit(jobId, result);
    }

    function test_RevertGiven_TheOnlyPoolMemberIsTheRequester() external {
        stakeVerifier(requester);
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
        market.startAudit(jobId, result);
    }

    function test_RevertGiven_EveryPoolMemberLeft() external {
        stakeVerifier(verifier);
        vm.prank(verifier);
        market.leaveVerifierPool();
        (uint256 jobId, Result memory result) = submitted();
        vm.roll(result.anchorBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.NoEligibleVerifier.selector));
        market.startAudit(jobId, result);
    }

    function test_GivenAPoolOfSeveralMembers() external {
        stakePool();
        stakeVerifier(worker);
        stakeVerifier(requester);
        (uint256 jobId, Result memory result) = submitted();
        Audit memory audit = startAudit(jobId, result);
        assertEq(audit.verifiers.length, SAMPLES);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            address v = audit.verifiers[i];
            assertNotEq(v, worker, "never the worker");
            assertNotEq(v, requester, "never the requester");
            assertTrue(market.accountOf(v).inPool, "a pool member");
            assertGt(market.accountOf(v).stake, 0);
        }
    }

    function test_GivenAMemberLeftOrUnstakedEverything() external {
        stakePool();
        address[4] memory gone = [alice, bob, carol, dave];
        for (uint256 i = 0; i < gone.length; ++i) {
            vm.prank(gone[i]);
            if (i % 2 == 0) market.leaveVerifierPool();
            else market.requestUnstake(STAKE);
        }
        (uint256 jobId, Result memory result) = submitted();
        Audit memory audit = startAudit(jobId, result);
        for (uint256 i = 0; i < SAMPLES; ++i) {
            assertEq(audit.verifiers[i], verifier, "only members with weight are drawn");
        }
    }

    function test_GivenTheAuditStartDeadlineHasPassed() external {
        stakeVerifier(verifier);
        (uint256 jobId, Result memory result) = submitted();
        vm.warp(job(jobId).deadline + 1);
        // Until someone expires the job, the audit can still start.
        startAudit(jobId, result);
        assertJobState(jobId, JobState.Auditing);
    }
}
