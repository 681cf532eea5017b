// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Clearing} from "../libraries/Clearing.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";

/// @title ClearingHarness
/// @notice TEST ONLY. Exposes the {Clearing} arithmetic and a {TickBitmap} for unit and property tests.
contract ClearingHarness {
    using TickBitmap for TickBitmap.Bitmap;

    TickBitmap.Bitmap private _bitmap;

    function cost(uint256 qtyWh, uint256 price) external pure returns (uint256) {
        return Clearing.cost(qtyWh, price);
    }

    function proceeds(uint256 qtyWh, uint256 price) external pure returns (uint256) {
        return Clearing.proceeds(qtyWh, price);
    }

    function fee(uint256 gross, uint256 feeBps) external pure returns (uint256) {
        return Clearing.fee(gross, feeBps);
    }

    function fill(bool isBuy, uint256 qtyWh, uint256 tick, uint256 m, uint256 filled) external pure returns (uint256) {
        return Clearing.fill(isBuy, qtyWh, tick, m, filled);
    }

    function share(uint256 qtyWh, uint256 claimedWh, uint256 filled, uint256 total) external pure returns (uint256) {
        return Clearing.share(qtyWh, claimedWh, filled, total);
    }

    function set(uint16 tick) external {
        _bitmap.set(tick);
    }

    function unset(uint16 tick) external {
        _bitmap.unset(tick);
    }

    function isSet(uint16 tick) external view returns (bool) {
        return _bitmap.isSet(tick);
    }

    /// @notice The lowest set tick >= `tick`, or 65536 when none.
    function next(uint256 tick) external view returns (uint256) {
        return _bitmap.next(tick);
    }

    function lowestBit(uint256 x) external pure returns (uint256) {
        return TickBitmap.lowestBit(x);
    }
}
