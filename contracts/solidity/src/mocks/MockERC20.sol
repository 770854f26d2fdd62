// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import { ERC20 } from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockERC20
/// @notice A standard, well-behaved OpenZeppelin ERC-20 (functions return `bool`) with configurable decimals.
/// @dev `mint` is OPEN TO ANYONE: a faucet for local chains and tests, never deploy this to a real network.
contract MockERC20 is ERC20 {
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice TEST FAUCET: anyone may mint any amount to anyone. Returns true.
    function mint(address to, uint256 amount) external returns (bool) {
        _mint(to, amount);
        return true;
    }
}
