// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IEnergyToken} from "./IEnergyToken.sol";
import {IMeterRegistry} from "./IMeterRegistry.sol";

/// @title IEnergyMarket
/// @notice Uniform-price call auction per delivery slot for {IEnergyToken} slot tokens against an ERC-20 payment
/// token, with a vault (deposit once, place many orders), pull-based claims and spending-limited agents.
/// @dev Units: energy in whole Wh; money in base units of the payment token; prices in base units per kWh, on a
/// grid `price(tick) = priceFloor + tick * tickSize`, `0 <= tick <= maxTick`. An order id encodes the delivery slot
/// and the fee in force at placement: `orderId = slot << 192 | feeBps << 64 | nonce` (nonce: global, from 1).
interface IEnergyMarket is IERC1155Receiver {
    /*//////////////////////////////////////////////////////////////
                                 STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Market parameters. All but `feeBps` and `treasury` are fixed at deployment.
    /// @param priceFloor        price of tick 0, payment base units per kWh.
    /// @param tickSize          price step per tick, payment base units per kWh (> 0).
    /// @param maxTick           highest tick (<= MAX_TICK_LIMIT = 2047, so that {clear} of a full book fits in one
    ///                          transaction under the EIP-7825 cap of 2^24 gas).
    /// @param settlementSeconds gate closure = slot end + settlementSeconds (> 0: slot tokens exist only after the
    ///                          slot ended).
    /// @param openAheadSeconds  orders for a slot are accepted from slot start - openAheadSeconds.
    /// @param minOrderWh        smallest order quantity (> 0); bounds the number of orders per Wh.
    /// @param feeBps            protocol fee on seller proceeds, basis points (<= MAX_FEE_BPS).
    /// @param treasury          vault account credited with fees.
    struct MarketParams {
        uint256 priceFloor;
        uint256 tickSize;
        uint16 maxTick;
        uint32 settlementSeconds;
        uint32 openAheadSeconds;
        uint64 minOrderWh;
        uint16 feeBps;
        address treasury;
    }

    /// @notice One order of a {placeOrders} batch.
    struct OrderRequest {
        uint64 slot;
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
    }

    /// @notice A resting order, decoded (all zero when the id is unknown, cancelled or claimed). `feeBps` is the fee
    /// in force at placement; it applies to sell orders only.
    struct Order {
        address owner;
        uint64 slot;
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
        uint16 feeBps;
    }

    /// @notice Resting quantity at one price tick of one slot.
    struct Level {
        uint128 buyWh;
        uint128 sellWh;
    }

    /// @notice Outcome of {clear} for a slot. A marginal tick `m` has `...MarginalTotalWh` (Q) resting at it and
    /// `...MarginalFilledWh` (R) of it filled; R < Q on at most one side. `volumeWh == 0` means nothing traded (all
    /// refunded); the tick fields are then zero.
    struct ClearingRecord {
        bool cleared;
        uint128 volumeWh;
        uint16 clearingTick;
        uint16 buyMarginalTick;
        uint96 buyMarginalFilledWh;
        uint96 buyMarginalTotalWh;
        uint16 sellMarginalTick;
        uint96 sellMarginalFilledWh;
        uint96 sellMarginalTotalWh;
    }

    /// @notice Limits an owner granted to an agent (`expiry == 0`: not authorized) and the agent's use of its rolling
    /// allowances as stored at `updatedAt`: `spent` payment units of buy escrow and `soldWh` Wh of sell orders. Each
    /// use decays linearly by its daily limit per 24 hours: at time `t` it is
    /// `use - min(use, limitPerDay * (t - updatedAt) / 1 days)`, and an order fits while use + order <= limit. The use
    /// survives {revokeAgent} and re-authorization (a revoked delegation keeps its limits with `expiry == 0`).
    struct Delegation {
        uint96 budgetPerDay;
        uint64 sellWhPerDay;
        uint16 maxBuyTick;
        uint16 minSellTick;
        uint64 expiry;
        uint96 spent;
        uint64 soldWh;
        uint40 updatedAt;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice An address argument is the zero address.
    error MarketZeroAddress();

    /// @notice The price grid's `tickSize` is zero.
    error MarketTickSizeZero();

    /// @notice `maxTick` exceeds `maxTickLimit` ({MAX_TICK_LIMIT}).
    error MarketMaxTickTooHigh(uint16 maxTick, uint16 maxTickLimit);

    /// @notice The top of the price grid, `priceFloor + maxTick * tickSize`, exceeds 2^128 - 1.
    error MarketPriceRangeTooHigh(uint256 priceFloor, uint256 tickSize, uint16 maxTick);

    /// @notice The settlement window (`settlementSeconds`) is zero.
    error MarketSettlementWindowZero();

    /// @notice The smallest order (`minOrderWh`) is zero.
    error MarketMinOrderZero();

    /// @notice {rescueERC20} never moves the payment token: every unit of it the market holds may be owed.
    error MarketRescuePaymentToken();

    /// @notice `feeBps` exceeds `maxFeeBps`.
    error MarketFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);

    /// @notice An amount argument is zero.
    error MarketZeroAmount();

    /// @notice `account` has `balance` payment units in the vault, `needed` are required.
    error MarketInsufficientBalance(address account, uint256 balance, uint256 needed);

    /// @notice `account` has `balanceWh` tokens of `slot` in the vault, `neededWh` are required.
    error MarketInsufficientEnergy(address account, uint256 slot, uint256 balanceWh, uint256 neededWh);

    /// @notice The market accepts ERC-1155 tokens only from the energy token; `token` sent them.
    error MarketUnsupportedToken(address token);

    /// @notice `qtyWh` is below `minOrderWh`.
    error OrderQtyTooSmall(uint64 qtyWh, uint64 minOrderWh);

    /// @notice `tick` is above `maxTick`.
    error OrderTickOutOfRange(uint16 tick, uint16 maxTick);

    /// @notice Orders for `slot` are accepted only from `opensAt`.
    error OrderWindowNotOpen(uint64 slot, uint256 opensAt);

    /// @notice Orders for `slot` could be placed only before `gateClosure`.
    error OrderWindowClosed(uint64 slot, uint256 gateClosure);

    /// @notice Orders of `slot` could be cancelled only before `cutoff` (see {cancelCutoff}).
    error CancelWindowClosed(uint64 slot, uint256 cutoff);

    /// @notice The level would hold more than MAX_LEVEL_WH.
    error OrderLevelOverflow(uint64 slot, uint16 tick);

    /// @notice No resting order has id `orderId` (unknown, cancelled or already claimed).
    error OrderNotFound(uint256 orderId);

    /// @notice `slot` cannot be cleared before `gateClosure`.
    error GateNotClosed(uint64 slot, uint256 gateClosure);

    /// @notice `slot` was already cleared.
    error AlreadyCleared(uint64 slot);

    /// @notice `slot` was not cleared before `voidAt` (gate closure + CLEAR_WINDOW_SECONDS): it never clears, and
    /// anyone can cancel its orders to refund their escrow.
    error SlotVoid(uint64 slot, uint256 voidAt);

    /// @notice `slot` was not cleared yet, so its orders cannot be claimed.
    error SlotNotCleared(uint64 slot);

    /// @notice `caller` is neither `owner` nor an agent `owner` authorized (a revoked agent is not authorized).
    error NotOwnerOrAgent(address caller, address owner);

    /// @notice The authorization of `agent` ended at `expiry`.
    error AgentExpired(address agent, uint64 expiry);

    /// @notice `tick` is outside the agent's bound: a buy above `maxBuyTick` or a sell below `minSellTick` (`bound`).
    error AgentPriceOutOfBounds(uint16 tick, uint16 bound);

    /// @notice The agent's buy escrow in its rolling day would reach `spent`, above `budgetPerDay`.
    error AgentBudgetExceeded(address agent, uint256 spent, uint96 budgetPerDay);

    /// @notice The agent's sell orders in its rolling day would reach `soldWh`, above `sellWhPerDay`.
    error AgentSellLimitExceeded(address agent, uint256 soldWh, uint64 sellWhPerDay);

    /// @notice `agent` cannot be authorized (zero address or the owner itself).
    error AgentInvalid(address agent);

    /// @notice `expiry` is not in the future.
    error AgentInvalidExpiry(uint64 expiry);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `amount` payment units (as received, after any transfer fee) were credited to `account`.
    event Deposited(address indexed account, uint256 amount);

    /// @notice `amount` payment units left the vault of `account` to `account`.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice `amountWh` tokens of `slot` were credited to `account`.
    event EnergyDeposited(address indexed account, uint256 indexed slot, uint256 amountWh);

    /// @notice `amountWh` tokens of `slot` left the vault of `account` to `account`.
    event EnergyWithdrawn(address indexed account, uint256 indexed slot, uint256 amountWh);

    /// @notice An order was placed (by its owner or an agent) and its escrow taken from the owner's vault.
    event OrderPlaced(
        uint256 indexed orderId, address indexed owner, uint64 indexed slot, bool isBuy, uint16 tick, uint64 qtyWh
    );

    /// @notice An order was cancelled and its escrow returned to the owner's vault.
    event OrderCancelled(uint256 indexed orderId, address indexed owner);

    /// @notice `slot` was cleared; the fields are those of its {ClearingRecord}.
    event SlotCleared(
        uint64 indexed slot,
        uint128 volumeWh,
        uint16 clearingTick,
        uint16 buyMarginalTick,
        uint96 buyMarginalFilledWh,
        uint96 buyMarginalTotalWh,
        uint16 sellMarginalTick,
        uint96 sellMarginalFilledWh,
        uint96 sellMarginalTotalWh
    );

    /// @notice An order was settled and deleted. Buy: `filledWh` tokens received, `amount` paid, `refund` payment
    /// returned, `fee` 0. Sell: `filledWh` tokens given, `amount` received net of `fee`, `refund` tokens returned.
    event OrderClaimed(
        uint256 indexed orderId, address indexed owner, uint64 filledWh, uint256 amount, uint256 fee, uint256 refund
    );

    /// @notice The protocol fee or the treasury changed. Resting orders keep the fee of their placement.
    event FeeChanged(uint16 feeBps, address indexed treasury);

    /// @notice `owner` authorized (or re-authorized with new limits) `agent`.
    event AgentAuthorized(
        address indexed owner,
        address indexed agent,
        uint96 budgetPerDay,
        uint64 sellWhPerDay,
        uint16 maxBuyTick,
        uint16 minSellTick,
        uint64 expiry
    );

    /// @notice `amount` of the ERC-20 `token`, sent to the market by mistake, went to `to`.
    event ERC20Rescued(address indexed token, address indexed to, uint256 amount);

    /// @notice `owner` revoked `agent`.
    event AgentRevoked(address indexed owner, address indexed agent);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Role allowed to pause and unpause order placement.
    /// @return The role identifier, `keccak256("PAUSER_ROLE")`.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Highest allowed protocol fee, basis points.
    /// @return The fee cap, 1000 (10 %).
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice Highest allowed `maxTick`: with every tick non-empty, {clear} still fits in one transaction of 2^24
    /// gas (the EIP-7825 cap).
    /// @return The tick limit, 2047.
    function MAX_TICK_LIMIT() external view returns (uint16);

    /// @notice How long after gate closure a slot can be cleared; after that it is void and its orders refundable.
    /// @return The clear window, seconds (1 day).
    function CLEAR_WINDOW_SECONDS() external view returns (uint32);

    /// @notice Most Wh one side of one price level can hold.
    /// @return The level cap, 2^96 - 1 Wh.
    function MAX_LEVEL_WH() external view returns (uint256);

    /// @notice The ERC-20 orders are paid in.
    /// @return The payment token.
    function paymentToken() external view returns (IERC20);

    /// @notice The meter registry the slot clock and the energy token come from.
    /// @return The meter registry.
    function registry() external view returns (IMeterRegistry);

    /// @notice The ERC-1155 slot token traded here.
    /// @return The energy token.
    function energyToken() external view returns (IEnergyToken);

    /// @notice Unix time of the start of slot 0 (from the registry).
    /// @return The epoch, unix seconds.
    function epoch() external view returns (uint64);

    /// @notice Slot length in seconds (from the registry).
    /// @return The slot length, seconds.
    function slotSeconds() external view returns (uint32);

    /// @notice The market parameters, with the current fee and treasury.
    /// @return The parameters given at deployment, with `feeBps` and `treasury` as they are now.
    function params() external view returns (MarketParams memory);

    /// @notice `priceFloor + tick * tickSize`, payment base units per kWh.
    /// @dev Requirements:
    /// - `tick <= maxTick`.
    /// @return The price of `tick`, payment base units per kWh.
    function priceOf(uint16 tick) external view returns (uint256);

    /// @notice Slot end + settlementSeconds: orders are accepted strictly before it, {clear} from it on.
    /// @return The gate closure of `slot`, unix seconds.
    function gateClosure(uint64 slot) external view returns (uint256);

    /// @notice Gate closure - settlementSeconds / 2: from then until gate closure the book of `slot` is firm (orders
    /// may still be placed, none cancelled), so a book seen in that last stretch cannot be spoofed (audit L-3).
    /// @return The first second at which orders of `slot` can no longer be cancelled by their owner, unix seconds.
    function cancelCutoff(uint64 slot) external view returns (uint256);

    /// @notice Gate closure + CLEAR_WINDOW_SECONDS: a slot not cleared by then is void (see {SlotVoid}).
    /// @return When `slot` becomes void if not cleared, unix seconds.
    function voidAt(uint64 slot) external view returns (uint256);

    /// @notice The order window of `slot`: `[opensAt, closesAt)`, `closesAt` = {gateClosure}.
    /// @return opensAt First second orders of `slot` are accepted (0 if before time 0).
    /// @return closesAt Gate closure of `slot` (exclusive).
    function orderWindow(uint64 slot) external view returns (uint256 opensAt, uint256 closesAt);

    /// @notice Payment units in the vault of `account`, not escrowed in orders.
    /// @return The free payment balance, base units.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Tokens of `slot` in the vault of `account`, not escrowed in orders.
    /// @return The free slot-token balance, Wh.
    function energyBalanceOf(address account, uint256 slot) external view returns (uint256);

    /// @notice The resting order `orderId`, see {Order}.
    /// @return The order, all zero when `orderId` holds none (claimed, cancelled or never placed).
    function order(uint256 orderId) external view returns (Order memory);

    /// @notice Resting quantities at `tick` of `slot`.
    /// @return The buy and sell Wh resting at `tick`.
    function level(uint64 slot, uint16 tick) external view returns (Level memory);

    /// @notice The lowest tick >= `fromTick` with resting quantity in `slot`, for walking the book off-chain.
    /// @return found Whether such a tick exists.
    /// @return tick That tick (0 when none).
    function nextActiveTick(uint64 slot, uint16 fromTick) external view returns (bool found, uint16 tick);

    /// @notice The clearing record of `slot`.
    /// @return The record (`cleared` false before {clear}).
    function clearing(uint64 slot) external view returns (ClearingRecord memory);

    /// @notice The commitment {clear} stored to what `slot` left unmatched, which the city pool clears across
    /// communities (docs/pool.md): `keccak256(abi.encode(buys, sells))`, `buys` the residual bids highest tick first,
    /// `sells` the residual asks lowest tick first, each level packed `tick << 96 | Wh`.
    /// @return The commitment (zero before {clear}).
    function residualCommitment(uint64 slot) external view returns (bytes32);

    /// @notice What {claim} would settle for `orderId` now, see {OrderClaimed}. At a rationed marginal level the share
    /// depends on the Wh of the level claimed before (cumulative rounding: the level's shares add up to R exactly).
    /// @dev Requirements:
    /// - the order exists and its slot was cleared.
    /// @return filledWh Wh the order trades.
    /// @return amount A buy: what it pays; a sell: its net proceeds.
    /// @return fee The fee a sell pays (0 for a buy).
    /// @return refund A buy: payment units returned; a sell: Wh returned.
    function previewClaim(uint256 orderId)
        external
        view
        returns (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund);

    /// @notice The delegation `owner` granted `agent`, its use as stored (see {Delegation} for the decay).
    /// @return The delegation as stored (zero if never granted).
    function delegation(address owner, address agent) external view returns (Delegation memory);

    /*//////////////////////////////////////////////////////////////
                                  VAULT
    //////////////////////////////////////////////////////////////*/

    /// @notice Pulls `amount` payment tokens from the caller and credits what actually arrived. Emits {Deposited}.
    /// @dev Requirements:
    /// - `amount` > 0; the caller approved the market for `amount`.
    function deposit(uint256 amount) external;

    /// @notice Sends `amount` payment units from the caller's vault to the caller. Emits {Withdrawn}.
    /// @dev Requirements:
    /// - `amount` > 0 and at most {balanceOf}(caller).
    function withdraw(uint256 amount) external;

    /// @notice Sends `amountWh` tokens of `slot` from the caller's vault to the caller (ERC-1155 safe transfer, so
    /// a contract caller must accept them). Emits {EnergyWithdrawn}.
    /// @dev Requirements:
    /// - `amountWh` > 0 and at most {energyBalanceOf}(caller, slot).
    function withdrawEnergy(uint256 slot, uint64 amountWh) external;

    /*//////////////////////////////////////////////////////////////
                                 ORDERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Places an order for `owner` and escrows it from the owner's vault: a buy takes
    /// `ceil(qtyWh * priceOf(tick) / 1000)` payment units, a sell `qtyWh` tokens of id `slot`. Emits {OrderPlaced}.
    /// @dev Requirements:
    /// - not paused;
    /// - the caller is `owner`, or an agent of `owner` within its limits (expiry, price bounds, rolling buy budget and sell limit);
    /// - `opensAt <= block.timestamp < gateClosure` for `slot`;
    /// - `qtyWh >= minOrderWh`; `tick <= maxTick`;
    /// - the owner's vault covers the escrow.
    /// @return orderId The id of the new order.
    function placeOrder(address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh)
        external
        returns (uint256 orderId);

    /// @notice Places several orders for `owner`, all or none. Emits {OrderPlaced} for each.
    /// @dev Requirements: those of {placeOrder}, for every order; an agent's rolling allowances cover their sums.
    /// @return orderIds The ids of the new orders, in the order of `orders`.
    function placeOrders(address owner, OrderRequest[] calldata orders) external returns (uint256[] memory orderIds);

    /// @notice Cancels a resting order and returns its escrow to the owner's vault. Works while paused.
    /// Emits {OrderCancelled}.
    /// @dev Requirements:
    /// - the order exists; and either
    /// - `block.timestamp < cancelCutoff` of its slot and the caller is its owner or an unexpired agent of the owner,
    /// - or its slot is void (not cleared and `block.timestamp >= voidAt(slot)`): then anyone may cancel.
    function cancelOrder(uint256 orderId) external;

    /// @notice Cancels several orders, all or none. Emits {OrderCancelled} for each.
    /// @dev Requirements: those of {cancelOrder}, for every order.
    function cancelOrders(uint256[] calldata orderIds) external;

    /// @notice Computes and stores the uniform-price outcome of `slot`; anyone may call, once. Costs
    /// O(non-empty ticks). Emits {SlotCleared}.
    /// @dev Requirements:
    /// - `gateClosure(slot) <= block.timestamp < voidAt(slot)`; not cleared yet.
    function clear(uint64 slot) external;

    /// @notice Settles an order of a cleared slot into its owner's vault (payment, slot tokens) and the fee into the
    /// treasury's vault, then deletes it. Anyone may call: credits only go to the owner and the treasury.
    /// Emits {OrderClaimed}.
    /// @dev Requirements:
    /// - the order exists; its slot was cleared.
    function claim(uint256 orderId) external;

    /// @notice {claim} for several orders. An order no longer stored (claimed by someone else
    /// meanwhile, cancelled, or never placed) is skipped, so that a keeper's batch survives an
    /// owner claiming first (audit L-4); any other failure reverts the whole batch.
    /// @dev Requirements: those of {claim}, for every order still stored.
    /// @return claimed The number of orders claimed (one {OrderClaimed} each).
    function claimBatch(uint256[] calldata orderIds) external returns (uint256 claimed);

    /*//////////////////////////////////////////////////////////////
                                 AGENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Lets `agent` place and cancel orders for the caller: buys at most `maxBuyTick`, sells at least
    /// `minSellTick`, at most `budgetPerDay` buy escrow and `sellWhPerDay` Wh of sells per rolling day (each use decays
    /// linearly by its limit per 24 hours, see {Delegation}), until `expiry` (exclusive). An agent can never
    /// withdraw. Re-authorizing replaces the limits; the use so far still counts. Emits {AgentAuthorized}.
    /// @dev Requirements:
    /// - `agent` is neither zero nor the caller; `expiry > block.timestamp`. Zero limits are accepted (the agent can then only cancel);
    /// the wallet and the dApp refuse them before sending.
    function authorizeAgent(
        address agent,
        uint96 budgetPerDay,
        uint64 sellWhPerDay,
        uint16 maxBuyTick,
        uint16 minSellTick,
        uint64 expiry
    ) external;

    /// @notice Revokes `agent` at once (its resting orders stay; its use keeps counting after a re-authorization).
    /// Emits {AgentRevoked}.
    function revokeAgent(address agent) external;

    /*//////////////////////////////////////////////////////////////
                                  ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the protocol fee for orders placed from now on, and the treasury for fees claimed from now on.
    /// Emits {FeeChanged}.
    /// @dev Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE; `feeBps <= MAX_FEE_BPS`; `treasury` is not zero.
    function setFee(uint16 feeBps, address treasury) external;

    /// @notice Sends `amount` of an ERC-20 `token` that reached the market by a plain transfer (not a {deposit}) to
    /// `to`. Emits {ERC20Rescued}. The vault's own funds are out of its reach: the payment token is refused
    /// outright (the market does not count what it owes, so no unit of it can be proved surplus), and slot tokens
    /// are ERC-1155, not ERC-20 (a transfer call to the energy token reverts).
    /// @dev Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE; `token` is not the payment token; `to` is not zero.
    function rescueERC20(IERC20 token, address to, uint256 amount) external;

    /// @notice Pauses order placement (cancels, clears, claims, deposits and withdrawals go on). Emits
    /// {Pausable-Paused}.
    /// @dev Requirements:
    /// - the caller has PAUSER_ROLE; not paused.
    function pause() external;

    /// @notice Resumes order placement. Emits {Pausable-Unpaused}.
    /// @dev Requirements:
    /// - the caller has PAUSER_ROLE; paused.
    function unpause() external;
}
