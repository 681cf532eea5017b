// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title TickBitmap
/// @notice A two-level bitmap over the 65,536 ticks of a uint16: 256 words of 256 bits, plus a summary word whose
/// bit `w` is set iff word `w` is non-zero. Finding the next set tick costs at most three storage reads, so walking
/// all set ticks costs O(set ticks), whatever the tick range.
library TickBitmap {
    /// @dev Returned by {next} when no tick at or above the start is set.
    uint256 internal constant NONE = 1 << 16;

    struct Bitmap {
        uint256 summary;
        uint256[256] words;
    }

    /// @notice Sets `tick`. Setting a set tick is a no-op.
    function set(Bitmap storage self, uint16 tick) internal {
        uint256 wordPos = tick >> 8;
        uint256 word = self.words[wordPos];
        if (word == 0) self.summary |= 1 << wordPos;
        self.words[wordPos] = word | (1 << (tick & 0xff));
    }

    /// @notice Clears `tick`. Clearing a clear tick is a no-op.
    function unset(Bitmap storage self, uint16 tick) internal {
        uint256 wordPos = tick >> 8;
        uint256 word = self.words[wordPos] & ~(1 << (tick & 0xff));
        self.words[wordPos] = word;
        if (word == 0) self.summary &= ~(1 << wordPos);
    }

    /// @notice Whether `tick` is set.
    function isSet(Bitmap storage self, uint16 tick) internal view returns (bool) {
        return self.words[tick >> 8] & (1 << (tick & 0xff)) != 0;
    }

    /// @notice The lowest set tick `>= tick`, or {NONE}.
    function next(Bitmap storage self, uint256 tick) internal view returns (uint256) {
        if (tick >= NONE) return NONE;
        uint256 wordPos = tick >> 8;
        uint256 bitPos = tick & 0xff;
        // Keep the bits at and above bitPos.
        uint256 word = (self.words[wordPos] >> bitPos) << bitPos;
        if (word != 0) return (wordPos << 8) | lowestBit(word);
        // Keep the summary bits above wordPos; a shift by 256 yields 0.
        uint256 summary = (self.summary >> (wordPos + 1)) << (wordPos + 1);
        if (summary == 0) return NONE;
        wordPos = lowestBit(summary);
        return (wordPos << 8) | lowestBit(self.words[wordPos]);
    }

    /// @notice All set ticks, ascending. Reads the summary, then each non-empty word twice (once to size the array,
    /// once to fill it; the second read is warm): O(set ticks + non-empty words).
    function toArray(Bitmap storage self) internal view returns (uint256[] memory ticks) {
        uint256 summary = self.summary;
        uint256 n;
        for (uint256 s = summary; s != 0; s &= s - 1) {
            // Popcount of the word: one iteration per set bit.
            for (uint256 w = self.words[lowestBit(s)]; w != 0; w &= w - 1) {
                // Cannot overflow: at most 65,536 set bits.
                unchecked {
                    ++n;
                }
            }
        }
        ticks = new uint256[](n);
        uint256 i;
        for (uint256 s = summary; s != 0; s &= s - 1) {
            uint256 wordPos = lowestBit(s);
            for (uint256 w = self.words[wordPos]; w != 0; w &= w - 1) {
                ticks[i] = (wordPos << 8) | lowestBit(w);
                // Cannot overflow: i < n.
                unchecked {
                    ++i;
                }
            }
        }
    }

    /// @notice Index of the least significant set bit of `x` (`x` must not be zero; 0 for 0).
    /// @dev About 40 gas: isolate the lowest set bit `b = 2^r`, find r's top three bits by halving (is `b` above
    /// 128, 64, 32 bits?), then its low five bits from the remaining power of two below 2^32 with the de Bruijn
    /// sequence 0x077CB531: multiplying by `2^k` shifts a distinct 5-bit window of it into bits 27..31, which the
    /// 32-entry table (one byte each, in one word) maps back to k. Every step has a fixed cost.
    function lowestBit(uint256 x) internal pure returns (uint256 r) {
        assembly ("memory-safe") {
            // x & -x; the wrap-around of 0 - x is intended.
            let b := and(x, sub(0, x))
            r := shl(7, gt(b, 0xffffffffffffffffffffffffffffffff))
            r := or(r, shl(6, gt(shr(r, b), 0xffffffffffffffff)))
            r := or(r, shl(5, gt(shr(r, b), 0xffffffff)))
            let window := shr(27, and(mul(shr(r, b), 0x077CB531), 0xffffffff))
            r := or(r, byte(window, 0x00011c021d0e18031e16140f191104081f1b0d17151310071a0c12060b050a09))
        }
    }
}
