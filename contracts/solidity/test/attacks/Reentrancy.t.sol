// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import { ReentrancyGuardTransient } from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import { TernMarket } from "../../src/TernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { JobParams } from "../../src/types/DataTypes.sol";
import { HookToken, ITokenHook } from "../mocks/HookToken.sol";
import { Base } from "../utils/Base.sol";

/// @notice A staker contract that re-enters the market from the token's transfer hook, once per arming.
contract ReentrantStaker is ITokenHook {
    enum Reenter {
        Nothing,
        Withdraw,
        WithdrawUnstaked,
        Stake,
        CreateJob,
        RequestUnstake
    }

    TernMarket internal immutable market;
    HookToken internal immutable token;
    JobParams internal _params;

    Reenter public plan;
    /// @notice Catch the inner call's revert (and record it) instead of letting it unwind the outer call.
    bool public swallow;
    uint256 public reentries;
    bool public innerSucceeded;
    bytes public innerError;

    constructor(TernMarket market_, HookToken token_) {
        market = market_;
        token = token_;
        token_.setHook(true);
        token_.approve(address(market_), type(uint256).max);
    }

    function arm(Reenter plan_, bool swallow_) external {
        plan = plan_;
        swallow = swallow_;
    }

    function setParams(JobParams memory p) external {
        _params = p;
    }

    function onTokenTransfer(address, address, uint256, bool) external {
        require(msg.sender == address(token), "not the token");
        Reenter p = plan;
        if (p == Reenter.Nothing) return;
        plan = Reenter.Nothing;
        ++reentries;
        (bool ok, bytes memory err) = address(market).call(_calldata(p));
        innerSucceeded = ok;
        if (ok) return;
        innerError = err;
        if (!swallow) {
            assembly ("memory-safe") {
                revert(add(err, 32), mload(err))
            }
        }
    }

    function _calldata(Reenter p) internal view returns (bytes memory) {
        if (p == Reenter.Withdraw) return abi.encodeCall(market.withdraw, (address(this)));
        if (p == Reenter.WithdrawUnstaked) return abi.encodeCall(market.withdrawUnstaked, (address(this)));
        if (p == Reenter.Stake) return abi.encodeCall(market.stake, (1e6));
        if (p == Reenter.CreateJob) return abi.encodeCall(market.createJob, (_params));
        return abi.encodeCall(market.requestUnstake, (1e6));
    }

    // ---------------------------------------------------------------- plain actions

    function stake(uint256 amount) external {
        market.stake(amount);
    }

    function requestUnstake(uint256 amount) external {
        market.requestUnstake(amount);
    }

    function withdraw() external {
        market.withdraw(address(this));
    }

    function withdrawUnstaked() external {
        market.withdrawUnstaked(address(this));
    }

    function createJob() external returns (uint256) {
        return market.createJob(_params);
    }

    function cancelJob(uint256 jobId) external {
        market.cancelJob(jobId);
    }
}

/// @notice Reentrancy through a token with transfer hooks: every function that moves tokens (stake, createJob,
/// withdraw, withdrawUnstaked) is guarded, so a re-entry from the hook reverts with the guard's error, and when the
/// attacker swallows that error the outer call still pays or counts exactly once.
contract ReentrancyAttackTest is Base {
    HookToken internal hook;
    TernMarket internal hooked;
    ReentrantStaker internal attacker;

    function setUp() public override {
        Base.setUp();
        hook = new HookToken();
        hooked = new TernMarket(IERC20(address(hook)), cfg);
        attacker = new ReentrantStaker(hooked, hook);
        hook.mint(address(attacker), FUNDS);
        JobParams memory p = defaultParams();
        attacker.setParams(p);
    }

    /// @dev The attacker's refunded escrow: it posts a job and cancels it.
    function _refundedBalance() internal returns (uint256 amount) {
        uint256 jobId = attacker.createJob();
        attacker.cancelJob(jobId);
        amount = hooked.accountOf(address(attacker)).balance;
        assertEq(amount, REWARD + SAMPLES * VERIFIER_FEE, "refund");
    }

    function _unbonded(uint256 amount) internal {
        attacker.stake(amount);
        attacker.requestUnstake(amount);
        vm.warp(block.timestamp + cfg.unbondingDelay);
    }

    /// @dev Everything the hooked market holds is the attacker's (the only user here).
    function _assertConserved() internal view {
        uint256 owed = hooked.accountOf(address(attacker)).stake + hooked.accountOf(address(attacker)).balance
            + hooked.unbondingOf(address(attacker)).amount;
        for (uint256 i = 1; i <= hooked.jobCount(); ++i) {
            owed += hooked.escrowOf(uint256(keccak256(abi.encode(block.chainid, address(hooked), i))));
        }
        assertEq(hook.balanceOf(address(hooked)), owed, "hooked market holds what it owes");
    }

    // ================================================================ bubbling: the whole call reverts

    function test_ReenterWithdrawFromWithdraw_RevertsWithGuard() public {
        uint256 owed = _refundedBalance();
        uint256 tokens = hook.balanceOf(address(attacker));
        attacker.arm(ReentrantStaker.Reenter.Withdraw, false);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdraw();
        assertEq(hooked.accountOf(address(attacker)).balance, owed, "balance untouched");
        assertEq(hook.balanceOf(address(attacker)), tokens, "nothing paid");

        attacker.arm(ReentrantStaker.Reenter.Nothing, false);
        attacker.withdraw();
        assertEq(hook.balanceOf(address(attacker)), tokens + owed, "paid once");
        _assertConserved();
    }

    function test_ReenterWithdrawUnstakedFromWithdrawUnstaked_RevertsWithGuard() public {
        _unbonded(500 * USDT);
        uint256 tokens = hook.balanceOf(address(attacker));
        attacker.arm(ReentrantStaker.Reenter.WithdrawUnstaked, false);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdrawUnstaked();
        assertEq(hooked.unbondingOf(address(attacker)).amount, 500 * USDT, "unbonding untouched");

        attacker.arm(ReentrantStaker.Reenter.Nothing, false);
        attacker.withdrawUnstaked();
        assertEq(hook.balanceOf(address(attacker)), tokens + 500 * USDT, "paid once");
        _assertConserved();
    }

    function test_ReenterWithdrawFromWithdrawUnstaked_RevertsWithGuard() public {
        uint256 owed = _refundedBalance();
        _unbonded(500 * USDT);
        attacker.arm(ReentrantStaker.Reenter.Withdraw, false);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdrawUnstaked();
        assertEq(hooked.accountOf(address(attacker)).balance, owed, "balance untouched");
        assertEq(hooked.unbondingOf(address(attacker)).amount, 500 * USDT, "unbonding untouched");
        _assertConserved();
    }

    /// @notice The hook runs on the sender inside `transferFrom`, between the market's balance reads: a nested
    /// stake there would be counted twice by balance difference. The guard stops it.
    function test_ReenterStakeFromStake_RevertsWithGuard() public {
        attacker.arm(ReentrantStaker.Reenter.Stake, false);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.stake(100 * USDT);
        assertEq(hooked.accountOf(address(attacker)).stake, 0, "nothing staked");
        assertEq(hook.balanceOf(address(hooked)), 0, "nothing moved");
    }

    function test_ReenterCreateJobFromCreateJob_RevertsWithGuard() public {
        attacker.arm(ReentrantStaker.Reenter.CreateJob, false);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.createJob();
        assertEq(hooked.jobCount(), 0, "no job");
    }

    function test_ReenterWithdrawFromStake_RevertsWithGuard() public {
        _refundedBalance();
        attacker.arm(ReentrantStaker.Reenter.Withdraw, false);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.stake(100 * USDT);
    }

    // ================================================================ swallowing: the outer call counts once

    function test_SwallowedReentryInWithdraw_PaysOnce() public {
        uint256 owed = _refundedBalance();
        uint256 tokens = hook.balanceOf(address(attacker));
        attacker.arm(ReentrantStaker.Reenter.Withdraw, true);
        attacker.withdraw();
        assertEq(attacker.reentries(), 1);
        assertFalse(attacker.innerSucceeded(), "inner withdraw refused");
        assertEq(bytes4(attacker.innerError()), ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        assertEq(hook.balanceOf(address(attacker)), tokens + owed, "paid exactly once");
        vm.expectRevert(abi.encodeWithSelector(Errors.NothingToWithdraw.selector, address(attacker)));
        attacker.withdraw();
        _assertConserved();
    }

    function test_SwallowedReentryInStake_CountsOnce() public {
        attacker.arm(ReentrantStaker.Reenter.Stake, true);
        attacker.stake(100 * USDT);
        assertFalse(attacker.innerSucceeded(), "inner stake refused");
        assertEq(bytes4(attacker.innerError()), ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        assertEq(hooked.accountOf(address(attacker)).stake, 100 * USDT, "counted once");
        _assertConserved();
    }

    function test_SwallowedReentryInCreateJob_EscrowsOnce() public {
        attacker.arm(ReentrantStaker.Reenter.CreateJob, true);
        attacker.createJob();
        assertFalse(attacker.innerSucceeded(), "inner createJob refused");
        assertEq(hooked.jobCount(), 1, "one job");
        _assertConserved();
    }

    /// @notice A call that moves no tokens (requestUnstake) is not guarded and may run from the hook; the market's
    /// books are already final when the token is called (balance zeroed first), so nothing is paid twice.
    function test_UnguardedReentryDuringWithdraw_StaysConsistent() public {
        uint256 owed = _refundedBalance();
        attacker.stake(100 * USDT);
        uint256 tokens = hook.balanceOf(address(attacker));
        attacker.arm(ReentrantStaker.Reenter.RequestUnstake, false);
        attacker.withdraw();
        assertTrue(attacker.innerSucceeded(), "requestUnstake ran inside withdraw");
        assertEq(hook.balanceOf(address(attacker)), tokens + owed, "paid once");
        assertEq(hooked.unbondingOf(address(attacker)).amount, 1e6);
        assertEq(hooked.accountOf(address(attacker)).stake, 99 * USDT);
        _assertConserved();
    }
}
