// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { Errors } from "../../../src/libraries/Errors.sol";
import { MockUSDT } from "../../../src/mocks/MockUSDT.sol";
import { Account, Unbonding } from "../../../src/types/DataTypes.sol";
import { MarketStore } from "../stores/MarketStore.sol";
import { BaseHandler } from "./BaseHandler.sol";

/// @notice Stakes and payouts (stake, unstake, withdraw, the verifier pool) and the world around the market: time,
/// blocks, USDT's fee switch and blacklist. It owns the MockUSDT.
contract StakingHandler is BaseHandler {
    constructor(MarketStore store_) BaseHandler(store_) { }

    function stake(uint256 actorSeed, uint256 amount, uint256 permitSeed) external instrument("stake") {
        address who = _staker(actorSeed);
        amount = _bound(amount, 1, 2000e6);
        bytes memory data = permitSeed % 4 == 0
            ? abi.encodeCall(market.stakeWithPermit, (amount, block.timestamp, 27, bytes32(0), bytes32(0)))
            : abi.encodeCall(market.stake, (amount));
        if (!_fund(who, amount)) {
            _expectRevert("stake", 0, who, data, MockUSDT.Blacklisted.selector);
            return;
        }
        uint256 received = amount - usdt.feeFor(amount);
        if (received == 0) {
            _expectRevert("stake", 0, who, data, Errors.NothingReceived.selector);
            return;
        }
        Account memory before = market.accountOf(who);
        uint256 weight = market.poolWeight();
        (bool ok,) = _expectOk("stake", 0, who, data);
        if (!ok) return;
        if (market.accountOf(who).stake != before.stake + received) store.violate("stake credited wrong", 0, "");
        if (market.poolWeight() != weight + (before.inPool ? received : 0)) store.violate("pool weight", 0, "");
    }

    function requestUnstake(uint256 actorSeed, uint256 amount) external instrument("requestUnstake") {
        address who = _staker(actorSeed);
        Account memory a = market.accountOf(who);
        uint256 free = a.stake - a.locked;
        if (free == 0) {
            bytes memory none = abi.encodeCall(market.requestUnstake, (1));
            _expectRevert("requestUnstake", 0, who, none, Errors.InsufficientFreeStake.selector);
            return;
        }
        amount = _bound(amount, 1, free);
        _expectOk("requestUnstake", 0, who, abi.encodeCall(market.requestUnstake, (amount)));
    }

    function withdrawUnstaked(uint256 actorSeed, uint256 forceSeed) external instrument("withdrawUnstaked") {
        address who = _staker(actorSeed);
        Unbonding memory u = market.unbondingOf(who);
        address to = _recipient(who, forceSeed >> 8);
        bytes memory data = abi.encodeCall(market.withdrawUnstaked, (to));
        if (u.amount == 0) {
            _expectRevert("withdrawUnstaked", 0, who, data, Errors.NothingToWithdraw.selector);
            return;
        }
        if (block.timestamp < u.releaseAt) {
            if (forceSeed % 8 != 0) {
                _expectRevert("withdrawUnstaked early", 0, who, data, Errors.StillUnbonding.selector);
                return;
            }
            vm.warp(u.releaseAt);
        }
        _payOut("withdrawUnstaked", who, to, data, u.amount);
    }

    function withdraw(uint256 actorSeed, uint256 toSeed) external instrument("withdraw") {
        address who = _staker(actorSeed);
        address to = _recipient(who, toSeed);
        uint256 amount = market.accountOf(who).balance;
        bytes memory data = abi.encodeCall(market.withdraw, (to));
        if (amount == 0) {
            _expectRevert("withdraw", 0, who, data, Errors.NothingToWithdraw.selector);
            return;
        }
        _payOut("withdraw", who, to, data, amount);
    }

    /// @dev Mostly the actor itself; a blacklisted recipient must make the payout revert and leave it owed.
    function _recipient(address who, uint256 seed) private view returns (address) {
        return seed % 4 == 0 ? store.sink() : who;
    }

    function _payOut(string memory what, address who, address to, bytes memory data, uint256 amount) private {
        if (usdt.isBlackListed(to)) {
            _expectRevert(string.concat(what, " to blacklisted"), 0, who, data, MockUSDT.Blacklisted.selector);
            return;
        }
        uint256 before = usdt.balanceOf(address(market));
        uint256 got = usdt.balanceOf(to);
        (bool ok,) = _expectOk(what, 0, who, data);
        if (!ok) return;
        if (before - usdt.balanceOf(address(market)) != amount) store.violate(string.concat(what, " sent"), 0, "");
        if (usdt.balanceOf(to) - got != amount - usdt.feeFor(amount)) {
            store.violate(string.concat(what, " received"), 0, "");
        }
    }

    function joinPool(uint256 actorSeed) external instrument("joinPool") {
        address who = _staker(actorSeed);
        Account memory a = market.accountOf(who);
        bytes memory data = abi.encodeCall(market.joinVerifierPool, ());
        if (a.inPool) {
            _expectRevert("joinPool", 0, who, data, Errors.AlreadyInPool.selector);
        } else if (a.stake < market.minVerifierStake()) {
            _expectRevert("joinPool", 0, who, data, Errors.StakeTooLow.selector);
        } else {
            _expectOk("joinPool", 0, who, data);
        }
    }

    function leavePool(uint256 actorSeed) external instrument("leavePool") {
        address who = _staker(actorSeed);
        bytes memory data = abi.encodeCall(market.leaveVerifierPool, ());
        if (!market.accountOf(who).inPool) {
            _expectRevert("leavePool", 0, who, data, Errors.NotInPool.selector);
        } else {
            _expectOk("leavePool", 0, who, data);
        }
    }

    // ================================================================ the world

    /// @notice Mostly minutes (parties act within their windows), one time in four up to two days.
    function warp(uint256 secondsSeed) external instrument("warp") {
        uint256 most = secondsSeed % 4 == 0 ? 2 days : 30 minutes;
        vm.warp(block.timestamp + _bound(secondsSeed >> 8, 1, most));
    }

    function roll(uint256 blocksSeed) external instrument("roll") {
        vm.roll(block.number + _bound(blocksSeed, 1, 300));
    }

    /// @notice USDT's fee switch: off two times in three, else up to 10% capped at up to 10 USDT per transfer.
    function setFee(uint256 rateSeed, uint256 capSeed) external instrument("setFee") {
        if (rateSeed % 3 != 0) {
            usdt.setParams(0, 0);
            return;
        }
        usdt.setParams(_bound(rateSeed >> 8, 1, usdt.MAX_FEE_BASIS_POINTS()), _bound(capSeed, 0, 10e6));
    }

    /// @notice Flips the blacklist flag of one actor (never the market or the sink).
    function toggleBlacklist(uint256 actorSeed) external instrument("toggleBlacklist") {
        address who = _pickFrom(store.actors(), actorSeed);
        if (usdt.isBlackListed(who)) usdt.removeBlackList(who);
        else usdt.addBlackList(who);
    }
}
