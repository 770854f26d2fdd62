// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import { IERC20 } from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import { TernMarket } from "../../src/TernMarket.sol";
import { Account, DisputeOutcome, Job, JobState } from "../../src/types/DataTypes.sol";
import { Base } from "../utils/Base.sol";
import { DeadlineDriver } from "./handlers/DeadlineDriver.sol";
import { DisputeHandler } from "./handlers/DisputeHandler.sol";
import { MarketHandler } from "./handlers/MarketHandler.sol";
import { StakingHandler } from "./handlers/StakingHandler.sol";
import { MarketStore } from "./stores/MarketStore.sol";
import { Console } from "./utils/Console.sol";

/// @notice Invariants of TernMarket under random sequences of every public call by requesters, workers, verifiers
/// and an outsider (see README.md in this folder for each invariant in words). Forge calls only the handlers.
contract InvariantTest is Base {
    MarketStore internal store;
    MarketHandler internal marketHandler;
    DisputeHandler internal disputeHandler;
    StakingHandler internal stakingHandler;
    DeadlineDriver internal driver;

    function setUp() public override {
        Base.setUp();
        // Windows of comparable length, so that one job's deadline warp does not end every other job's window.
        cfg.revealWindow = 6 hours;
        cfg.attestWindow = 6 hours;
        cfg.challengeWindow = 12 hours;
        cfg.commitWindow = 6 hours;
        cfg.voteRevealWindow = 6 hours;
        cfg.proofWindow = 6 hours;
        market = new TernMarket(IERC20(address(usdt)), cfg);
        store = new MarketStore(market, usdt);
        disputeHandler = new DisputeHandler(store);
        marketHandler = new MarketHandler(store, disputeHandler);
        stakingHandler = new StakingHandler(store);
        driver = new DeadlineDriver(store);
        usdt.transferOwnership(address(stakingHandler));

        address[] memory actors = store.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            usdt.mint(actors[i], FUNDS);
            vm.prank(actors[i]);
            usdt.approve(address(market), type(uint256).max);
        }
        address[] memory verifiers = store.verifiers();
        for (uint256 i = 0; i < verifiers.length; ++i) {
            stakeVerifier(verifiers[i]);
        }
        address[] memory workers = store.workers();
        for (uint256 i = 0; i < workers.length; ++i) {
            stakeAs(workers[i], 500 * USDT);
        }
        store.noteMoney(0, usdt.balanceOf(address(market)));

        targetContract(address(marketHandler));
        targetContract(address(disputeHandler));
        targetContract(address(stakingHandler));
        targetSelector(FuzzSelector(address(marketHandler), _marketSelectors()));
        targetSelector(FuzzSelector(address(disputeHandler), _disputeSelectors()));
        targetSelector(FuzzSelector(address(stakingHandler), _stakingSelectors()));
        excludeSender(address(market));
        excludeSender(address(usdt));
    }

    function _marketSelectors() internal view returns (bytes4[] memory s) {
        s = new bytes4[](12);
        s[0] = marketHandler.createJob.selector;
        s[1] = marketHandler.cancelJob.selector;
        s[2] = marketHandler.claimJob.selector;
        s[3] = marketHandler.submitResult.selector;
        s[4] = marketHandler.revealCheckpoints.selector;
        s[5] = marketHandler.startAudit.selector;
        s[6] = marketHandler.replaceVerifiers.selector;
        s[7] = marketHandler.finalize.selector;
        s[8] = marketHandler.expireJob.selector;
        s[9] = marketHandler.attest.selector;
        s[10] = marketHandler.meddle.selector;
        s[11] = marketHandler.advance.selector;
    }

    function _disputeSelectors() internal view returns (bytes4[] memory s) {
        s = new bytes4[](6);
        s[0] = disputeHandler.dispute.selector;
        s[1] = disputeHandler.drawCommittee.selector;
        s[2] = disputeHandler.commitVote.selector;
        s[3] = disputeHandler.revealVote.selector;
        s[4] = disputeHandler.resolveDispute.selector;
        s[5] = disputeHandler.advanceDispute.selector;
    }

    function _stakingSelectors() internal view returns (bytes4[] memory s) {
        s = new bytes4[](10);
        s[0] = stakingHandler.stake.selector;
        s[1] = stakingHandler.requestUnstake.selector;
        s[2] = stakingHandler.withdrawUnstaked.selector;
        s[3] = stakingHandler.withdraw.selector;
        s[4] = stakingHandler.joinPool.selector;
        s[5] = stakingHandler.leavePool.selector;
        s[6] = stakingHandler.warp.selector;
        s[7] = stakingHandler.roll.selector;
        s[8] = stakingHandler.setFee.selector;
        s[9] = stakingHandler.toggleBlacklist.selector;
    }

    // ================================================================ invariants

    /// @notice The market holds exactly what it owes: escrow of live jobs plus every actor's stake, unbonding stake
    /// and withdrawable balance.
    function invariant_MarketHoldsWhatItOwes() public view {
        uint256 owed = 0;
        uint256[] memory ids = store.jobIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            owed += market.escrowOf(ids[i]);
        }
        address[] memory actors = store.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            Account memory a = market.accountOf(actors[i]);
            owed += uint256(a.stake) + a.balance + market.unbondingOf(actors[i]).amount;
        }
        assertEq(usdt.balanceOf(address(market)), owed, "market balance != escrow + stakes + unbonding + balances");
    }

    /// @notice Tokens that arrived minus tokens sent out equal the market's balance: nothing else moves its money.
    function invariant_GhostMoneyMatchesBalance() public view {
        assertEq(store.moneyIn() - store.moneyOut(), usdt.balanceOf(address(market)), "deposits - withdrawals");
    }

    /// @notice Per job: credits paid for it plus the escrow it still holds equal the deposit plus what was slashed in
    /// its calls; escrow is the whole deposit while live and zero once terminal.
    function invariant_JobMoneyBalances() public view {
        uint256[] memory ids = store.jobIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            (uint256 deposit, uint256 credited, uint256 slashed,,) = store.jobMoney(ids[i]);
            uint256 escrow = market.escrowOf(ids[i]);
            assertEq(credited + escrow, deposit + slashed, "job credits + escrow != deposit + slashed");
            bool terminal = market.getJob(ids[i]).state >= JobState.Finalized;
            assertEq(escrow, terminal ? 0 : deposit, "escrow");
        }
    }

    /// @notice Locked stake never exceeds stake, and it is exactly the worker bonds of live claimed jobs plus the
    /// dispute bonds of open disputes.
    function invariant_LockedIsBonds() public view {
        address[] memory actors = store.actors();
        uint256[] memory ids = store.jobIds();
        for (uint256 a = 0; a < actors.length; ++a) {
            Account memory acc = market.accountOf(actors[a]);
            assertLe(acc.locked, acc.stake, "locked > stake");
            uint256 bonds = 0;
            for (uint256 i = 0; i < ids.length; ++i) {
                Job memory j = market.getJob(ids[i]);
                bool live = j.state >= JobState.Claimed && j.state <= JobState.Disputed;
                if (live && j.worker == actors[a]) bonds += j.workerBond;
                if (j.state == JobState.Disputed && store.challengerOf(ids[i]) == actors[a]) {
                    bonds += market.getConfig().disputeBond;
                }
            }
            assertEq(acc.locked, bonds, "locked != bonds");
        }
    }

    /// @notice The pool's weight is the sum of the stakes of the actors in the pool.
    function invariant_PoolWeightIsInPoolStake() public view {
        address[] memory actors = store.actors();
        uint256 sum = 0;
        for (uint256 i = 0; i < actors.length; ++i) {
            Account memory a = market.accountOf(actors[i]);
            if (a.inPool) sum += a.stake;
        }
        assertEq(market.poolWeight(), sum, "poolWeight");
    }

    /// @notice No job pays twice: at most one Finalized transition and one reward credit per job, and a reward credit
    /// exactly for the Finalized ones.
    function invariant_NoJobPaysTwice() public view {
        uint256[] memory ids = store.jobIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            (,,, uint256 rewardPayouts, uint256 finalizations) = store.jobMoney(ids[i]);
            assertLe(finalizations, 1, "finalized twice");
            assertLe(rewardPayouts, 1, "reward paid twice");
            bool finalized = market.getJob(ids[i]).state == JobState.Finalized;
            assertEq(rewardPayouts, finalized ? 1 : 0, "reward paid iff finalized");
        }
    }

    /// @notice Every transition follows the lifecycle and terminal states never change (checked by the store after
    /// every action); every draw comes from the pool, sampling follows its rules, and every honest action succeeded
    /// while every forbidden one was refused with the right error.
    function invariant_HandlersSawNoViolation() public view {
        assertEq(store.violations(), 0, store.firstViolation());
    }

    /// @notice From the current state, deadline transitions that anyone may call bring every job to a terminal state;
    /// then no stake is locked and everyone can take everything out. Run on a snapshot.
    function invariant_EveryJobCanEnd() public {
        uint256 before = store.violations();
        uint256 snapshot = vm.snapshotState();
        bool settled = driver.settleAll();
        bool drained = settled && driver.drainAll();
        string memory why = driver.failure();
        uint256 violations = store.violations() - before;
        string memory first = store.firstViolation();
        vm.revertToState(snapshot);
        assertTrue(settled, why);
        assertTrue(drained, why);
        assertEq(violations, 0, string.concat("settling broke an invariant: ", first));
    }

    function afterInvariant() public view {
        _printSummary();
    }

    // ================================================================ a deterministic campaign

    struct Tally {
        uint256 calls;
        uint256 jobs;
        uint256 finalized;
        uint256 slashed;
        uint256 refunded;
        uint256 expired;
        uint256 honest;
        uint256 cheated;
        uint256 undecided;
        uint256 replacements;
        uint256 auditReanchors;
        uint256 staleSlashes;
        uint256 disputeReanchors;
        uint256 copiesRefused;
        uint256 forgedRefused;
    }

    /// @notice Runs seeded random sequences through the same handlers, checks every invariant after every call,
    /// and requires that the campaign reached the deep states (Finalized, Slashed, every dispute outcome, verifier
    /// replacement, re-anchoring, refused copies and forgeries). A campaign that stays shallow fails here.
    function test_Campaign_ReachesDeepStates() public {
        vm.pauseGasMetering(); // thousands of calls in one test: more than a block's gas
        (address[] memory targets, bytes4[] memory selectors) = _targets();
        uint256 lifecycle = _marketSelectors().length + _disputeSelectors().length;
        Tally memory t;
        for (uint256 run = 0; run < 16; ++run) {
            uint256 snapshot = vm.snapshotState();
            for (uint256 step = 0; step < 160; ++step) {
                uint256 r = uint256(keccak256(abi.encode("campaign", run, step)));
                uint256 pick = _weighted(r, lifecycle, targets.length);
                // An external call per step, so that each step's memory is freed.
                this.campaignStep(targets[pick], selectors[pick], r);
            }
            this.invariant_EveryJobCanEnd();
            _tally(t);
            vm.revertToState(snapshot);
        }
        Console.log("campaign: handler calls", t.calls);
        Console.log("campaign: jobs created", t.jobs);
        Console.log("campaign: jobs finalized", t.finalized);
        Console.log("campaign: jobs slashed", t.slashed);
        Console.log("campaign: jobs refunded", t.refunded);
        Console.log("campaign: jobs expired", t.expired);
        Console.log("campaign: disputes, worker honest", t.honest);
        Console.log("campaign: disputes, worker cheated", t.cheated);
        Console.log("campaign: disputes, undecided", t.undecided);
        Console.log("campaign: verifiers replaced", t.replacements);
        Console.log("campaign: audits re-anchored (empty pool)", t.auditReanchors);
        Console.log("campaign: workers slashed for an aged-out anchor", t.staleSlashes);
        Console.log("campaign: disputes re-anchored", t.disputeReanchors);
        Console.log("campaign: copied votes refused", t.copiesRefused);
        Console.log("campaign: forged attestations refused", t.forgedRefused);
        assertGt(t.finalized, 0, "no job finalized");
        assertGt(t.slashed, 0, "no job slashed");
        assertGt(t.refunded, 0, "no job refunded");
        assertGt(t.expired, 0, "no job expired");
        assertGt(t.honest, 0, "no dispute found the worker honest");
        assertGt(t.cheated, 0, "no dispute found the worker cheating");
        assertGt(t.undecided, 0, "no undecided dispute");
        assertGt(t.replacements, 0, "no verifier replaced");
        assertGt(t.staleSlashes, 0, "no worker slashed for an aged-out anchor");
        assertGt(t.copiesRefused, 0, "no copied vote refused");
        assertGt(t.forgedRefused, 0, "no forged attestation refused");
    }

    /// @notice One step of the campaign: a handler action, then every invariant.
    function campaignStep(address target, bytes4 selector, uint256 r) external {
        (bool ok,) = target.call(
            abi.encodeWithSelector(
                selector,
                uint256(keccak256(abi.encode(r, 1))),
                uint256(keccak256(abi.encode(r, 2))),
                uint256(keccak256(abi.encode(r, 3))),
                uint256(keccak256(abi.encode(r, 4)))
            )
        );
        assertTrue(ok, "handler reverted");
        _checkAll();
    }

    /// @dev Lifecycle and dispute actions twice as likely as staking and world actions, so that jobs go deep.
    function _weighted(uint256 r, uint256 lifecycle, uint256 n) internal pure returns (uint256) {
        uint256 x = r % (2 * lifecycle + (n - lifecycle));
        return x < 2 * lifecycle ? x / 2 : x - lifecycle;
    }

    function _targets() internal view returns (address[] memory targets, bytes4[] memory selectors) {
        bytes4[] memory m = _marketSelectors();
        bytes4[] memory d = _disputeSelectors();
        bytes4[] memory s = _stakingSelectors();
        targets = new address[](m.length + d.length + s.length);
        selectors = new bytes4[](targets.length);
        uint256 k = 0;
        for (uint256 i = 0; i < m.length; ++i) {
            (targets[k], selectors[k++]) = (address(marketHandler), m[i]);
        }
        for (uint256 i = 0; i < d.length; ++i) {
            (targets[k], selectors[k++]) = (address(disputeHandler), d[i]);
        }
        for (uint256 i = 0; i < s.length; ++i) {
            (targets[k], selectors[k++]) = (address(stakingHandler), s[i]);
        }
    }

    function _checkAll() internal view {
        invariant_MarketHoldsWhatItOwes();
        invariant_GhostMoneyMatchesBalance();
        invariant_JobMoneyBalances();
        invariant_LockedIsBonds();
        invariant_PoolWeightIsInPoolStake();
        invariant_NoJobPaysTwice();
        invariant_HandlersSawNoViolation();
    }

    function _tally(Tally memory t) internal view {
        t.calls += marketHandler.totalCalls() + disputeHandler.totalCalls() + stakingHandler.totalCalls();
        t.jobs += store.jobCount();
        t.finalized += store.reached(JobState.Finalized);
        t.slashed += store.reached(JobState.Slashed);
        t.refunded += store.reached(JobState.Refunded);
        t.expired += store.reached(JobState.Expired);
        t.honest += store.outcomes(DisputeOutcome.WorkerHonest);
        t.cheated += store.outcomes(DisputeOutcome.WorkerCheated);
        t.undecided += store.outcomes(DisputeOutcome.Undecided);
        t.replacements += store.replacements();
        t.auditReanchors += store.auditReanchors();
        t.staleSlashes += store.hits("startAudit stale (worker slashed)");
        t.disputeReanchors += store.disputeReanchors();
        t.copiesRefused += store.hits("revealVote copied (refused)");
        t.forgedRefused += store.hits("attest forged (refused)");
    }

    // ================================================================ summary

    function _printSummary() internal view {
        Console.log("jobs", store.jobCount());
        Console.log("reached Finalized", store.reached(JobState.Finalized));
        Console.log("reached Slashed", store.reached(JobState.Slashed));
        Console.log("reached Refunded", store.reached(JobState.Refunded));
        Console.log("reached Expired", store.reached(JobState.Expired));
        Console.log("reached Disputed", store.reached(JobState.Disputed));
        Console.log("disputes worker honest", store.outcomes(DisputeOutcome.WorkerHonest));
        Console.log("disputes worker cheated", store.outcomes(DisputeOutcome.WorkerCheated));
        Console.log("disputes undecided", store.outcomes(DisputeOutcome.Undecided));
        string[] memory names = store.hitNames();
        for (uint256 i = 0; i < names.length; ++i) {
            Console.log(string.concat("ok: ", names[i]), store.hits(names[i]));
        }
    }
}
