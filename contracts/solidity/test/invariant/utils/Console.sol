// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice The two `console.log` shapes the invariant summary prints (forge-std is not available offline); forge
/// decodes calls to this address and prints them with `-vv`.
library Console {
    address internal constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory text) internal view {
        _send(abi.encodeWithSignature("log(string)", text));
    }

    function log(string memory text, uint256 value) internal view {
        _send(abi.encodeWithSignature("log(string,uint256)", text, value));
    }

    function _send(bytes memory payload) private view {
        address target = CONSOLE;
        assembly ("memory-safe") {
            pop(staticcall(gas(), target, add(payload, 32), mload(payload), 0, 0))
        }
    }
}
