// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {TickBitmap} from "./TickBitmap.sol";

/// @title OrderBook
/// @notice The aggregated order book of one delivery slot and its clearing record: resting quantity per price tick
/// (buy and sell totals in one word), a bitmap of the non-empty ticks, and the outcome of the uniform-price
/// auction. Individual orders live elsewhere; clearing only ever touches levels, so it costs O(non-empty ticks).
library OrderBook {
    using TickBitmap for TickBitmap.Bitmap;

    /// @notice Most Wh one side of one level may hold. Keeps sums over all 2^16 ticks below 2^112 and lets the
    /// clearing pack a level into one word.
    uint256 internal constant MAX_LEVEL_WH = type(uint96).max;

    uint256 private constant _MASK_96 = type(uint96).max;

    /// @dev What a claim of one side needs from the clearing record: one storage word per side, so a claim reads
    /// one word. `filledWh` (R) of `totalWh` (Q) fills at `marginalTick`; `filledWh == 0` means no trade.
    struct SideClearing {
        bool cleared;
        uint16 clearingTick;
        uint16 marginalTick;
        uint96 filledWh;
        uint96 totalWh;
    }

    /// @dev `marginalClaimedWh`: Wh of the orders claimed so far at the rationed marginal level (R < Q; at most one
    /// side has one), which {Clearing-share} rounds against cumulatively. It shares a word with `volumeWh`.
    struct State {
        SideClearing buy;
        SideClearing sell;
        uint128 volumeWh;
        uint96 marginalClaimedWh;
        TickBitmap.Bitmap ticks;
        IEnergyMarket.Level[65536] levels;
    }

    /// @notice Adds `qtyWh` to one side of the level at `tick`. Returns false, changing nothing, when that side
    /// would exceed MAX_LEVEL_WH.
    function add(State storage self, uint16 tick, bool isBuy, uint64 qtyWh) internal returns (bool) {
        IEnergyMarket.Level memory lvl = self.levels[tick];
        uint256 total = uint256(isBuy ? lvl.buyWh : lvl.sellWh) + qtyWh;
        if (total > MAX_LEVEL_WH) return false;
        if ((lvl.buyWh | lvl.sellWh) == 0) self.ticks.set(tick);
        // Cannot truncate: total <= MAX_LEVEL_WH.
        if (isBuy) lvl.buyWh = uint128(total);
        else lvl.sellWh = uint128(total);
        self.levels[tick] = lvl;
        return true;
    }

    /// @notice Removes `qtyWh` from one side of the level at `tick` (which must hold it), clearing the tick's bit
    /// when the level empties.
    function remove(State storage self, uint16 tick, bool isBuy, uint64 qtyWh) internal {
        IEnergyMarket.Level memory lvl = self.levels[tick];
        // Cannot underflow: the caller removes an order whose quantity the level includes.
        unchecked {
            if (isBuy) lvl.buyWh -= qtyWh;
            else lvl.sellWh -= qtyWh;
        }
        self.levels[tick] = lvl;
        if ((lvl.buyWh | lvl.sellWh) == 0) self.ticks.unset(tick);
    }

    /// @notice Computes the clearing (see {compute}) and stores it.
    function clear(State storage self) internal returns (IEnergyMarket.ClearingRecord memory r) {
        r = compute(self);
        self.buy = SideClearing({
            cleared: true,
            clearingTick: r.clearingTick,
            marginalTick: r.buyMarginalTick,
            filledWh: r.buyMarginalFilledWh,
            totalWh: r.buyMarginalTotalWh
        });
        self.sell = SideClearing({
            cleared: true,
            clearingTick: r.clearingTick,
            marginalTick: r.sellMarginalTick,
            filledWh: r.sellMarginalFilledWh,
            totalWh: r.sellMarginalTotalWh
        });
        if (r.volumeWh != 0) self.volumeWh = r.volumeWh;
    }

    /// @notice The stored clearing record.
    function record(State storage self) internal view returns (IEnergyMarket.ClearingRecord memory) {
        SideClearing memory b = self.buy;
        SideClearing memory s = self.sell;
        return IEnergyMarket.ClearingRecord({
            cleared: b.cleared,
            volumeWh: self.volumeWh,
            clearingTick: b.clearingTick,
            buyMarginalTick: b.marginalTick,
            buyMarginalFilledWh: b.filledWh,
            buyMarginalTotalWh: b.totalWh,
            sellMarginalTick: s.marginalTick,
            sellMarginalFilledWh: s.filledWh,
            sellMarginalTotalWh: s.totalWh
        });
    }

    /// @notice The clearing rule of docs/contracts.md. Reads every non-empty level once (cold) into memory, packed
    /// as `tick << 192 | buyWh << 96 | sellWh`, then walks that array twice: for the volume
    /// V* = max_t min(D(t), S(t)), and for the marginal ticks. Sums over at most 2^16 levels of at most 2^96 stay
    /// below 2^112, so every cast below is lossless.
    function compute(State storage self) internal view returns (IEnergyMarket.ClearingRecord memory r) {
        r.cleared = true;
        uint256[] memory packedLevels = self.ticks.toArray();
        uint256 n = packedLevels.length;
        IEnergyMarket.Level[65536] storage levels = self.levels;
        uint256 totalBuy;
        for (uint256 i; i < n; ++i) {
            uint256 t = packedLevels[i];
            IEnergyMarket.Level storage lvl = levels[t];
            uint256 buyWh = lvl.buyWh;
            totalBuy += buyWh;
            packedLevels[i] = (t << 192) | (buyWh << 96) | lvl.sellWh;
        }
        if (totalBuy == 0) return r;

        // V*: D(t) = totalBuy - buys below t is non-increasing, S(t) = sells at or below t non-decreasing, so
        // min(D, S) peaks where S first reaches D; both only change at non-empty ticks.
        uint256 volume;
        {
            uint256 buyBelow;
            uint256 sellThrough;
            for (uint256 i; i < n; ++i) {
                uint256 packed = packedLevels[i];
                sellThrough += packed & _MASK_96;
                uint256 demand = totalBuy - buyBelow;
                uint256 matched = demand < sellThrough ? demand : sellThrough;
                if (matched > volume) volume = matched;
                if (sellThrough >= demand) break;
                buyBelow += (packed >> 96) & _MASK_96;
            }
        }
        if (volume == 0) return r;
        // Cannot truncate: volume <= totalBuy < 2^112.
        r.volumeWh = uint128(volume);

        // m_s = lowest t with S(t) >= V*; m_b = highest t with D(t) >= V*, i.e. the lowest t whose cumulative buys
        // (ascending) exceed totalBuy - V*. m_s <= m_b, so the sell side is always found first.
        uint256 buyThreshold = totalBuy - volume;
        uint256 buyThrough;
        uint256 sellBelow;
        bool sellFound;
        for (uint256 i; i < n; ++i) {
            uint256 packed = packedLevels[i];
            uint256 t = packed >> 192;
            uint256 sellWh = packed & _MASK_96;
            uint256 buyWh = (packed >> 96) & _MASK_96;
            if (!sellFound && sellBelow + sellWh >= volume) {
                sellFound = true;
                r.sellMarginalTick = uint16(t);
                r.sellMarginalFilledWh = uint96(volume - sellBelow);
                r.sellMarginalTotalWh = uint96(sellWh);
            }
            sellBelow += sellWh;
            buyThrough += buyWh;
            if (buyThrough > buyThreshold) {
                r.buyMarginalTick = uint16(t);
                // Cannot underflow: buyThrough > totalBuy - volume.
                r.buyMarginalFilledWh = uint96(volume - (totalBuy - buyThrough));
                r.buyMarginalTotalWh = uint96(buyWh);
                break;
            }
        }
        // Cannot overflow: both ticks are at most 65535.
        unchecked {
            r.clearingTick = uint16((uint256(r.sellMarginalTick) + r.buyMarginalTick) / 2);
        }
    }
}
