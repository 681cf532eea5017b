// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {Clearing} from "../../../contracts/libraries/Clearing.sol";
import {OrderBook} from "../../../contracts/libraries/OrderBook.sol";
import {TickBitmap} from "../../../contracts/libraries/TickBitmap.sol";
import {Test} from "../base/Test.sol";

/// @title ClearingRuleTest
/// @notice Fuzz tests of the uniform-price clearing ({OrderBook.compute} on a book built with {OrderBook.add} and
/// {OrderBook.remove}, then every order settled with {Clearing} exactly as EnergyMarket._settle does) against the
/// properties of docs/contracts.md section 7: executed volume maximal, price between the marginal ticks, rationing
/// pro rata within one unit, rounding against the trader, money and energy conserved.
/// @dev Random books: 1..32 orders over a window of 1..16 ticks placed anywhere in the 16-bit range (often across a
/// bitmap word boundary), quantities small (ties and rationing are frequent), medium or up to 2^64 - 1, some
/// orders cancelled before clearing. The reference D(t), S(t) is summed order by order over every tick.
contract ClearingRuleTest is Test {
    using OrderBook for OrderBook.State;
    using TickBitmap for TickBitmap.Bitmap;

    struct Order {
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
        bool cancelled;
    }

    /// @dev Money of one settled book.
    struct Money {
        uint256 paidByBuyers;
        uint256 grossToSellers;
        uint256 fees;
        uint256 receivedByBuyers;
        uint256 givenBySellers;
    }

    OrderBook.State internal book;
    Order[] internal orders;
    uint16 internal lowTick;
    uint16 internal highTick;

    // ---- book generation -------------------------------------------------------------------------------------

    function _draw(uint256 seed, uint256 i, uint256 lo, uint256 hi) private pure returns (uint256) {
        return bound(uint256(keccak256(abi.encode(seed, i))), lo, hi);
    }

    /// @dev Builds a random book from `seed` and cancels some of its orders.
    function _buildBook(uint256 seed) private {
        uint256 n = _draw(seed, 0, 1, 32);
        uint256 width = _draw(seed, 1, 1, 16);
        uint256 placement = _draw(seed, 2, 0, 3);
        uint256 base;
        if (placement == 0) base = 0;
        else if (placement == 1) base = 256 - width / 2; // straddles the first bitmap word boundary
        else if (placement == 2) base = 65_536 - width; // the top of the range
        else base = _draw(seed, 3, 0, 65_536 - width);
        uint256 qtyMode = _draw(seed, 4, 0, 2);
        uint256 maxQty = qtyMode == 0 ? 20 : qtyMode == 1 ? 1e6 : type(uint64).max;
        lowTick = uint16(base);
        highTick = uint16(base + width - 1);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, "order", i)));
            Order memory o = Order({
                isBuy: r & 1 == 1,
                tick: uint16(base + bound(r >> 8, 0, width - 1)),
                qtyWh: uint64(bound(r >> 64, 1, maxQty)),
                cancelled: false
            });
            vm.assertTrue(book.add(o.tick, o.isBuy, o.qtyWh), "a level below MAX_LEVEL_WH accepts the order");
            orders.push(o);
        }
        for (uint256 i; i < n; ++i) {
            if (_draw(seed, 1000 + i, 0, 5) == 0) {
                Order storage o = orders[i];
                book.remove(o.tick, o.isBuy, o.qtyWh);
                o.cancelled = true;
            }
        }
    }

    /// @dev D(t): live buys at ticks >= t; S(t): live sells at ticks <= t.
    function _demandSupply(uint256 t) private view returns (uint256 demand, uint256 supply) {
        for (uint256 i; i < orders.length; ++i) {
            Order storage o = orders[i];
            if (o.cancelled) continue;
            if (o.isBuy && o.tick >= t) demand += o.qtyWh;
            if (!o.isBuy && o.tick <= t) supply += o.qtyWh;
        }
    }

    function _levelTotal(uint16 tick, bool isBuy) private view returns (uint256 total) {
        for (uint256 i; i < orders.length; ++i) {
            Order storage o = orders[i];
            if (!o.cancelled && o.isBuy == isBuy && o.tick == tick) total += o.qtyWh;
        }
    }

    // ---- the book itself ------------------------------------------------------------------------------------

    /// @notice docs/contracts.md section 12, invariant 4: level totals are the sums of the resting orders, and a
    /// tick's bit is set iff its level is non-empty; the bitmap walk lists exactly those ticks, ascending.
    function testFuzz_levelsAndBitmapFollowTheRestingOrders(uint256 seed) public {
        _buildBook(seed);
        uint256[] memory listed = book.ticks.toArray();
        uint256 k;
        for (uint256 t = lowTick; t <= highTick; ++t) {
            IEnergyMarket.Level memory lvl = book.levels[t];
            vm.assertEq(lvl.buyWh, _levelTotal(uint16(t), true), "buy level = sum of resting buys");
            vm.assertEq(lvl.sellWh, _levelTotal(uint16(t), false), "sell level = sum of resting sells");
            bool nonEmpty = lvl.buyWh + lvl.sellWh != 0;
            vm.assertEq(book.ticks.isSet(uint16(t)), nonEmpty, "bit set iff level non-empty");
            if (nonEmpty) {
                vm.assertEq(listed[k], t, "toArray lists the non-empty ticks in order");
                vm.assertEq(book.ticks.next(t), t, "next(t) of a set tick is t");
                ++k;
            }
        }
        vm.assertEq(listed.length, k, "toArray lists nothing else");
    }

    // ---- the clearing record -----------------------------------------------------------------------------------

    /// @notice V* = max_t min(D(t), S(t)), over every tick of the range (not only the non-empty ones).
    function testFuzz_executedVolumeIsMaximal(uint256 seed) public {
        _buildBook(seed);
        IEnergyMarket.ClearingRecord memory r = book.compute();
        uint256 best;
        // min(D, S) is constant below lowTick and above highTick: one tick either side covers the whole range.
        uint256 from = lowTick == 0 ? 0 : lowTick - 1;
        uint256 to = highTick == type(uint16).max ? highTick : uint256(highTick) + 1;
        for (uint256 t = from; t <= to; ++t) {
            (uint256 d, uint256 s) = _demandSupply(t);
            uint256 m = d < s ? d : s;
            vm.assertLe(m, r.volumeWh, "no tick matches more than V*");
            if (m > best) best = m;
        }
        vm.assertEq(r.volumeWh, best, "V* is attained at some tick");
    }

    /// @notice m_s <= p* <= m_b, m_b = max{t: D(t) >= V*}, m_s = min{t: S(t) >= V*}, 0 < R <= Q on both sides
    /// (Lemmas 1 and 2), at most one side rationed (Lemma 3); all fields zero when nothing trades.
    function testFuzz_priceLiesBetweenTheMarginalTicks(uint256 seed) public {
        _buildBook(seed);
        IEnergyMarket.ClearingRecord memory r = book.compute();
        vm.assertTrue(r.cleared, "compute marks the record cleared");
        if (r.volumeWh == 0) {
            uint256 sum = uint256(r.clearingTick) + r.buyMarginalTick + r.buyMarginalFilledWh + r.buyMarginalTotalWh
                + r.sellMarginalTick + r.sellMarginalFilledWh + r.sellMarginalTotalWh;
            vm.assertEq(sum, 0, "no trade: every field is zero");
            return;
        }
        vm.assertLe(r.sellMarginalTick, r.clearingTick, "m_s <= p*");
        vm.assertLe(r.clearingTick, r.buyMarginalTick, "p* <= m_b");
        vm.assertEq(r.clearingTick, (uint256(r.sellMarginalTick) + r.buyMarginalTick) / 2, "p* = (m_s + m_b) // 2");

        (uint256 dAtMb,) = _demandSupply(r.buyMarginalTick);
        (uint256 dAboveMb,) = _demandSupply(uint256(r.buyMarginalTick) + 1);
        vm.assertGe(dAtMb, r.volumeWh, "D(m_b) >= V*");
        vm.assertLt(dAboveMb, r.volumeWh, "D(m_b + 1) < V*: m_b is the highest such tick");
        vm.assertEq(r.buyMarginalFilledWh, r.volumeWh - dAboveMb, "R_b = V* - D(m_b + 1)");
        vm.assertEq(r.buyMarginalTotalWh, _levelTotal(r.buyMarginalTick, true), "Q_b = buys at m_b");

        (, uint256 sAtMs) = _demandSupply(r.sellMarginalTick);
        uint256 sBelowMs;
        if (r.sellMarginalTick != 0) (, sBelowMs) = _demandSupply(uint256(r.sellMarginalTick) - 1);
        vm.assertGe(sAtMs, r.volumeWh, "S(m_s) >= V*");
        vm.assertLt(sBelowMs, r.volumeWh, "S(m_s - 1) < V*: m_s is the lowest such tick");
        vm.assertEq(r.sellMarginalFilledWh, r.volumeWh - sBelowMs, "R_s = V* - S(m_s - 1)");
        vm.assertEq(r.sellMarginalTotalWh, _levelTotal(r.sellMarginalTick, false), "Q_s = sells at m_s");

        vm.assertGt(r.buyMarginalFilledWh, 0, "R_b > 0");
        vm.assertLe(r.buyMarginalFilledWh, r.buyMarginalTotalWh, "R_b <= Q_b");
        vm.assertGt(r.sellMarginalFilledWh, 0, "R_s > 0");
        vm.assertLe(r.sellMarginalFilledWh, r.sellMarginalTotalWh, "R_s <= Q_s");
        bool buyRationed = r.buyMarginalFilledWh < r.buyMarginalTotalWh;
        bool sellRationed = r.sellMarginalFilledWh < r.sellMarginalTotalWh;
        vm.assertFalse(buyRationed && sellRationed, "at most one side is rationed");
    }

    /// @notice {OrderBook.clear} stores what {OrderBook.compute} returns, and {OrderBook.record} reads it back.
    function testFuzz_clearStoresTheComputedRecord(uint256 seed) public {
        _buildBook(seed);
        IEnergyMarket.ClearingRecord memory computed = book.compute();
        book.clear();
        IEnergyMarket.ClearingRecord memory stored = book.record();
        vm.assertEq(keccak256(abi.encode(stored)), keccak256(abi.encode(computed)), "record == compute");
        vm.assertTrue(book.buy.cleared && book.sell.cleared, "both sides marked cleared");
    }

    // ---- every order settled -------------------------------------------------------------------------------

    /// @notice Every order settled as EnergyMarket._settle does, claimed in book order: filled buyers never pay
    /// above their limit nor beyond their escrow, filled sellers never receive below theirs; marginal orders get
    /// their pro-rata share within one Wh; energy to buyers == V* == energy from sellers (audit L-1), money from
    /// buyers >= money to sellers + fees, and the difference (the dust left in the market) is below one base unit
    /// per filled order.
    function testFuzz_settlementConservesMoneyAndEnergy(
        uint256 seed,
        uint256 priceFloor,
        uint256 tickSize,
        uint16 feeBps
    ) public {
        _buildBook(seed);
        priceFloor = bound(priceFloor, 0, 1e12);
        tickSize = bound(tickSize, 1, 1e9);
        feeBps = uint16(bound(feeBps, 0, 1000));
        IEnergyMarket.ClearingRecord memory r = book.compute();
        uint256 price = priceFloor + uint256(r.clearingTick) * tickSize;
        Money memory m;
        uint256 filledOrders;
        uint256 claimedAtMargin;
        for (uint256 i; i < orders.length; ++i) {
            Order storage o = orders[i];
            if (o.cancelled) continue;
            uint256 limit = priceFloor + uint256(o.tick) * tickSize;
            if (o.isBuy) {
                uint256 received;
                (received, claimedAtMargin) = _settledWh(
                    o, r.volumeWh, r.buyMarginalTick, r.buyMarginalFilledWh, r.buyMarginalTotalWh, claimedAtMargin
                );
                if (received != 0) ++filledOrders;
                uint256 amount = Clearing.cost(received, price);
                vm.assertLe(amount, Clearing.cost(o.qtyWh, limit), "the payment fits the escrow (Lemma 4)");
                if (received != 0) vm.assertLe(price, limit, "a filled buyer pays at most its limit per kWh");
                m.paidByBuyers += amount;
                m.receivedByBuyers += received;
            } else {
                uint256 given;
                (given, claimedAtMargin) = _settledWh(
                    o, r.volumeWh, r.sellMarginalTick, r.sellMarginalFilledWh, r.sellMarginalTotalWh, claimedAtMargin
                );
                if (given != 0) ++filledOrders;
                uint256 gross = Clearing.proceeds(given, price);
                uint256 fee = Clearing.fee(gross, feeBps);
                vm.assertLe(fee, gross, "the fee never exceeds the gross");
                if (given != 0) vm.assertGe(price, limit, "a filled seller is paid at least its limit per kWh");
                m.grossToSellers += gross;
                m.fees += fee;
                m.givenBySellers += given;
            }
        }
        vm.assertEq(m.receivedByBuyers, r.volumeWh, "energy to buyers == V*");
        vm.assertEq(m.givenBySellers, r.volumeWh, "energy from sellers == V*: no energy dust");
        vm.assertGe(m.paidByBuyers, m.grossToSellers, "money from buyers >= money to sellers (net + fees)");
        // Each ceil (buyers) or floor (sellers) keeps less than one base unit per filled order.
        vm.assertLt(
            m.paidByBuyers - m.grossToSellers,
            filledOrders == 0 ? 1 : filledOrders,
            "money dust: < 1 unit per filled order"
        );
    }

    /// @dev The Wh order `o` fills as EnergyMarket._settle settles it: its share of its side's rationed marginal level
    /// (`claimedAtMargin` Wh of that level claimed before it), else all or nothing. Checks that it never fills beyond
    /// its quantity and, at the marginal tick of a book that traded, that it gets its pro-rata share within one Wh.
    /// Returns the Wh and the marginal level's Wh claimed once it is.
    function _settledWh(
        Order storage o,
        uint256 volumeWh,
        uint16 marginalTick,
        uint256 marginalFilledWh,
        uint256 marginalTotalWh,
        uint256 claimedAtMargin
    ) private view returns (uint256 wh, uint256) {
        string memory side = o.isBuy ? "buy" : "sell";
        bool rationed = o.tick == marginalTick && marginalFilledWh != marginalTotalWh;
        wh = rationed
            ? Clearing.share(o.qtyWh, claimedAtMargin, marginalFilledWh, marginalTotalWh)
            : Clearing.fill(o.isBuy, o.qtyWh, o.tick, marginalTick, marginalFilledWh);
        if (rationed) claimedAtMargin += o.qtyWh;
        vm.assertLe(wh, o.qtyWh, string.concat("no ", side, " fills beyond its quantity"));
        if (volumeWh != 0 && o.tick == marginalTick) {
            uint256 exact = uint256(o.qtyWh) * marginalFilledWh;
            vm.assertGt(
                (wh + 1) * marginalTotalWh, exact, string.concat("marginal ", side, "er: its share within 1 Wh")
            );
            if (wh != 0) vm.assertLt((wh - 1) * marginalTotalWh, exact, "within one Wh");
        }
        return (wh, claimedAtMargin);
    }

    /// @notice A book where the best bid is below the best ask does not trade; everything is refunded.
    function testFuzz_booksThatDoNotCrossDoNotTrade(uint256 seed) public {
        uint256 n = _draw(seed, 0, 1, 16);
        uint16 gap = uint16(_draw(seed, 1, 1, 1000));
        for (uint256 i; i < n; ++i) {
            uint256 draw = uint256(keccak256(abi.encode(seed, i)));
            bool isBuy = draw & 1 == 1;
            uint16 tick = isBuy ? uint16(bound(draw >> 8, 0, gap - 1)) : uint16(bound(draw >> 8, gap, 65_535));
            book.add(tick, isBuy, uint64(bound(draw >> 64, 1, type(uint64).max)));
        }
        IEnergyMarket.ClearingRecord memory r = book.compute();
        vm.assertEq(r.volumeWh, 0, "every bid below every ask: no volume");
        vm.assertEq(r.buyMarginalFilledWh + r.sellMarginalFilledWh, 0, "R = 0 on both sides");
    }

    /// @notice A level refuses what would take it beyond MAX_LEVEL_WH and stays unchanged.
    function testFuzz_aFullLevelRefusesMore(uint16 tick, bool isBuy, uint64 lastWh, uint64 extraWh) public {
        lastWh = uint64(bound(lastWh, 1, type(uint64).max));
        extraWh = uint64(bound(extraWh, 1, type(uint64).max));
        // Stand in for 2^32 maximal orders: the level holds all but the last order, and its bit is set.
        uint128 almostFull = uint128(OrderBook.MAX_LEVEL_WH - lastWh);
        book.levels[tick] = isBuy ? IEnergyMarket.Level(almostFull, 0) : IEnergyMarket.Level(0, almostFull);
        book.ticks.set(tick);
        vm.assertTrue(book.add(tick, isBuy, lastWh), "fills up to MAX_LEVEL_WH");
        vm.assertFalse(book.add(tick, isBuy, extraWh), "one Wh more is refused");
        IEnergyMarket.Level memory lvl = book.levels[tick];
        vm.assertEq(isBuy ? lvl.buyWh : lvl.sellWh, OrderBook.MAX_LEVEL_WH, "the level is unchanged");
        vm.assertTrue(book.add(tick, !isBuy, extraWh), "the other side of the level is independent");
    }
}
