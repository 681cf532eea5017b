// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "../../../contracts/interfaces/IEnergyToken.sol";
import {ISealedEnergyMarket} from "../../../contracts/interfaces/ISealedEnergyMarket.sol";
import {Clearing} from "../../../contracts/libraries/Clearing.sol";
import {SealedEnergyMarket} from "../../../contracts/SealedEnergyMarket.sol";
import {TestEuro} from "../../../contracts/test/TestEuro.sol";
import {MarketInvariantsBase} from "./MarketInvariantsBase.sol";
import {SealedMarketHandler} from "./SealedMarketHandler.sol";

/// @title SealedMarketInvariantsTest
/// @notice Handler-based invariants of the sealed market (docs/contracts.md sections 14 and 16), checked by forge
/// after every call of a random sequence of {SealedMarketHandler} actions, and once more after each run's final
/// sweep ({afterInvariant}): nothing is locked forever. foundry.toml sets runs x depth (3,000 calls per invariant
/// in `make test`, 100,000 in `make audit`).
contract SealedMarketInvariantsTest is MarketInvariantsBase {
    SealedMarketHandler internal handler;
    SealedEnergyMarket internal market;
    IEnergyToken internal token;
    TestEuro internal euro;
    /// @dev The users and, after them, the two treasuries: every account with a vault.
    address[] internal accounts;
    uint256 internal users;

    function setUp() public {
        handler = new SealedMarketHandler();
        market = handler.market();
        token = handler.token();
        euro = handler.euro();
        users = handler.userCount();
        for (uint256 i; i < users; ++i) {
            accounts.push(handler.userAt(i));
        }
        accounts.push(handler.treasuryAt(0));
        accounts.push(handler.treasuryAt(1));
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](26);
        selectors[0] = SealedMarketHandler.deposit.selector;
        selectors[1] = SealedMarketHandler.withdraw.selector;
        selectors[2] = SealedMarketHandler.produce.selector;
        selectors[3] = handler.withdrawEnergy.selector;
        selectors[4] = SealedMarketHandler.commit.selector;
        selectors[5] = SealedMarketHandler.commitBatch.selector;
        selectors[6] = SealedMarketHandler.reveal.selector;
        selectors[7] = SealedMarketHandler.revealBatch.selector;
        selectors[8] = SealedMarketHandler.revealWrong.selector;
        selectors[9] = SealedMarketHandler.reclaim.selector;
        selectors[10] = SealedMarketHandler.clear.selector;
        selectors[11] = SealedMarketHandler.claim.selector;
        selectors[12] = SealedMarketHandler.claimBatch.selector;
        selectors[13] = SealedMarketHandler.cancel.selector;
        selectors[14] = SealedMarketHandler.probeCommitment.selector;
        selectors[15] = SealedMarketHandler.setAgent.selector;
        selectors[16] = SealedMarketHandler.pauseMarket.selector;
        selectors[17] = SealedMarketHandler.setFee.selector;
        selectors[18] = SealedMarketHandler.warp.selector;
        // Commitments, their tokens, reveals, clearing and time matter most: more entries, more of the calls.
        selectors[19] = SealedMarketHandler.commit.selector;
        selectors[20] = SealedMarketHandler.produce.selector;
        selectors[21] = SealedMarketHandler.reveal.selector;
        selectors[22] = SealedMarketHandler.reveal.selector;
        selectors[23] = SealedMarketHandler.revealBatch.selector;
        selectors[24] = SealedMarketHandler.warp.selector;
        selectors[25] = SealedMarketHandler.clear.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---- 1. solvency -------------------------------------------------------------------------------------------

    /// @notice Money and slot tokens, exact. The market holds what was deposited less what was withdrawn, and that is
    /// every vault balance + the money locked in unrevealed commitments + the escrow of live revealed buys (resting,
    /// or cleared and unclaimed) + what claimed buyers paid less what claimed sellers got (net + fee); the locked
    /// money and the escrow are read from the market's own records (`commitment`, `order`) and agree with the
    /// handler's. Per slot the same for its tokens: vault Wh + Wh locked in commitments + Wh of live revealed sells
    /// + what claimed sellers gave less what claimed buyers received.
    function invariant_moneyAndSlotTokensAreFullyBacked() public view {
        SealedMarketHandler.Pending[] memory pending = handler.pendingList();
        SealedMarketHandler.OpenOrder[] memory orders = handler.openOrderList();
        uint256 held = euro.balanceOf(address(market));
        vm.assertEq(held, handler.ghostDeposited() - handler.ghostWithdrawn(), "held == deposits - withdrawals");
        uint256 locked;
        uint256[] memory lockedWh = new uint256[](pending.length);
        for (uint256 k; k < pending.length; ++k) {
            ISealedEnergyMarket.Commitment memory c = market.commitment(pending[k].id);
            locked += c.lockedMoney;
            lockedWh[k] = c.lockedWh;
        }
        uint256 escrow;
        uint256[] memory sellWh = new uint256[](orders.length);
        for (uint256 k; k < orders.length; ++k) {
            IEnergyMarket.Order memory o = market.order(orders[k].id);
            if (o.isBuy) escrow += Clearing.cost(o.qtyWh, handler.priceOf(o.tick));
            else sellWh[k] = o.qtyWh;
        }
        vm.assertEq(locked, handler.ghostLockedMoney(), "money locked in commitments, market == handler");
        vm.assertEq(escrow, handler.ghostBuyEscrow(), "escrow of live buys, market == handler");
        vm.assertEq(
            int256(held), int256(_vaultMoney() + locked + escrow) + handler.ghostMoneyPool(), "money fully backed"
        );

        uint64[] memory slots = handler.slotList();
        for (uint256 s; s < slots.length; ++s) {
            SealedMarketHandler.SlotLedger memory l = handler.slotLedger(slots[s]);
            uint256 heldWh = token.balanceOf(address(market), slots[s]);
            vm.assertEq(heldWh, l.energyIn - l.energyOut, "Wh held == in - out");
            uint256 slotLocked;
            for (uint256 k; k < pending.length; ++k) {
                if (pending[k].slot == slots[s]) slotLocked += lockedWh[k];
            }
            uint256 slotEscrow;
            for (uint256 k; k < orders.length; ++k) {
                if (orders[k].slot == slots[s]) slotEscrow += sellWh[k];
            }
            vm.assertEq(slotLocked, l.lockedWh, "Wh locked in commitments, market == handler");
            vm.assertEq(slotEscrow, l.sellEscrowWh, "Wh of live sells, market == handler");
            // A slot no token ever entered and no order was revealed in has nothing to back (held is 0, checked
            // above); its vaults are read after the final sweep (the per-slot reads are most of this check's cost).
            if (l.energyIn == 0 && l.revealedBuyWh + l.revealedSellWh == 0) continue;
            vm.assertEq(
                int256(heldWh),
                int256(_vaultWh(slots[s]) + slotLocked + slotEscrow) + l.energyPool,
                "slot tokens fully backed"
            );
        }
    }

    // ---- 2. bonds ------------------------------------------------------------------------------------------------

    /// @notice A forfeited bond is counted once: what the treasuries received from reclaims is exactly one bond per
    /// commitment reclaimed unrevealed; their vaults hold exactly those bonds + the fees of claimed sells - what they
    /// withdrew; and a forfeited commitment leaves nothing behind (no commitment to reclaim again, no order).
    function invariant_aForfeitedBondIsCountedOnce() public view {
        uint256[] memory forfeited = handler.forfeitedList();
        vm.assertEq(forfeited.length, handler.ghostForfeited(), "one record per forfeit");
        vm.assertEq(handler.ghostBondReceipts(), handler.bond() * forfeited.length, "bond receipts == bond x forfeits");
        uint256 treasuries = market.balanceOf(accounts[users]) + market.balanceOf(accounts[users + 1]);
        vm.assertEq(
            treasuries + handler.ghostTreasuryWithdrawn(),
            handler.ghostBondReceipts() + handler.ghostFeeReceipts(),
            "treasuries == bonds + fees - withdrawn"
        );
        for (uint256 k; k < forfeited.length; ++k) {
            vm.assertEq(market.commitment(forfeited[k]).owner, address(0), "a forfeited commitment is gone");
            vm.assertEq(market.order(forfeited[k]).owner, address(0), "and never became an order");
            vm.assertFalse(handler.wasRevealed(forfeited[k]), "a revealed commitment is never forfeited");
        }
    }

    // ---- 3. only revealed orders trade ---------------------------------------------------------------------------

    /// @notice No order is cleared that was not revealed. Every order the market holds came from a reveal (and is
    /// the order revealed); an unrevealed commitment reads as no order (after the sweep: every id ever used, claimed,
    /// cancelled or reclaimed, holds nothing). Per slot the levels are exactly the revealed orders (void-slot cancels
    /// taken out) and no tick beyond the revealed ones is active (commitments never revealed hide ticks up to the top
    /// one); a cleared slot's record follows the clearing rule on the revealed levels alone and its volume never
    /// exceeds the Wh revealed on either side.
    function invariant_onlyRevealedOrdersReachTheBook() public view {
        _checkIds(false);
        uint256 ticks = handler.bookTicks();
        uint64[] memory slots = handler.slotList();
        for (uint256 s; s < slots.length; ++s) {
            uint64 slot = slots[s];
            SealedMarketHandler.SlotLedger memory l = handler.slotLedger(slot);
            IEnergyMarket.ClearingRecord memory r = market.clearing(slot);
            vm.assertEq(r.cleared, l.cleared, "cleared when the handler cleared it");
            if (l.revealedBuyWh + l.revealedSellWh == 0) {
                // Nothing revealed: whatever was committed, the book is empty and a clearing trades nothing.
                (bool any,) = market.nextActiveTick(slot, 0);
                vm.assertFalse(any, "no order in a slot where nothing was revealed");
                vm.assertEq(r.volumeWh, 0, "a slot where nothing was revealed trades nothing");
                continue;
            }
            (uint256[] memory buyWh, uint256[] memory sellWh) = handler.slotLevels(slot);
            // The active ticks, walked with nextActiveTick, are exactly the non-empty levels.
            (bool found, uint16 next) = market.nextActiveTick(slot, 0);
            for (uint16 t; t < ticks; ++t) {
                IEnergyMarket.Level memory lvl = market.level(slot, t);
                vm.assertEq(lvl.buyWh, buyWh[t], "buy level == revealed buys");
                vm.assertEq(lvl.sellWh, sellWh[t], "sell level == revealed sells");
                bool active = found && next == t;
                vm.assertEq(active, lvl.buyWh + lvl.sellWh != 0, "tick active iff its level is non-empty");
                if (active) (found, next) = market.nextActiveTick(slot, t + 1);
            }
            vm.assertFalse(found, "no unrevealed commitment's tick is in the book");
            if (!r.cleared) continue;
            vm.assertLe(r.volumeWh, l.revealedBuyWh, "volume <= revealed buys");
            vm.assertLe(r.volumeWh, l.revealedSellWh, "volume <= revealed sells");
            _checkClearingRule(buyWh, sellWh, r);
        }
    }

    // ---- 4. nothing locked forever -------------------------------------------------------------------------------

    /// @notice After every run: past every window, every commitment reclaimed, every slot with orders cleared (or its
    /// orders cancelled once void), every order claimed; then all collateral is back in the vaults.
    function afterInvariant() public {
        handler.sweep();
        _checkEverythingIsBack();
    }

    // ---- the handler reaches the states that matter --------------------------------------------------------------

    /// @notice A scripted random walk of 1,500 handler calls (the fuzzer's actions) reaches every state the
    /// invariants are about; the invariants hold at its end, and after the final sweep all collateral is back in
    /// the vaults and can be withdrawn, to the rounding dust. A campaign that never got there would prove little.
    function test_handlerReachesEveryStateTheInvariantsNeed() public {
        uint256 rationed;
        for (uint256 i; i < 1500; ++i) {
            uint256 r = uint256(keccak256(abi.encode("sealed walk", i)));
            _step(r % 26, r >> 8);
            if (i % 50 == 49) rationed += _rationedSlots(market, handler.slotList());
        }
        string[32] memory reached = [
            "deposit",
            "withdraw",
            "produce",
            "withdrawEnergy",
            "commit.buy",
            "commit.sell",
            "commit.agent",
            "commit.overCollateralised",
            "commit.refused",
            "commit.duplicateRefused",
            "commitBatch",
            "commitBatch.agent",
            "reveal.owner",
            "reveal.keeper",
            "reveal.shortRefused",
            "reveal.refused",
            "revealBatch.withCopy",
            "revealWrong.mismatch",
            "revealWrong.notFound",
            "reclaim.neverRevealed",
            "reclaim.short",
            "reclaim.earlyRefused",
            "reclaim.againRefused",
            "clear.volume",
            "clear.inRevealRefused",
            "claim",
            "claimBatch",
            "cancel.void",
            "cancel.refused",
            "cancel.commitmentRefused",
            "warp.edge",
            "warp.pastTheClearWindow"
        ];
        for (uint256 k; k < reached.length; ++k) {
            vm.assertGt(handler.done(reached[k]), 0, string.concat("the walk never reached: ", reached[k]));
        }
        vm.assertGt(rationed, 0, "the walk never cleared a rationed slot");
        invariant_moneyAndSlotTokensAreFullyBacked();
        invariant_aForfeitedBondIsCountedOnce();
        invariant_onlyRevealedOrdersReachTheBook();

        handler.sweep();
        _checkEverythingIsBack();
        invariant_moneyAndSlotTokensAreFullyBacked();
        invariant_aForfeitedBondIsCountedOnce();
        invariant_onlyRevealedOrdersReachTheBook();
    }

    /// @dev One handler call, drawn with the weights of the fuzzer's selector list in setUp (26 entries).
    function _step(uint256 action, uint256 r) private {
        uint256 a = uint256(keccak256(abi.encode(r, 1)));
        uint256 b = uint256(keccak256(abi.encode(r, 2)));
        uint256 c = uint256(keccak256(abi.encode(r, 3)));
        if (action == 0) handler.deposit(a, b);
        else if (action == 1) handler.withdraw(a, b);
        else if (action <= 3) handler.produce(a, b, c);
        else if (action == 4) handler.withdrawEnergy(a, b, c);
        else if (action <= 6) handler.commit(a, b, c, r % 5 == 0, r >> 128);
        else if (action == 7) handler.commitBatch(a, b, c, r % 3 == 0);
        else if (action <= 10) handler.reveal(a, b);
        else if (action <= 12) handler.revealBatch(a);
        else if (action == 13) handler.revealWrong(a, b);
        else if (action == 14) handler.reclaim(a, r % 4 == 0);
        else if (action <= 16) handler.clear(a);
        else if (action == 17) handler.claim(a);
        else if (action == 18) handler.claimBatch(a);
        else if (action == 19) handler.cancel(a, b);
        else if (action == 20) handler.probeCommitment(a);
        else if (action == 21 && r % 3 == 0) handler.setAgent(a, b, c, r % 5 == 0);
        else if (action == 21) handler.setFee(a, b);
        else if (action == 22) handler.pauseMarket(a);
        else if (action == 23) handler.deposit(a, b);
        else handler.warp(a, b);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    function _vaultMoney() private view returns (uint256 total) {
        for (uint256 i; i < accounts.length; ++i) {
            total += market.balanceOf(accounts[i]);
        }
    }

    function _vaultWh(uint64 slot) private view returns (uint256 total) {
        for (uint256 i; i < users; ++i) {
            total += market.energyBalanceOf(accounts[i], slot);
        }
    }

    /// @dev Pending ids read as commitments and no order; live ids as the revealed order; with `retired` (after the
    /// sweep, when every id is retired), retired ids as nothing.
    function _checkIds(bool retired) private view {
        SealedMarketHandler.Pending[] memory pending = handler.pendingList();
        for (uint256 k; k < pending.length; ++k) {
            vm.assertEq(market.order(pending[k].id).owner, address(0), "an unrevealed commitment is no order");
            vm.assertEq(market.commitment(pending[k].id).owner, pending[k].owner, "it is a commitment of its owner");
            vm.assertFalse(handler.wasRevealed(pending[k].id), "and it was not revealed");
        }
        SealedMarketHandler.OpenOrder[] memory orders = handler.openOrderList();
        for (uint256 k; k < orders.length; ++k) {
            IEnergyMarket.Order memory o = market.order(orders[k].id);
            vm.assertTrue(handler.wasRevealed(orders[k].id), "every order came from a reveal");
            vm.assertEq(o.owner, orders[k].owner, "the revealed order's owner");
            vm.assertTrue(o.isBuy == orders[k].isBuy && o.tick == orders[k].tick, "the revealed side and tick");
            vm.assertEq(o.qtyWh, orders[k].qtyWh, "the revealed quantity");
            vm.assertEq(market.commitment(orders[k].id).owner, address(0), "a revealed commitment is gone");
        }
        if (!retired) return;
        uint256[] memory ids = handler.retiredList();
        for (uint256 k; k < ids.length; ++k) {
            vm.assertEq(market.order(ids[k]).owner, address(0), "a retired id holds no order");
            vm.assertEq(market.commitment(ids[k]).owner, address(0), "nor a commitment");
        }
    }

    /// @dev Invariant 4, after {SealedMarketHandler-sweep}: no commitment or order is left, the vaults hold all the
    /// market holds (money to the rounding dust: >= 0 and below one base unit per filled order; slot tokens
    /// exactly), and every account can withdraw it all.
    function _checkEverythingIsBack() private {
        vm.assertEq(handler.pendingCount(), 0, "every commitment revealed or reclaimed");
        vm.assertEq(handler.openOrderCount(), 0, "every order claimed or cancelled");
        _checkIds(true);
        vm.assertEq(handler.ghostLockedMoney() + handler.ghostBuyEscrow(), 0, "no money locked or in escrow");
        int256 dust = handler.ghostMoneyPool();
        uint256 filled = handler.ghostFilledOrders();
        uint256 held = euro.balanceOf(address(market));
        vm.assertEq(int256(held), int256(_vaultMoney()) + dust, "all money is in the vaults, but the dust");
        vm.assertGe(dust, int256(0), "buyers paid at least what sellers got");
        vm.assertLt(uint256(dust), filled == 0 ? 1 : filled, "dust < 1 unit per filled order");
        uint64[] memory slots = handler.slotList();
        for (uint256 s; s < slots.length; ++s) {
            SealedMarketHandler.SlotLedger memory l = handler.slotLedger(slots[s]);
            vm.assertEq(l.lockedWh + l.sellEscrowWh, 0, "no Wh locked or escrowed");
            vm.assertEq(l.energyPool, int256(0), "no Wh owned by nobody");
            vm.assertEq(token.balanceOf(address(market), slots[s]), _vaultWh(slots[s]), "all slot tokens are in vaults");
        }
        handler.withdrawAll();
        vm.assertEq(euro.balanceOf(address(market)), uint256(dust), "after every withdrawal only the dust stays");
        for (uint256 s; s < slots.length; ++s) {
            vm.assertEq(token.balanceOf(address(market), slots[s]), 0, "and no slot token");
        }
    }
}
