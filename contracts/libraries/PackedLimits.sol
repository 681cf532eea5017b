// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title PackedLimits
/// @notice One community's transfer limits of one slot in one storage word: bits 0..63 the import limit (Wh), bits
/// 64..127 the export limit (Wh), bit 128 the published flag. Bits 129..255 are zero (free for the pool's clearing).
/// @dev A zero word (never written) reads as not published with zero limits, so a community without a publication
/// can cross nothing. A published word is never zero (its flag is set), even with both limits zero.
library PackedLimits {
    /// @dev The published flag.
    uint256 internal constant PUBLISHED = 1 << 128;

    /// @notice The word of published limits `importWh` and `exportWh`.
    function pack(uint64 importWh, uint64 exportWh) internal pure returns (uint256) {
        return PUBLISHED | (uint256(exportWh) << 64) | uint256(importWh);
    }

    /// @notice The limits a word holds (zeros and `published` false for a zero word).
    function unpack(uint256 word) internal pure returns (bool published, uint64 importWh, uint64 exportWh) {
        published = word & PUBLISHED != 0;
        // Truncation intended: each limit is its own 64 bits of the word.
        importWh = uint64(word);
        exportWh = uint64(word >> 64);
    }
}
