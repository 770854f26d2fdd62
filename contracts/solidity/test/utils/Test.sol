// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import { Vm, VM_ADDRESS, StdInvariant } from "./Vm.sol";

/// @title Test
/// @notice Minimal base for forge tests (forge-std is not available offline). Inherit it, name test functions
/// `test*` (fuzz tests take arguments), invariants `invariant*`, and set up state in `setUp()`.
/// A failed assertion reverts with a message; forge reports the test as failed.
/// Importers can also take `Vm` and `StdInvariant` from this file.
abstract contract Test is StdInvariant {
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// Marks this contract as a test contract for forge.
    bool public IS_TEST = true;

    // ------------------------------------------------------------------ failing

    function fail() internal pure virtual {
        revert("assertion failed");
    }

    function fail(string memory err) internal pure virtual {
        revert(err);
    }

    function _fail(string memory err, string memory detail) private pure {
        if (bytes(err).length == 0) revert(string.concat("assertion failed: ", detail));
        revert(string.concat(err, ": ", detail));
    }

    // ------------------------------------------------------------------ bool

    function assertTrue(bool condition) internal pure {
        if (!condition) fail("assertion failed: expected true");
    }

    function assertTrue(bool condition, string memory err) internal pure {
        if (!condition) fail(err);
    }

    function assertFalse(bool condition) internal pure {
        if (condition) fail("assertion failed: expected false");
    }

    function assertFalse(bool condition, string memory err) internal pure {
        if (condition) fail(err);
    }

    // ------------------------------------------------------------------ equality

    function assertEq(bool left, bool right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bool left, bool right, string memory err) internal pure {
        if (left != right) _fail(err, string.concat(vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(uint256 left, uint256 right, string memory err) internal pure {
        if (left != right) _fail(err, string.concat(vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(int256 left, int256 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(int256 left, int256 right, string memory err) internal pure {
        if (left != right) _fail(err, string.concat(vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(address left, address right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(address left, address right, string memory err) internal pure {
        if (left != right) _fail(err, string.concat(vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes32 left, bytes32 right, string memory err) internal pure {
        if (left != right) _fail(err, string.concat(vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(string memory left, string memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(string memory left, string memory right, string memory err) internal pure {
        if (keccak256(bytes(left)) != keccak256(bytes(right))) {
            _fail(err, string.concat('"', left, '" != "', right, '"'));
        }
    }

    function assertEq(bytes memory left, bytes memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes memory left, bytes memory right, string memory err) internal pure {
        if (keccak256(left) != keccak256(right)) {
            _fail(err, string.concat(vm.toString(left), " != ", vm.toString(right)));
        }
    }

    function assertEq(uint256[] memory left, uint256[] memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(uint256[] memory left, uint256[] memory right, string memory err) internal pure {
        if (keccak256(abi.encode(left)) != keccak256(abi.encode(right))) _fail(err, "uint256[] differ");
    }

    function assertEq(bytes32[] memory left, bytes32[] memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes32[] memory left, bytes32[] memory right, string memory err) internal pure {
        if (keccak256(abi.encode(left)) != keccak256(abi.encode(right))) _fail(err, "bytes32[] differ");
    }

    function assertNotEq(uint256 left, uint256 right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(uint256 left, uint256 right, string memory err) internal pure {
        if (left == right) _fail(err, string.concat(vm.toString(left), " == ", vm.toString(right)));
    }

    function assertNotEq(address left, address right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(address left, address right, string memory err) internal pure {
        if (left == right) _fail(err, string.concat(vm.toString(left), " == ", vm.toString(right)));
    }

    function assertNotEq(bytes32 left, bytes32 right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory err) internal pure {
        if (left == right) _fail(err, string.concat(vm.toString(left), " == ", vm.toString(right)));
    }

    // ------------------------------------------------------------------ ordering (uint256)

    function assertGt(uint256 left, uint256 right) internal pure {
        assertGt(left, right, "");
    }

    function assertGt(uint256 left, uint256 right, string memory err) internal pure {
        if (!(left > right)) _fail(err, string.concat(vm.toString(left), " <= ", vm.toString(right)));
    }

    function assertGe(uint256 left, uint256 right) internal pure {
        assertGe(left, right, "");
    }

    function assertGe(uint256 left, uint256 right, string memory err) internal pure {
        if (!(left >= right)) _fail(err, string.concat(vm.toString(left), " < ", vm.toString(right)));
    }

    function assertLt(uint256 left, uint256 right) internal pure {
        assertLt(left, right, "");
    }

    function assertLt(uint256 left, uint256 right, string memory err) internal pure {
        if (!(left < right)) _fail(err, string.concat(vm.toString(left), " >= ", vm.toString(right)));
    }

    function assertLe(uint256 left, uint256 right) internal pure {
        assertLe(left, right, "");
    }

    function assertLe(uint256 left, uint256 right, string memory err) internal pure {
        if (!(left <= right)) _fail(err, string.concat(vm.toString(left), " > ", vm.toString(right)));
    }

    // ------------------------------------------------------------------ ordering (int256)

    function assertGt(int256 left, int256 right) internal pure {
        assertGt(left, right, "");
    }

    function assertGt(int256 left, int256 right, string memory err) internal pure {
        if (!(left > right)) _fail(err, string.concat(vm.toString(left), " <= ", vm.toString(right)));
    }

    function assertGe(int256 left, int256 right) internal pure {
        assertGe(left, right, "");
    }

    function assertGe(int256 left, int256 right, string memory err) internal pure {
        if (!(left >= right)) _fail(err, string.concat(vm.toString(left), " < ", vm.toString(right)));
    }

    function assertLt(int256 left, int256 right) internal pure {
        assertLt(left, right, "");
    }

    function assertLt(int256 left, int256 right, string memory err) internal pure {
        if (!(left < right)) _fail(err, string.concat(vm.toString(left), " >= ", vm.toString(right)));
    }

    function assertLe(int256 left, int256 right) internal pure {
        assertLe(left, right, "");
    }

    function assertLe(int256 left, int256 right, string memory err) internal pure {
        if (!(left <= right)) _fail(err, string.concat(vm.toString(left), " > ", vm.toString(right)));
    }

    // ------------------------------------------------------------------ approximate

    /// |left - right| <= maxDelta
    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta) internal pure {
        assertApproxEqAbs(left, right, maxDelta, "");
    }

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string memory err) internal pure {
        uint256 delta = left > right ? left - right : right - left;
        if (delta > maxDelta) {
            _fail(
                err, string.concat(vm.toString(left), " !~ ", vm.toString(right), " (delta ", vm.toString(delta), ")")
            );
        }
    }

    // ------------------------------------------------------------------ fuzz helpers

    /// Maps any `x` into [min, max] (inclusive). Values already in range are returned unchanged; the fuzzer's
    /// favourite inputs (0..3 and the top 4 values of uint256) land on the edges of the range, so edge cases stay
    /// likely; everything else wraps around modulo the range size. Not a cheatcode: plain Solidity.
    function bound(uint256 x, uint256 min, uint256 max) internal pure virtual returns (uint256) {
        require(min <= max, "bound: max < min");
        if (x >= min && x <= max) return x;
        // Not the full uint256 range here (then x would be in range), so this cannot overflow.
        uint256 size = max - min + 1;
        if (x < 4 && x < size) return min + x;
        uint256 fromTop = type(uint256).max - x;
        if (fromTop < 4 && fromTop < size) return max - fromTop;
        return min + (x % size);
    }

    /// `bound` for signed values: maps any `x` into [min, max] (inclusive).
    function bound(int256 x, int256 min, int256 max) internal pure virtual returns (int256) {
        require(min <= max, "bound: max < min");
        // Map int256 onto uint256 keeping the order, by flipping the sign bit (the casts reinterpret the 256 bits
        // and lose nothing), bound there, and map back.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 ux = uint256(x) ^ (1 << 255);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 umin = uint256(min) ^ (1 << 255);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 umax = uint256(max) ^ (1 << 255);
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256(bound(ux, umin, umax) ^ (1 << 255));
    }

    // ------------------------------------------------------------------ addresses and keys

    /// A deterministic address derived from `name` (private key = keccak256(name)), labelled `name` in traces.
    function makeAddr(string memory name) internal virtual returns (address addr) {
        (addr,) = makeAddrAndKey(name);
    }

    /// Like `makeAddr`, also returning the private key (for `vm.sign`).
    function makeAddrAndKey(string memory name) internal virtual returns (address addr, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name)));
        addr = vm.addr(privateKey);
        vm.label(addr, name);
    }
}
