// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import { TernMarket } from "../../src/TernMarket.sol";
import { ITernMarket } from "../../src/interfaces/ITernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobParams, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice Rewards, fees, bonds and stakes anywhere in uint72, with and without a token fee.
contract Amounts_Fuzz_Test is Base {
    uint256 internal constant MAX72 = type(uint72).max;

    function testFuzz_CreateJob_Amounts(uint256 reward, uint256 fee, uint256 bond, uint256 s, uint256 bps) external {
        s = bound(s, 1, 16);
        reward = bound(reward, 1, MAX72);
        fee = bound(fee, 0, MAX72);
        bond = bound(bond, 1, MAX72);
        bps = bound(bps, 0, 1000);
        setUsdtFee(bps);
        JobParams memory p = defaultParams();
        (p.reward, p.verifierFee, p.workerBond, p.sampleCount) = (reward, fee, bond, uint8(s));
        p.totalSteps = 31 * K;
        uint256 fees = fee * s;
        uint256 pulled = reward + fees;
        usdt.mint(requester, pulled);
        uint256 received = pulled - usdt.feeFor(pulled);

        vm.prank(requester);
        if (received <= fees) {
            vm.expectRevert(abi.encodeWithSelector(Errors.NoRewardAfterFee.selector, received, fees));
            market.createJob(p);
            return;
        }
        uint256 jobId = market.createJob(p);
        assertEq(job(jobId).reward, received - fees, "reward = received - fees");
        assertLe(job(jobId).reward, reward, "never more than asked");
        assertEq(job(jobId).verifierFee, fee);
        assertEq(job(jobId).workerBond, bond);
        assertEq(market.escrowOf(jobId), received, "the escrow is what arrived");
        assertConserved(everyone(), one(jobId));
    }

    /// @dev Checked before anything is summed or pulled: no mint, no overflow panic, up to type(uint256).max.
    function testFuzz_CreateJob_RevertWhen_RewardDoesNotFitUint72(uint256 reward, uint256 fee) external {
        reward = bound(reward, MAX72 + 1, type(uint256).max);
        fee = bound(fee, 0, MAX72);
        JobParams memory p = defaultParams();
        (p.reward, p.verifierFee) = (reward, fee);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, reward, MAX72));
        market.createJob(p);
    }

    function testFuzz_CreateJob_RevertWhen_FeeDoesNotFitUint72(uint256 fee, uint256 s) external {
        fee = bound(fee, MAX72 + 1, type(uint256).max);
        s = bound(s, 1, 16);
        JobParams memory p = defaultParams();
        (p.verifierFee, p.sampleCount, p.totalSteps) = (fee, uint8(s), 31 * K);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, fee, MAX72));
        market.createJob(p);
    }

    function testFuzz_CreateJob_RevertWhen_BondDoesNotFitUint72(uint256 bond) external {
        bond = bound(bond, MAX72 + 1, type(uint256).max);
        JobParams memory p = defaultParams();
        p.workerBond = bond;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, bond, MAX72));
        market.createJob(p);
    }

    /// @dev createJobWithPermit sums the permit amount only after the same checks: AmountTooLarge, never a panic.
    function testFuzz_CreateJobWithPermit_RevertWhen_AnAmountDoesNotFitUint72(uint256 amount, uint256 which) external {
        amount = bound(amount, MAX72 + 1, type(uint256).max);
        which = bound(which, 0, 2);
        JobParams memory p = defaultParams();
        if (which == 0) p.reward = amount;
        if (which == 1) p.verifierFee = amount;
        if (which == 2) p.workerBond = amount;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, amount, MAX72));
        market.createJobWithPermit(p, 0, 0, bytes32(0), bytes32(0));
    }

    function testFuzz_Stake_Amounts(uint256 amount, uint256 bps, bool inPool) external {
        amount = bound(amount, 1, MAX72);
        bps = bound(bps, 0, 1000);
        if (inPool) stakeVerifier(alice);
        uint256 before = market.accountOf(alice).stake;
        uint256 weight = market.poolWeight();
        setUsdtFee(bps);
        usdt.mint(alice, amount);
        uint256 received = amount - usdt.feeFor(amount);
        if (before + received > MAX72) {
            vm.prank(alice);
            vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, before + received, MAX72));
            market.stake(amount);
            return;
        }
        stakeAs(alice, amount);
        assertEq(market.accountOf(alice).stake, before + received, "credits what arrived");
        assertEq(market.poolWeight(), weight + (inPool ? received : 0));
        assertConserved(everyone(), new uint256[](0));
    }

    function testFuzz_Stake_RevertWhen_TheTotalExceedsUint72(uint256 first, uint256 second) external {
        first = bound(first, 1, MAX72);
        second = bound(second, MAX72 - first + 1, 1 << 100);
        usdt.mint(alice, first + second);
        stakeAs(alice, first);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Errors.AmountTooLarge.selector, first + second, MAX72));
        market.stake(second);
    }

    function testFuzz_RequestUnstake_Amounts(uint256 staked, uint256 locked, uint256 amount) external {
        staked = bound(staked, 1, MAX72);
        locked = bound(locked, 0, staked);
        usdt.mint(worker, staked);
        stakeAs(worker, staked);
        if (locked > 0) {
            JobParams memory p = defaultParams();
            p.workerBond = locked;
            vm.prank(requester);
            uint256 jobId = market.createJob(p);
            vm.prank(worker);
            market.claimJob(jobId);
        }
        uint256 free = staked - locked;
        amount = bound(amount, 0, MAX72);
        vm.prank(worker);
        if (amount == 0 || amount > free) {
            vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientFreeStake.selector, worker, free, amount));
            market.requestUnstake(amount);
            return;
        }
        market.requestUnstake(amount);
        assertEq(market.accountOf(worker).stake, staked - amount);
        assertEq(market.unbondingOf(worker).amount, amount);
        vm.warp(vm.getBlockTimestamp() + cfg.unbondingDelay);
        uint256 before = usdt.balanceOf(worker);
        vm.prank(worker);
        market.withdrawUnstaked(worker);
        assertEq(usdt.balanceOf(worker) - before, amount);
    }

    /// @dev A whole honest job with random amounts and token fee: every party is paid exactly, nothing is left over.
    function testFuzz_HonestLifecycle_Amounts(uint256 reward, uint256 fee, uint256 bond, uint256 bps) external {
        reward = bound(reward, 1, 1e15 * USDT);
        fee = bound(fee, 0, 1e12 * USDT);
        bond = bound(bond, 1, 1e15 * USDT);
        bps = bound(bps, 0, 1000);
        setUsdtFee(bps);
        stakeVerifier(verifier);
        usdt.mint(requester, reward + SAMPLES * fee);
        usdt.mint(worker, 2 * bond);
        stakeAs(worker, 2 * bond); // at least 1.8 * bond arrives

        JobParams memory p = defaultParams();
        (p.reward, p.verifierFee, p.workerBond) = (reward, fee, bond);
        uint256 pulled = reward + SAMPLES * fee;
        uint256 received = pulled - usdt.feeFor(pulled);
        vm.assume(received > SAMPLES * fee);
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        vm.prank(worker);
        market.claimJob(jobId);
        bytes32[] memory states = honestStates(jobId);
        Audit memory audit = startAudit(jobId, submitNow(jobId, states));
        reveal(jobId, audit, states);
        attestAll(jobId, audit, states);
        vm.warp(job(jobId).deadline + 1);
        uint256 workerStake = market.accountOf(worker).stake;
        market.finalize(jobId, audit);

        assertEq(market.accountOf(worker).balance, received - SAMPLES * fee, "the worker gets the reward");
        assertEq(market.accountOf(verifier).balance, SAMPLES * fee, "the verifier gets its fees");
        assertEq(market.accountOf(worker).locked, 0);
        assertEq(market.accountOf(worker).stake, workerStake);
        assertEq(market.accountOf(requester).balance, 0);
        assertConserved(everyone(), one(jobId));
    }
}

/// @notice Dispute payouts with random bonds and penalties: slashed amounts are shared out exactly.
contract DisputeSplits_Fuzz_Test is Base {
    function redeploy(uint256 disputeBond, uint256 penalty) internal {
        cfg.disputeBond = disputeBond;
        cfg.verifierPenalty = penalty;
        market = new TernMarket(IERC20(address(usdt)), cfg);
        address[] memory actors = everyone();
        for (uint256 i = 0; i < actors.length; ++i) {
            usdt.mint(actors[i], 1e9 * USDT);
            vm.prank(actors[i]);
            usdt.approve(address(market), type(uint256).max);
        }
    }

    function staked() internal view returns (uint256 sum) {
        address[] memory actors = everyone();
        for (uint256 i = 0; i < actors.length; ++i) {
            sum += market.accountOf(actors[i]).stake + market.unbondingOf(actors[i]).amount;
        }
    }

    function testFuzz_ResolveDispute_Splits(uint256 disputeBond, uint256 penalty, uint256 votes, bool cheated)
        external
    {
        disputeBond = bound(disputeBond, 1, STAKE); // the challenger is a pool member with STAKE
        penalty = bound(penalty, 1, 2000 * USDT); // may exceed a member's stake: slashes take what is there
        redeploy(disputeBond, penalty);
        DisputeCase memory c = disputeCase(0, address(0), false);

        // Each member votes the worker's value, another value, or not at all.
        bytes32 other = keccak256("other");
        for (uint256 m = 0; m < c.members.length; ++m) {
            uint256 v = (votes >> (2 * m)) % 3;
            if (v == 2) continue;
            commitAs(c.members[m], c.jobId, v == 0 ? c.endHash : other, bytes32(0));
        }
        vm.warp(c.commitDeadline + 1);
        for (uint256 m = 0; m < c.members.length; ++m) {
            uint256 v = (votes >> (2 * m)) % 3;
            if (v == 2) continue;
            revealAs(c.members[m], c.jobId, v == 0 ? c.endHash : other, bytes32(0));
        }
        vm.warp(c.revealDeadline + cfg.proofWindow + 1);

        uint256 stakesBefore = staked();
        uint256 balancesBefore = balancesOf(everyone());
        market.resolveDispute(c.jobId, c.audit, cheated ? new bytes32[](0) : c.proof);

        JobState s = state(c.jobId);
        uint256 escrowOut = s == JobState.Auditing ? 0 : REWARD + SAMPLES * VERIFIER_FEE;
        assertEq(
            balancesOf(everyone()) - balancesBefore,
            stakesBefore - staked() + escrowOut,
            "every slashed unit and the released escrow is credited to someone"
        );
        assertEq(market.accountOf(c.challenger).locked, 0, "the dispute bond is settled");
        assertConserved(everyone(), one(c.jobId));
    }

    function testFuzz_ThirdPartyCheated_Splits(uint256 disputeBond, uint256 penalty) external {
        disputeBond = bound(disputeBond, 1, 1e6 * USDT);
        penalty = bound(penalty, 1, 5000 * USDT);
        redeploy(disputeBond, penalty);
        stakeAs(eve, disputeBond);
        DisputeCase memory c = disputeCase(2, eve, true);
        voteAll(c.jobId, c.members, keccak256("other"), c.adapter);
        vm.warp(c.revealDeadline + cfg.proofWindow + 1);
        uint256 stakesBefore = staked();
        uint256 balancesBefore = balancesOf(everyone());
        market.resolveDispute(c.jobId, c.audit, new bytes32[](0));
        assertJobState(c.jobId, JobState.Slashed);
        assertEq(
            balancesOf(everyone()) - balancesBefore,
            stakesBefore - staked() + REWARD + SAMPLES * VERIFIER_FEE,
            "slashes and escrow are all credited"
        );
        uint256 attesterTaken = penalty < STAKE ? penalty : STAKE;
        uint256 pot = WORKER_BOND + attesterTaken;
        assertEq(market.accountOf(eve).balance, pot / 2, "half the pot to the challenger");
        assertConserved(everyone(), one(c.jobId));
    }
}
