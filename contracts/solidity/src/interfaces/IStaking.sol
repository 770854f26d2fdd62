// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Account, Unbonding } from "../types/DataTypes.sol";

/// @title IStaking
/// @notice Stakes of workers and verifiers, the verifier pool, and withdrawable balances.
interface IStaking {
    event Staked(address indexed account, uint256 amount);
    event UnstakeRequested(address indexed account, uint256 amount, uint256 releaseAt);
    event UnstakeWithdrawn(address indexed account, address to, uint256 amount);
    event StakeLocked(address indexed account, uint256 amount);
    event StakeUnlocked(address indexed account, uint256 amount);
    event StakeSlashed(address indexed account, uint256 amount);
    event VerifierPoolJoined(address indexed account, uint256 weight);
    event VerifierPoolLeft(address indexed account);
    /// @notice A withdrawable balance grew: a payout, a refund or a share of a slash, for job `jobId`.
    event Credited(address indexed account, uint256 indexed jobId, uint256 amount);
    event Withdrawn(address indexed account, address to, uint256 amount);

    /// @notice Bonds `amount` of the token (approve first). Credits what arrived, net of any token fee.
    function stake(uint256 amount) external;

    /// @notice `stake` with an EIP-2612 permit, for tokens that have one (USDT0); without one, approve first.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Starts unbonding `amount` of free stake; it stays slashable for `unbondingDelay` seconds. A new
    /// request adds to the amount and restarts the delay.
    function requestUnstake(uint256 amount) external;

    /// @notice Sends all unbonded stake to `to` once the delay has passed.
    function withdrawUnstaked(address to) external;

    /// @notice Sends the caller's whole withdrawable balance to `to`.
    function withdraw(address to) external;

    /// @notice Enters the verifier pool; draws are weighted by stake.
    function joinVerifierPool() external;

    /// @notice Leaves the verifier pool (current assignments still stand).
    function leaveVerifierPool() external;

    function accountOf(address account) external view returns (Account memory);

    function unbondingOf(address account) external view returns (Unbonding memory);

    /// @notice Everyone who ever joined the pool, in pool order (members that left are included).
    function poolMembers() external view returns (address[] memory);
}
