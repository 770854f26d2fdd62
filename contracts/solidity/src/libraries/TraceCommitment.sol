// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { MerkleProof } from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title TraceCommitment
/// @notice The trace commitment of DESIGN.md §3.2 and the audit sampling of §3.3. The Rust twin lives in
/// `contracts/src/trace.rs`; `contracts/test-vectors/merkle.json` holds vectors both sides check.
library TraceCommitment {
    /// @dev Domain tags keep the draws from one seed independent.
    bytes32 internal constant INTERVAL_TAG = keccak256("tern.audit.interval");
    bytes32 internal constant VERIFIER_TAG = keccak256("tern.audit.verifier");
    bytes32 internal constant COMMITTEE_TAG = keccak256("tern.dispute.committee");

    /// @notice leaf_j = keccak256(abi.encode(jobId, step, stateHash)). The step binds the position, so proofs with
    /// OpenZeppelin's commutative hashing cannot move a leaf, and a leaf seen as a sibling cannot pass as a state hash.
    function leaf(uint256 jobId, uint256 step, bytes32 stateHash) internal pure returns (bytes32) {
        return keccak256(abi.encode(jobId, step, stateHash));
    }

    /// @notice Whether checkpoint `j` (the state after j*k steps) with `stateHash` is in the trace under `root`.
    function contains(bytes32 root, uint256 jobId, uint256 k, uint256 j, bytes32 stateHash, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, root, leaf(jobId, j * k, stateHash));
    }

    /// @notice The `s` audited intervals out of `n`, ascending: pairwise non-adjacent, the last (n-1) always included.
    /// @dev Choosing r = s-1 pairwise non-adjacent positions from 0..n-3 is the same as choosing r distinct values
    /// c_0 < ... < c_{r-1} from 0..n-s-1 and taking c_i + i. Values are drawn by rejection:
    /// x = keccak256(abi.encode(seed, INTERVAL_TAG, i, attempt)) mod (n-s), retried while already chosen.
    /// Requires 1 <= s and 2s-1 <= n (checked when the job is created).
    function sampleIntervals(bytes32 seed, uint256 n, uint256 s) internal pure returns (uint256[] memory out) {
        out = new uint256[](s);
        uint256 r = s - 1;
        uint256 range = n - s;
        for (uint256 i = 0; i < r; ++i) {
            uint256 attempt = 0;
            uint256 x;
            while (true) {
                x = uint256(keccak256(abi.encode(seed, INTERVAL_TAG, i, attempt))) % range;
                bool taken = false;
                for (uint256 m = 0; m < i; ++m) {
                    if (out[m] == x) {
                        taken = true;
                        break;
                    }
                }
                if (!taken) break;
                ++attempt;
            }
            // insertion sort keeps out[0..i] ascending
            uint256 p = i;
            while (p > 0 && out[p - 1] > x) {
                out[p] = out[p - 1];
                --p;
            }
            out[p] = x;
        }
        for (uint256 i = 0; i < r; ++i) {
            out[i] += i;
        }
        out[r] = n - 1;
    }
}
