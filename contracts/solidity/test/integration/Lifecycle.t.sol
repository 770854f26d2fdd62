// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Audit, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice A whole honest job, from posting to both payouts.
contract LifecycleTest is Base {
    function test_HonestJobPaysWorkerAndVerifier() public {
        (uint256 jobId, Audit memory audit,) = verifiedJob();
        assertEq(uint256(state(jobId)), uint256(JobState.Verified));
        vm.warp(block.timestamp + cfg.challengeWindow + 1);
        market.finalize(jobId, audit);
        assertEq(uint256(state(jobId)), uint256(JobState.Finalized));
        assertEq(market.accountOf(worker).balance, REWARD);
        assertEq(market.accountOf(verifier).balance, SAMPLES * VERIFIER_FEE);
        assertEq(market.accountOf(worker).locked, 0);
        assertConserved(everyone(), one(jobId));

        uint256 before = usdt.balanceOf(worker);
        vm.prank(worker);
        market.withdraw(worker);
        assertEq(usdt.balanceOf(worker) - before, REWARD);
        vm.prank(verifier);
        market.withdraw(verifier);
        assertConserved(everyone(), one(jobId));
    }
}
