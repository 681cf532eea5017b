// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IAdminHandover} from "./interfaces/IAdminHandover.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {Clearing} from "./libraries/Clearing.sol";
import {OrderBook} from "./libraries/OrderBook.sol";
import {TickBitmap} from "./libraries/TickBitmap.sol";

/// @title EnergyMarketBase
/// @notice What every market mode shares: the uniform-price call auction per delivery slot (orders rest at price
/// ticks, {clear} computes one clearing price per slot in O(non-empty ticks), every order settles by a pull-based
/// {claim}), the vault, the agents and the admin. How orders enter the book is the mode's: {EnergyMarket} (open)
/// takes them in the clear until gate closure, {SealedEnergyMarket} takes commitments and reveals them after it.
/// @dev Orders aggregate per (slot, tick) into one storage word (buy and sell totals) plus a two-level tick bitmap,
/// so clearing never touches individual orders; an order's outcome follows from the order and the slot's clearing
/// record alone. Only the vault functions move tokens; they are `nonReentrant` (a transient-storage guard, EIP-1153)
/// and follow checks-effects-interactions.
/// The market's admin (`DEFAULT_ADMIN_ROLE`: fee, treasury, pausers) is the registry's, read from it by {hasRole}, so
/// the registry's two-step handover ({IAdminHandover}) hands both contracts over at once.
abstract contract EnergyMarketBase is AccessControl, Pausable, ReentrancyGuardTransient, IEnergyMarket {
    using SafeERC20 for IERC20;
    using OrderBook for OrderBook.State;
    using TickBitmap for TickBitmap.Bitmap;

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IEnergyMarket
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @inheritdoc IEnergyMarket
    uint16 public constant MAX_TICK_LIMIT = 2047;

    /// @inheritdoc IEnergyMarket
    uint32 public constant CLEAR_WINDOW_SECONDS = 1 days;

    /// @inheritdoc IEnergyMarket
    uint256 public constant MAX_LEVEL_WH = OrderBook.MAX_LEVEL_WH;

    /// @dev Highest price the grid may reach, so that qty (< 2^64) x price never overflows.
    uint256 private constant _MAX_PRICE = type(uint128).max;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Mutable configuration and the global order nonce: one storage slot.
    struct Config {
        address treasury;
        uint16 feeBps;
        uint64 orderNonce;
    }

    /// @dev A resting order: one storage slot. Its slot and fee live in the order id.
    struct StoredOrder {
        address owner;
        uint64 qtyWh;
        uint16 tick;
        bool isBuy;
    }

    /// @inheritdoc IEnergyMarket
    IERC20 public immutable paymentToken;

    /// @inheritdoc IEnergyMarket
    IMeterRegistry public immutable registry;

    /// @inheritdoc IEnergyMarket
    IEnergyToken public immutable energyToken;

    /// @inheritdoc IEnergyMarket
    uint64 public immutable epoch;

    /// @inheritdoc IEnergyMarket
    uint32 public immutable slotSeconds;

    uint256 internal immutable _priceFloor;
    uint256 internal immutable _tickSize;
    uint16 internal immutable _maxTick;
    uint32 internal immutable _settlementSeconds;
    uint32 internal immutable _openAheadSeconds;
    uint64 internal immutable _minOrderWh;

    Config internal _config;
    mapping(address account => uint256) internal _balances;
    mapping(address account => mapping(uint256 slot => uint256)) internal _energy;
    mapping(uint256 orderId => StoredOrder) internal _orders;
    mapping(uint64 slot => OrderBook.State) internal _books;
    mapping(address owner => mapping(address agent => Delegation)) internal _delegations;

    /// @param admin         receives PAUSER_ROLE (DEFAULT_ADMIN_ROLE is the registry's, see {hasRole}).
    /// @param paymentToken_ the ERC-20 orders are paid in (any decimals).
    /// @param registry_     the meter registry; epoch, slot length and the energy token are read from it.
    /// @param p             see {IEnergyMarket-MarketParams}.
    constructor(address admin, IERC20 paymentToken_, IMeterRegistry registry_, MarketParams memory p) {
        if (
            admin == address(0) || address(paymentToken_) == address(0) || address(registry_) == address(0)
                || p.treasury == address(0)
        ) revert MarketZeroAddress();
        if (p.tickSize == 0) revert MarketTickSizeZero();
        if (p.maxTick > MAX_TICK_LIMIT) revert MarketMaxTickTooHigh(p.maxTick, MAX_TICK_LIMIT);
        if (p.priceFloor > _MAX_PRICE || (p.maxTick != 0 && p.tickSize > (_MAX_PRICE - p.priceFloor) / p.maxTick)) {
            revert MarketPriceRangeTooHigh(p.priceFloor, p.tickSize, p.maxTick);
        }
        if (p.settlementSeconds == 0) revert MarketSettlementWindowZero();
        if (p.minOrderWh == 0) revert MarketMinOrderZero();
        if (p.feeBps > MAX_FEE_BPS) revert MarketFeeTooHigh(p.feeBps, MAX_FEE_BPS);

        paymentToken = paymentToken_;
        registry = registry_;
        energyToken = registry_.token();
        epoch = registry_.epoch();
        slotSeconds = registry_.slotSeconds();
        _priceFloor = p.priceFloor;
        _tickSize = p.tickSize;
        _maxTick = p.maxTick;
        _settlementSeconds = p.settlementSeconds;
        _openAheadSeconds = p.openAheadSeconds;
        _minOrderWh = p.minOrderWh;
        _config = Config({treasury: p.treasury, feeBps: p.feeBps, orderNonce: 0});

        _grantRole(PAUSER_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                                  VAULT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert MarketZeroAmount();
        uint256 before = paymentToken.balanceOf(address(this));
        paymentToken.safeTransferFrom(msg.sender, address(this), amount);
        // Credit what arrived, not what was asked: a fee-on-transfer token cannot inflate balances.
        uint256 received = paymentToken.balanceOf(address(this)) - before;
        _balances[msg.sender] += received;
        emit Deposited(msg.sender, received);
    }

    /// @inheritdoc IEnergyMarket
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert MarketZeroAmount();
        _debit(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
        paymentToken.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IEnergyMarket
    function withdrawEnergy(uint256 slot, uint64 amountWh) external nonReentrant {
        if (amountWh == 0) revert MarketZeroAmount();
        _debitEnergy(msg.sender, slot, amountWh);
        emit EnergyWithdrawn(msg.sender, slot, amountWh);
        energyToken.safeTransferFrom(address(this), msg.sender, slot, amountWh, "");
    }

    /// @inheritdoc IERC1155Receiver
    /// @dev Credits `from` (the holder whose tokens arrived). Requirements:
    /// - the caller is the energy token; `from` is not zero (mints are not deposits).
    function onERC1155Received(address, address from, uint256 id, uint256 value, bytes calldata)
        external
        nonReentrant
        returns (bytes4)
    {
        _requireEnergyToken();
        _creditEnergyDeposit(from, id, value);
        return IERC1155Receiver.onERC1155Received.selector;
    }

    /// @inheritdoc IERC1155Receiver
    /// @dev Credits `from` for every id. Requirements: those of {onERC1155Received}.
    function onERC1155BatchReceived(
        address,
        address from,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata
    ) external nonReentrant returns (bytes4) {
        _requireEnergyToken();
        // The token checked that ids and values have the same length.
        for (uint256 i; i < ids.length; ++i) {
            _creditEnergyDeposit(from, ids[i], values[i]);
        }
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    /*//////////////////////////////////////////////////////////////
                           CLEARING AND CLAIMS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    function clear(uint64 slot) external {
        uint256 closes = _gateClosure(slot);
        if (block.timestamp < closes) revert GateNotClosed(slot, closes);
        _beforeClear(slot, closes);
        OrderBook.State storage book = _books[slot];
        if (book.buy.cleared) revert AlreadyCleared(slot);
        // Cannot overflow: closes < 2^97 (see _slotStart).
        unchecked {
            if (block.timestamp >= closes + CLEAR_WINDOW_SECONDS) revert SlotVoid(slot, closes + CLEAR_WINDOW_SECONDS);
        }
        ClearingRecord memory r = book.clear();
        emit SlotCleared(
            slot,
            r.volumeWh,
            r.clearingTick,
            r.buyMarginalTick,
            r.buyMarginalFilledWh,
            r.buyMarginalTotalWh,
            r.sellMarginalTick,
            r.sellMarginalFilledWh,
            r.sellMarginalTotalWh
        );
    }

    /// @inheritdoc IEnergyMarket
    function claim(uint256 orderId) external {
        _claim(orderId);
    }

    /// @inheritdoc IEnergyMarket
    function claimBatch(uint256[] calldata orderIds) external returns (uint256 claimed) {
        for (uint256 i; i < orderIds.length; ++i) {
            // Skipped, not refused (audit L-4): an order no longer stored was claimed (or
            // cancelled) meanwhile, and one such order must not revert a keeper's whole batch.
            if (_storedOrder(orderIds[i]).owner == address(0)) continue;
            _claim(orderIds[i]);
            // cannot overflow: at most orderIds.length
            unchecked {
                ++claimed;
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    function authorizeAgent(
        address agent,
        uint96 budgetPerDay,
        uint64 sellWhPerDay,
        uint16 maxBuyTick,
        uint16 minSellTick,
        uint64 expiry
    ) external {
        if (agent == address(0) || agent == msg.sender) revert AgentInvalid(agent);
        if (expiry <= block.timestamp) revert AgentInvalidExpiry(expiry);
        // The stored use stays: it counts against the new limits and decays at their rate.
        Delegation storage d = _delegations[msg.sender][agent];
        d.budgetPerDay = budgetPerDay;
        d.sellWhPerDay = sellWhPerDay;
        d.maxBuyTick = maxBuyTick;
        d.minSellTick = minSellTick;
        d.expiry = expiry;
        emit AgentAuthorized(msg.sender, agent, budgetPerDay, sellWhPerDay, maxBuyTick, minSellTick, expiry);
    }

    /// @inheritdoc IEnergyMarket
    function revokeAgent(address agent) external {
        // Only the expiry goes: the limits stay so that the use keeps decaying at the rate it was granted.
        _delegations[msg.sender][agent].expiry = 0;
        emit AgentRevoked(msg.sender, agent);
    }

    /*//////////////////////////////////////////////////////////////
                                  ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    function setFee(uint16 feeBps, address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert MarketFeeTooHigh(feeBps, MAX_FEE_BPS);
        if (treasury == address(0)) revert MarketZeroAddress();
        Config storage config = _config;
        config.feeBps = feeBps;
        config.treasury = treasury;
        emit FeeChanged(feeBps, treasury);
    }

    /// @inheritdoc IEnergyMarket
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(token) == address(paymentToken)) revert MarketRescuePaymentToken();
        if (to == address(0)) revert MarketZeroAddress();
        emit ERC20Rescued(address(token), to, amount);
        token.safeTransfer(to, amount);
    }

    /// @inheritdoc IEnergyMarket
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IEnergyMarket
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    function params() external view returns (MarketParams memory) {
        Config memory config = _config;
        return MarketParams({
            priceFloor: _priceFloor,
            tickSize: _tickSize,
            maxTick: _maxTick,
            settlementSeconds: _settlementSeconds,
            openAheadSeconds: _openAheadSeconds,
            minOrderWh: _minOrderWh,
            feeBps: config.feeBps,
            treasury: config.treasury
        });
    }

    /// @inheritdoc IEnergyMarket
    function priceOf(uint16 tick) external view returns (uint256) {
        if (tick > _maxTick) revert OrderTickOutOfRange(tick, _maxTick);
        return _price(tick);
    }

    /// @inheritdoc IEnergyMarket
    function gateClosure(uint64 slot) external view returns (uint256) {
        return _gateClosure(slot);
    }

    /// @inheritdoc IEnergyMarket
    function cancelCutoff(uint64 slot) external view returns (uint256) {
        return _cancelCutoff(slot);
    }

    /// @inheritdoc IEnergyMarket
    function voidAt(uint64 slot) external view returns (uint256) {
        // Cannot overflow: see _slotStart.
        unchecked {
            return _gateClosure(slot) + CLEAR_WINDOW_SECONDS;
        }
    }

    /// @inheritdoc IEnergyMarket
    function orderWindow(uint64 slot) external view returns (uint256 opensAt, uint256 closesAt) {
        return (_opensAt(slot), _gateClosure(slot));
    }

    /// @inheritdoc IEnergyMarket
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IEnergyMarket
    function energyBalanceOf(address account, uint256 slot) external view returns (uint256) {
        return _energy[account][slot];
    }

    /// @inheritdoc IEnergyMarket
    function order(uint256 orderId) external view returns (Order memory) {
        StoredOrder memory o = _storedOrder(orderId);
        if (o.owner == address(0)) return Order(address(0), 0, false, 0, 0, 0);
        return Order({
            owner: o.owner,
            slot: uint64(orderId >> 192),
            isBuy: o.isBuy,
            tick: o.tick,
            qtyWh: o.qtyWh,
            feeBps: uint16(orderId >> 64)
        });
    }

    /// @inheritdoc IEnergyMarket
    function level(uint64 slot, uint16 tick) external view returns (Level memory) {
        return _books[slot].levels[tick];
    }

    /// @inheritdoc IEnergyMarket
    function nextActiveTick(uint64 slot, uint16 fromTick) external view returns (bool found, uint16 tick) {
        uint256 t = _books[slot].ticks.next(fromTick);
        if (t == TickBitmap.NONE) return (false, 0);
        return (true, uint16(t));
    }

    /// @inheritdoc IEnergyMarket
    function clearing(uint64 slot) external view returns (ClearingRecord memory) {
        return _books[slot].record();
    }

    /// @inheritdoc IEnergyMarket
    function residualCommitment(uint64 slot) external view returns (bytes32) {
        return _books[slot].residual;
    }

    /// @inheritdoc IEnergyMarket
    function previewClaim(uint256 orderId)
        external
        view
        returns (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund)
    {
        StoredOrder memory o = _storedOrder(orderId);
        if (o.owner == address(0)) revert OrderNotFound(orderId);
        (filledWh, amount, fee, refund,) = _settle(orderId, o);
    }

    /// @inheritdoc IEnergyMarket
    function delegation(address owner, address agent) external view returns (Delegation memory) {
        return _delegations[owner][agent];
    }

    /// @inheritdoc IAccessControl
    /// @dev `DEFAULT_ADMIN_ROLE` is the registry's: whoever administers the meters administers the market.
    function hasRole(bytes32 role, address account) public view override returns (bool) {
        if (role == DEFAULT_ADMIN_ROLE) return IAccessControl(address(registry)).hasRole(role, account);
        return super.hasRole(role, account);
    }

    /// @dev `DEFAULT_ADMIN_ROLE` is never granted here (it is the registry's, see {hasRole}).
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role == DEFAULT_ADMIN_ROLE) revert IAdminHandover.AccessControlEnforcedDefaultAdminRules();
        return super._grantRole(role, account);
    }

    /// @dev `DEFAULT_ADMIN_ROLE` is never revoked or renounced here (it is the registry's, see {hasRole}).
    function _revokeRole(bytes32 role, address account) internal override returns (bool) {
        if (role == DEFAULT_ADMIN_ROLE) revert IAdminHandover.AccessControlEnforcedDefaultAdminRules();
        return super._revokeRole(role, account);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || super.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNALS: ORDERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Called by {clear} after its gate-closure check, before anything else: a mode that clears later reverts
    /// here. Open mode: nothing (clearing opens at gate closure `closes`).
    function _beforeClear(uint64 slot, uint256 closes) internal view virtual {}

    /// @dev The order stored under `orderId`, its owner zero when there is none. Every read of an order by the
    /// shared code goes through here, so that a mode keeping other records under order ids can hide them.
    function _storedOrder(uint256 orderId) internal view virtual returns (StoredOrder storage) {
        return _orders[orderId];
    }

    /// @dev Checks and books one order into the level of its tick, takes a sell's tokens from the vault, stores the
    /// order. Returns its id and, for a buy, the payment escrow the caller must debit.
    function _book(address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh, uint16 feeBps, uint64 nonce)
        internal
        returns (uint256 orderId, uint256 escrow)
    {
        if (qtyWh < _minOrderWh) revert OrderQtyTooSmall(qtyWh, _minOrderWh);
        if (tick > _maxTick) revert OrderTickOutOfRange(tick, _maxTick);
        uint256 start = _slotStart(slot);
        uint256 closes = start + slotSeconds + _settlementSeconds;
        if (block.timestamp >= closes) revert OrderWindowClosed(slot, closes);
        if (block.timestamp + _openAheadSeconds < start) revert OrderWindowNotOpen(slot, _opensAt(slot));

        if (!_books[slot].add(tick, isBuy, qtyWh)) revert OrderLevelOverflow(slot, tick);
        if (isBuy) escrow = Clearing.cost(qtyWh, _price(tick));
        else _debitEnergy(owner, slot, qtyWh);

        orderId = (uint256(slot) << 192) | (uint256(feeBps) << 64) | nonce;
        _orders[orderId] = StoredOrder({owner: owner, qtyWh: qtyWh, tick: tick, isBuy: isBuy});
        emit OrderPlaced(orderId, owner, slot, isBuy, tick, qtyWh);
    }

    /// @dev Cancels `orderId` and returns its escrow: by its owner or an agent before the cancel cut-off, or by anyone once
    /// the slot is void (not cleared within CLEAR_WINDOW_SECONDS after gate closure; credits go to the owner only).
    function _cancel(uint256 orderId) internal {
        StoredOrder memory o = _storedOrder(orderId);
        if (o.owner == address(0)) revert OrderNotFound(orderId);
        uint64 slot = uint64(orderId >> 192);
        uint256 closes = _gateClosure(slot);
        bool isVoid;
        // Cannot overflow: closes < 2^97 (see _slotStart).
        unchecked {
            isVoid = block.timestamp >= closes + CLEAR_WINDOW_SECONDS && !_books[slot].buy.cleared;
        }
        if (!isVoid) {
            if (msg.sender != o.owner) _requireAgent(_delegations[o.owner][msg.sender], o.owner);
            uint256 cutoff = _cancelCutoff(slot);
            if (block.timestamp >= cutoff) revert CancelWindowClosed(slot, cutoff);
        }

        delete _orders[orderId];
        _books[slot].remove(o.tick, o.isBuy, o.qtyWh);
        if (o.isBuy) _balances[o.owner] += Clearing.cost(o.qtyWh, _price(o.tick));
        else _energy[o.owner][slot] += o.qtyWh;
        emit OrderCancelled(orderId, o.owner);
    }

    /// @dev Settles and deletes order `orderId`, crediting its owner (and the treasury its fee). Virtual for a mode that
    /// adds to the outcome ({PooledEnergyMarket}: the city pool's fill).
    function _claim(uint256 orderId) internal virtual {
        StoredOrder memory o = _storedOrder(orderId);
        if (o.owner == address(0)) revert OrderNotFound(orderId);
        (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund, bool rationed) = _settle(orderId, o);
        delete _orders[orderId];
        uint256 slot = orderId >> 192;
        // Cannot overflow: the level's claimed Wh add up to at most its total Q < 2^96.
        unchecked {
            if (rationed) _books[uint64(slot)].marginalClaimedWh += o.qtyWh;
        }
        if (o.isBuy) {
            if (filledWh != 0) _energy[o.owner][slot] += filledWh;
            if (refund != 0) _balances[o.owner] += refund;
        } else {
            if (amount != 0) _balances[o.owner] += amount;
            if (fee != 0) _balances[_config.treasury] += fee;
            if (refund != 0) _energy[o.owner][slot] += refund;
        }
        emit OrderClaimed(orderId, o.owner, filledWh, amount, fee, refund);
    }

    /// @dev The outcome of order `o` (id `orderId`) in its cleared slot if claimed now (see {IEnergyMarket-OrderClaimed}),
    /// and whether it sits at a rationed marginal level (whose claims {Clearing-share} counts).
    function _settle(uint256 orderId, StoredOrder memory o)
        internal
        view
        virtual
        returns (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund, bool rationed)
    {
        uint64 slot = uint64(orderId >> 192);
        OrderBook.State storage book = _books[slot];
        OrderBook.SideClearing memory c = o.isBuy ? book.buy : book.sell;
        if (!c.cleared) revert SlotNotCleared(slot);
        // R < Q implies R > 0 (Lemma 2): the slot traded.
        rationed = o.tick == c.marginalTick && c.filledWh != c.totalWh;
        uint256 fillWh = rationed
            ? Clearing.share(o.qtyWh, book.marginalClaimedWh, c.filledWh, c.totalWh)
            : Clearing.fill(o.isBuy, o.qtyWh, o.tick, c.marginalTick, c.filledWh);
        // Cannot truncate: fillWh <= qtyWh, a uint64.
        filledWh = uint64(fillWh);
        uint256 price = _price(c.clearingTick);
        if (o.isBuy) {
            amount = Clearing.cost(fillWh, price);
            // Cannot underflow: fillWh <= qtyWh and the clearing price <= the order's price (Lemma 4).
            unchecked {
                refund = Clearing.cost(o.qtyWh, _price(o.tick)) - amount;
            }
        } else {
            uint256 gross = Clearing.proceeds(fillWh, price);
            fee = Clearing.fee(gross, uint16(orderId >> 64));
            // Cannot underflow: fee <= gross since feeBps <= MAX_FEE_BPS < 10000; fillWh <= qtyWh.
            unchecked {
                amount = gross - fee;
                refund = o.qtyWh - fillWh;
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                         INTERNALS: ACCOUNTING
    //////////////////////////////////////////////////////////////*/

    function _debit(address account, uint256 amount) internal {
        uint256 balance = _balances[account];
        if (balance < amount) revert MarketInsufficientBalance(account, balance, amount);
        // Cannot underflow: checked above.
        unchecked {
            _balances[account] = balance - amount;
        }
    }

    function _debitEnergy(address account, uint256 slot, uint256 amountWh) internal {
        uint256 balance = _energy[account][slot];
        if (balance < amountWh) revert MarketInsufficientEnergy(account, slot, balance, amountWh);
        // Cannot underflow: checked above.
        unchecked {
            _energy[account][slot] = balance - amountWh;
        }
    }

    function _requireEnergyToken() private view {
        if (msg.sender != address(energyToken)) revert MarketUnsupportedToken(msg.sender);
    }

    /// @dev Books tokens that arrived from `from` as its vault deposit. Virtual for a mode that receives tokens it must
    /// not credit ({PooledEnergyMarket}: its pool's deliveries).
    function _creditEnergyDeposit(address from, uint256 slot, uint256 amountWh) internal virtual {
        if (from == address(0)) revert MarketZeroAddress();
        _energy[from][slot] += amountWh;
        emit EnergyDeposited(from, slot, amountWh);
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNALS: AGENTS
    //////////////////////////////////////////////////////////////*/

    function _requireAgent(Delegation storage d, address owner) internal view {
        uint64 expiry = d.expiry;
        if (expiry == 0) revert NotOwnerOrAgent(msg.sender, owner);
        if (block.timestamp >= expiry) revert AgentExpired(msg.sender, expiry);
    }

    function _checkAgentPrice(Delegation storage d, bool isBuy, uint16 tick) internal view {
        if (isBuy) {
            uint16 bound = d.maxBuyTick;
            if (tick > bound) revert AgentPriceOutOfBounds(tick, bound);
        } else {
            uint16 bound = d.minSellTick;
            if (tick < bound) revert AgentPriceOutOfBounds(tick, bound);
        }
    }

    /// @dev Decays the agent's stored use to now (linearly, one daily limit per 24 hours since `updatedAt`, rounded
    /// against the agent), adds `escrow` buy escrow and `sellWh` sold Wh, checks the limits and stores the result.
    function _chargeAgent(Delegation storage d, uint256 escrow, uint256 sellWh) internal {
        uint256 elapsed = block.timestamp - d.updatedAt;
        uint256 spent = _decayed(d.spent, d.budgetPerDay, elapsed) + escrow;
        uint256 soldWh = _decayed(d.soldWh, d.sellWhPerDay, elapsed) + sellWh;
        // Each limit refuses only orders that draw on it (a limit lowered below the use blocks only its own side).
        uint96 budget = d.budgetPerDay;
        if (escrow != 0 && spent > budget) revert AgentBudgetExceeded(msg.sender, spent, budget);
        uint64 sellLimit = d.sellWhPerDay;
        if (sellWh != 0 && soldWh > sellLimit) revert AgentSellLimitExceeded(msg.sender, soldWh, sellLimit);
        // Cannot truncate: checked above against a uint96 and a uint64.
        d.spent = uint96(spent);
        d.soldWh = uint64(soldWh);
        d.updatedAt = uint40(block.timestamp);
    }

    /// @dev `use` less `limitPerDay` per day of `elapsed` seconds (rounded down), not below zero.
    function _decayed(uint256 use, uint256 limitPerDay, uint256 elapsed) private pure returns (uint256) {
        uint256 refill = limitPerDay * elapsed / 1 days;
        return use > refill ? use - refill : 0;
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNALS: TIME
    //////////////////////////////////////////////////////////////*/

    function _price(uint256 tick) internal view returns (uint256) {
        // Cannot overflow: the constructor bounds priceFloor + maxTick * tickSize by 2^128, and tick <= maxTick.
        unchecked {
            return _priceFloor + tick * _tickSize;
        }
    }

    function _slotStart(uint64 slot) internal view returns (uint256) {
        // Cannot overflow: 2^64 + 2^64 * 2^32 < 2^256.
        unchecked {
            return uint256(epoch) + uint256(slot) * slotSeconds;
        }
    }

    function _gateClosure(uint64 slot) internal view returns (uint256) {
        // Cannot overflow: see _slotStart.
        unchecked {
            return _slotStart(slot) + slotSeconds + _settlementSeconds;
        }
    }

    /// @dev The last half of the settlement window is firm (audit L-3): see {IEnergyMarket-cancelCutoff}.
    function _cancelCutoff(uint64 slot) internal view returns (uint256) {
        // Cannot underflow: gate closure >= settlementSeconds; cannot overflow: see _slotStart.
        unchecked {
            return _gateClosure(slot) - _settlementSeconds / 2;
        }
    }

    function _opensAt(uint64 slot) internal view returns (uint256) {
        uint256 start = _slotStart(slot);
        // Cannot underflow: checked by the condition.
        unchecked {
            return start > _openAheadSeconds ? start - _openAheadSeconds : 0;
        }
    }
}
