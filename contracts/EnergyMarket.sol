// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EnergyMarketBase} from "./EnergyMarketBase.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";

/// @title EnergyMarket
/// @notice The open market: orders are placed and cancelled in the clear until gate closure, then {clear} computes
/// one clearing price per slot and every order settles by a pull-based {claim} (see {EnergyMarketBase}).
/// @dev Adds to the shared base only the order entry of open mode: {placeOrder}, {placeOrders}, {cancelOrder} and
/// {cancelOrders}.
contract EnergyMarket is EnergyMarketBase {
    /// @param admin         receives PAUSER_ROLE (DEFAULT_ADMIN_ROLE is the registry's, see {hasRole}).
    /// @param paymentToken_ the ERC-20 orders are paid in (any decimals).
    /// @param registry_     the meter registry; epoch, slot length and the energy token are read from it.
    /// @param p             see {IEnergyMarket-MarketParams}.
    constructor(address admin, IERC20 paymentToken_, IMeterRegistry registry_, MarketParams memory p)
        EnergyMarketBase(admin, paymentToken_, registry_, p)
    {}

    /*//////////////////////////////////////////////////////////////
                                 ORDERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    function placeOrder(address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh)
        external
        whenNotPaused
        returns (uint256 orderId)
    {
        Delegation storage d = _delegations[owner][msg.sender];
        bool isAgent = msg.sender != owner;
        if (isAgent) {
            _requireAgent(d, owner);
            _checkAgentPrice(d, isBuy, tick);
        }
        Config storage config = _config;
        uint64 nonce = config.orderNonce + 1;
        config.orderNonce = nonce;
        uint256 escrow;
        (orderId, escrow) = _book(owner, slot, isBuy, tick, qtyWh, config.feeBps, nonce);
        // A sell escrows no payment: escrow == 0.
        if (isAgent) _chargeAgent(d, escrow, isBuy ? 0 : qtyWh);
        if (escrow != 0) _debit(owner, escrow);
    }

    /// @inheritdoc IEnergyMarket
    function placeOrders(address owner, OrderRequest[] calldata orders)
        external
        whenNotPaused
        returns (uint256[] memory orderIds)
    {
        Delegation storage d = _delegations[owner][msg.sender];
        bool isAgent = msg.sender != owner;
        if (isAgent) _requireAgent(d, owner);
        Config memory config = _config;
        uint64 nonce = config.orderNonce;
        uint256 n = orders.length;
        orderIds = new uint256[](n);
        uint256 totalEscrow;
        uint256 totalSellWh;
        for (uint256 i; i < n; ++i) {
            OrderRequest calldata o = orders[i];
            if (isAgent) {
                _checkAgentPrice(d, o.isBuy, o.tick);
                if (!o.isBuy) totalSellWh += o.qtyWh;
            }
            uint256 escrow;
            // Overflow of the uint64 nonce is out of reach (one increment per order).
            (orderIds[i], escrow) = _book(owner, o.slot, o.isBuy, o.tick, o.qtyWh, config.feeBps, ++nonce);
            totalEscrow += escrow;
        }
        _config.orderNonce = nonce;
        if (isAgent) _chargeAgent(d, totalEscrow, totalSellWh);
        if (totalEscrow != 0) _debit(owner, totalEscrow);
    }

    /// @inheritdoc IEnergyMarket
    function cancelOrder(uint256 orderId) external {
        _cancel(orderId);
    }

    /// @inheritdoc IEnergyMarket
    function cancelOrders(uint256[] calldata orderIds) external {
        for (uint256 i; i < orderIds.length; ++i) {
            _cancel(orderIds[i]);
        }
    }
}
