// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PoolClearing} from "../libraries/PoolClearing.sol";

/// @title IPooledEnergyMarket
/// @notice What a community market of a city pool adds to {IEnergyMarket} (docs/pool.md, "On chain"): it knows its
/// pool, takes the pool's fill of each slot ({poolSettle}, from the pool only) and adds it to the claims of the orders
/// its own clearing left a residual: an order with a residual waits for the pool's settlement of its slot, or for
/// {POOL_WINDOW_SECONDS} after gate closure, then claims its local fill alone.
interface IPooledEnergyMarket {
    /// @notice One side of the pool's fill of a slot as the market keeps it (one storage word).
    /// @param marginalTick the community's pool marginal level, in its own ticks.
    /// @param priceTick    the tick its pool buyers pay (`p* + f_k`) or its pool sellers are paid (`p* - f_k`).
    /// @param filledWh     R, the Wh the pool fills of the residual at `marginalTick`; 0 when the side got nothing.
    /// @param claimedWh    residual Wh of the orders at a rationed `marginalTick` claimed so far ({Clearing-share}).
    /// @param settled      whether the pool settled the slot (kept on the buy side's word).
    /// @dev The residual Q at `marginalTick` is not stored: it follows from the book (the level's Wh, or `Q - R` of
    /// the local marginal level when the tick is it), which no longer changes once the slot cleared.
    struct PoolSide {
        uint16 marginalTick;
        uint16 priceTick;
        uint64 filledWh;
        uint96 claimedWh;
        bool settled;
    }

    /// @notice Only the market's pool may call {poolSettle}; `caller` is not it.
    error MarketNotPool(address caller);

    /// @notice The pool settled `slot` with the market already.
    error MarketPoolAlreadySettled(uint64 slot);

    /// @notice The order has a residual in `slot` and the pool has not settled the slot yet: it can be claimed once
    /// the pool settles it, or from `claimableAt` on (gate closure + {POOL_WINDOW_SECONDS}) with its local fill alone.
    error PoolNotSettled(uint64 slot, uint256 claimableAt);

    /// @notice The pool settled `slot` with the market: `importWh` came in for `paidToPool`, `exportWh` went out.
    event PoolFillSettled(uint64 indexed slot, uint64 importWh, uint64 exportWh, uint256 paidToPool);

    /// @notice Order `orderId`'s claim filled `poolWh` of its {IEnergyMarket-OrderClaimed} `filledWh` through the pool.
    event OrderPoolFilled(uint256 indexed orderId, uint64 poolWh);

    /// @notice How long after a slot's gate closure the pool may settle it; from then on an unsettled slot's orders
    /// claim their local fill alone. The pool's {ICityPool-SETTLE_WINDOW_SECONDS}.
    /// @return The window, 2 days.
    function POOL_WINDOW_SECONDS() external view returns (uint32);

    /// @notice The city pool this market settles with (fixed at deployment).
    /// @return The pool's address.
    function pool() external view returns (address);

    /// @notice Takes the pool's fill of `slot`: stores what the claims need, then sends the pool the export's energy
    /// (`fill.exportWh` slot tokens, escrowed by the residual sells) and the import's payment
    /// `ceil(fill.importWh * price(buyTick) / 1000)`. The pool then delivers the import's tokens (not credited to
    /// anyone's vault: the importers' claims credit them) and pays `floor(fill.exportWh * price(sellTick) / 1000)`.
    /// Emits {PoolFillSettled}.
    /// @param slot     the slot.
    /// @param fill     the market's community's fill, as the pool cleared it (checked there against its hash).
    /// @param buyTick  `p* + f_k`, what its pool buyers pay (0 when it imports nothing).
    /// @param sellTick `p* - f_k`, what its pool sellers are paid (0 when it exports nothing).
    /// @dev Requirements:
    /// - the caller is {pool}; the slot is not settled with the market yet.
    /// WARNING: the market trusts its pool for the fill: a pool is city infrastructure, deployed before its markets.
    /// @return paidToPool The import's payment sent to the pool.
    function poolSettle(uint64 slot, PoolClearing.Fill calldata fill, uint16 buyTick, uint16 sellTick)
        external
        returns (uint256 paidToPool);

    /// @notice The pool's fill of `slot` as stored by {poolSettle} (all zero before it).
    /// @return buy  the import side (and the `settled` flag).
    /// @return sell the export side (`settled` set only when the community exported).
    function poolFill(uint64 slot) external view returns (PoolSide memory buy, PoolSide memory sell);
}
