// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract Dispute_Concrete_Test is Base {
    uint256 internal bond;

    function setUp() public override {
        super.setUp();
        bond = cfg.disputeBond;
        stakePool();
        stakeAs(eve, STAKE); // a staker outside the pool
    }

    function expectRevertDispute(address who, uint256 jobId, Audit memory audit, uint256 index, bytes memory err)
        internal
    {
        vm.prank(who);
        vm.expectRevert(err);
        market.dispute(jobId, audit, index);
    }

    // ================================================================ any state

    function test_RevertWhen_TheJobDoesNotExist() external {
        (, Audit memory audit,) = revealedJob();
        expectRevertDispute(eve, 11, audit, 0, abi.encodeWithSelector(Errors.JobNotFound.selector, 11));
    }

    function test_RevertWhen_TheAuditIsNotTheCommittedOne() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        audit.adapterHash = keccak256("x");
        expectRevertDispute(
            audit.verifiers[0], jobId, audit, 0, abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId)
        );
    }

    /// @dev Before the audit the commitment is a Result hash, so an Audit never matches it.
    function test_RevertGiven_TheJobIsSubmitted() external {
        uint256 jobId = createAndClaim();
        Audit memory audit = Audit(keccak256("r"), keccak256("a"), bytes32(0), new address[](SAMPLES));
        submit(jobId, honestStates(jobId));
        expectRevertDispute(eve, jobId, audit, 0, abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
    }

    function test_RevertWhen_TheIndexIsOutOfRange() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        expectRevertDispute(
            eve, jobId, audit, SAMPLES, abi.encodeWithSelector(Errors.IndexOutOfRange.selector, SAMPLES, SAMPLES)
        );
    }

    function test_RevertGiven_TheIntervalIsUnderDispute() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[1], jobId, audit, 1);
        expectRevertDispute(eve, jobId, audit, 1, abi.encodeWithSelector(Errors.AlreadyDisputed.selector, jobId, 1));
    }

    function test_RevertGiven_AnotherIntervalIsUnderDispute() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        disputeAs(audit.verifiers[1], jobId, audit, 1);
        expectRevertDispute(
            audit.verifiers[0],
            jobId,
            audit,
            0,
            abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Disputed, JobState.Verified)
        );
    }

    function test_RevertGiven_TheJobIsFinalized() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        expectRevertDispute(
            eve,
            jobId,
            audit,
            0,
            abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Finalized, JobState.Verified)
        );
    }

    // ================================================================ while auditing

    function test_RevertGiven_TheWorkerHasNotRevealed() external {
        (uint256 jobId, Audit memory audit,) = auditingJob();
        expectRevertDispute(
            audit.verifiers[0], jobId, audit, 0, abi.encodeWithSelector(Errors.NotRevealed.selector, jobId)
        );
    }

    function test_RevertWhen_TheCallerIsNotTheAssignedVerifier() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        expectRevertDispute(
            eve, jobId, audit, 2, abi.encodeWithSelector(Errors.NotAssignedVerifier.selector, jobId, 2, eve)
        );
    }

    function test_RevertGiven_TheIntervalIsAttested() external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = revealedJob();
        attestOne(jobId, audit, states, 0);
        expectRevertDispute(
            audit.verifiers[0], jobId, audit, 0, abi.encodeWithSelector(Errors.AlreadyAttested.selector, jobId, 0)
        );
    }

    function test_RevertWhen_TheAttestWindowHasPassed() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline + 1);
        expectRevertDispute(
            audit.verifiers[0],
            jobId,
            audit,
            0,
            abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, deadline, deadline + 1)
        );
    }

    function test_RevertGiven_TheVerifierCannotLockTheBond() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        address v = audit.verifiers[0];
        uint256 free = market.accountOf(v).stake - market.accountOf(v).locked;
        vm.prank(v);
        market.requestUnstake(free - (bond - 1));
        expectRevertDispute(
            v, jobId, audit, 0, abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, v, bond - 1, bond)
        );
    }

    function test_WhenTheAssignedVerifierDisputes() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        address v = audit.verifiers[2];
        uint256 anchor = vm.getBlockNumber() + cfg.auditDelay;
        uint256 lockedBefore = market.accountOf(v).locked;

        vm.expectEmit(address(market));
        emit IStaking.StakeLocked(v, bond);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Disputed, 0);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeOpened(jobId, 2, v, anchor);
        vm.prank(v);
        market.dispute(jobId, audit, 2);

        assertJobState(jobId, JobState.Disputed);
        assertEq(job(jobId).deadline, 0, "no deadline until the committee is drawn");
        assertEq(job(jobId).disputedMask, 4);
        assertEq(job(jobId).attestedMask, 0);
        assertEq(market.accountOf(v).locked, lockedBefore + bond);
        assertEq(market.accountOf(v).stake, STAKE, "locked, not taken");
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheVerifierDisputesAtTheDeadline() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        vm.warp(job(jobId).deadline);
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        assertJobState(jobId, JobState.Disputed);
    }

    // ================================================================ in the challenge window

    function test_RevertWhen_TheWorkerChallenges() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        expectRevertDispute(worker, jobId, audit, 0, abi.encodeWithSelector(Errors.ChallengerIsWorker.selector, jobId));
    }

    function test_RevertWhen_TheChallengeWindowHasPassed() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline + 1);
        expectRevertDispute(
            eve, jobId, audit, 0, abi.encodeWithSelector(Errors.DeadlinePassed.selector, jobId, deadline, deadline + 1)
        );
    }

    function test_RevertGiven_TheChallengerHasNoStake() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        address nobody = makeAddr("nobody");
        expectRevertDispute(
            nobody, jobId, audit, 0, abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, nobody, 0, bond)
        );
    }

    function test_WhenAThirdPartyChallenges() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        uint256 anchor = vm.getBlockNumber() + cfg.auditDelay;
        vm.warp(job(jobId).deadline);

        vm.expectEmit(address(market));
        emit IStaking.StakeLocked(eve, bond);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Disputed, 0);
        vm.expectEmit(address(market));
        emit ITernMarket.DisputeOpened(jobId, 1, eve, anchor);
        vm.prank(eve);
        market.dispute(jobId, audit, 1);

        assertJobState(jobId, JobState.Disputed);
        assertEq(job(jobId).attestedMask, 7, "attestations stand");
        assertEq(job(jobId).disputedMask, 2);
        assertEq(market.accountOf(eve).locked, bond);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheRequesterChallenges() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        stakeAs(requester, bond);
        disputeAs(requester, jobId, audit, 0);
        assertJobState(jobId, JobState.Disputed);
    }

    function test_WhenTheAttesterChallengesItsOwnInterval() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        disputeAs(audit.verifiers[0], jobId, audit, 0);
        assertJobState(jobId, JobState.Disputed);
    }

    function test_WhenASecondIntervalIsChallengedAfterTheFirstWasUpheld() external {
        (uint256 jobId, Audit memory audit, bytes32[] memory states) = verifiedJob();
        uint256 anchor = disputeAs(eve, jobId, audit, 0);
        (address[] memory members,,) = drawAfter(jobId, anchor);
        (bytes32 endHash, bytes32[] memory proof) = endOf(jobId, audit, states, 0);
        voteAll(jobId, members, endHash, bytes32(0));
        market.resolveDispute(jobId, audit, proof);
        assertJobState(jobId, JobState.Verified);

        stakeAs(eve, bond);
        expectRevertDispute(eve, jobId, audit, 0, abi.encodeWithSelector(Errors.AlreadyDisputed.selector, jobId, 0));
        disputeAs(eve, jobId, audit, 1);
        assertEq(job(jobId).disputedMask, 3);
    }
}
