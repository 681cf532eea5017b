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
    /// `residual`: the commitment {clear} stores to what the slot left unmatched (see {_residualHash}).
    struct State {
        SideClearing buy;
        SideClearing sell;
        uint128 volumeWh;
        uint96 marginalClaimedWh;
        bytes32 residual;
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

    /// @notice Computes the clearing (see {compute}) and stores it, with the commitment to the residual.
    function clear(State storage self) internal returns (IEnergyMarket.ClearingRecord memory r) {
        (uint256[] memory packedLevels, uint256 totalBuy) = _loadLevels(self);
        r = clearLevels(packedLevels, totalBuy);
        _storeSide(self.buy, r.clearingTick, r.buyMarginalTick, r.buyMarginalFilledWh, r.buyMarginalTotalWh);
        _storeSide(self.sell, r.clearingTick, r.sellMarginalTick, r.sellMarginalFilledWh, r.sellMarginalTotalWh);
        if (r.volumeWh != 0) self.volumeWh = r.volumeWh;
        self.residual = _residualHash(packedLevels, r);
    }

    /// @dev `keccak256(abi.encode(buys, sells))` of what the clearing `r` of the levels `packedLevels` left unmatched
    /// (docs/pool.md): `buys` the residual bids highest tick first, `sells` the residual asks lowest tick first, each
    /// a non-empty level packed `tick << 96 | Wh` (the format {PoolClearing} reads). A side's residual is all of a
    /// level worse than its marginal tick and `Q - R` at it; the whole book when nothing traded. The city pool checks
    /// the residual it is given against this hash, so that it clears only what the market left. Written in one pass
    /// over the levels into free memory (not allocated: nothing is kept) and hashed in place.
    function _residualHash(uint256[] memory packedLevels, IEnergyMarket.ClearingRecord memory r)
        private
        pure
        returns (bytes32 h)
    {
        // When nothing traded every level is residual: a buy marginal tick above every tick and a sell marginal tick
        // of 0 with nothing filled there (R is 0 in such a record) say just that.
        uint256 buyTick = r.volumeWh != 0 ? r.buyMarginalTick : 1 << 16;
        uint256 buyFilledWh = r.buyMarginalFilledWh;
        uint256 sellTick = r.sellMarginalTick;
        uint256 sellFilledWh = r.sellMarginalFilledWh;
        // One ascending pass: residual asks are written upwards from `sells`, residual bids downwards from it, so the
        // bids end up highest tick first right before the asks' length word. Then the two offsets and the bids'
        // length go in front and `abi.encode(buys, sells)` is hashed where it lies, in free memory (not allocated).
        // Cannot underflow: R <= Q at a marginal tick. Cannot overflow: at most 2^16 levels of one word each.
        assembly ("memory-safe") {
            let n := mload(packedLevels)
            let levels := add(packedLevels, 0x20)
            let mask96 := 0xffffffffffffffffffffffff
            // Room below `sells` for n bids and the three header words.
            let sells := add(mload(0x40), shl(5, add(n, 3)))
            let up := add(sells, 0x20)
            let down := sells
            for { let end := add(levels, shl(5, n)) } lt(levels, end) { levels := add(levels, 0x20) } {
                let packed := mload(levels)
                let t := shr(192, packed)
                if iszero(gt(t, buyTick)) {
                    let q := and(shr(96, packed), mask96)
                    if eq(t, buyTick) { q := sub(q, buyFilledWh) }
                    if q {
                        down := sub(down, 0x20)
                        mstore(down, or(shl(96, t), q))
                    }
                }
                if iszero(lt(t, sellTick)) {
                    let q := and(packed, mask96)
                    if eq(t, sellTick) { q := sub(q, sellFilledWh) }
                    if q {
                        mstore(up, or(shl(96, t), q))
                        up := add(up, 0x20)
                    }
                }
            }
            mstore(sells, shr(5, sub(up, add(sells, 0x20))))
            let nb := shr(5, sub(sells, down))
            let out := sub(down, 0x60)
            mstore(out, 0x40)
            mstore(add(out, 0x20), add(0x60, shl(5, nb)))
            mstore(add(out, 0x40), nb)
            h := keccak256(out, sub(up, out))
        }
    }

    /// @dev Writes one cleared side in one SSTORE: {SideClearing} packed as Solidity lays it out from the low end
    /// (cleared at bit 0, clearingTick at 8, marginalTick at 24, filledWh at 40, totalWh at 136). A slot clears once,
    /// so the word is empty before and nothing else lives in it. Assigning the struct costs about 1.4k gas more.
    function _storeSide(
        SideClearing storage side,
        uint16 clearingTick,
        uint16 marginalTick,
        uint96 filledWh,
        uint96 totalWh
    ) private {
        uint256 word = 1 | uint256(clearingTick) << 8 | uint256(marginalTick) << 24 | uint256(filledWh) << 40
            | uint256(totalWh) << 136;
        assembly ("memory-safe") {
            sstore(side.slot, word)
        }
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
    /// as `tick << 192 | buyWh << 96 | sellWh` (see {_loadLevels}), then walks that array twice: for the volume
    /// V* = max_t min(D(t), S(t)), and for the marginal ticks. Sums over at most 2^16 levels of at most 2^96 stay
    /// below 2^112, so no sum below overflows and every cast is lossless.
    function compute(State storage self) internal view returns (IEnergyMarket.ClearingRecord memory) {
        (uint256[] memory packedLevels, uint256 totalBuy) = _loadLevels(self);
        return clearLevels(packedLevels, totalBuy);
    }

    /// @notice The clearing rule of {compute} on levels already in memory: `packedLevels` ascending by tick, packed
    /// as `tick << 192 | buyWh << 96 | sellWh` (each side below 2^96, their sums below 2^112), and `totalBuy` the
    /// sum of their buys. The city pool clears its fee-shifted, capped residual book with it (docs/pool.md).
    function clearLevels(uint256[] memory packedLevels, uint256 totalBuy)
        internal
        pure
        returns (IEnergyMarket.ClearingRecord memory r)
    {
        r.cleared = true;
        if (totalBuy == 0) return r;
        uint256 n = packedLevels.length;

        // V*: D(t) = totalBuy - buys below t is non-increasing, S(t) = sells at or below t non-decreasing, so
        // min(D, S) peaks where S first reaches D; both only change at non-empty ticks.
        uint256 volume;
        // Cannot overflow: sums of at most 2^16 levels of at most 2^96 Wh; buyBelow <= totalBuy.
        unchecked {
            uint256 buyBelow;
            uint256 sellThrough;
            for (uint256 i; i < n; ++i) {
                uint256 packed;
                // packedLevels[i] without a second bounds check: the loop runs while i < n, its length.
                assembly ("memory-safe") {
                    packed := mload(add(packedLevels, shl(5, add(i, 1))))
                }
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
        // Cannot overflow or underflow: sums as above; volume <= totalBuy; sellBelow < volume where subtracted.
        unchecked {
            uint256 buyThreshold = totalBuy - volume;
            uint256 buyThrough;
            uint256 sellBelow;
            bool sellFound;
            for (uint256 i; i < n; ++i) {
                uint256 packed;
                // packedLevels[i] without a second bounds check: the loop runs while i < n, its length.
                assembly ("memory-safe") {
                    packed := mload(add(packedLevels, shl(5, add(i, 1))))
                }
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
            // Both ticks are at most 65535.
            r.clearingTick = uint16((uint256(r.sellMarginalTick) + r.buyMarginalTick) / 2);
        }
    }

    /// @dev Every non-empty level, ascending by tick, packed as `tick << 192 | buyWh << 96 | sellWh` (each side at
    /// most MAX_LEVEL_WH < 2^96), and the sum of their buys. One walk of the bitmap: the summary, each non-empty
    /// word and each non-empty level are read once; a level's two sides come from one read of its word. The array
    /// is written at the free memory pointer as the walk goes and allocated at the end (its length is known only
    /// then), all in one assembly block.
    ///
    /// Storage layout relied on: a {TickBitmap-Bitmap} is its summary word followed by its 256 words; `levels[t]`
    /// is one word at `levels.slot + t` with `buyWh` in the low 128 bits and `sellWh` in the high 128 bits
    /// (Solidity packs {IEnergyMarket-Level}'s two uint128 fields in declaration order from the low end).
    function _loadLevels(State storage self) private view returns (uint256[] memory packed, uint256 totalBuy) {
        TickBitmap.Bitmap storage ticks = self.ticks;
        IEnergyMarket.Level[65536] storage levels = self.levels;
        assembly ("memory-safe") {
            // {TickBitmap-lowestBit}, the same code.
            function lowestBit(x) -> r {
                let b := and(x, sub(0, x))
                r := shl(7, gt(b, 0xffffffffffffffffffffffffffffffff))
                r := or(r, shl(6, gt(shr(r, b), 0xffffffffffffffff)))
                r := or(r, shl(5, gt(shr(r, b), 0xffffffff)))
                let window := shr(27, and(mul(shr(r, b), 0x077CB531), 0xffffffff))
                r := or(r, byte(window, 0x00011c021d0e18031e16140f191104081f1b0d17151310071a0c12060b050a09))
            }
            packed := mload(0x40)
            let ptr := add(packed, 0x20)
            let mask128 := 0xffffffffffffffffffffffffffffffff
            // Cannot overflow: at most 2^16 levels of at most 2^96 Wh.
            for { let s := sload(ticks.slot) } s { s := and(s, sub(s, 1)) } {
                let wordPos := lowestBit(s)
                // The word's set bits, lowest first: `w` is the word shifted right by `bit`. A run of set bits
                // (neighbouring ticks, the common case) costs one shift per tick; a gap is jumped with lowestBit.
                let w := sload(add(add(ticks.slot, 1), wordPos))
                let t := shl(8, wordPos)
                for {} w {} {
                    if iszero(and(w, 1)) {
                        let gap := lowestBit(w)
                        w := shr(gap, w)
                        t := add(t, gap)
                    }
                    let lvl := sload(add(levels.slot, t))
                    let buyWh := and(lvl, mask128)
                    totalBuy := add(totalBuy, buyWh)
                    mstore(ptr, or(or(shl(192, t), shl(96, buyWh)), shr(128, lvl)))
                    ptr := add(ptr, 0x20)
                    w := shr(1, w)
                    t := add(t, 1)
                }
            }
            mstore(packed, shr(5, sub(ptr, add(packed, 0x20))))
            mstore(0x40, ptr)
        }
    }
}
