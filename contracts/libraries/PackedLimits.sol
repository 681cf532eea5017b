// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title PackedLimits
/// @notice Two communities' transfer limits of one slot in one storage word: community `2j` in bits 0..127 and
/// community `2j + 1` in bits 128..255 of word `j`, each half its import limit (Wh) in its low 64 bits and its export
/// limit (Wh) in its high 64 bits. Whether a slot's limits are published is kept per slot, not here (see
/// {CityPool}): a word holds no flag, so that two communities fit it and the pool's clearing reads one word per two
/// communities.
/// @dev A zero word (never written) reads as zero limits, so a community without a publication can cross nothing.
library PackedLimits {
    /// @notice The word of two communities' limits: `importLow`/`exportLow` the even one's (low half),
    /// `importHigh`/`exportHigh` the odd one's (high half; zeros when the even one is the last community).
    function pack(uint64 importLow, uint64 exportLow, uint64 importHigh, uint64 exportHigh)
        internal
        pure
        returns (uint256)
    {
        return (uint256(exportHigh) << 192) | (uint256(importHigh) << 128) | (uint256(exportLow) << 64)
            | uint256(importLow);
    }

    /// @notice The limits of community `communityId` in the word of its pair (word `communityId >> 1`): the low half
    /// for an even id, the high half for an odd one.
    function unpack(uint256 word, uint256 communityId) internal pure returns (uint64 importWh, uint64 exportWh) {
        // Cannot overflow: the shift is 0 or 128. Truncation intended: each limit is its own 64 bits of the half.
        uint256 half = word >> ((communityId & 1) << 7);
        importWh = uint64(half);
        exportWh = uint64(half >> 64);
    }
}
