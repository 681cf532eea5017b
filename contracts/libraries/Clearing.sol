// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

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

    /// @notice Wh an order of `qtyWh` at `tick` fills (receives or gives, and is paid for) where its side's marginal
    /// tick `m` fills `filled` (R) of `total` (Q), when that level is not rationed (R == Q or no clearing): all of it
    /// at m or better (above m for a buy, below for a sell), nothing worse or when `filled == 0` (no clearing). A
    /// rationed level (R < Q) fills by {share}.
    function fill(bool isBuy, uint256 qtyWh, uint256 tick, uint256 m, uint256 filled) internal pure returns (uint256) {
        if (filled == 0 || (isBuy ? tick < m : tick > m)) return 0;
        return qtyWh;
    }

    /// @notice Wh an order of `qtyWh` fills at a rationed marginal level (R = `filled` of Q = `total`) when `claimedWh`
    /// of the level was claimed before it: `floor((claimedWh + qtyWh)*R/Q) - floor(claimedWh*R/Q)`. That is
    /// `floor(q*R/Q)` or `ceil(q*R/Q)` (so at most q), and the shares of all the level's orders add up to exactly R,
    /// in any claim order: no Wh is left owned by nobody (audit finding L-1).
    function share(uint256 qtyWh, uint256 claimedWh, uint256 filled, uint256 total) internal pure returns (uint256) {
        return ((claimedWh + qtyWh) * filled) / total - (claimedWh * filled) / total;
    }
}
