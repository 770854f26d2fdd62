// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Hashes } from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

import { Errors } from "../../src/libraries/Errors.sol";
import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";
import { TraceBuilder } from "../utils/TraceBuilder.sol";

/// @notice A lazy verifier that does not re-run its interval tries to attest with what it can see: the leaves in the
/// Merkle proof the worker hands out, the revealed start state hash, the end leaf, another job's leaf or state hash,
/// an inner node of the tree. The contract derives the leaf from (jobId, step, stateHash) itself, so none of these
/// reach the root: every attempt reverts with InvalidProof, and only the recomputed end state hash is accepted.
contract LazyVerifierAttackTest is Base {
    uint256 internal jobId;
    Audit internal audit;
    bytes32[] internal states;
    bytes32[] internal leaves;
    uint256 internal index; // the sampled interval under attack
    uint256 internal start; // its start checkpoint
    uint256 internal end; // its end checkpoint

    function setUp() public override {
        Base.setUp();
        stakeVerifier(verifier);
        jobId = createAndClaim();
        states = honestStates(jobId);
        audit = startAudit(jobId, submit(jobId, states));
        reveal(jobId, audit, states);
        leaves = TraceBuilder.leaves(jobId, K, states);
        index = 0;
        start = intervals(audit)[index];
        end = start + 1;
    }

    function _attest(bytes32 endStateHash, bytes32[] memory proof) internal {
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = endStateHash;
        bytes32[][] memory proofs = new bytes32[][](1);
        proofs[0] = proof;
        vm.prank(audit.verifiers[index]);
        market.attest(jobId, audit, one(index), hashes, proofs);
    }

    function _expectInvalid() internal {
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidProof.selector, jobId, end));
    }

    function test_SiblingLeafAsStateHash_Reverts() public {
        bytes32[] memory proof = TraceBuilder.proof(leaves, end);
        _expectInvalid();
        _attest(proof[0], proof);
        // Every sibling on the path, not only the first.
        for (uint256 i = 1; i < proof.length; ++i) {
            _expectInvalid();
            _attest(proof[i], proof);
        }
    }

    function test_StartStateHashAsEnd_Reverts() public {
        _expectInvalid();
        _attest(states[start], TraceBuilder.proof(leaves, end));
    }

    /// @notice The revealed start state with its own (valid) proof: the leaf binds the step, so it cannot stand for
    /// the end checkpoint.
    function test_StartStateWithStartProof_Reverts() public {
        _expectInvalid();
        _attest(states[start], TraceBuilder.proof(leaves, start));
    }

    function test_EndLeafAsStateHash_Reverts() public {
        _expectInvalid();
        _attest(leaves[end], TraceBuilder.proof(leaves, end));
    }

    /// @notice An inner node of the tree with the rest of the path: the contract hashes whatever it gets into a leaf,
    /// so a node cannot be passed off as one.
    function test_InnerNodeWithShortProof_Reverts() public {
        bytes32[] memory proof = TraceBuilder.proof(leaves, end);
        bytes32 node = Hashes.commutativeKeccak256(leaves[end], proof[0]);
        bytes32[] memory rest = new bytes32[](proof.length - 1);
        for (uint256 i = 0; i < rest.length; ++i) {
            rest[i] = proof[i + 1];
        }
        _expectInvalid();
        _attest(node, rest);
    }

    /// @notice Another job's trace (same steps, same tree shape) does not help: the job id is in every leaf.
    function test_OtherJobsLeafOrState_Reverts() public {
        uint256 other = createAndClaim();
        bytes32[] memory otherStates = honestStates(other);
        bytes32[] memory otherLeaves = TraceBuilder.leaves(other, K, otherStates);
        _expectInvalid();
        _attest(otherLeaves[end], TraceBuilder.proof(leaves, end));
        _expectInvalid();
        _attest(otherStates[end], TraceBuilder.proof(leaves, end));
        _expectInvalid();
        _attest(otherStates[end], TraceBuilder.proof(otherLeaves, end));
    }

    function test_RecomputedEndState_Attests() public {
        test_SiblingLeafAsStateHash_Reverts();
        _attest(states[end], TraceBuilder.proof(leaves, end));
        assertEq(job(jobId).attestedMask, 1, "only the real end state attests");
        assertEq(uint256(state(jobId)), uint256(JobState.Auditing));
    }
}
