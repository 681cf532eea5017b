// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {OrderBook} from "../../../contracts/libraries/OrderBook.sol";
import {TickBitmap} from "../../../contracts/libraries/TickBitmap.sol";
import {Test} from "../base/Test.sol";

/// @title ClearingRuleSymbolic
/// @notice halmos `check_*` functions: the clearing rule of docs/contracts.md section 7 proved for every book of a
/// bounded shape, not sampled. A book has four price ticks (0, 255, 256 and 65,535: both sides of a bitmap word
/// boundary and the top of the range) with a buy and a sell level at each; every quantity is a symbolic uint64.
/// In the `Full` checks every level is non-empty; in the `Sparse` ones any level may be empty (quantity 0), on
/// three ticks. halmos explores every path of {OrderBook.add} and {OrderBook.compute} for all such books.
/// @dev The reference side (D, S, min, the lookups by marginal tick) is written without branches (assembly
/// `lt`/`eq` masks, never products), so that halmos forks only on the library's own branches. forge ignores `check_*`.
contract ClearingRuleSymbolic is Test {
    using OrderBook for OrderBook.State;
    using TickBitmap for TickBitmap.Bitmap;

    uint256 private constant N = 4;

    OrderBook.State internal book;

    function _tick(uint256 i) private pure returns (uint16) {
        return [uint16(0), 255, 256, 65_535][i];
    }

    // ---- branchless reference --------------------------------------------------------------------------------

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

    /// @dev `value` if `a == b`, else 0 (a mask, not a product: halmos abstracts symbolic products).
    function _if(uint256 a, uint256 b, uint256 value) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := and(value, sub(0, eq(a, b)))
        }
    }

    /// @dev D(i) for i = 0..N (buys at the i-th tick or above; D(N) = 0) and S(i) (sells at or below).
    function _curves(uint64[N] memory buys, uint64[N] memory sells)
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

    /// @dev Index of `tick` among the four ticks (N when it is none of them), without branching.
    function _index(uint256 tick) private pure returns (uint256 idx) {
        unchecked {
            idx = N;
            for (uint256 i; i < N; ++i) {
                idx -= _if(tick, _tick(i), N - i);
            }
        }
    }

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

    function _atQty(uint64[N] memory values, uint256 idx) private pure returns (uint256 v) {
        unchecked {
            for (uint256 i; i < N; ++i) {
                v += _if(i, idx, values[i]);
            }
        }
    }

    // ---- books -----------------------------------------------------------------------------------------------

    function _buildFull(uint64[N] memory buys, uint64[N] memory sells) private {
        for (uint256 i; i < N; ++i) {
            vm.assume(buys[i] != 0);
            vm.assume(sells[i] != 0);
            book.add(_tick(i), true, buys[i]);
            book.add(_tick(i), false, sells[i]);
        }
    }

    function _buildSparse(uint64[N] memory buys, uint64[N] memory sells) private {
        buys[N - 1] = 0;
        sells[N - 1] = 0;
        for (uint256 i; i < N - 1; ++i) {
            if (buys[i] != 0) book.add(_tick(i), true, buys[i]);
            if (sells[i] != 0) book.add(_tick(i), false, sells[i]);
        }
    }

    // ---- the properties --------------------------------------------------------------------------------------

    /// @dev V* = max_t min(D(t), S(t)): no tick matches more, some tick matches exactly V*.
    function _volumeIsMaximal(uint64[N] memory buys, uint64[N] memory sells) private view {
        IEnergyMarket.ClearingRecord memory r = book.compute();
        (uint256[N + 1] memory demand, uint256[N] memory supply) = _curves(buys, sells);
        uint256 best;
        for (uint256 i; i < N; ++i) {
            uint256 matched = _min(demand[i], supply[i]);
            best = _max(best, matched);
        }
        assert(r.volumeWh == best);
    }

    /// @dev m_s <= p* <= m_b (Lemma 1); m_b the highest tick with D >= V*, m_s the lowest with S >= V*; R and Q as
    /// defined, 0 < R <= Q (Lemma 2); at most one side rationed (Lemma 3); all zero when nothing trades.
    function _priceBetweenMarginalTicks(uint64[N] memory buys, uint64[N] memory sells) private view {
        IEnergyMarket.ClearingRecord memory r = book.compute();
        (uint256[N + 1] memory demand, uint256[N] memory supply) = _curves(buys, sells);
        uint256 v = r.volumeWh;
        if (v == 0) {
            assert(uint256(r.clearingTick) + r.buyMarginalTick + r.sellMarginalTick == 0);
            assert(uint256(r.buyMarginalFilledWh) + r.sellMarginalFilledWh == 0);
            return;
        }
        assert(r.sellMarginalTick <= r.clearingTick);
        assert(r.clearingTick <= r.buyMarginalTick);
        assert(r.clearingTick == (uint256(r.sellMarginalTick) + r.buyMarginalTick) / 2);
        uint256 mb = _index(r.buyMarginalTick);
        uint256 ms = _index(r.sellMarginalTick);
        assert(mb < N);
        assert(ms < N);
        uint256 dAbove = _at(demand, mb + 1);
        uint256 sBelow;
        unchecked {
            sBelow = _atN(supply, ms - 1); // S(m_s - 1); ms - 1 wraps for ms == 0 and selects nothing: S(-1) = 0
        }
        assert(_at(demand, mb) >= v);
        assert(dAbove < v);
        assert(_atN(supply, ms) >= v);
        assert(sBelow < v);
        assert(r.buyMarginalTotalWh == _atQty(buys, mb));
        assert(r.sellMarginalTotalWh == _atQty(sells, ms));
        assert(r.buyMarginalFilledWh == v - dAbove);
        assert(r.sellMarginalFilledWh == v - sBelow);
        assert(r.buyMarginalFilledWh > 0);
        assert(r.buyMarginalFilledWh <= r.buyMarginalTotalWh);
        assert(r.sellMarginalFilledWh > 0);
        assert(r.sellMarginalFilledWh <= r.sellMarginalTotalWh);
        assert(r.buyMarginalFilledWh == r.buyMarginalTotalWh || r.sellMarginalFilledWh == r.sellMarginalTotalWh);
    }

    /// @dev The level totals are what was added; a tick's bit is set iff its level is non-empty.
    function _levelsAndBitmap(uint64[N] memory buys, uint64[N] memory sells) private view {
        for (uint256 i; i < N; ++i) {
            IEnergyMarket.Level memory lvl = book.levels[_tick(i)];
            assert(lvl.buyWh == buys[i]);
            assert(lvl.sellWh == sells[i]);
            assert(book.ticks.isSet(_tick(i)) == (uint256(buys[i]) + sells[i] != 0));
        }
    }

    function check_executedVolumeIsMaximal_Full(uint64[N] memory buys, uint64[N] memory sells) public {
        _buildFull(buys, sells);
        _volumeIsMaximal(buys, sells);
    }

    function check_priceLiesBetweenTheMarginalTicks_Full(uint64[N] memory buys, uint64[N] memory sells) public {
        _buildFull(buys, sells);
        _priceBetweenMarginalTicks(buys, sells);
    }

    function check_executedVolumeIsMaximal_Sparse(uint64[N] memory buys, uint64[N] memory sells) public {
        _buildSparse(buys, sells);
        _volumeIsMaximal(buys, sells);
    }

    function check_priceLiesBetweenTheMarginalTicks_Sparse(uint64[N] memory buys, uint64[N] memory sells) public {
        _buildSparse(buys, sells);
        _priceBetweenMarginalTicks(buys, sells);
    }

    function check_levelsAndBitmapFollowTheOrders_Sparse(uint64[N] memory buys, uint64[N] memory sells) public {
        _buildSparse(buys, sells);
        _levelsAndBitmap(buys, sells);
    }
}
