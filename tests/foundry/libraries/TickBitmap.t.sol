// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TickBitmap} from "../../../contracts/libraries/TickBitmap.sol";
import {Test} from "../base/Test.sol";

/// @title TickBitmapTest
/// @notice Fuzz tests of the two-level {TickBitmap} against a plain model (a list of set ticks): random sets and
/// unsets over the whole 16-bit range (clustered so that words fill, empty and refill), then `isSet`, `next` from
/// random starts and `toArray` must agree with the model.
contract TickBitmapTest is Test {
    using TickBitmap for TickBitmap.Bitmap;

    TickBitmap.Bitmap internal bitmap;
    mapping(uint256 tick => bool) internal modelSet;
    uint256[] internal touched;

    function _apply(uint256 seed, uint256 steps) private {
        // A few clusters of ticks, so that the same words and the same ticks are hit again and again.
        uint256[4] memory clusters;
        for (uint256 c; c < 4; ++c) {
            clusters[c] = bound(uint256(keccak256(abi.encode(seed, "cluster", c))), 0, 65_535);
        }
        clusters[0] = 65_535 - (clusters[0] & 0x1ff); // near the top of the range
        for (uint256 i; i < steps; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 center = clusters[r & 3];
            uint256 tick = (center + ((r >> 8) & 0x3ff)) & 0xffff; // within 1,024 ticks: up to 5 words
            bool set = (r >> 32) % 3 != 0;
            if (set) bitmap.set(uint16(tick));
            else bitmap.unset(uint16(tick));
            modelSet[tick] = set;
            touched.push(tick);
        }
    }

    function _modelNext(uint256 from) private view returns (uint256 best) {
        best = TickBitmap.NONE;
        for (uint256 i; i < touched.length; ++i) {
            uint256 t = touched[i];
            if (modelSet[t] && t >= from && t < best) best = t;
        }
    }

    function testFuzz_isSetFollowsSetAndUnset(uint256 seed, uint256 steps) public {
        _apply(seed, bound(steps, 1, 120));
        for (uint256 i; i < touched.length; ++i) {
            uint256 t = touched[i];
            vm.assertEq(bitmap.isSet(uint16(t)), modelSet[t], "isSet == model");
        }
    }

    function testFuzz_nextFindsTheLowestSetTickAtOrAbove(uint256 seed, uint256 steps, uint256[8] memory starts) public {
        _apply(seed, bound(steps, 1, 120));
        for (uint256 i; i < 8; ++i) {
            // Half of the starts at a touched tick or just after it, the rest anywhere (also beyond 65,535).
            uint256 from = i % 2 == 0 && touched.length != 0
                ? touched[starts[i] % touched.length] + (starts[i] >> 128) % 2
                : bound(starts[i], 0, 70_000);
            vm.assertEq(bitmap.next(from), _modelNext(from), "next(from) == lowest model tick >= from");
        }
    }

    function testFuzz_toArrayListsTheSetTicksAscending(uint256 seed, uint256 steps) public {
        _apply(seed, bound(steps, 1, 120));
        uint256[] memory listed = bitmap.toArray();
        uint256 expected;
        for (uint256 from = _modelNext(0); from != TickBitmap.NONE; from = _modelNext(from + 1)) {
            vm.assertLt(expected, listed.length, "toArray lists every set tick");
            vm.assertEq(listed[expected], from, "in ascending order");
            ++expected;
        }
        vm.assertEq(listed.length, expected, "and nothing else");
    }

    function testFuzz_summaryBitIsSetIffItsWordIsNonZero(uint256 seed, uint256 steps) public {
        _apply(seed, bound(steps, 1, 120));
        for (uint256 w; w < 256; ++w) {
            bool summaryBit = (bitmap.summary >> w) & 1 == 1;
            vm.assertEq(summaryBit, bitmap.words[w] != 0, "summary bit w <=> word w non-zero");
        }
    }

    /// @dev Every one of the 256 positions, alone and under random higher bits (lowestBit is a de Bruijn lookup
    /// after three halvings, issue 19: each position takes its own path through the table).
    function test_lowestBit_findsEveryPositionAloneAndUnderHigherBits() public pure {
        for (uint256 i; i < 256; ++i) {
            vm.assertEq(TickBitmap.lowestBit(1 << i), i, "a single bit");
            uint256 higher = uint256(keccak256(abi.encode(i))) << i;
            vm.assertEq(TickBitmap.lowestBit(higher | (1 << i)), i, "under higher bits");
        }
    }

    function testFuzz_lowestBitIsTheIndexOfTheLeastSignificantOne(uint256 x) public pure {
        vm.assume(x != 0);
        uint256 i = TickBitmap.lowestBit(x);
        vm.assertEq((x >> i) & 1, 1, "bit i is set");
        if (i != 0) vm.assertEq(x & ((1 << i) - 1), 0, "no lower bit is set");
    }
}
