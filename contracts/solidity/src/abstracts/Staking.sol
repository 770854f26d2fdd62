// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import { IERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import { SafeERC20 } from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import { SafeCast } from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import { ReentrancyGuardTransient } from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import { Account, Unbonding } from "../types/DataTypes.sol";
import { Errors } from "../libraries/Errors.sol";
import { IStaking } from "../interfaces/IStaking.sol";

/// @title Staking
/// @notice Stakes of workers and verifiers, the weighted verifier pool, and pull payouts. It holds the market's
/// token together with the job escrow, so no transfer ever happens between Tern's own contracts (a fee-on-transfer
/// token would tax it). Only the market, which inherits this, can lock and slash: those functions are internal.
/// @dev The verifier pool is a Fenwick tree over pool members' stakes, so a stake-weighted draw and a stake change
/// each cost O(log members) storage reads or writes, whatever the pool size.
abstract contract Staking is IStaking, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The settlement token (USDT on mainnet).
    IERC20 public immutable token;
    /// @notice Seconds an unstake request stays slashable.
    uint256 public immutable unbondingDelay;
    /// @notice Stake needed to join the verifier pool.
    uint256 public immutable minVerifierStake;

    mapping(address account => Account) internal _accounts;
    mapping(address account => Unbonding) internal _unbondings;

    /// @dev Fenwick tree, 1-based: _tree[i] sums the weights of members (i - lowbit(i), i].
    mapping(uint256 index => uint256) internal _tree;
    mapping(uint256 index => address) internal _members;
    uint256 internal _poolSize;
    /// @notice Sum of pool members' stakes.
    uint256 public poolWeight;

    constructor(IERC20 token_, uint256 unbondingDelay_, uint256 minVerifierStake_) {
        if (address(token_) == address(0)) revert Errors.ZeroAddress();
        token = token_;
        unbondingDelay = unbondingDelay_;
        minVerifierStake = minVerifierStake_;
    }

    // ================================================================ external: stakers

    /// @inheritdoc IStaking
    function stake(uint256 amount) external nonReentrant {
        _stake(amount);
    }

    /// @inheritdoc IStaking
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        _tryPermit(amount, deadline, v, r, s);
        _stake(amount);
    }

    /// @inheritdoc IStaking
    function requestUnstake(uint256 amount) external {
        Account memory a = _accounts[msg.sender];
        uint256 free = a.stake - a.locked;
        if (amount == 0 || amount > free) revert Errors.InsufficientFreeStake(msg.sender, free, amount);
        uint72 amount72 = uint72(amount);
        _accounts[msg.sender].stake = a.stake - amount72;
        if (a.inPool) _poolSub(a.poolIndex, amount);
        Unbonding storage u = _unbondings[msg.sender];
        u.amount += amount72;
        u.releaseAt = uint40(block.timestamp + unbondingDelay);
        emit UnstakeRequested(msg.sender, amount, u.releaseAt);
    }

    /// @inheritdoc IStaking
    function withdrawUnstaked(address to) external nonReentrant {
        if (to == address(0)) revert Errors.ZeroAddress();
        Unbonding memory u = _unbondings[msg.sender];
        if (u.amount == 0) revert Errors.NothingToWithdraw(msg.sender);
        if (block.timestamp < u.releaseAt) revert Errors.StillUnbonding(msg.sender, u.releaseAt, block.timestamp);
        delete _unbondings[msg.sender];
        emit UnstakeWithdrawn(msg.sender, to, u.amount);
        token.safeTransfer(to, u.amount);
    }

    /// @inheritdoc IStaking
    function withdraw(address to) external nonReentrant {
        if (to == address(0)) revert Errors.ZeroAddress();
        uint256 amount = _accounts[msg.sender].balance;
        if (amount == 0) revert Errors.NothingToWithdraw(msg.sender);
        _accounts[msg.sender].balance = 0;
        emit Withdrawn(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @inheritdoc IStaking
    function joinVerifierPool() external {
        Account storage a = _accounts[msg.sender];
        if (a.inPool) revert Errors.AlreadyInPool(msg.sender);
        if (a.stake < minVerifierStake) revert Errors.StakeTooLow(msg.sender, a.stake, minVerifierStake);
        if (a.poolIndex == 0) {
            a.poolIndex = SafeCast.toUint32(_poolAppend(msg.sender));
        }
        a.inPool = true;
        _poolAdd(a.poolIndex, a.stake);
        emit VerifierPoolJoined(msg.sender, a.stake);
    }

    /// @inheritdoc IStaking
    function leaveVerifierPool() external {
        Account storage a = _accounts[msg.sender];
        if (!a.inPool) revert Errors.NotInPool(msg.sender);
        a.inPool = false;
        _poolSub(a.poolIndex, a.stake);
        emit VerifierPoolLeft(msg.sender);
    }

    // ================================================================ external: views

    /// @inheritdoc IStaking
    function accountOf(address account) external view returns (Account memory) {
        return _accounts[account];
    }

    /// @inheritdoc IStaking
    function unbondingOf(address account) external view returns (Unbonding memory) {
        return _unbondings[account];
    }

    /// @inheritdoc IStaking
    function poolMembers() external view returns (address[] memory members) {
        members = new address[](_poolSize);
        for (uint256 i = 0; i < members.length; ++i) {
            members[i] = _members[i + 1];
        }
    }

    // ================================================================ internal: money in

    /// @dev Pulls `amount` from the caller and returns what actually arrived (fee-on-transfer safe).
    function _pull(uint256 amount) internal returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        received = token.balanceOf(address(this)) - before;
        if (received == 0) revert Errors.NothingReceived();
    }

    /// @dev Uses an EIP-2612 permit where the token has one; a failed permit is ignored so that a front-run permit
    /// (or a token without permit plus a prior approve) still works, and the transfer decides.
    function _tryPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) internal {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) { } catch { }
    }

    function _stake(uint256 amount) private {
        uint256 received = _pull(amount);
        Account storage a = _accounts[msg.sender];
        a.stake = _toAmount(a.stake + received);
        if (a.inPool) _poolAdd(a.poolIndex, received);
        emit Staked(msg.sender, received);
    }

    // ================================================================ internal: locks, slashing, credits

    function _lock(address account, uint256 amount) internal {
        Account storage a = _accounts[account];
        uint256 free = a.stake - a.locked;
        if (amount > free) revert Errors.InsufficientFreeStake(account, free, amount);
        a.locked += uint72(amount);
        emit StakeLocked(account, amount);
    }

    function _unlock(address account, uint256 amount) internal {
        _accounts[account].locked -= uint72(amount);
        emit StakeUnlocked(account, amount);
    }

    /// @dev Takes a locked amount (a bond) out of the stake entirely.
    function _slashLocked(address account, uint256 amount) internal {
        Account storage a = _accounts[account];
        a.locked -= uint72(amount);
        a.stake -= uint72(amount);
        if (a.inPool) _poolSub(a.poolIndex, amount);
        emit StakeSlashed(account, amount);
    }

    /// @dev Takes up to `amount` from free stake, then from unbonding stake, and returns what was taken. Locked stake
    /// stays, because it backs another job's obligation.
    function _slashFree(address account, uint256 amount) internal returns (uint256 taken) {
        Account storage a = _accounts[account];
        uint256 free = a.stake - a.locked;
        uint256 fromStake = amount < free ? amount : free;
        if (fromStake > 0) {
            a.stake -= uint72(fromStake);
            if (a.inPool) _poolSub(a.poolIndex, fromStake);
        }
        taken = fromStake;
        if (taken < amount) {
            Unbonding storage u = _unbondings[account];
            uint256 rest = amount - taken;
            uint256 fromUnbonding = rest < u.amount ? rest : u.amount;
            u.amount -= uint72(fromUnbonding);
            taken += fromUnbonding;
        }
        if (taken > 0) emit StakeSlashed(account, taken);
    }

    /// @dev Credits a withdrawable balance; `jobId` tells the indexer why.
    function _credit(address account, uint256 jobId, uint256 amount) internal {
        if (amount == 0) return;
        Account storage a = _accounts[account];
        a.balance = _toAmount(a.balance + amount);
        emit Credited(account, jobId, amount);
    }

    function _toAmount(uint256 amount) internal pure returns (uint72) {
        if (amount > type(uint72).max) revert Errors.AmountTooLarge(amount, type(uint72).max);
        return uint72(amount);
    }

    // ================================================================ internal: the weighted pool

    /// @dev The pool member that owns weight position `x`, for 0 <= x < poolWeight.
    function _poolFind(uint256 x) internal view returns (address) {
        uint256 size = _poolSize;
        uint256 pos = 0;
        uint256 step = 1;
        while (step * 2 <= size) step *= 2;
        for (; step > 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= size) {
                uint256 w = _tree[next];
                if (w <= x) {
                    pos = next;
                    x -= w;
                }
            }
        }
        return _members[pos + 1];
    }

    function _poolAppend(address member) private returns (uint256 index) {
        index = ++_poolSize;
        _members[index] = member;
        // A new tail node covers (index - lowbit, index]: its own weight (zero now) plus the members below it.
        uint256 low = index & (~index + 1);
        _tree[index] = _prefix(index - 1) - _prefix(index - low);
    }

    function _prefix(uint256 i) private view returns (uint256 sum) {
        for (; i > 0; i -= i & (~i + 1)) {
            sum += _tree[i];
        }
    }

    function _poolAdd(uint256 index, uint256 amount) private {
        uint256 size = _poolSize;
        for (uint256 i = index; i <= size; i += i & (~i + 1)) {
            _tree[i] += amount;
        }
        poolWeight += amount;
    }

    function _poolSub(uint256 index, uint256 amount) internal {
        uint256 size = _poolSize;
        for (uint256 i = index; i <= size; i += i & (~i + 1)) {
            _tree[i] -= amount;
        }
        poolWeight -= amount;
    }
}
