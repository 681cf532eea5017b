// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {Clearing} from "./Clearing.sol";
import {OrderBook} from "./OrderBook.sol";

/// @title PoolClearing
/// @notice The city pool's rule (docs/pool.md; Python reference `market/pool.py`): every community's residual book,
/// shifted by its grid fee in ticks and capped by its transfer limits, clears as one uniform-price book; each
/// community's import and export follow, and where they run out in its own residual levels.
/// @dev Reads the residuals from memory (the pool authenticates them against the markets' commitments); the cost
/// grows with communities and the residual levels they use, never with orders. A capped curve `min(residual beyond
/// e, limit)` equals the plain curve of the residual truncated at the limit (best levels first), so the capped pool
/// is an ordinary book of truncated levels, cleared by {OrderBook-clearLevels}; a side's walk stops at its limit.
library PoolClearing {
    uint256 private constant _MASK_128 = 0xffffffffffffffffffffffffffffffff;
    /// @dev {TickBitmap-lowestBit}'s table: byte k is the bit index whose de Bruijn window is k.
    uint256 private constant _LOWEST_BIT_TABLE = 0x00011c021d0e18031e16140f191104081f1b0d17151310071a0c12060b050a09;

    /// @notice One community as the pool clears it. A residual level is packed `tick << 96 | wh` (0 < wh < 2^96);
    /// each side lists its non-empty levels best first, ticks strictly monotone (the caller guarantees it: the pool
    /// takes them only as the community's market committed them).
    /// @param feeTicks       its grid fee in ticks (levels crossed x fee per level).
    /// @param importLimitWh  most it may take from the pool.
    /// @param exportLimitWh  most it may give to the pool.
    /// @param buys           residual buys, highest tick first.
    /// @param sells          residual sells, lowest tick first.
    struct Community {
        uint16 feeTicks;
        uint64 importLimitWh;
        uint64 exportLimitWh;
        uint256[] buys;
        uint256[] sells;
    }

    /// @notice What the pool cleared for one community. A side's marginal level is in the community's own ticks:
    /// `filledWh` (R) of its residual `totalWh` (Q) at `tick` fills; all zero when the side got nothing.
    struct Fill {
        uint64 importWh;
        uint64 exportWh;
        uint16 buyMarginalTick;
        uint64 buyMarginalFilledWh;
        uint96 buyMarginalTotalWh;
        uint16 sellMarginalTick;
        uint64 sellMarginalFilledWh;
        uint96 sellMarginalTotalWh;
    }

    /// @notice The pool's clearing of one slot: `volumeWh` (V*, 0 when nothing crosses), the clearing tick p* and
    /// the marginal ticks m_b, m_s in pool (fee-shifted) ticks, one fill per community in their order.
    struct Result {
        uint256 volumeWh;
        uint16 clearingTick;
        uint16 buyMarginalTick;
        uint16 sellMarginalTick;
        Fill[] fills;
    }

    /// @dev The city's book as it is built: one word per pool tick (buyWh in the high 128 bits, sellWh in the low
    /// 128), a bit per non-empty tick so that reading it back skips the empty ones. Only the
    /// window of pool ticks `low..top - 1` where a bid and an ask can meet is kept (word and bit `i` are pool tick
    /// `low + i`): from the lowest first ask to the highest first bid of any community, see {_window}.
    struct CityBook {
        uint256[] words;
        uint256[] bits;
        uint256 low;
        uint256 top;
    }

    /// @notice A community's residual sides alone, as {CityPool-clear} takes them from its caller (the fee and the
    /// limits come from the pool's own storage), two levels a word: word `i` holds level `2i` in its high 128 bits and
    /// level `2i + 1` in its low 128 bits, each packed as in {Community} (`tick << 96 | wh` < 2^112); a side of an odd
    /// number of levels leaves the low half of its last word zero. Calldata costs 4 gas per zero byte and 16 per
    /// other: a level alone in a word is mostly zero bytes.
    /// @param buys  residual buys, highest tick first, two a word.
    /// @param sells residual sells, lowest tick first, two a word.
    struct Sides {
        uint256[] buys;
        uint256[] sells;
    }

    /// @notice Clears the pool for `communities` on a grid of ticks 0..`maxTick`.
    /// @dev WARNING: the levels are the clearing's scratch space: each level a side adds to the city's book gets the
    /// limit left after it in bits 128..191 (see {_addSide}); the arrays of `communities` are not the caller's to read
    /// afterwards.
    function clear(Community[] memory communities, uint16 maxTick) internal pure returns (Result memory r) {
        uint256 k = communities.length;
        r.fills = new Fill[](k);
        uint256 low = uint256(maxTick) + 1;
        uint256 top;
        for (uint256 i; i < k; ++i) {
            Community memory community = communities[i];
            (low, top) = _window(community.buys, community.sells, community.feeTicks, low, top);
        }
        if (top > uint256(maxTick) + 1) top = uint256(maxTick) + 1;
        if (low >= top) return r;
        CityBook memory book = _newBook(low, top);
        // added[2i], added[2i + 1]: how many of community i's buys and sells were added to the book.
        uint256[] memory added = new uint256[](2 * k);
        for (uint256 i; i < k; ++i) {
            Community memory community = communities[i];
            added[2 * i] = _addSide(book, community.buys, true, community.feeTicks, community.importLimitWh);
            added[2 * i + 1] = _addSide(book, community.sells, false, community.feeTicks, community.exportLimitWh);
        }
        IEnergyMarket.ClearingRecord memory c = _clearBook(book, r);
        if (c.volumeWh == 0) return r;
        _fillAll(communities, added, c, r.fills);
    }

    /// @dev Every community's fill from the city's clearing `c`. The rest at each city marginal level is shared among
    /// the communities' truncated levels there, in community order, with the cumulative rounding of
    /// {Clearing-share}: the parts add up to R exactly.
    function _fillAll(
        Community[] memory communities,
        uint256[] memory added,
        IEnergyMarket.ClearingRecord memory c,
        Fill[] memory fills
    ) private pure {
        uint256 buyBefore;
        uint256 sellBefore;
        for (uint256 i; i < communities.length; ++i) {
            Community memory community = communities[i];
            // Cannot overflow: n < 2^64 levels, limits < 2^64.
            unchecked {
                uint256 buys = added[2 * i] | uint256(community.importLimitWh) << 128;
                uint256 sells = added[2 * i + 1] | uint256(community.exportLimitWh) << 128;
                buyBefore += _fillSide(community.buys, buys, true, community.feeTicks, c, buyBefore, fills[i]);
                sellBefore += _fillSide(community.sells, sells, false, community.feeTicks, c, sellBefore, fills[i]);
            }
        }
    }

    /// @dev Fills in one side of `fill` for a community from the city's clearing `c`: its Wh (the truncated levels
    /// better than the city's marginal tick of that side, whole, and its share of the rest there, `beforeWh` being
    /// the truncated Wh of the communities before it at that tick) and where that runs out in its own levels.
    /// Returns its own truncated Wh at the city's marginal tick. `added`: the side's limit in its high 128 bits and how
    /// many of its levels {_addSide} added in its low 128 (one argument for both: the stack holds 16 slots).
    function _fillSide(
        uint256[] memory levels,
        uint256 added,
        bool isBuy,
        uint256 fee,
        IEnergyMarket.ClearingRecord memory c,
        uint256 beforeWh,
        Fill memory fill
    ) private pure returns (uint256 atWh) {
        // `walk`: (Wh of the levels better than the marginal tick, the offset of the last of them, its Wh): the walk to
        // the community's own marginal level starts there (see {_marginal}).
        uint256[3] memory walk;
        if (isBuy) {
            (walk, atWh) = _curve(levels, added, true, fee, c.buyMarginalTick);
            // Cannot truncate: at most the community's uint64 import limit.
            fill.importWh =
                uint64(walk[0] + Clearing.share(atWh, beforeWh, c.buyMarginalFilledWh, c.buyMarginalTotalWh));
            (fill.buyMarginalTick, fill.buyMarginalFilledWh, fill.buyMarginalTotalWh) =
                _marginal(levels, fill.importWh, walk);
        } else {
            (walk, atWh) = _curve(levels, added, false, fee, c.sellMarginalTick);
            // Cannot truncate: at most the community's uint64 export limit.
            fill.exportWh =
                uint64(walk[0] + Clearing.share(atWh, beforeWh, c.sellMarginalFilledWh, c.sellMarginalTotalWh));
            (fill.sellMarginalTick, fill.sellMarginalFilledWh, fill.sellMarginalTotalWh) =
                _marginal(levels, fill.exportWh, walk);
        }
    }

    /// @dev Widens the window `low..top - 1` of pool ticks where bids and asks can meet by one community's: its best
    /// bid `t - fee` (none below 0) raises `top` to one past it, its best ask `t + fee` lowers `low`. A bid below every
    /// ask and an ask above every bid can never trade, nor be a marginal level: V* is reached at some e with an ask
    /// at or below it and a bid at or above it, so m_b >= e >= low and m_s <= e < top. Leaving them out of the city's
    /// book (and its memory) changes no figure of the result. Cannot overflow: ticks and fees < 2^16.
    function _window(uint256[] memory buys, uint256[] memory sells, uint256 fee, uint256 low, uint256 top)
        private
        pure
        returns (uint256, uint256)
    {
        unchecked {
            if (buys.length != 0) {
                uint256 t = buys[0] >> 96;
                if (t >= fee && t - fee + 1 > top) top = t - fee + 1;
            }
            if (sells.length != 0) {
                uint256 t = (sells[0] >> 96) + fee;
                if (t < low) low = t;
            }
        }
        return (low, top);
    }

    /// @dev An empty city book for pool ticks `low..top - 1` (low < top).
    function _newBook(uint256 low, uint256 top) private pure returns (CityBook memory) {
        // Cannot underflow: low < top.
        unchecked {
            return CityBook({
                words: new uint256[](top - low), bits: new uint256[](((top - low - 1) >> 8) + 1), low: low, top: top
            });
        }
    }

    /// @dev Clears the city's `book` (every community's residual levels shifted by its fee and truncated at its
    /// limits, summed per pool tick: a sum of at most 2^16 communities' uint64 limits stays below 2^80, well inside
    /// {OrderBook}'s 2^96 sides) with {OrderBook-clearLevels}, which takes it ascending and packed
    /// `tick << 192 | buyWh << 96 | sellWh`. Sets, when anything crosses, `r`'s volume and ticks; returns the
    /// clearing record.
    function _clearBook(CityBook memory book, Result memory r)
        private
        pure
        returns (IEnergyMarket.ClearingRecord memory c)
    {
        uint256[] memory packed;
        uint256 low = book.low;
        uint256 totalBuy;
        // Each set bit is a non-empty tick of the window (pool tick low + i), read back ascending in one assembly
        // block, the lowest set bit found as {TickBitmap-lowestBit} finds it (inlined: the call and the Solidity loop
        // around it cost about 33 gas a tick more). The loops read and write memory directly, without bounds checks:
        // `i` is within `words` (a bit is set only for a word written by {_addSide}), and `packed` is written at the
        // free memory pointer as the walk goes and allocated at the end, when its length is known (nothing else
        // allocates memory meanwhile). Cannot overflow: sums of Wh below 2^80 (above), ticks below 2^16; `sub(0, x)`
        // wraps on purpose (x & -x isolates the lowest set bit).
        assembly ("memory-safe") {
            packed := mload(0x40)
            let out := packed
            // `book.words` and `book.bits` ({CityBook}) read here, not as Solidity locals: without the optimizer (forge
            // coverage) two more stack slots put this block beyond the 16 it can reach.
            let data := add(mload(book), 0x20)
            let bitPtr := mload(add(book, 0x20))
            let bitEnd := add(add(bitPtr, 0x20), shl(5, mload(bitPtr)))
            bitPtr := add(bitPtr, 0x20)
            for { let base := 0 } lt(bitPtr, bitEnd) {
                bitPtr := add(bitPtr, 0x20)
                base := add(base, 256)
            } {
                for { let b := mload(bitPtr) } b { b := and(b, sub(b, 1)) } {
                    let x := and(b, sub(0, b))
                    let i := shl(7, gt(x, 0xffffffffffffffffffffffffffffffff))
                    i := or(i, shl(6, gt(shr(i, x), 0xffffffffffffffff)))
                    i := or(i, shl(5, gt(shr(i, x), 0xffffffff)))
                    let window := shr(27, and(mul(shr(i, x), 0x077CB531), 0xffffffff))
                    i := add(base, or(i, byte(window, _LOWEST_BIT_TABLE)))
                    let word := mload(add(data, shl(5, i)))
                    let buyWh := shr(128, word)
                    totalBuy := add(totalBuy, buyWh)
                    out := add(out, 0x20)
                    mstore(out, or(or(shl(192, add(low, i)), shl(96, buyWh)), and(word, _MASK_128)))
                }
            }
            mstore(packed, shr(5, sub(out, packed)))
            mstore(0x40, add(out, 0x20))
        }
        c = OrderBook.clearLevels(packed, totalBuy);
        if (c.volumeWh == 0) return c;
        r.volumeWh = c.volumeWh;
        r.clearingTick = c.clearingTick;
        r.buyMarginalTick = c.buyMarginalTick;
        r.sellMarginalTick = c.sellMarginalTick;
    }

    /// @dev Adds one side's levels, best first, at their pool ticks to `book` until `capWh` is used up, and returns
    /// how many it added, `n`. Each level added keeps the limit left after it in its bits 128..191 (a level is below
    /// 2^112, a limit below 2^64), so that the truncated Wh of levels 0..j are `capWh` less that of level j ({_curve}
    /// reads them there instead of walking the levels again, and no array of sums takes fresh memory). A loop for
    /// bids and one for asks, in assembly: in Solidity each level cost about 400 gas of bounds checks and calls.
    function _addSide(CityBook memory book, uint256[] memory levels, bool isBuy, uint256 fee, uint256 capWh)
        private
        pure
        returns (uint256 n)
    {
        // A bid stands `fee` lower, an ask `fee` higher; only the book's window low..top - 1 is kept (see {_window}:
        // what lies outside never trades). A bid reaches the window from tick `fee + low` up (t - fee >= low), an ask
        // below `top - fee` (t + fee < top; none when fee >= top). A bid never stands above top - 1 nor an ask below
        // low: the window starts at the lowest first ask and ends at the highest first bid. The first level outside
        // the window ends the walk, as every later one is worse. A level's word in the window is at index
        // t - fee - low for a bid and t + fee - low for an ask, computed modulo 2^256 (the result of a level in the
        // window is in range); a bid's Wh goes in the high half of the word, an ask's in the low half. Cannot
        // overflow or underflow: ticks and fees < 2^16; take <= capWh (the room left); sums of Wh below 2^80 (see
        // {_clearBook}); the index is within 0..top - low - 1 (the length of `words` less one), its >> 8 within
        // `bits`; the levels written are the ones read (their bits 128..191 zero before: levels < 2^112).
        // `book` is read in place ({CityBook}: words, bits, low, top), to keep the stack within its 16 slots.
        assembly ("memory-safe") {
            let ptr := add(levels, 0x20)
            let end := add(ptr, shl(5, mload(levels)))
            let data := add(mload(book), 0x20)
            let bitData := add(mload(add(book, 0x20)), 0x20)
            // `base`: where the word of tick 0 would be, so that tick t's word is at base + 32 t (modulo 2^256, as
            // `delta`); the level that uses up the limit sets `end` past itself, ending the walk after it.
            if iszero(capWh) { end := ptr }
            switch isBuy
            case 0 {
                let top := mload(add(book, 0x60))
                let limit := 0
                if gt(top, fee) { limit := sub(top, fee) }
                let delta := sub(fee, mload(add(book, 0x40)))
                let base := add(data, shl(5, delta))
                for {} lt(ptr, end) { ptr := add(ptr, 0x20) } {
                    let level := mload(ptr)
                    let t := shr(96, level)
                    if iszero(lt(t, limit)) { break }
                    let take := and(level, 0xffffffffffffffffffffffff)
                    if iszero(gt(capWh, take)) {
                        take := capWh
                        end := add(ptr, 0x20)
                    }
                    capWh := sub(capWh, take)
                    mstore(ptr, or(level, shl(128, capWh)))
                    let slot := add(base, shl(5, t))
                    let word := mload(slot)
                    if iszero(word) {
                        let index := add(t, delta)
                        let bitSlot := add(bitData, shl(5, shr(8, index)))
                        mstore(bitSlot, or(mload(bitSlot), shl(and(index, 0xff), 1)))
                    }
                    mstore(slot, add(word, take))
                }
            }
            default {
                let limit := add(fee, mload(add(book, 0x40)))
                let delta := sub(0, limit)
                let base := add(data, shl(5, delta))
                for {} lt(ptr, end) { ptr := add(ptr, 0x20) } {
                    let level := mload(ptr)
                    let t := shr(96, level)
                    if lt(t, limit) { break }
                    let take := and(level, 0xffffffffffffffffffffffff)
                    if iszero(gt(capWh, take)) {
                        take := capWh
                        end := add(ptr, 0x20)
                    }
                    capWh := sub(capWh, take)
                    mstore(ptr, or(level, shl(128, capWh)))
                    let slot := add(base, shl(5, t))
                    let word := mload(slot)
                    if iszero(word) {
                        let index := add(t, delta)
                        let bitSlot := add(bitData, shl(5, shr(8, index)))
                        mstore(bitSlot, or(mload(bitSlot), shl(and(index, 0xff), 1)))
                    }
                    mstore(slot, add(word, shl(128, take)))
                }
            }
            n := shr(5, sub(ptr, add(levels, 0x20)))
        }
    }

    /// @dev One side's truncated levels strictly better than the pool's marginal tick `m` of that side (filled
    /// whole: `walk[0]`) and at it (shared: `atWh`); `walk[1]` is the memory offset (from the first level) of the
    /// last level counted in `walk[0]` and `walk[2]` its truncated Wh (both 0 when none is). `added`: the side's
    /// limit (high 128 bits) and the number `n` of levels {_addSide} added (low 128), each with the limit left after
    /// it in its bits 128..191 (the walk stops at the limit and at the window's edge, and every level better than a
    /// marginal tick lies inside the window), so the first level not better than `own` is found by binary search over
    /// the ticks (best first, strictly monotone; bits 96..111) and the Wh are read off the limits left.
    function _curve(uint256[] memory levels, uint256 added, bool isBuy, uint256 fee, uint256 m)
        private
        pure
        returns (uint256[3] memory walk, uint256 atWh)
    {
        // `own`: the pool's marginal tick in the community's ticks. An ask reaches m only from own = m - fee >= 0.
        if (!isBuy && m < fee) return (walk, 0);
        // Cannot overflow or underflow: m, fee < 2^16; m >= fee for asks (above); lo < hi where mid is taken; the
        // limit left only decreases along the levels, from the limit (j - 1 and j - 2 only read when j > 0, j > 1).
        uint256 own;
        unchecked {
            own = isBuy ? m + fee : m - fee;
        }
        uint256 capWh = added >> 128;
        uint256 n = added & _MASK_128;
        uint256 j;
        assembly ("memory-safe") {
            // j: the first of the n added levels that is not strictly better than `own` (a bid at or below it, an ask
            // at or above it); n when all are.
            let lo := 0
            let hi := n
            for {} lt(lo, hi) {} {
                let mid := shr(1, add(lo, hi))
                let t := and(shr(96, mload(add(levels, shl(5, add(mid, 1))))), 0xffff)
                let better := lt(t, own)
                if isBuy { better := gt(t, own) }
                switch better
                case 0 { hi := mid }
                default { lo := add(mid, 1) }
            }
            j := lo
        }
        unchecked {
            // The limit left before level j (after level j - 1).
            uint256 leftBefore = capWh;
            if (j > 0) {
                leftBefore = levels[j - 1] >> 128;
                walk[0] = capWh - leftBefore;
                walk[1] = (j - 1) << 5;
                walk[2] = (j > 1 ? levels[j - 2] >> 128 : capWh) - leftBefore;
            }
            if (j < n && (levels[j] >> 96) & 0xffff == own) atWh = leftBefore - (levels[j] >> 128);
        }
    }

    /// @dev Where `filledWh` runs out in one side's residual levels, best first: the level its orders' claims share
    /// pro rata (tick, R, Q); zeros when `filledWh` is 0. The walk starts at the last level {_curve} counted whole
    /// (`walk`): every level before it was taken whole (a limit truncates only the level where it runs out, and the
    /// walk ends there), so they hold `walk[0] - walk[2]` Wh, less than `filledWh` (>= walk[0]): the marginal level
    /// is that one or a later one. In assembly for the reason given at {_addSide}.
    function _marginal(uint256[] memory levels, uint256 filledWh, uint256[3] memory walk)
        private
        pure
        returns (uint16, uint64, uint96)
    {
        uint256 tick;
        uint256 totalWh;
        uint256 from = walk[1];
        // Cannot underflow: walk[2] <= walk[0] <= filledWh, and qty < left where subtracted.
        uint256 left;
        unchecked {
            left = filledWh - (walk[0] - walk[2]);
        }
        assembly ("memory-safe") {
            let first := add(levels, 0x20)
            let end := add(first, shl(5, mload(levels)))
            for { let ptr := add(first, from) } and(lt(ptr, end), gt(left, 0)) { ptr := add(ptr, 0x20) } {
                let qty := and(mload(ptr), 0xffffffffffffffffffffffff)
                if iszero(lt(qty, left)) {
                    tick := and(shr(96, mload(ptr)), 0xffff)
                    totalWh := qty
                    break
                }
                left := sub(left, qty)
            }
        }
        // Cannot truncate: ticks are below 2^16 (a market's), left <= filledWh < 2^64, qty < 2^96.
        return (uint16(tick), uint64(left), uint96(totalWh));
    }
}
