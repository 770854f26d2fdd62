// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { ERC20 } from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice What a HookToken calls on a registered account during a transfer.
interface ITokenHook {
    /// @param sending true when called on the sender before the balances move, false on the recipient after
    function onTokenTransfer(address from, address to, uint256 value, bool sending) external;
}

/// @title HookToken
/// @notice An ERC-20 with ERC-777-style transfer hooks, for reentrancy tests: an account that registers itself is
/// called before it sends (`sending` = true) and after it receives, from inside `transfer` and `transferFrom`. A hook
/// that reverts makes the transfer revert with the hook's revert data.
/// @dev `mint` is open to anyone: tests only.
contract HookToken is ERC20 {
    mapping(address account => bool) public hooked;

    constructor() ERC20("Hook Token", "HOOK") { }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The caller asks to be called on its transfers (or stops).
    function setHook(bool on) external {
        hooked[msg.sender] = on;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && hooked[from]) ITokenHook(from).onTokenTransfer(from, to, value, true);
        super._update(from, to, value);
        if (to != address(0) && hooked[to]) ITokenHook(to).onTokenTransfer(from, to, value, false);
    }
}
