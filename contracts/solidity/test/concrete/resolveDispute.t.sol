// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, DisputeOutcome, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract ResolveDispute_Concrete_Test is Base {
    bytes32 internal constant BAD = keccak256("the true end state, not in the worker's trace");

    uint256 internal bond;
    uint256 internal penalty;
    // Shares of a slash, kept in storage to spare the stack.
    uint256 internal pot;
    uint256 internal each;
    uint256 internal rest;

    function setUp() public override {
        super.setUp();
        bond = cfg.disputeBond;
        penalty = cfg.verifierPenalty;
        stakeAs(eve, STAKE); // a third-party challenger outside the pool
    }

    function proofDeadline(DisputeCase memory c) internal view returns (uint256) {
        return c.revealDeadline + cfg.proofWindow;
    }

    function isMember(DisputeCase memory c, address x) internal pure returns (bool) {
        for (uint256 m = 0; m < c.members.length; ++m) {
            if (c.members[m] == x) return true;
        }
        return false;
    }

    /// @notice Fees `x` earns at the close: one per attested, undisputed interval assigned to it.
    function feesOf(DisputeCase memory c, address x, uint256 paidMask) internal pure returns (uint256 fees) {
        for (uint256 i = 0; i < SAMPLES; ++i) {
            if (paidMask & (1 << i) != 0 && c.audit.verifiers[i] == x) fees += VERIFIER_FEE;
        }
    }

    /// @notice A committee share (`each`) if a member, plus the fees of intervals 0 and 2.
    function expectedGain(DisputeCase memory c, address x) internal view returns (uint256) {
        return (isMember(c, x) ? each : 0) + feesOf(c, x, 5);
    }

    function snapshot(address[] memory xs) internal view returns (uint256[] memory b) {
        b = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) {
            b[i] = market.accountOf(xs[i]).balance;
        }
    }

    // ================================================================ reverts

    function test_RevertWhen_TheJobDoesNotExist() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 14));
        market.resolveDispute(14, c.audit, c.proof);
    }

    function test_RevertGiven_TheJobIsNotDisputed() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Disputed));
        market.resolveDispute(jobId, audit, new bytes32[](0));
    }

    function test_RevertWhen_TheAuditIsNotTheCommittedOne() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        Audit memory wrong = c.audit;
        wrong.seed = bytes32(uint256(c.audit.seed) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, c.jobId));
        market.resolveDispute(c.jobId, wrong, c.proof);
    }

    function test_RevertGiven_TheCommitteeIsNotDrawn() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitteeNotDrawn.selector, jobId));
        market.resolveDispute(jobId, audit, new bytes32[](0));
    }

    function test_RevertGiven_RevealsAreStillOpen() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.revealDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.DeadlineNotReached.selector, c.jobId, c.revealDeadline, c.revealDeadline)
        );
        market.resolveDispute(c.jobId, c.audit, c.proof);
    }

    function test_RevertGiven_TheMajorityIsUnprovenWithinTheProofWindow() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, BAD, bytes32(0));
        vm.warp(proofDeadline(c));
        vm.expectRevert(abi.encodeWithSelector(Errors.ProofRequired.selector, c.jobId, proofDeadline(c)));
        market.resolveDispute(c.jobId, c.audit, c.proof);
    }

    // ================================================================ WorkerHonest

    function test_GivenAnHonestMajorityWithAValidProof() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        each = (bond - bond / 2) / c.members.length;
        rest = (bond - bond / 2) - each * c.members.length;
        uint256 deadline = vm.getBlockTimestamp() + cfg.attestWindow;
        uint256[] memory before = snapshot(c.members);

        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(c.challenger, bond);
        for (uint256 m = 0; m < c.members.length; ++m) {
            vm.expectEmit(address(market));
            emit IStaking.Credited(c.members[m], c.jobId, each);
        }
        vm.expectEmit(address(market));
        emit IStaking.Credited(worker, c.jobId, bond / 2 + rest);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(c.jobId, JobState.Auditing, deadline);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(c.jobId, 0, DisputeOutcome.WorkerHonest, c.endHash, bytes32(0));
        vm.prank(eve); // anyone may resolve
        market.resolveDispute(c.jobId, c.audit, c.proof);

        assertJobState(c.jobId, JobState.Auditing);
        assertEq(job(c.jobId).deadline, deadline, "a fresh attest window");
        assertEq(job(c.jobId).attestedMask, 1, "the committee upheld the interval");
        assertEq(job(c.jobId).disputedMask, 1);
        assertEq(market.accountOf(c.challenger).stake, STAKE - bond, "the false accuser loses its bond");
        assertEq(market.accountOf(c.challenger).locked, 0);
        assertEq(market.accountOf(worker).balance, bond / 2 + rest);
        assertEq(market.accountOf(worker).locked, WORKER_BOND);
        for (uint256 m = 0; m < c.members.length; ++m) {
            assertEq(market.accountOf(c.members[m]).balance - before[m], each);
        }
        assertConserved(everyone(), one(c.jobId));

        // The audit goes on; the disputed interval's fee goes back to the requester.
        attestAll(c.jobId, c.audit, c.states);
        assertJobState(c.jobId, JobState.Verified);
        vm.warp(job(c.jobId).deadline + 1);
        market.finalize(c.jobId, c.audit);
        assertEq(market.accountOf(worker).balance, REWARD + bond / 2 + rest);
        assertEq(market.accountOf(requester).balance, VERIFIER_FEE);
        assertConserved(everyone(), one(c.jobId));
    }

    function test_GivenAnHonestMajorityBeforeTheRevealDeadline() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        assertLt(vm.getBlockTimestamp(), c.commitDeadline);
        market.resolveDispute(c.jobId, c.audit, c.proof); // every member revealed: no need to wait
        assertJobState(c.jobId, JobState.Auditing);
    }

    function test_GivenTheUpheldIntervalWasTheLastOneMissing() external {
        stakePool();
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        attestOne(jobId, audit, states, 0);
        attestOne(jobId, audit, states, 2);
        uint256 anchor = disputeAs(audit.verifiers[1], jobId, audit, 1);
        (address[] memory members,,) = drawAfter(jobId, anchor);
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 1);
        voteAll(jobId, members, endHash, bytes32(0));
        uint256 deadline = vm.getBlockTimestamp() + cfg.challengeWindow;
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Verified, deadline);
        market.resolveDispute(jobId, audit, proof);
        assertJobState(jobId, JobState.Verified);
        assertEq(job(jobId).attestedMask, 7);
    }

    function test_GivenADissenterAndAnAbsentee() external {
        stakePool();
        stakeVerifier(eve); // a fourth eligible member; committee of 3 from 5 eligible
        DisputeCase memory c = disputeCase(0, address(0), false);
        assertEq(c.members.length, 3);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        commitAs(c.members[1], c.jobId, BAD, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        revealAs(c.members[1], c.jobId, BAD, bytes32(0));
        // members[2] never shows. Of 2 revealed votes, 1 is not a majority: undecided.
        vm.warp(c.revealDeadline + 1);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(c.jobId, 0, DisputeOutcome.Undecided, bytes32(0), bytes32(0));
        market.resolveDispute(c.jobId, c.audit, c.proof);
        assertEq(market.accountOf(c.members[2]).stake, STAKE - penalty, "the absentee is slashed");
        assertEq(market.accountOf(c.members[1]).stake, STAKE, "a revealed vote is excused when undecided");
    }

    function test_GivenAMajorityWithADissenter() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        commitAs(c.members[1], c.jobId, c.endHash, bytes32(0));
        commitAs(c.members[2], c.jobId, BAD, bytes32(0));
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        revealAs(c.members[1], c.jobId, c.endHash, bytes32(0));
        revealAs(c.members[2], c.jobId, BAD, bytes32(0));
        uint256[] memory before = snapshot(c.members);

        market.resolveDispute(c.jobId, c.audit, c.proof);

        uint256 pool = bond - bond / 2 + penalty;
        assertEq(market.accountOf(c.members[2]).stake, STAKE - penalty, "the dissenter is slashed");
        assertEq(market.accountOf(c.members[0]).balance - before[0], pool / 2);
        assertEq(market.accountOf(c.members[1]).balance - before[1], pool / 2);
        assertEq(market.accountOf(worker).balance, bond / 2 + pool % 2);
        assertConserved(everyone(), one(c.jobId));
    }

    function test_GivenASingleRevealerWithAValidProof() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        commitAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.commitDeadline + 1);
        revealAs(c.members[0], c.jobId, c.endHash, bytes32(0));
        vm.warp(c.revealDeadline + 1);
        uint256 before = market.accountOf(c.members[0]).balance;
        market.resolveDispute(c.jobId, c.audit, c.proof);
        // One revealed vote is a majority of the revealed votes.
        assertJobState(c.jobId, JobState.Auditing);
        assertEq(market.accountOf(c.members[0]).balance - before, bond - bond / 2 + 2 * penalty);
        assertEq(market.accountOf(c.members[1]).stake, STAKE - penalty);
        assertEq(market.accountOf(c.members[2]).stake, STAKE - penalty);
        assertConserved(everyone(), one(c.jobId));
    }

    function test_GivenAThirdPartyChallengedAVerifiedJobWrongly() external {
        DisputeCase memory c = disputeCase(1, eve, true);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        uint256 deadline = vm.getBlockTimestamp() + cfg.challengeWindow;
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(c.jobId, JobState.Verified, deadline);
        market.resolveDispute(c.jobId, c.audit, c.proof);

        assertJobState(c.jobId, JobState.Verified);
        assertEq(job(c.jobId).deadline, deadline, "the challenge window starts over");
        assertEq(market.accountOf(eve).stake, STAKE - bond);

        vm.warp(deadline + 1);
        address attester = c.audit.verifiers[1];
        uint256 attesterBefore = market.accountOf(attester).balance;
        market.finalize(c.jobId, c.audit);
        // The honest attester of the challenged interval loses its fee to the requester.
        assertEq(market.accountOf(attester).balance - attesterBefore, feesOf(c, attester, 5));
        assertEq(market.accountOf(requester).balance, VERIFIER_FEE);
        assertConserved(everyone(), one(c.jobId));
    }

    // ================================================================ the last interval and its adapter hash

    function test_GivenTheLastIntervalWithTheAdapterHash() external {
        DisputeCase memory c = disputeCase(SAMPLES - 1, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, c.audit.adapterHash);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(
            c.jobId, SAMPLES - 1, DisputeOutcome.WorkerHonest, c.endHash, c.audit.adapterHash
        );
        market.resolveDispute(c.jobId, c.audit, c.proof);
        assertJobState(c.jobId, JobState.Auditing);
    }

    /// @dev For the last interval the end state alone is not enough: the adapter hash must match too.
    function test_GivenTheLastIntervalWithoutTheAdapterHash() external {
        DisputeCase memory c = disputeCase(SAMPLES - 1, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Errors.ProofRequired.selector, c.jobId, proofDeadline(c)));
        market.resolveDispute(c.jobId, c.audit, c.proof);

        vm.warp(proofDeadline(c) + 1);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(c.jobId, SAMPLES - 1, DisputeOutcome.WorkerCheated, c.endHash, bytes32(0));
        market.resolveDispute(c.jobId, c.audit, c.proof);
        assertJobState(c.jobId, JobState.Slashed);
    }

    function test_GivenTheLastIntervalWithAnotherAdapterHash() external {
        DisputeCase memory c = disputeCase(SAMPLES - 1, address(0), false);
        bytes32 otherAdapter = keccak256("the adapter the committee exported");
        voteAll(c.jobId, c.members, c.endHash, otherAdapter);
        vm.warp(proofDeadline(c) + 1);
        market.resolveDispute(c.jobId, c.audit, c.proof);
        assertJobState(c.jobId, JobState.Slashed);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
    }

    // ================================================================ WorkerCheated

    function test_GivenACheatingWorkerAfterTheProofWindow() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, BAD, bytes32(0));
        vm.warp(proofDeadline(c) + 1);
        pot = WORKER_BOND;
        each = (pot / 4) / c.members.length;
        rest = pot / 4 - each * c.members.length;
        uint256[] memory before = snapshot(c.members);

        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(c.challenger, bond);
        vm.expectEmit(address(market));
        emit IStaking.Credited(c.challenger, c.jobId, pot / 2);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, c.jobId, pot - pot / 2 - pot / 4 + rest);
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, c.jobId, REWARD + SAMPLES * VERIFIER_FEE);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(c.jobId, JobState.Slashed, 0);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(c.jobId, 0, DisputeOutcome.WorkerCheated, BAD, bytes32(0));
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));

        assertJobState(c.jobId, JobState.Slashed);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND, "the cheater loses its bond");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(c.challenger).locked, 0, "the challenger's bond is released");
        assertEq(market.accountOf(c.challenger).stake, STAKE);
        assertEq(market.accountOf(c.challenger).balance, pot / 2 + (isMember(c, c.challenger) ? each : 0));
        for (uint256 m = 0; m < c.members.length; ++m) {
            assertEq(market.accountOf(c.members[m]).balance - before[m], each);
        }
        assertEq(
            market.accountOf(requester).balance,
            pot - pot / 2 - pot / 4 + rest + REWARD + SAMPLES * VERIFIER_FEE,
            "the requester is refunded and compensated"
        );
        assertEq(market.escrowOf(c.jobId), 0);
        assertConserved(everyone(), one(c.jobId));
    }

    function test_GivenACheatingWorkerAtTheEndOfTheProofWindow() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, BAD, bytes32(0));
        vm.warp(proofDeadline(c));
        vm.expectRevert(abi.encodeWithSelector(Errors.ProofRequired.selector, c.jobId, proofDeadline(c)));
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        vm.warp(proofDeadline(c) + 1);
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        assertJobState(c.jobId, JobState.Slashed);
    }

    function test_GivenAThirdPartyCaughtAVerifiedJob() external {
        DisputeCase memory c = disputeCase(1, eve, true);
        address attester = c.audit.verifiers[1];
        voteAll(c.jobId, c.members, BAD, bytes32(0));
        vm.warp(proofDeadline(c) + 1);
        pot = WORKER_BOND + penalty; // the attester vouched for a false hash
        each = (pot / 4) / c.members.length;
        rest = pot / 4 - each * c.members.length;
        address[] memory watched = new address[](5);
        (watched[0], watched[1], watched[2], watched[3], watched[4]) = (verifier, alice, bob, carol, dave);
        uint256[] memory before = snapshot(watched);
        uint256 attesterStake = market.accountOf(attester).stake;

        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));

        assertJobState(c.jobId, JobState.Slashed);
        assertEq(market.accountOf(attester).stake, attesterStake - penalty, "the attester is slashed");
        assertEq(market.accountOf(eve).balance, pot / 2);
        assertEq(market.accountOf(eve).locked, 0);
        assertEq(market.accountOf(requester).balance, pot - pot / 2 - pot / 4 + rest + REWARD + VERIFIER_FEE);
        for (uint256 w = 0; w < watched.length; ++w) {
            assertEq(market.accountOf(watched[w]).balance - before[w], expectedGain(c, watched[w]), "shares and fees");
        }
        assertConserved(everyone(), one(c.jobId));
    }

    /// @dev The outcome turns on a proof being submitted: an honest majority nobody proves in time reads as cheating.
    function test_GivenNobodyProvesAnHonestMajorityInTime() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        vm.warp(proofDeadline(c) + 1);
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        assertJobState(c.jobId, JobState.Slashed);
        assertEq(market.accountOf(worker).stake, STAKE - WORKER_BOND);
    }

    function test_GivenAValidProofAfterTheProofWindow() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        voteAll(c.jobId, c.members, c.endHash, bytes32(0));
        vm.warp(proofDeadline(c) + 1 days);
        market.resolveDispute(c.jobId, c.audit, c.proof);
        assertJobState(c.jobId, JobState.Auditing);
    }

    // ================================================================ Undecided

    /// @dev Undecided on a dispute opened during the audit: the interval stays unverified, so the job expires.
    function test_GivenNobodyRevealed() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        vm.warp(c.revealDeadline + 1);
        uint256 lockedBefore = market.accountOf(c.challenger).locked;

        for (uint256 m = 0; m < c.members.length; ++m) {
            vm.expectEmit(address(market));
            emit IStaking.StakeSlashed(c.members[m], penalty);
        }
        vm.expectEmit(address(market));
        emit IStaking.Credited(requester, c.jobId, c.members.length * penalty);
        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(c.jobId, JobState.Expired, 0);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(c.jobId, 0, DisputeOutcome.Undecided, bytes32(0), bytes32(0));
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));

        assertJobState(c.jobId, JobState.Expired);
        assertEq(market.accountOf(c.challenger).locked, lockedBefore - bond);
        assertEq(market.accountOf(c.challenger).stake, STAKE, "nobody is proven wrong");
        assertEq(market.accountOf(worker).stake, STAKE);
        assertEq(market.accountOf(worker).locked, 0);
        for (uint256 m = 0; m < c.members.length; ++m) {
            assertEq(market.accountOf(c.members[m]).stake, STAKE - penalty, "absent members are slashed");
        }
        assertEq(
            market.accountOf(requester).balance,
            c.members.length * penalty + REWARD + SAMPLES * VERIFIER_FEE,
            "penalties and the escrow"
        );
        assertConserved(everyone(), one(c.jobId));
    }

    function test_GivenTheVotesSplit() external {
        DisputeCase memory c = disputeCase(0, address(0), false);
        bytes32[3] memory votes = [c.endHash, BAD, keccak256("third opinion")];
        for (uint256 m = 0; m < 3; ++m) {
            commitAs(c.members[m], c.jobId, votes[m], bytes32(0));
        }
        for (uint256 m = 0; m < 3; ++m) {
            revealAs(c.members[m], c.jobId, votes[m], bytes32(0));
        }
        market.resolveDispute(c.jobId, c.audit, c.proof); // all revealed: no need to wait
        assertJobState(c.jobId, JobState.Expired);
        for (uint256 m = 0; m < 3; ++m) {
            assertEq(market.accountOf(c.members[m]).stake, STAKE, "revealed votes are not slashed");
        }
        assertConserved(everyone(), one(c.jobId));
    }

    /// @dev Undecided after a third-party challenge of a verified job: the audit already passed, so the challenge is
    /// dismissed. The challenger gets its bond back, the absent members' penalties go to the worker, and the job is
    /// Verified again with a fresh challenge window.
    function test_GivenNobodyRevealedOnAVerifiedJob() external {
        DisputeCase memory c = disputeCase(1, eve, true);
        vm.warp(c.revealDeadline + 1);
        uint256 deadline = vm.getBlockTimestamp() + cfg.challengeWindow;

        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(eve, bond);
        for (uint256 m = 0; m < c.members.length; ++m) {
            vm.expectEmit(address(market));
            emit IStaking.StakeSlashed(c.members[m], penalty);
        }
        vm.expectEmit(address(market));
        emit IStaking.Credited(worker, c.jobId, c.members.length * penalty);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(c.jobId, JobState.Verified, deadline);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeResolved(c.jobId, 1, DisputeOutcome.Undecided, bytes32(0), bytes32(0));
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));

        assertJobState(c.jobId, JobState.Verified);
        assertEq(job(c.jobId).deadline, deadline, "the challenge window starts over");
        assertEq(job(c.jobId).attestedMask, 7, "the audit stays passed");
        assertEq(job(c.jobId).disputedMask, 2, "the interval stays disputed");
        assertEq(market.accountOf(eve).stake, STAKE, "the challenger gets its bond back");
        assertEq(market.accountOf(eve).locked, 0);
        for (uint256 m = 0; m < c.members.length; ++m) {
            assertEq(market.accountOf(c.members[m]).stake, STAKE - penalty, "absent members are slashed");
        }
        assertEq(market.accountOf(worker).balance, c.members.length * penalty, "the penalties go to the worker");
        assertEq(market.accountOf(worker).locked, WORKER_BOND, "the bond stays locked until the end");
        assertEq(market.accountOf(requester).balance, 0, "nothing refunded yet");
        assertEq(market.escrowOf(c.jobId), REWARD + SAMPLES * VERIFIER_FEE, "the escrow stays");
        assertConserved(everyone(), one(c.jobId));

        // The dismissed interval cannot be challenged again.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.AlreadyDisputed.selector, c.jobId, 1));
        market.dispute(c.jobId, c.audit, 1);

        // The job finalizes after the new window: the worker is paid, the disputed interval's fee is refunded.
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(Errors.DeadlineNotReached.selector, c.jobId, deadline, deadline));
        market.finalize(c.jobId, c.audit);
        vm.warp(deadline + 1);
        address attester = c.audit.verifiers[1];
        uint256 attesterBefore = market.accountOf(attester).balance;
        market.finalize(c.jobId, c.audit);
        assertJobState(c.jobId, JobState.Finalized);
        assertEq(market.accountOf(worker).balance, c.members.length * penalty + REWARD, "the worker is paid");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE, "no slash");
        assertEq(market.accountOf(attester).balance - attesterBefore, feesOf(c, attester, 5));
        assertEq(market.accountOf(requester).balance, VERIFIER_FEE, "the disputed interval's fee");
        assertConserved(everyone(), one(c.jobId));
    }

    /// @dev Split votes on a verified job dismiss the challenge too; revealed votes are excused, nobody is slashed.
    function test_GivenTheVotesSplitOnAVerifiedJob() external {
        DisputeCase memory c = disputeCase(1, eve, true);
        bytes32[3] memory votes = [c.endHash, BAD, keccak256("third opinion")];
        for (uint256 m = 0; m < 3; ++m) {
            commitAs(c.members[m], c.jobId, votes[m], bytes32(0));
        }
        for (uint256 m = 0; m < 3; ++m) {
            revealAs(c.members[m], c.jobId, votes[m], bytes32(0));
        }
        uint256 deadline = vm.getBlockTimestamp() + cfg.challengeWindow;
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(c.jobId, JobState.Verified, deadline);
        market.resolveDispute(c.jobId, c.audit, c.proof); // all revealed: no need to wait

        assertJobState(c.jobId, JobState.Verified);
        assertEq(job(c.jobId).deadline, deadline);
        for (uint256 m = 0; m < 3; ++m) {
            assertEq(market.accountOf(c.members[m]).stake, STAKE, "revealed votes are not slashed");
        }
        assertEq(market.accountOf(eve).stake, STAKE, "the challenger keeps its bond");
        assertEq(market.accountOf(eve).locked, 0);
        assertEq(market.accountOf(worker).balance, 0, "no penalty to pass on");
        assertConserved(everyone(), one(c.jobId));
    }

    /// @dev After a dismissal the fresh window is open to a challenge of another interval.
    function test_GivenAnotherIntervalIsChallengedAfterADismissal() external {
        DisputeCase memory c = disputeCase(1, eve, true);
        vm.warp(c.revealDeadline + 1);
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        assertJobState(c.jobId, JobState.Verified);

        vm.warp(job(c.jobId).deadline);
        uint256 anchor = disputeAs(eve, c.jobId, c.audit, 0);
        assertJobState(c.jobId, JobState.Disputed);
        assertEq(job(c.jobId).disputedMask, 3);
        assertEq(market.accountOf(eve).locked, bond);
        (address[] memory members,,) = drawAfter(c.jobId, anchor);
        assertGt(members.length, 0);
        assertConserved(everyone(), one(c.jobId));
    }

    /// @dev A challenge by the assigned verifier of a verified job resumes Verified too: the audit had passed.
    function test_GivenTheAttesterChallengedAVerifiedJobAndNobodyRevealed() external {
        DisputeCase memory c = disputeCase(2, address(0), true);
        address attester = c.audit.verifiers[2];
        uint256 stakeBefore = market.accountOf(attester).stake;
        vm.warp(c.revealDeadline + 1);
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        assertJobState(c.jobId, JobState.Verified);
        assertEq(job(c.jobId).deadline, vm.getBlockTimestamp() + cfg.challengeWindow);
        assertEq(market.accountOf(attester).stake, stakeBefore, "its bond is back");
        assertEq(market.accountOf(attester).locked, 0);
        assertConserved(everyone(), one(c.jobId));
    }
}
