// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { TraceBuilder } from "../../utils/TraceBuilder.sol";

/// @notice A stand-in for training in invariant tests: the true trace of a job, the true result of re-running an
/// interval from any start state, and the traces a cheating worker commits instead.
/// @dev The honest state hashes and adapter hash are the ones `Base.honestStates` and `Base.submit` use.
library TraceModel {
    /// @notice What a worker commits.
    enum Kind {
        Honest, // the true trace and adapter
        FakeWindow, // checkpoints c..d-1 invented, honest again from d (1 <= c < d <= n): intervals c-1..d-1 wrong
        FakeTail, // checkpoints c..n invented and an adapter exported from the invented final state
        BadAdapter // the true trace, a wrong adapter hash: only the last interval's adapter check catches it
    }

    uint256 internal constant KINDS = 4;

    function honest(uint256 jobId, uint256 j) internal pure returns (bytes32) {
        return keccak256(abi.encode("state", jobId, j));
    }

    /// @notice The true state hash after re-running interval `j` (steps j*k..(j+1)*k) from the state hashed `start`.
    function step(uint256 jobId, uint256 j, bytes32 start) internal pure returns (bytes32) {
        if (start == honest(jobId, j)) return honest(jobId, j + 1);
        return keccak256(abi.encode("off-trace", jobId, j, start));
    }

    /// @notice The adapter exported from a final state.
    function adapter(bytes32 finalState) internal pure returns (bytes32) {
        return keccak256(abi.encode("adapter", finalState));
    }

    /// @notice The committed trace (n + 1 checkpoint hashes) and adapter hash of a worker of `kind`; `seed` places the
    /// invented checkpoints.
    function build(uint256 jobId, uint256 n, Kind kind, uint256 seed)
        internal
        pure
        returns (bytes32[] memory states, bytes32 adapterHash)
    {
        states = new bytes32[](n + 1);
        for (uint256 j = 0; j <= n; ++j) {
            states[j] = honest(jobId, j);
        }
        uint256 from = n + 1;
        uint256 to = n + 1;
        if (kind == Kind.FakeWindow && n >= 2) {
            from = 1 + seed % (n - 1); // 1..n-1
            to = from + 1 + (seed >> 8) % (n - from); // from+1..n
        } else if (kind == Kind.FakeTail) {
            from = 1 + seed % n; // 1..n
            to = n + 1;
        }
        for (uint256 j = from; j < to; ++j) {
            states[j] = keccak256(abi.encode("invented", jobId, j));
        }
        adapterHash = kind == Kind.BadAdapter ? keccak256(abi.encode("bad adapter", jobId)) : adapter(states[n]);
    }

    function root(uint256 jobId, uint256 k, bytes32[] memory states) internal pure returns (bytes32) {
        return TraceBuilder.root(TraceBuilder.leaves(jobId, k, states));
    }

    function proof(uint256 jobId, uint256 k, bytes32[] memory states, uint256 checkpoint)
        internal
        pure
        returns (bytes32[] memory)
    {
        return TraceBuilder.proof(TraceBuilder.leaves(jobId, k, states), checkpoint);
    }
}
