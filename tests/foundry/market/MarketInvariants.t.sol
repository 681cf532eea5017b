// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EnergyMarket} from "../../../contracts/EnergyMarket.sol";
import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "../../../contracts/interfaces/IEnergyToken.sol";
import {IMeterRegistry} from "../../../contracts/interfaces/IMeterRegistry.sol";
import {MeterRegistry} from "../../../contracts/MeterRegistry.sol";
import {TestEuro} from "../../../contracts/test/TestEuro.sol";
import {MarketHandler} from "./MarketHandler.sol";
import {MarketInvariantsBase} from "./MarketInvariantsBase.sol";

/// @title MarketInvariantsTest
/// @notice Handler-based invariants of the whole system (docs/contracts.md section 12), checked by forge after
/// every call of a random sequence of {MarketHandler} actions. foundry.toml sets runs x depth: a few thousand calls
/// per invariant in `make test`, at least 100,000 in `make audit`.
contract MarketInvariantsTest is MarketInvariantsBase {
    MarketHandler internal handler;
    EnergyMarket internal market;
    MeterRegistry internal registry;
    IEnergyToken internal token;
    TestEuro internal euro;

    function setUp() public {
        handler = new MarketHandler();
        market = handler.market();
        registry = handler.registry();
        token = handler.token();
        euro = handler.euro();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](23);
        selectors[0] = MarketHandler.deposit.selector;
        selectors[1] = MarketHandler.withdraw.selector;
        selectors[2] = MarketHandler.depositEnergy.selector;
        selectors[3] = handler.withdrawEnergy.selector;
        selectors[4] = MarketHandler.readMeter.selector;
        selectors[5] = MarketHandler.redeem.selector;
        selectors[6] = MarketHandler.transferTokens.selector;
        selectors[7] = MarketHandler.placeOrder.selector;
        selectors[8] = MarketHandler.placeOrders.selector;
        selectors[9] = MarketHandler.cancelOrder.selector;
        selectors[10] = MarketHandler.clear.selector;
        selectors[11] = MarketHandler.claim.selector;
        selectors[12] = MarketHandler.claimBatch.selector;
        selectors[13] = MarketHandler.agentPlaceOrder.selector;
        selectors[14] = MarketHandler.setAgent.selector;
        selectors[15] = MarketHandler.pauseMarket.selector;
        selectors[16] = MarketHandler.pauseRegistry.selector;
        selectors[17] = MarketHandler.setFee.selector;
        selectors[18] = MarketHandler.warp.selector;
        selectors[19] = MarketHandler.sellMeteredEnergy.selector;
        selectors[21] = MarketHandler.submitBadReading.selector;
        selectors[22] = MarketHandler.rotateMeterKey.selector;
        // Trading matters most: a second entry doubles its share of the calls.
        selectors[20] = MarketHandler.placeOrder.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---- money -----------------------------------------------------------------------------------------------

    /// @notice Money, exact: the market holds what was deposited minus what was withdrawn, and that equals every
    /// vault balance + the escrow of resting buys and of unclaimed buys of cleared slots + what claimed buyers paid
    /// less what claimed sellers were paid (net + fees).
    function invariant_moneyIsConserved() public view {
        uint256 held = euro.balanceOf(address(market));
        vm.assertEq(held, handler.ghostDeposited() - handler.ghostWithdrawn(), "held == deposits - withdrawals");
        uint256 owed = _vaultBalances() + handler.ghostBuyEscrow() + handler.ghostOwedMoney();
        vm.assertEq(int256(held), int256(owed) + handler.ghostMoneyPool(), "held == owed + claimed pools");
    }

    /// @notice Rounding dust is bounded (audit L-1): once every order of a cleared slot is claimed, what its buyers
    /// paid beyond what its sellers were paid is >= 0 (solvency) and below one base unit per filled order, and the
    /// Wh its sellers gave equal the Wh its buyers received exactly.
    function invariant_settledSlotsKeepBoundedDust() public view {
        for (uint256 s; s < handler.slotCount(); ++s) {
            uint64 slot = handler.slotAt(s);
            if (!handler.slotCleared(slot) || handler.ghostUnclaimed(slot) != 0) continue;
            int256 dust = handler.ghostSlotMoneyPool(slot);
            uint256 filled = handler.ghostFilledOrders(slot);
            vm.assertGe(dust, int256(0), "money dust >= 0: buyers paid at least what sellers got");
            vm.assertLt(uint256(dust), filled == 0 ? 1 : filled, "money dust < 1 unit per filled order");
            vm.assertEq(handler.ghostEnergyPool(slot), int256(0), "no Wh owned by nobody");
        }
    }

    // ---- energy ----------------------------------------------------------------------------------------------

    /// @notice Energy per slot, exact: the market holds the tokens that came in minus those that went out, and
    /// that equals the vault balances + the escrow of resting sells and of unclaimed sells of the cleared slot +
    /// the Wh its claimed sellers gave less the Wh its claimed buyers received.
    function invariant_energyIsConserved() public view {
        for (uint256 s; s < handler.slotCount(); ++s) {
            uint64 slot = handler.slotAt(s);
            uint256 held = token.balanceOf(address(market), slot);
            vm.assertEq(held, handler.ghostEnergyIn(slot) - handler.ghostEnergyOut(slot), "held == in - out");
            uint256 owed = handler.ghostSellEscrowWh(slot) + handler.ghostOwedWh(slot);
            for (uint256 i; i < handler.userCount(); ++i) {
                owed += market.energyBalanceOf(handler.userAt(i), slot);
            }
            vm.assertEq(int256(held), int256(owed) + handler.ghostEnergyPool(slot), "Wh held == Wh owed + pool");
        }
    }

    // ---- meters and tokens -----------------------------------------------------------------------------------

    /// @notice Every token comes from a metered export: per slot, supply = minted - redeemed = the balances of all
    /// holders; the registry's totals equal the accepted deltas (attributed + unattributed); redemptions never
    /// exceed the holder's import; each meter's last seq counts its accepted readings.
    function invariant_tokensFollowTheMeters() public view {
        uint256 mintedTotal;
        for (uint256 s; s < handler.slotCount(); ++s) {
            uint64 slot = handler.slotAt(s);
            uint256 supply = token.totalSupply(slot);
            vm.assertEq(supply, handler.ghostMinted(slot) - handler.ghostRedeemed(slot), "supply = minted - redeemed");
            uint256 holders = token.balanceOf(address(market), slot);
            for (uint256 i; i < handler.userCount(); ++i) {
                address user = handler.userAt(i);
                holders += token.balanceOf(user, slot);
                vm.assertLe(token.redeemedWh(user, slot), token.importedWh(user, slot), "redeemed <= imported");
            }
            vm.assertEq(holders, supply, "the holders hold the supply");
            mintedTotal += handler.ghostMinted(slot);
        }
        IMeterRegistry.EnergyTotals memory t = registry.energyTotals();
        vm.assertEq(t.attributedExportWh, handler.ghostAttributedExport(), "attributed export");
        vm.assertEq(t.attributedImportWh, handler.ghostAttributedImport(), "attributed import");
        vm.assertEq(t.unattributedExportWh, handler.ghostUnattributedExport(), "unattributed export");
        vm.assertEq(t.unattributedImportWh, handler.ghostUnattributedImport(), "unattributed import");
        vm.assertEq(t.attributedExportWh, mintedTotal, "attributed export == tokens minted");
        uint256 readings;
        for (uint256 i; i < handler.userCount(); ++i) {
            readings += registry.meter(handler.meterIdAt(i)).lastSeq;
        }
        vm.assertEq(
            readings + handler.ghostReadingsBeforeRotation(),
            handler.ghostReadingsAccepted(),
            "each signed reading accepted once"
        );
    }

    // ---- the books -------------------------------------------------------------------------------------------

    /// @notice Per slot not yet cleared: each level holds exactly the resting orders at its tick, and the active
    /// ticks the market reports are exactly the non-empty levels.
    function invariant_booksMatchTheRestingOrders() public view {
        uint256 ticks = handler.bookTicks();
        for (uint256 s; s < handler.slotCount(); ++s) {
            uint64 slot = handler.slotAt(s);
            if (handler.slotCleared(slot)) continue;
            for (uint16 t; t < ticks; ++t) {
                IEnergyMarket.Level memory lvl = market.level(slot, t);
                vm.assertEq(lvl.buyWh, handler.ghostLevelBuyWh(slot, t), "buy level == resting buys");
                vm.assertEq(lvl.sellWh, handler.ghostLevelSellWh(slot, t), "sell level == resting sells");
                (bool found, uint16 next) = market.nextActiveTick(slot, t);
                bool nonEmpty = lvl.buyWh + lvl.sellWh != 0;
                vm.assertEq(found && next == t, nonEmpty, "tick active iff its level is non-empty");
            }
            (bool beyond,) = market.nextActiveTick(slot, uint16(ticks));
            vm.assertFalse(beyond, "no active tick beyond the traded ones");
        }
    }

    /// @notice Per cleared slot, against the levels it cleared: V* = max_t min(D(t), S(t)); m_s <= p* <= m_b; the
    /// marginal ticks are the extreme ones with D >= V* and S >= V*; 0 < R <= Q on both sides; at most one side
    /// is rationed; no trade means every field is zero.
    function invariant_clearingsFollowTheRule() public view {
        for (uint256 s; s < handler.slotCount(); ++s) {
            uint64 slot = handler.slotAt(s);
            if (!handler.slotCleared(slot)) continue;
            IEnergyMarket.ClearingRecord memory r = market.clearing(slot);
            vm.assertTrue(r.cleared, "a cleared slot has a record");
            _checkRecord(slot, r);
        }
    }

    /// @dev The record `r` of cleared `slot` against the rule on the market's levels, and on the sides' marginal
    /// levels: 0 < R <= Q, at most one side rationed.
    function _checkRecord(uint64 slot, IEnergyMarket.ClearingRecord memory r) private view {
        uint256 ticks = handler.bookTicks();
        uint256[] memory buyWh = new uint256[](ticks);
        uint256[] memory sellWh = new uint256[](ticks);
        for (uint256 t; t < ticks; ++t) {
            IEnergyMarket.Level memory lvl = market.level(slot, uint16(t));
            (buyWh[t], sellWh[t]) = (lvl.buyWh, lvl.sellWh);
        }
        if (!_checkClearingRule(buyWh, sellWh, r)) return;
        vm.assertTrue(0 < r.buyMarginalFilledWh && r.buyMarginalFilledWh <= r.buyMarginalTotalWh, "0 < R_b <= Q_b");
        vm.assertTrue(0 < r.sellMarginalFilledWh && r.sellMarginalFilledWh <= r.sellMarginalTotalWh, "0 < R_s <= Q_s");
        vm.assertTrue(
            r.buyMarginalFilledWh == r.buyMarginalTotalWh || r.sellMarginalFilledWh == r.sellMarginalTotalWh,
            "at most one side rationed"
        );
    }

    // ---- agents ----------------------------------------------------------------------------------------------

    /// @notice The agent's rolling use (buy escrow and sold Wh, decaying by one daily limit per 24 hours) never
    /// exceeds the limits in force when it last grew (an owner may lower them afterwards), survives revocations and
    /// re-authorizations, and the market counts what the handler counted.
    function invariant_agentStaysWithinItsLimits() public view {
        IEnergyMarket.Delegation memory d = market.delegation(handler.userAt(0), handler.agent());
        vm.assertEq(d.spent, handler.ghostAgentSpent(), "spent == the handler's decayed buy escrow");
        vm.assertEq(d.soldWh, handler.ghostAgentSoldWh(), "soldWh == the handler's decayed sold Wh");
        vm.assertEq(d.updatedAt, handler.ghostAgentUpdatedAt(), "stamped when the agent last placed");
        vm.assertLe(d.spent, handler.ghostAgentBudgetAtLastCharge(), "spent <= the budget when it last placed");
        vm.assertLe(d.soldWh, handler.ghostAgentSellWhAtLastCharge(), "soldWh <= the sell limit when it last placed");
    }

    // ---- the handler reaches the states that matter -----------------------------------------------------------

    /// @notice A scripted random walk of 2,500 handler calls (the same actions the fuzzer sends) reaches every
    /// state the invariants are about: clears with and without volume, rationed slots, claims, batch claims,
    /// cancels, agent orders and refusals, readings attributed, unattributed and resent, redemptions, energy in
    /// and out of the vault; and all invariants hold at the end. A campaign that never got there would prove
    /// little; this test fails if the handler stops getting there.
    function test_handlerReachesEveryStateTheInvariantsNeed() public {
        uint256 rationed;
        for (uint256 i; i < 2500; ++i) {
            uint256 r = uint256(keccak256(abi.encode("walk", i)));
            _step(r % 20, r >> 8);
            if (i % 50 == 49) rationed += _rationedSlots(market, handler.slotList());
        }
        string[19] memory reached = [
            "deposit",
            "withdraw",
            "depositEnergy",
            "withdrawEnergy",
            "readMeter.attributed",
            "readMeter.unattributed",
            "readMeter.batchWithResend",
            "redeem",
            "placeOrder.buy",
            "placeOrder.sell",
            "placeOrders",
            "cancelOrder.owner",
            "clear.volume",
            "clear.noVolume",
            "claim",
            "claimBatch",
            "agentPlaceOrder",
            "submitBadReading",
            "rotateMeterKey.afterReadings"
        ];
        for (uint256 k; k < reached.length; ++k) {
            vm.assertGt(handler.done(reached[k]), 0, string.concat("the walk never reached: ", reached[k]));
        }
        vm.assertGt(rationed, 0, "the walk never cleared a rationed slot");
        invariant_moneyIsConserved();
        invariant_settledSlotsKeepBoundedDust();
        invariant_energyIsConserved();
        invariant_tokensFollowTheMeters();
        invariant_booksMatchTheRestingOrders();
        invariant_clearingsFollowTheRule();
        invariant_agentStaysWithinItsLimits();
    }

    function _step(uint256 action, uint256 r) private {
        uint256 a = uint256(keccak256(abi.encode(r, 1)));
        uint256 b = uint256(keccak256(abi.encode(r, 2)));
        uint256 c = uint256(keccak256(abi.encode(r, 3)));
        if (action == 0) handler.deposit(a, b % 3_000_000);
        else if (action == 1) handler.withdraw(a, b);
        else if (action == 2) handler.depositEnergy(a, b, c);
        else if (action == 3) handler.withdrawEnergy(a, b, c);
        else if (action <= 5) handler.readMeter(a, b, c, r & 1 == 1);
        else if (action == 6) handler.redeem(a, b, c);
        else if (action == 7) handler.transferTokens(a, b, c, r);
        else if (action <= 9) handler.placeOrder(a, r & 1 == 1, b, c, r >> 128, (r >> 1) & 1 == 1);
        else if (action == 10) handler.sellMeteredEnergy(a, b, c, r);
        else if (action == 11) handler.placeOrders(a, b, c);
        else if (action == 12) handler.cancelOrder(a, b);
        else if (action == 13) handler.clear(a);
        else if (action == 14) handler.claim(a);
        else if (action == 15) handler.claimBatch(a);
        else if (action == 16) handler.agentPlaceOrder(r & 1 == 1, a, b, c);
        else if (action == 17 && r % 7 == 0) handler.setAgent(a, b, c, r, r % 5 == 0);
        else if (action == 17) handler.pauseMarket(r % 3 == 0);
        else if (action == 18 && r % 3 == 0) handler.setFee(a, b, r % 4 == 0);
        else if (action == 18 && r % 5 == 0) handler.rotateMeterKey(a, b);
        else if (action == 18) handler.submitBadReading(a, b, c);
        else handler.warp(a % 900);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    function _vaultBalances() private view returns (uint256 total) {
        for (uint256 i; i < handler.userCount(); ++i) {
            total += market.balanceOf(handler.userAt(i));
        }
        total += market.balanceOf(handler.treasuryAt(0)) + market.balanceOf(handler.treasuryAt(1));
    }
}
