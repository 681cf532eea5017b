// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {OrderBook} from "../../../contracts/libraries/OrderBook.sol";
import {TickBitmap} from "../../../contracts/libraries/TickBitmap.sol";
import {Test} from "../base/Test.sol";

/// @title ClearingRuleSymbolic
/// @notice halmos `check_*` functions: the clearing rule of docs/contracts.md section 7 proved for every book of a
/// bounded shape, not sampled. A book has three price ticks (255, 256 and 65,535: both sides of a bitmap word
/// boundary and the top of the range) with a buy and a sell level at each; every quantity is a symbolic uint16,
/// zero meaning no order there, so every book of up to three ticks per side (2^96 of them, the empty one too)
/// is covered. halmos explores every path of {OrderBook.add} and {OrderBook.compute}.
/// @dev The reference side (D, S, min, max, the lookups by marginal tick, the conjunction of the properties) is
/// branch-free assembly (`lt`/`eq` masks, never products, which halmos would abstract), so that halmos forks only
/// on the library's own branches and asks the solver once per path. forge ignores `check_*` functions.
contract ClearingRuleSymbolic is Test {
    using OrderBook for OrderBook.State;
    using TickBitmap for TickBitmap.Bitmap;

    uint256 private constant N = 3;

    OrderBook.State internal book;

    function _tick(uint256 i) private pure returns (uint16) {
        return [uint16(255), 256, 65_535][i];
    }

    // ---- branch-free reference -------------------------------------------------------------------------------

    function _min(uint256 a, uint256 b) private pure returns (uint256 m) {
        assembly ("memory-safe") {
            m := xor(b, and(xor(a, b), sub(0, lt(a, b))))
        }
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256 m) {
        assembly ("memory-safe") {
            m := xor(a, and(xor(a, b), sub(0, gt(b, a))))
        }
    }

    /// @dev `value` if `a == b`, else 0.
    function _if(uint256 a, uint256 b, uint256 value) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := and(value, sub(0, eq(a, b)))
        }
    }

    /// @dev `a && b` without a jump.
    function _and(bool a, bool b) private pure returns (bool r) {
        assembly ("memory-safe") {
            r := and(a, b)
        }
    }

    /// @dev `a || b` without a jump.
    function _or(bool a, bool b) private pure returns (bool r) {
        assembly ("memory-safe") {
            r := or(a, b)
        }
    }

    /// @dev D(i) for i = 0..N (buys at the i-th tick or above; D(N) = 0) and S(i) (sells at or below).
    function _curves(uint16[N] memory buys, uint16[N] memory sells)
        private
        pure
        returns (uint256[N + 1] memory demand, uint256[N] memory supply)
    {
        unchecked {
            for (uint256 i = N; i > 0; --i) {
                demand[i - 1] = demand[i] + buys[i - 1];
            }
            supply[0] = sells[0];
            for (uint256 i = 1; i < N; ++i) {
                supply[i] = supply[i - 1] + sells[i];
            }
        }
    }

    /// @dev Index of `tick` among the ticks (N when it is none of them).
    function _index(uint256 tick) private pure returns (uint256 idx) {
        unchecked {
            idx = N;
            for (uint256 i; i < N; ++i) {
                idx -= _if(tick, _tick(i), N - i);
            }
        }
    }

    /// @dev `values[idx]`, 0 when idx is out of range (also for idx = -1 wrapped).
    function _at(uint256[N + 1] memory values, uint256 idx) private pure returns (uint256 v) {
        unchecked {
            for (uint256 i; i <= N; ++i) {
                v += _if(i, idx, values[i]);
            }
        }
    }

    function _atN(uint256[N] memory values, uint256 idx) private pure returns (uint256 v) {
        unchecked {
            for (uint256 i; i < N; ++i) {
                v += _if(i, idx, values[i]);
            }
        }
    }

    function _atQty(uint16[N] memory values, uint256 idx) private pure returns (uint256 v) {
        unchecked {
            for (uint256 i; i < N; ++i) {
                v += _if(i, idx, values[i]);
            }
        }
    }

    function _build(uint16[N] memory buys, uint16[N] memory sells) private {
        for (uint256 i; i < N; ++i) {
            if (buys[i] != 0) book.add(_tick(i), true, buys[i]);
            if (sells[i] != 0) book.add(_tick(i), false, sells[i]);
        }
    }

    // ---- the properties --------------------------------------------------------------------------------------

    /// @notice The record {OrderBook.compute} returns follows the rule of section 7 for every such book:
    /// - V* = max_t min(D(t), S(t)) over the ticks (min(D, S) is constant between and beyond them);
    /// - when something trades: m_s <= p* <= m_b and p* = (m_s + m_b) // 2 (Lemma 1); m_b is the highest tick with
    ///   D >= V* and m_s the lowest with S >= V*; R_b = V* - D(m_b + 1), R_s = V* - S(m_s - 1), Q the level totals,
    ///   0 < R <= Q on both sides (Lemma 2); at most one side rationed (Lemma 3);
    /// - when nothing trades, every field is zero.
    function check_clearingFollowsTheRule(uint16[N] memory buys, uint16[N] memory sells) public {
        _build(buys, sells);
        IEnergyMarket.ClearingRecord memory r = book.compute();
        (uint256[N + 1] memory demand, uint256[N] memory supply) = _curves(buys, sells);
        uint256 best;
        for (uint256 i; i < N; ++i) {
            best = _max(best, _min(demand[i], supply[i]));
        }
        uint256 v = r.volumeWh;
        if (v == 0) {
            uint256 fields = uint256(r.clearingTick) + r.buyMarginalTick + r.sellMarginalTick + r.buyMarginalFilledWh
                + r.sellMarginalFilledWh + r.buyMarginalTotalWh + r.sellMarginalTotalWh;
            assert(_and(best == 0, fields == 0));
            return;
        }
        uint256 mb = _index(r.buyMarginalTick);
        uint256 ms = _index(r.sellMarginalTick);
        uint256 dAbove = _at(demand, mb + 1);
        uint256 sBelow;
        unchecked {
            sBelow = _atN(supply, ms - 1); // S(m_s - 1); wraps for ms == 0 and selects nothing: 0
        }
        bool ok = _and(v == best, r.sellMarginalTick <= r.clearingTick);
        ok = _and(ok, r.clearingTick <= r.buyMarginalTick);
        ok = _and(ok, r.clearingTick == (uint256(r.sellMarginalTick) + r.buyMarginalTick) / 2);
        ok = _and(ok, _and(mb < N, ms < N));
        ok = _and(ok, _and(_at(demand, mb) >= v, dAbove < v));
        ok = _and(ok, _and(_atN(supply, ms) >= v, sBelow < v));
        ok = _and(ok, _and(r.buyMarginalTotalWh == _atQty(buys, mb), r.sellMarginalTotalWh == _atQty(sells, ms)));
        ok = _and(ok, _and(r.buyMarginalFilledWh == v - dAbove, r.sellMarginalFilledWh == v - sBelow));
        ok = _and(ok, _and(r.buyMarginalFilledWh > 0, r.buyMarginalFilledWh <= r.buyMarginalTotalWh));
        ok = _and(ok, _and(r.sellMarginalFilledWh > 0, r.sellMarginalFilledWh <= r.sellMarginalTotalWh));
        bool buyFull = r.buyMarginalFilledWh == r.buyMarginalTotalWh;
        bool sellFull = r.sellMarginalFilledWh == r.sellMarginalTotalWh;
        assert(_and(ok, _or(buyFull, sellFull)));
    }

    /// @notice The book: level totals are what was added; a tick's bit is set iff its level is non-empty.
    function check_levelsAndBitmapFollowTheOrders(uint16[N] memory buys, uint16[N] memory sells) public {
        _build(buys, sells);
        bool ok = true;
        for (uint256 i; i < N; ++i) {
            IEnergyMarket.Level memory lvl = book.levels[_tick(i)];
            ok = _and(ok, _and(lvl.buyWh == buys[i], lvl.sellWh == sells[i]));
            ok = _and(ok, book.ticks.isSet(_tick(i)) == (uint256(buys[i]) + sells[i] != 0));
        }
        assert(ok);
    }
}
