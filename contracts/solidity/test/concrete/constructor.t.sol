// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import { TernMarket } from "../../src/TernMarket.sol";
import { Errors } from "../../src/libraries/Errors.sol";
import { MarketConfig } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

contract Constructor_Concrete_Test is Base {
    function expectInvalid(MarketConfig memory c, string memory reason) internal {
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidConfig.selector, reason));
        new TernMarket(IERC20(address(usdt)), c);
    }

    function test_RevertWhen_TheTokenIsZero() external {
        vm.expectRevert(abi.encodeWithSelector(Errors.ZeroAddress.selector));
        new TernMarket(IERC20(address(0)), cfg);
    }

    function test_RevertWhen_TheAuditDelayIsZero() external {
        MarketConfig memory c = defaultConfig();
        c.auditDelay = 0;
        expectInvalid(c, "auditDelay must be at least one block");
    }

    function test_RevertWhen_TheCommitteeIsEmpty() external {
        MarketConfig memory c = defaultConfig();
        c.committeeSize = 0;
        expectInvalid(c, "committeeSize must be odd and at most 15");
    }

    function test_RevertWhen_TheCommitteeIsEven() external {
        MarketConfig memory c = defaultConfig();
        c.committeeSize = 4;
        expectInvalid(c, "committeeSize must be odd and at most 15");
    }

    function test_RevertWhen_TheCommitteeIsTooLarge() external {
        MarketConfig memory c = defaultConfig();
        c.committeeSize = 17;
        expectInvalid(c, "committeeSize must be odd and at most 15");
    }

    function test_RevertWhen_AWindowIsZero() external {
        for (uint256 w = 0; w < 7; ++w) {
            MarketConfig memory c = defaultConfig();
            if (w == 0) c.auditStartTimeout = 0;
            if (w == 1) c.revealWindow = 0;
            if (w == 2) c.attestWindow = 0;
            if (w == 3) c.challengeWindow = 0;
            if (w == 4) c.commitWindow = 0;
            if (w == 5) c.voteRevealWindow = 0;
            if (w == 6) c.proofWindow = 0;
            expectInvalid(c, "every window and timeout must be non-zero");
        }
    }

    function test_RevertWhen_TheDisputeBondIsZero() external {
        MarketConfig memory c = defaultConfig();
        c.disputeBond = 0;
        expectInvalid(c, "disputeBond and verifierPenalty must be non-zero");
    }

    function test_RevertWhen_TheVerifierPenaltyIsZero() external {
        MarketConfig memory c = defaultConfig();
        c.verifierPenalty = 0;
        expectInvalid(c, "disputeBond and verifierPenalty must be non-zero");
    }

    function test_RevertWhen_UnbondingIsShorterThanAnAssignment() external {
        MarketConfig memory c = defaultConfig();
        uint256 liable = uint256(c.revealWindow) + uint256(c.attestWindow) * (uint256(c.maxReplacementRounds) + 1)
            + c.challengeWindow + c.commitWindow + c.voteRevealWindow + c.proofWindow;
        c.unbondingDelay = uint32(liable - 1);
        expectInvalid(c, "unbondingDelay shorter than an assignment");
        c.unbondingDelay = uint32(liable);
        TernMarket m = new TernMarket(IERC20(address(usdt)), c);
        assertEq(m.unbondingDelay(), liable, "exactly an assignment is enough");
    }

    function test_WhenTheCommitteeIsTheLargest() external {
        MarketConfig memory c = defaultConfig();
        c.committeeSize = 15;
        TernMarket m = new TernMarket(IERC20(address(usdt)), c);
        assertEq(m.getConfig().committeeSize, 15);
    }

    /// @dev Still not checked: a zero minimum stake.
    function test_WhenTheMinimumStakeIsZero() external {
        MarketConfig memory c = defaultConfig();
        c.minVerifierStake = 0;
        TernMarket m = new TernMarket(IERC20(address(usdt)), c);
        assertEq(m.getConfig().minVerifierStake, 0);
    }

    /// @dev The smallest windows and timeouts the checks allow: one second each.
    function test_WhenEveryWindowIsOneSecond() external {
        MarketConfig memory c = defaultConfig();
        c.auditStartTimeout = 1;
        c.revealWindow = 1;
        c.attestWindow = 1;
        c.challengeWindow = 1;
        c.commitWindow = 1;
        c.voteRevealWindow = 1;
        c.proofWindow = 1;
        TernMarket m = new TernMarket(IERC20(address(usdt)), c);
        MarketConfig memory got = m.getConfig();
        assertEq(got.auditStartTimeout, 1);
        assertEq(got.challengeWindow, 1);
        assertEq(got.proofWindow, 1);
    }
}
