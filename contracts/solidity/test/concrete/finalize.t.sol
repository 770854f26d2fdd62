// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IStaking } from "../../src/interfaces/IStaking.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MockERC20 } from "../../src/mocks/MockERC20.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract Finalize_Concrete_Test is Base {
    function test_RevertWhen_TheJobDoesNotExist() external {
        (, Audit memory audit,) = verifiedJob();
        vm.expectRevert(abi.encodeWithSelector(Errors.JobNotFound.selector, 16));
        market.finalize(16, audit);
    }

    function test_RevertGiven_TheJobIsAuditing() external {
        (uint256 jobId, Audit memory audit,) = revealedJob();
        vm.warp(job(jobId).deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Auditing, JobState.Verified));
        market.finalize(jobId, audit);
    }

    function test_RevertGiven_TheJobIsDisputed() external {
        stakePool();
        stakeAs(eve, STAKE);
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        disputeAs(eve, jobId, audit, 0);
        vm.warp(vm.getBlockTimestamp() + 30 days);
        vm.expectRevert(abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Disputed, JobState.Verified));
        market.finalize(jobId, audit);
    }

    function test_RevertWhen_TheAuditIsNotTheCommittedOne() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        audit.verifiers[0] = eve;
        vm.expectRevert(abi.encodeWithSelector(Errors.CommitmentMismatch.selector, jobId));
        market.finalize(jobId, audit);
    }

    function test_RevertWhen_TheChallengeWindowIsOpen() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        uint256 deadline = job(jobId).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(Errors.DeadlineNotReached.selector, jobId, deadline, deadline));
        market.finalize(jobId, audit);
    }

    function test_RevertGiven_TheJobIsFinalized() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        vm.expectRevert(
            abi.encodeWithSelector(Errors.WrongState.selector, jobId, JobState.Finalized, JobState.Verified)
        );
        market.finalize(jobId, audit);
    }

    function test_WhenTheChallengeWindowHasPassed() external {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);

        // One credit per run of intervals paid to the same verifier: here one verifier holds them all.
        vm.expectEmit(address(market));
        emit IStaking.Credited(verifier, jobId, SAMPLES * VERIFIER_FEE);
        vm.expectEmit(address(market));
        emit IStaking.StakeUnlocked(worker, WORKER_BOND);
        vm.expectEmit(address(market));
        emit IStaking.Credited(worker, jobId, REWARD);
        vm.expectEmit(address(market));
        emit ITernMarket.JobStateChanged(jobId, JobState.Finalized, 0);
        vm.prank(eve); // anyone
        market.finalize(jobId, audit);

        assertJobState(jobId, JobState.Finalized);
        assertEq(job(jobId).deadline, 0);
        assertEq(market.accountOf(worker).balance, REWARD);
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, STAKE);
        assertEq(market.accountOf(verifier).balance, SAMPLES * VERIFIER_FEE);
        assertEq(market.accountOf(requester).balance, 0, "nothing to refund");
        assertEq(market.escrowOf(jobId), 0);
        assertConserved(everyone(), one(jobId));
    }

    function test_WhenTheVerifiersDiffer() external {
        stakePool();
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        address[5] memory pool = [verifier, alice, bob, carol, dave];
        uint256 paid = 0;
        for (uint256 p = 0; p < pool.length; ++p) {
            uint256 count = 0;
            for (uint256 i = 0; i < SAMPLES; ++i) {
                if (audit.verifiers[i] == pool[p]) ++count;
            }
            assertEq(market.accountOf(pool[p]).balance, count * VERIFIER_FEE);
            paid += market.accountOf(pool[p]).balance;
        }
        assertEq(paid, SAMPLES * VERIFIER_FEE);
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenTheTokenTakesAFee() external {
        setUsdtFee(100); // 1% on every transfer: deposits and withdrawals
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        uint256 pulled = REWARD + SAMPLES * VERIFIER_FEE;
        uint256 reward = pulled - pulled / 100 - SAMPLES * VERIFIER_FEE;
        uint256 stakeArrived = STAKE - STAKE / 100;
        assertEq(market.accountOf(worker).stake, stakeArrived, "stake credits what arrived");
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        assertEq(market.accountOf(worker).balance, reward, "the worker is paid what the requester's deposit left");
        assertEq(market.accountOf(verifier).balance, SAMPLES * VERIFIER_FEE, "fees are whole");
        assertConserved(everyone(), one(jobId));

        uint256 before = usdt.balanceOf(worker);
        vm.prank(worker);
        market.withdraw(worker);
        assertEq(usdt.balanceOf(worker) - before, reward - reward / 100, "the withdrawal is taxed too");
        assertConserved(everyone(), one(jobId));
    }

    function test_GivenAStandardToken() external {
        MockERC20 dai = new MockERC20("Dai", "DAI", 18);
        useMarketOn(address(dai), true);
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        vm.warp(job(jobId).deadline + 1);
        market.finalize(jobId, audit);
        assertEq(market.accountOf(worker).balance, REWARD);
        assertConservedOf(address(dai), everyone(), one(jobId));
        vm.prank(worker);
        market.withdraw(worker);
        assertEq(dai.balanceOf(worker), FUNDS - STAKE + REWARD);
    }
}
