// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Clearing
/// @notice Pure arithmetic of the uniform-price auction: escrow, fills and payments, each rounded in favour of the
/// market. See docs/contracts.md for the rule and its conservation proof.
/// @dev Bounds that make every product below fit in 256 bits: qty < 2^64, R <= Q < 2^96, price < 2^128,
/// feeBps <= 10,000.
library Clearing {
    /// @dev Prices are per kWh, quantities in Wh.
    uint256 internal constant WH_PER_KWH = 1000;

    /// @dev Basis points in one.
    uint256 internal constant BPS = 10_000;

    /// @notice Payment for `qtyWh` at `price`: `ceil(qtyWh * price / 1000)` (what a buyer pays and escrows).
    function cost(uint256 qtyWh, uint256 price) internal pure returns (uint256) {
        return Math.ceilDiv(qtyWh * price, WH_PER_KWH);
    }

    /// @notice Seller gross for `qtyWh` at `price`: `floor(qtyWh * price / 1000)`.
    function proceeds(uint256 qtyWh, uint256 price) internal pure returns (uint256) {
        return (qtyWh * price) / WH_PER_KWH;
    }

    /// @notice Protocol fee on `gross`: `ceil(gross * feeBps / 10000)` (never above `gross` for feeBps <= 10000).
    function fee(uint256 gross, uint256 feeBps) internal pure returns (uint256) {
        return Math.ceilDiv(gross * feeBps, BPS);
    }

    /// @notice Fill of a buy order of `qtyWh` at `tick` given the buy side's marginal tick `m` where `filled` (R) of
    /// `total` (Q) fills. `filled == 0` means no clearing.
    /// @return receivedWh tokens the buyer gets: q above m, floor(q*R/Q) at m, 0 below.
    /// @return paidWh     Wh the buyer pays for: q above m, ceil(q*R/Q) at m, 0 below.
    function buyFill(uint256 qtyWh, uint256 tick, uint256 m, uint256 filled, uint256 total)
        internal
        pure
        returns (uint256 receivedWh, uint256 paidWh)
    {
        if (filled == 0 || tick < m) return (0, 0);
        if (tick > m || filled == total) return (qtyWh, qtyWh);
        receivedWh = (qtyWh * filled) / total;
        paidWh = Math.ceilDiv(qtyWh * filled, total);
    }

    /// @notice Fill of a sell order of `qtyWh` at `tick` given the sell side's marginal tick `m` where `filled` (R) of
    /// `total` (Q) fills. `filled == 0` means no clearing.
    /// @return givenWh tokens the seller gives: q below m, ceil(q*R/Q) at m, 0 above.
    /// @return paidWh  Wh the seller is paid for: q below m, floor(q*R/Q) at m, 0 above.
    function sellFill(uint256 qtyWh, uint256 tick, uint256 m, uint256 filled, uint256 total)
        internal
        pure
        returns (uint256 givenWh, uint256 paidWh)
    {
        if (filled == 0 || tick > m) return (0, 0);
        if (tick < m || filled == total) return (qtyWh, qtyWh);
        givenWh = Math.ceilDiv(qtyWh * filled, total);
        paidWh = (qtyWh * filled) / total;
    }
}
