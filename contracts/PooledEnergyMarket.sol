// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {EnergyMarket} from "./EnergyMarket.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IPooledEnergyMarket} from "./interfaces/IPooledEnergyMarket.sol";
import {Clearing} from "./libraries/Clearing.sol";
import {OrderBook} from "./libraries/OrderBook.sol";
import {PoolClearing} from "./libraries/PoolClearing.sol";

/// @title PooledEnergyMarket
/// @notice A community market of a city pool (issue 17, docs/pool.md): the open market, whose orders' claims add the
/// pool's fill of what the local clearing left (step 5, "Back to the orders"). Its pool settles each slot with it
/// ({poolSettle}); an order with a residual claims after that, or after {POOL_WINDOW_SECONDS} with its local fill
/// alone; an order filled locally claims at once.
/// @dev Compiled with fewer optimizer runs (chain/compiler.py `OPTIMIZER_RUNS_BY_SOURCE`) so that it fits EIP-170:
/// the plain {EnergyMarket} keeps its code and gas. Per slot two words ({PoolSide}: import and export).
contract PooledEnergyMarket is EnergyMarket, IPooledEnergyMarket {
    using SafeERC20 for IERC20;

    /// @dev The pool's fill of a slot: one word a side.
    struct PoolSlot {
        PoolSide buy;
        PoolSide sell;
    }

    /// @dev An order's outcome with the pool's part: `poolWh` of `filledWh` through the pool; `poolRationedWh` its
    /// residual when it sits at a rationed pool marginal level (what {_claim} adds to the side's `claimedWh`).
    struct Outcome {
        uint64 filledWh;
        uint256 amount;
        uint256 fee;
        uint256 refund;
        bool rationed;
        uint64 poolWh;
        uint64 poolRationedWh;
    }

    /// @inheritdoc IPooledEnergyMarket
    uint32 public constant POOL_WINDOW_SECONDS = 2 days;

    /// @inheritdoc IPooledEnergyMarket
    address public immutable pool;

    mapping(uint64 slot => PoolSlot) private _poolSlots;

    /// @param admin         receives PAUSER_ROLE (DEFAULT_ADMIN_ROLE is the registry's).
    /// @param paymentToken_ the ERC-20 orders are paid in.
    /// @param registry_     the meter registry.
    /// @param p             see {IEnergyMarket-MarketParams}.
    /// @param pool_         the city pool (deployed first; its {ICityPool-addCommunity} checks it is this).
    constructor(address admin, IERC20 paymentToken_, IMeterRegistry registry_, MarketParams memory p, address pool_)
        EnergyMarket(admin, paymentToken_, registry_, p)
    {
        if (pool_ == address(0)) revert MarketZeroAddress();
        pool = pool_;
    }

    /// @inheritdoc IPooledEnergyMarket
    function poolSettle(uint64 slot, PoolClearing.Fill calldata fill, uint16 buyTick, uint16 sellTick)
        external
        nonReentrant
        returns (uint256 paidToPool)
    {
        if (msg.sender != pool) revert MarketNotPool(msg.sender);
        PoolSlot storage s = _poolSlots[slot];
        if (s.buy.settled) revert MarketPoolAlreadySettled(slot);
        s.buy = PoolSide({
            marginalTick: fill.buyMarginalTick,
            priceTick: buyTick,
            filledWh: fill.buyMarginalFilledWh,
            claimedWh: 0,
            settled: true
        });
        uint64 exportWh = fill.exportWh;
        if (exportWh != 0) {
            s.sell = PoolSide({
                marginalTick: fill.sellMarginalTick,
                priceTick: sellTick,
                filledWh: fill.sellMarginalFilledWh,
                claimedWh: 0,
                settled: true
            });
        }
        uint64 importWh = fill.importWh;
        if (importWh != 0) paidToPool = Clearing.cost(importWh, _price(buyTick));
        emit PoolFillSettled(slot, importWh, exportWh, paidToPool);
        if (exportWh != 0) energyToken.safeTransferFrom(address(this), msg.sender, slot, exportWh, "");
        if (paidToPool != 0) paymentToken.safeTransfer(msg.sender, paidToPool);
    }

    /// @inheritdoc IPooledEnergyMarket
    function poolFill(uint64 slot) external view returns (PoolSide memory buy, PoolSide memory sell) {
        PoolSlot storage s = _poolSlots[slot];
        return (s.buy, s.sell);
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev The base's claim with the pool's part: the pool marginal level's counter, and {OrderPoolFilled}.
    function _claim(uint256 orderId) internal override {
        StoredOrder memory o = _storedOrder(orderId);
        if (o.owner == address(0)) revert OrderNotFound(orderId);
        Outcome memory r = _outcome(orderId, o);
        delete _orders[orderId];
        uint64 slot = uint64(orderId >> 192);
        // Cannot overflow: a level's claimed Wh (local or pool residual) add up to at most its total Q < 2^96.
        unchecked {
            if (r.rationed) _books[slot].marginalClaimedWh += o.qtyWh;
            if (r.poolRationedWh != 0) {
                PoolSlot storage s = _poolSlots[slot];
                if (o.isBuy) s.buy.claimedWh += r.poolRationedWh;
                else s.sell.claimedWh += r.poolRationedWh;
            }
        }
        if (o.isBuy) {
            if (r.filledWh != 0) _energy[o.owner][slot] += r.filledWh;
            if (r.refund != 0) _balances[o.owner] += r.refund;
        } else {
            if (r.amount != 0) _balances[o.owner] += r.amount;
            if (r.fee != 0) _balances[_config.treasury] += r.fee;
            if (r.refund != 0) _energy[o.owner][slot] += r.refund;
        }
        emit OrderClaimed(orderId, o.owner, r.filledWh, r.amount, r.fee, r.refund);
        if (r.poolWh != 0) emit OrderPoolFilled(orderId, r.poolWh);
    }

    /// @dev The outcome with the pool's part, for {previewClaim}.
    function _settle(uint256 orderId, StoredOrder memory o)
        internal
        view
        override
        returns (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund, bool rationed)
    {
        Outcome memory r = _outcome(orderId, o);
        return (r.filledWh, r.amount, r.fee, r.refund, r.rationed);
    }

    /// @dev Order `o`'s local outcome ({EnergyMarketBase-_settle}) plus its pool fill x (docs/pool.md step 5): its
    /// whole residual `q - l` better than the side's pool marginal tick, its cumulative share there, none worse. A
    /// buyer pays `ceil((l * P + x * price(buyTick)) / 1000)` out of its escrow; a seller's gross is
    /// `floor(l * P / 1000) + floor(x * price(sellTick) / 1000)`, the fee taken once on it.
    function _outcome(uint256 orderId, StoredOrder memory o) private view returns (Outcome memory r) {
        (r.filledWh, r.amount, r.fee, r.refund, r.rationed) = super._settle(orderId, o);
        uint64 residualWh;
        // Cannot underflow: the local fill is at most the order's quantity.
        unchecked {
            residualWh = o.qtyWh - r.filledWh;
        }
        if (residualWh == 0) return r;
        uint64 slot = uint64(orderId >> 192);
        PoolSlot storage s = _poolSlots[slot];
        PoolSide memory side = s.buy;
        if (!side.settled) {
            uint256 claimableAt;
            // Cannot overflow: gate closure < 2^97 (see _slotStart).
            unchecked {
                claimableAt = _gateClosure(slot) + POOL_WINDOW_SECONDS;
            }
            if (block.timestamp < claimableAt) revert PoolNotSettled(slot, claimableAt);
            return r;
        }
        if (!o.isBuy) side = s.sell;
        if (side.filledWh == 0) return r;
        uint256 x;
        if (o.tick == side.marginalTick) {
            uint256 levelWh = _residualAt(slot, o);
            if (side.filledWh == levelWh) {
                x = residualWh;
            } else {
                x = Clearing.share(residualWh, side.claimedWh, side.filledWh, levelWh);
                r.poolRationedWh = residualWh;
            }
        } else if (o.isBuy ? o.tick > side.marginalTick : o.tick < side.marginalTick) {
            x = residualWh;
        }
        if (x == 0) return r;
        uint256 poolPrice = _price(side.priceTick);
        if (o.isBuy) {
            uint256 escrow = r.amount + r.refund;
            uint256 localMilli = uint256(r.filledWh) * _price(_books[slot].buy.clearingTick);
            r.amount = Math.ceilDiv(localMilli + x * poolPrice, Clearing.WH_PER_KWH);
            // Checked: the pool's buy price is at most the order's (a filled buy bids tick - f_k >= p*), so this
            // never underflows unless the pool is wrong, and then the claim reverts.
            r.refund = escrow - r.amount;
        } else {
            uint256 gross = r.amount + r.fee + Clearing.proceeds(x, poolPrice);
            r.fee = Clearing.fee(gross, uint16(orderId >> 64));
            // Cannot underflow: fee <= gross (feeBps <= MAX_FEE_BPS); x <= residualWh = the order's refund so far.
            unchecked {
                r.amount = gross - r.fee;
                r.refund -= x;
            }
        }
        // Cannot truncate or overflow: x <= residualWh, and local + x <= qtyWh, a uint64.
        unchecked {
            r.poolWh = uint64(x);
            r.filledWh += uint64(x);
        }
    }

    /// @dev The residual Q of order `o`'s level in `slot` (the level's Wh of its side, or `Q - R` when it is the
    /// side's rationed local marginal level): what {PoolClearing} got as the community's residual there.
    function _residualAt(uint64 slot, StoredOrder memory o) private view returns (uint256) {
        OrderBook.State storage book = _books[slot];
        OrderBook.SideClearing memory c = o.isBuy ? book.buy : book.sell;
        // Cannot underflow: R <= Q.
        unchecked {
            if (c.filledWh != 0 && o.tick == c.marginalTick) return c.totalWh - c.filledWh;
        }
        return o.isBuy ? book.levels[o.tick].buyWh : book.levels[o.tick].sellWh;
    }

    /// @dev The pool's deliveries (the importers' tokens) are not anyone's deposit: the importers' claims credit them.
    function _creditEnergyDeposit(address from, uint256 slot, uint256 amountWh) internal override {
        if (from == pool) return;
        super._creditEnergyDeposit(from, slot, amountWh);
    }
}
