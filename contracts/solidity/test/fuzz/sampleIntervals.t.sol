// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../src/libraries/Errors.sol";
import { TraceCommitment } from "../../src/libraries/TraceCommitment.sol";
import { Base } from "../utils/Base.sol";

contract SampleIntervals_Fuzz_Test is Base {
    function boundCounts(uint256 n, uint256 s) internal pure returns (uint256, uint256) {
        s = bound(s, 1, 16);
        n = bound(n, 2 * s - 1, type(uint32).max);
        return (n, s);
    }

    function testFuzz_SampleIntervals_Properties(bytes32 seed, uint256 n, uint256 s) external view {
        (n, s) = boundCounts(n, s);
        uint256[] memory out = market.sampleIntervals(seed, n, s);
        assertEq(out.length, s, "s samples");
        assertEq(out[s - 1], n - 1, "the last interval is always sampled");
        for (uint256 i = 0; i < s; ++i) {
            assertLt(out[i], n, "in range");
            if (i > 0) assertGe(out[i], out[i - 1] + 2, "ascending and pairwise non-adjacent");
        }
        // No revealed start checkpoint is the end checkpoint of another sampled interval.
        for (uint256 i = 0; i < s; ++i) {
            for (uint256 q = 0; q < s; ++q) {
                assertNotEq(out[i], out[q] + 1, "a reveal never discloses another interval's end");
            }
        }
    }

    function testFuzz_SampleIntervals_Deterministic(bytes32 seed, uint256 n, uint256 s) external view {
        (n, s) = boundCounts(n, s);
        uint256[] memory a = market.sampleIntervals(seed, n, s);
        uint256[] memory b = market.sampleIntervals(seed, n, s);
        assertEq(a, b, "same seed, same samples");
        assertEq(a, TraceCommitment.sampleIntervals(seed, n, s), "the view is the library");
    }

    /// @dev Small n: every valid (n, s) pair, so tight packings (n = 2s - 1, 2s) are exercised often.
    function testFuzz_SampleIntervals_SmallN(bytes32 seed, uint256 n, uint256 s) external view {
        s = bound(s, 1, 16);
        n = bound(n, 2 * s - 1, 2 * s + 3);
        uint256[] memory out = market.sampleIntervals(seed, n, s);
        assertEq(out[s - 1], n - 1);
        for (uint256 i = 1; i < s; ++i) {
            assertGe(out[i], out[i - 1] + 2);
        }
        if (n == 2 * s - 1) {
            for (uint256 i = 0; i < s; ++i) {
                assertEq(out[i], 2 * i, "the only packing");
            }
        }
    }

    /// @dev Every non-last interval is reachable: over random seeds the first sample spreads across 0..n-3.
    function testFuzz_SampleIntervals_SeedChangesTheSample(bytes32 seed) external view {
        uint256[] memory a = market.sampleIntervals(seed, 1000, 16);
        uint256[] memory b = market.sampleIntervals(keccak256(abi.encode(seed)), 1000, 16);
        assertNotEq(keccak256(abi.encode(a)), keccak256(abi.encode(b)), "different seeds, different samples");
    }

    function testFuzz_SampleIntervals_RevertWhen_TooManySamples(bytes32 seed, uint256 n, uint256 s) external {
        s = bound(s, 1, 16);
        n = bound(n, 0, 2 * s - 2);
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, s, n));
        market.sampleIntervals(seed, n, s);
    }

    function testFuzz_SampleIntervals_RevertWhen_MoreThanSixteen(bytes32 seed, uint256 n, uint256 s) external {
        s = bound(s, 17, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(Errors.BadSampleCount.selector, s, n));
        market.sampleIntervals(seed, n, s);
    }
}
