// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Hashes } from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

import { TraceCommitment } from "../../src/libraries/TraceCommitment.sol";

/// @notice Builds trace Merkle trees in tests, with Tern's tree rule (contracts/src/trace.rs): pair (0,1), (2,3), ...
/// with OpenZeppelin's commutative keccak; an odd last node is carried up unchanged.
library TraceBuilder {
    function leaves(uint256 jobId, uint256 k, bytes32[] memory states) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](states.length);
        for (uint256 j = 0; j < states.length; ++j) {
            out[j] = TraceCommitment.leaf(jobId, j * k, states[j]);
        }
    }

    function root(bytes32[] memory level) internal pure returns (bytes32) {
        while (level.length > 1) level = up(level);
        return level[0];
    }

    function proof(bytes32[] memory level, uint256 index) internal pure returns (bytes32[] memory siblings) {
        bytes32[] memory buf = new bytes32[](64);
        uint256 count = 0;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) buf[count++] = level[sibling];
            level = up(level);
            index /= 2;
        }
        siblings = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            siblings[i] = buf[i];
        }
    }

    function up(bytes32[] memory level) internal pure returns (bytes32[] memory next) {
        next = new bytes32[]((level.length + 1) / 2);
        for (uint256 i = 0; i < next.length; ++i) {
            next[i] =
                2 * i + 1 < level.length ? Hashes.commutativeKeccak256(level[2 * i], level[2 * i + 1]) : level[2 * i];
        }
    }
}
