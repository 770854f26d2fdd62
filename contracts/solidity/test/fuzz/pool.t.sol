// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import { TernMarket } from "../../src/TernMarket.sol";
import { Audit, MarketConfig } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";

/// @notice The market with the weighted pool's internals exposed.
contract PoolHarness is TernMarket {
    constructor(IERC20 token_, MarketConfig memory c) TernMarket(token_, c) { }

    function poolFind(uint256 x) external view returns (address) {
        return _poolFind(x);
    }

    function slashFree(address account, uint256 amount) external returns (uint256) {
        return _slashFree(account, amount);
    }

    function lock(address account, uint256 amount) external {
        _lock(account, amount);
    }

    function slashLocked(address account, uint256 amount) external {
        _slashLocked(account, amount);
    }
}

/// @notice Random join / leave / stake / unstake / slash sequences keep the Fenwick pool exact.
contract Pool_Fuzz_Test is Base {
    PoolHarness internal pool;
    address[] internal actors;

    function setUp() public override {
        super.setUp();
        pool = new PoolHarness(IERC20(address(usdt)), cfg);
        market = pool;
        address[8] memory list = [requester, worker, verifier, alice, bob, carol, dave, eve];
        for (uint256 i = 0; i < list.length; ++i) {
            actors.push(list[i]);
            vm.prank(list[i]);
            usdt.approve(address(pool), 0);
            vm.prank(list[i]);
            usdt.approve(address(pool), type(uint256).max);
        }
    }

    /// @notice Applies one operation, skipping what would be refused.
    function step(uint256 r) internal {
        address who = actors[r % actors.length];
        uint256 op = (r >> 8) % 7;
        uint256 amount = bound(r >> 16, 1, 2000 * USDT);
        (uint72 stake, uint72 locked,,, bool inPool) = unpack(who);
        uint256 free = stake - locked;
        if (op == 0) {
            vm.prank(who);
            pool.stake(amount);
        } else if (op == 1) {
            if (inPool || stake < cfg.minVerifierStake) return;
            vm.prank(who);
            pool.joinVerifierPool();
        } else if (op == 2) {
            if (!inPool) return;
            vm.prank(who);
            pool.leaveVerifierPool();
        } else if (op == 3) {
            if (free == 0) return;
            vm.prank(who);
            pool.requestUnstake(bound(amount, 1, free));
        } else if (op == 4) {
            pool.slashFree(who, amount); // free stake, then unbonding
        } else if (op == 5) {
            if (free == 0) return;
            pool.lock(who, bound(amount, 1, free));
        } else {
            if (locked == 0) return;
            pool.slashLocked(who, bound(amount, 1, locked));
        }
    }

    function unpack(address who) internal view returns (uint72, uint72, uint72, uint32, bool) {
        return (
            pool.accountOf(who).stake,
            pool.accountOf(who).locked,
            pool.accountOf(who).balance,
            pool.accountOf(who).poolIndex,
            pool.accountOf(who).inPool
        );
    }

    /// @notice poolWeight is the sum of members' stakes, and weight position x belongs to the member whose
    /// cumulative range (in pool order) holds x.
    function checkPool(uint256 r) internal view {
        address[] memory members = pool.poolMembers();
        uint256 sum = 0;
        for (uint256 i = 0; i < members.length; ++i) {
            assertEq(pool.accountOf(members[i]).poolIndex, i + 1, "pool index");
            if (pool.accountOf(members[i]).inPool) sum += pool.accountOf(members[i]).stake;
        }
        assertEq(pool.poolWeight(), sum, "poolWeight = sum of members' stakes");
        if (sum == 0) return;
        for (uint256 t = 0; t < 4; ++t) {
            uint256 x = uint256(keccak256(abi.encode(r, t))) % sum;
            if (t == 1) x = 0;
            if (t == 2) x = sum - 1;
            address found = pool.poolFind(x);
            assertTrue(pool.accountOf(found).inPool, "a drawn verifier is a member");
            assertGt(pool.accountOf(found).stake, 0, "with stake");
            uint256 below = 0;
            for (uint256 i = 0; i < members.length; ++i) {
                if (members[i] == found) break;
                if (pool.accountOf(members[i]).inPool) below += pool.accountOf(members[i]).stake;
            }
            assertLe(below, x, "x is at or after the member's range start");
            assertLt(x, below + pool.accountOf(found).stake, "x is before its range end");
        }
    }

    function testFuzz_Pool_RandomSequences(uint256 seed, uint8 length) external {
        uint256 n = bound(length, 1, 48);
        for (uint256 k = 0; k < n; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            step(r);
            checkPool(r);
        }
    }

    /// @dev Mostly joins and leaves, so members enter the tree at every size (appends at non-power-of-two indexes).
    function testFuzz_Pool_JoinLeaveOrder(uint256 seed) external {
        for (uint256 i = 0; i < actors.length; ++i) {
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, "stake", i))), cfg.minVerifierStake, 5000 * USDT);
            stakeAs(actors[i], amount);
        }
        for (uint256 k = 0; k < 24; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            address who = actors[r % actors.length];
            bool member = pool.accountOf(who).inPool;
            vm.prank(who);
            if (member) pool.leaveVerifierPool();
            else pool.joinVerifierPool();
            checkPool(r);
        }
    }

    /// @dev Through the market: the verifiers an audit draws are members with stake, never the worker or requester.
    function testFuzz_Pool_AuditDrawsMembers(uint256 seed) external {
        for (uint256 k = 0; k < 24; ++k) {
            step(uint256(keccak256(abi.encode(seed, k))));
        }
        // Give the pool most of its weight outside the worker and the requester, so the draw cannot miss.
        usdt.mint(verifier, 1e9 * USDT);
        stakeAs(verifier, 1e9 * USDT);
        if (!pool.accountOf(verifier).inPool) {
            vm.prank(verifier);
            pool.joinVerifierPool();
        }
        checkPool(seed);
        (, Audit memory audit,) = auditingJob();
        for (uint256 i = 0; i < audit.verifiers.length; ++i) {
            address v = audit.verifiers[i];
            assertTrue(pool.accountOf(v).inPool, "a member");
            assertGt(pool.accountOf(v).stake, 0, "with stake");
            assertNotEq(v, worker);
            assertNotEq(v, requester);
        }
    }
}
