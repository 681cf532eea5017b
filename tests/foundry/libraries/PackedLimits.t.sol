// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedLimits} from "../../../contracts/libraries/PackedLimits.sol";
import {Test} from "../base/Test.sol";

/// @title PackedLimitsTest
/// @notice Fuzz tests of the {PackedLimits} word the city pool stores per slot and community (docs/contracts.md
/// section 17): every pair of limits round-trips with its published flag, a published word is never zero and leaves
/// bits 129..255 free, and any word reads as exactly its own bits (a zero word: not published, zero limits).
contract PackedLimitsTest is Test {
    function testFuzz_packThenUnpackRoundTrips(uint64 importWh, uint64 exportWh) public pure {
        (bool published, uint64 readImport, uint64 readExport) =
            PackedLimits.unpack(PackedLimits.pack(importWh, exportWh));
        vm.assertTrue(published, "a packed word is published");
        vm.assertEq(uint256(readImport), uint256(importWh), "import limit");
        vm.assertEq(uint256(readExport), uint256(exportWh), "export limit");
    }

    function testFuzz_publishedWordIsNeverZeroAndLeavesTheHighBitsFree(uint64 importWh, uint64 exportWh) public pure {
        uint256 word = PackedLimits.pack(importWh, exportWh);
        vm.assertTrue(word != 0, "even zero limits are told apart from no publication");
        vm.assertEq(word >> 129, 0, "bits 129..255 stay free");
    }

    function testFuzz_unpackReadsExactlyItsOwnBits(uint256 word) public pure {
        (bool published, uint64 importWh, uint64 exportWh) = PackedLimits.unpack(word);
        vm.assertEq(published, (word >> 128) & 1 == 1, "bit 128 is the flag");
        vm.assertEq(uint256(importWh), word & type(uint64).max, "bits 0..63");
        vm.assertEq(uint256(exportWh), (word >> 64) & type(uint64).max, "bits 64..127");
    }

    function test_zeroWordIsUnpublishedWithZeroLimits() public pure {
        (bool published, uint64 importWh, uint64 exportWh) = PackedLimits.unpack(0);
        vm.assertFalse(published, "not published");
        vm.assertEq(uint256(importWh), 0, "no import");
        vm.assertEq(uint256(exportWh), 0, "no export");
    }
}
