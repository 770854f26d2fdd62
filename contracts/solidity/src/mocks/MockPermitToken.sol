// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import { ERC20 } from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import { ERC20Permit } from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MockPermitToken
/// @notice A USDT0-like token as found on L2s: a standard ERC-20 (functions return `bool`), 6 decimals,
/// with EIP-2612 `permit` (EIP-712 domain: name "USDT0", version "1"). EIP-3009 is not implemented.
/// @dev `mint` is OPEN TO ANYONE: a faucet for local chains and tests, never deploy this to a real network.
contract MockPermitToken is ERC20, ERC20Permit {
    constructor() ERC20("USDT0", "USDT0") ERC20Permit("USDT0") { }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice TEST FAUCET: anyone may mint any amount to anyone.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
