// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { MerkleProof } from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import { TraceCommitment } from "../../src/libraries/TraceCommitment.sol";
import { Base } from "../utils/Base.sol";
import { TraceBuilder } from "../utils/TraceBuilder.sol";

/// @notice The trace commitment vectors the Rust side generates (contracts/test-vectors/merkle.json, DESIGN.md
/// §3.2) hold in Solidity: leaves, root, and every proof, through the library, the test tree builder, OpenZeppelin's
/// MerkleProof and the market's `traceLeaf`.
contract MerkleVectorsTest is Base {
    string internal constant PATH = "test-vectors/merkle.json";

    struct Case {
        string name;
        uint256 jobId;
        uint256 k;
        uint256 n;
        bytes32[] stateHashes;
        bytes32[] leaves;
        bytes32 root;
        bytes32[] proofs;
        uint256[] proofLengths;
    }

    function _json() internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/", PATH));
    }

    function _case(string memory json, uint256 i) internal pure returns (Case memory c) {
        string memory key = string.concat(".cases[", vm.toString(i), "]");
        c.name = vm.parseJsonString(json, string.concat(key, ".name"));
        c.jobId = uint256(vm.parseJsonBytes32(json, string.concat(key, ".jobId")));
        c.k = vm.parseJsonUint(json, string.concat(key, ".k"));
        c.n = vm.parseJsonUint(json, string.concat(key, ".n"));
        c.stateHashes = vm.parseJsonBytes32Array(json, string.concat(key, ".stateHashes"));
        c.leaves = vm.parseJsonBytes32Array(json, string.concat(key, ".leaves"));
        c.root = vm.parseJsonBytes32(json, string.concat(key, ".root"));
        c.proofLengths = vm.parseJsonUintArray(json, string.concat(key, ".proofLengths"));
        uint256 total = 0;
        for (uint256 j = 0; j < c.proofLengths.length; ++j) {
            total += c.proofLengths[j];
        }
        // An empty JSON array carries no element type; skip parsing it.
        c.proofs = total == 0 ? new bytes32[](0) : vm.parseJsonBytes32Array(json, string.concat(key, ".proofs"));
        assertEq(c.proofs.length, total, string.concat(c.name, ": proofs length != sum of proofLengths"));
    }

    function test_VectorsArePresent() public view {
        string memory json = _json();
        uint256 count = vm.parseJsonUint(json, ".caseCount");
        assertGt(count, 0, "no cases");
        for (uint256 i = 0; i < count; ++i) {
            Case memory c = _case(json, i);
            assertEq(c.stateHashes.length, c.n, string.concat(c.name, ": n state hashes"));
            assertEq(c.leaves.length, c.n, string.concat(c.name, ": n leaves"));
            assertEq(c.proofLengths.length, c.n, string.concat(c.name, ": n proofs"));
        }
    }

    function test_LeavesMatchTraceCommitment() public view {
        string memory json = _json();
        uint256 count = vm.parseJsonUint(json, ".caseCount");
        for (uint256 i = 0; i < count; ++i) {
            Case memory c = _case(json, i);
            for (uint256 j = 0; j < c.n; ++j) {
                bytes32 leaf = TraceCommitment.leaf(c.jobId, j * c.k, c.stateHashes[j]);
                assertEq(leaf, c.leaves[j], string.concat(c.name, ": leaf ", vm.toString(j)));
                assertEq(market.traceLeaf(c.jobId, j * c.k, c.stateHashes[j]), leaf, "market.traceLeaf");
                assertEq(leaf, keccak256(abi.encode(c.jobId, j * c.k, c.stateHashes[j])), "DESIGN.md leaf rule");
            }
        }
    }

    function test_RootMatchesTraceBuilder() public view {
        string memory json = _json();
        uint256 count = vm.parseJsonUint(json, ".caseCount");
        for (uint256 i = 0; i < count; ++i) {
            Case memory c = _case(json, i);
            assertEq(TraceBuilder.root(c.leaves), c.root, string.concat(c.name, ": root"));
        }
    }

    function test_EveryProofVerifies() public view {
        string memory json = _json();
        uint256 count = vm.parseJsonUint(json, ".caseCount");
        for (uint256 i = 0; i < count; ++i) {
            Case memory c = _case(json, i);
            uint256 offset = 0;
            for (uint256 j = 0; j < c.n; ++j) {
                bytes32[] memory proof = new bytes32[](c.proofLengths[j]);
                for (uint256 q = 0; q < proof.length; ++q) {
                    proof[q] = c.proofs[offset + q];
                }
                offset += proof.length;
                string memory what = string.concat(c.name, ": proof ", vm.toString(j));
                assertTrue(MerkleProof.verify(proof, c.root, c.leaves[j]), what);
                assertEq(proof, TraceBuilder.proof(c.leaves, j), string.concat(what, " differs from TraceBuilder"));
                // The proof is for this position only: another leaf does not verify with it (n > 1).
                if (c.n > 1) {
                    assertFalse(MerkleProof.verify(proof, c.root, c.leaves[(j + 1) % c.n]), what);
                }
            }
        }
    }
}
