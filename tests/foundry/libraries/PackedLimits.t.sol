// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedLimits} from "../../../contracts/libraries/PackedLimits.sol";
import {Test} from "../base/Test.sol";

/// @title PackedLimitsTest
/// @notice Fuzz tests of the {PackedLimits} word the city pool stores per slot and pair of communities
/// (docs/contracts.md section 17): both communities' limits round-trip, each from its own half, and any word reads
/// as exactly its own bits (a zero word: zero limits).
contract PackedLimitsTest is Test {
    function testFuzz_packThenUnpackRoundTripsBothCommunities(
        uint64 importLow,
        uint64 exportLow,
        uint64 importHigh,
        uint64 exportHigh,
        uint16 pairIndex
    ) public pure {
        uint256 word = PackedLimits.pack(importLow, exportLow, importHigh, exportHigh);
        uint256 even = uint256(pairIndex) * 2;
        (uint64 readImport, uint64 readExport) = PackedLimits.unpack(word, even);
        vm.assertEq(uint256(readImport), uint256(importLow), "even community's import limit");
        vm.assertEq(uint256(readExport), uint256(exportLow), "even community's export limit");
        (readImport, readExport) = PackedLimits.unpack(word, even + 1);
        vm.assertEq(uint256(readImport), uint256(importHigh), "odd community's import limit");
        vm.assertEq(uint256(readExport), uint256(exportHigh), "odd community's export limit");
    }

    function testFuzz_unpackReadsExactlyItsOwnBits(uint256 word, uint256 communityId) public pure {
        (uint64 importWh, uint64 exportWh) = PackedLimits.unpack(word, communityId);
        uint256 base = communityId % 2 == 0 ? 0 : 128;
        vm.assertEq(uint256(importWh), (word >> base) & type(uint64).max, "import: bits base..base + 63");
        vm.assertEq(uint256(exportWh), (word >> (base + 64)) & type(uint64).max, "export: bits base + 64..base + 127");
    }

    function test_zeroWordIsZeroLimitsForBothCommunities() public pure {
        for (uint256 id; id < 2; ++id) {
            (uint64 importWh, uint64 exportWh) = PackedLimits.unpack(0, id);
            vm.assertEq(uint256(importWh), 0, "no import");
            vm.assertEq(uint256(exportWh), 0, "no export");
        }
    }
}
