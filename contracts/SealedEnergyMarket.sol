// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EnergyMarketBase} from "./EnergyMarketBase.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {ISealedEnergyMarket} from "./interfaces/ISealedEnergyMarket.sol";
import {Clearing} from "./libraries/Clearing.sol";
import {OrderBook} from "./libraries/OrderBook.sol";

/// @title SealedEnergyMarket
/// @notice The sealed-bid market: before gate closure the book holds nothing readable, only commitments and their
/// collateral; after it, in the reveal window, the commitments are opened into the same book, which clears and
/// settles exactly as the open market's (see {ISealedEnergyMarket}, {EnergyMarketBase}).
/// @dev A commitment and the order it reveals share one storage word, the order's (`_orders[commitId]`): while
/// unrevealed it holds a {StoredCommitment} (owner, locked money, and a non-zero `kind` in the byte an order leaves
/// zero), so a commit writes one new word and a reveal overwrites it with the order. {_storedOrder} hides
/// unrevealed commitments from the shared code (claims, cancels, views). The agent that committed and the locked
/// tokens, when there are any, take a second word ({CommitmentExtras}).
contract SealedEnergyMarket is EnergyMarketBase, ISealedEnergyMarket {
    using OrderBook for OrderBook.State;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev An unrevealed commitment, in the storage word of `_orders[commitId]`: `kind` lies in the byte that a
    /// {StoredOrder} leaves zero.
    struct StoredCommitment {
        address owner;
        uint88 lockedMoney;
        uint8 kind;
    }

    /// @dev What a commitment by an agent, or one locking tokens, stores beside its {StoredCommitment}.
    struct CommitmentExtras {
        address agent;
        uint64 lockedWh;
    }

    /// @dev `kind` of a commitment without {CommitmentExtras}.
    uint8 private constant _PLAIN = 1;
    /// @dev `kind` of a commitment with {CommitmentExtras}.
    uint8 private constant _EXTRAS = 2;
    /// @dev The bits of a commit id taken from the commitment: all but the slot (192..255) and the fee (64..79).
    uint256 private constant _ID_HASH_MASK = ((1 << 192) - 1) ^ (uint256(type(uint16).max) << 64);

    uint256 private immutable _bond;
    uint32 private immutable _revealSeconds;

    mapping(uint256 commitId => CommitmentExtras) private _extras;
    /// @dev Never written: the empty order {_storedOrder} points unrevealed commitments at.
    StoredOrder private _noOrder;

    /// @param admin         receives PAUSER_ROLE (DEFAULT_ADMIN_ROLE is the registry's, see {hasRole}).
    /// @param paymentToken_ the ERC-20 orders are paid in (any decimals).
    /// @param registry_     the meter registry; epoch, slot length and the energy token are read from it.
    /// @param p             see {IEnergyMarket-MarketParams}.
    /// @param revealSeconds_ the reveal window after each gate closure (> 0, < CLEAR_WINDOW_SECONDS).
    /// @param bondAmount_   the money every commitment locks and forfeits unrevealed (> 0, < 2^88).
    constructor(
        address admin,
        IERC20 paymentToken_,
        IMeterRegistry registry_,
        MarketParams memory p,
        uint32 revealSeconds_,
        uint256 bondAmount_
    ) EnergyMarketBase(admin, paymentToken_, registry_, p) {
        if (revealSeconds_ == 0 || revealSeconds_ >= CLEAR_WINDOW_SECONDS) {
            revert SealedRevealWindowInvalid(revealSeconds_, CLEAR_WINDOW_SECONDS);
        }
        if (bondAmount_ == 0 || bondAmount_ > type(uint88).max) revert SealedBondInvalid(bondAmount_, type(uint88).max);
        _revealSeconds = revealSeconds_;
        _bond = bondAmount_;
    }

    /*//////////////////////////////////////////////////////////////
                               COMMITMENTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISealedEnergyMarket
    function commitOrder(address owner, uint64 slot, bytes32 commitment_, uint96 lockedMoney, uint64 lockedWh)
        external
        whenNotPaused
        returns (uint256 commitId)
    {
        bool isAgent = msg.sender != owner;
        if (isAgent) {
            Delegation storage d = _delegations[owner][msg.sender];
            _requireAgent(d, owner);
            _chargeAgent(d, lockedMoney, lockedWh);
        }
        commitId = _commit(owner, slot, commitment_, lockedMoney, lockedWh, _config.feeBps, isAgent);
        _debit(owner, lockedMoney);
    }

    /// @inheritdoc ISealedEnergyMarket
    function commitOrders(address owner, CommitRequest[] calldata commits)
        external
        whenNotPaused
        returns (uint256[] memory commitIds)
    {
        bool isAgent = msg.sender != owner;
        Delegation storage d = _delegations[owner][msg.sender];
        if (isAgent) _requireAgent(d, owner);
        uint16 feeBps = _config.feeBps;
        uint256 n = commits.length;
        commitIds = new uint256[](n);
        uint256 totalMoney;
        uint256 totalWh;
        for (uint256 i; i < n; ++i) {
            CommitRequest calldata c = commits[i];
            commitIds[i] = _commit(owner, c.slot, c.commitment, c.lockedMoney, c.lockedWh, feeBps, isAgent);
            totalMoney += c.lockedMoney;
            totalWh += c.lockedWh;
        }
        if (isAgent) _chargeAgent(d, totalMoney, totalWh);
        _debit(owner, totalMoney);
    }

    /// @inheritdoc ISealedEnergyMarket
    function revealOrder(uint256 commitId, bool isBuy, uint16 tick, uint64 qtyWh, bytes32 salt)
        external
        returns (uint256 orderId)
    {
        StoredCommitment memory c = _commitmentAt(commitId);
        if (c.kind == 0) revert CommitmentNotFound(commitId);
        _reveal(commitId, c, isBuy, tick, qtyWh, salt);
        return commitId;
    }

    /// @inheritdoc ISealedEnergyMarket
    function revealOrders(RevealRequest[] calldata reveals) external returns (uint256[] memory orderIds) {
        uint256 n = reveals.length;
        orderIds = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            RevealRequest calldata r = reveals[i];
            StoredCommitment memory c = _commitmentAt(r.commitId);
            // Skipped, not refused: a reveal copied from the mempool must not revert a keeper's whole batch.
            if (c.kind == 0) continue;
            _reveal(r.commitId, c, r.isBuy, r.tick, r.qtyWh, r.salt);
            orderIds[i] = r.commitId;
        }
    }

    /// @inheritdoc ISealedEnergyMarket
    function reclaimCommitment(uint256 commitId) external {
        StoredCommitment storage stored = _commitmentAt(commitId);
        StoredCommitment memory c = stored;
        if (c.kind == 0) revert CommitmentNotFound(commitId);
        uint64 slot = uint64(commitId >> 192);
        uint256 revealEnds = _revealEnds(slot);
        if (block.timestamp <= revealEnds) revert RevealWindowOpen(slot, revealEnds);

        uint64 lockedWh;
        if (c.kind == _EXTRAS) {
            lockedWh = _extras[commitId].lockedWh;
            delete _extras[commitId];
        }
        _clearWord(stored);
        uint256 bond = _bond;
        uint256 refund;
        // Cannot underflow: every commitment locked at least the bond (checked in _commit).
        unchecked {
            refund = c.lockedMoney - bond;
        }
        _balances[_config.treasury] += bond;
        if (refund != 0) _balances[c.owner] += refund;
        if (lockedWh != 0) _energy[c.owner][slot] += lockedWh;
        emit CommitmentForfeited(commitId, c.owner, bond, refund, lockedWh);
    }

    /*//////////////////////////////////////////////////////////////
                          OPEN ORDERS (REFUSED)
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyMarket
    /// @dev Always reverts with {SealedMarketNoOpenOrders}: orders enter by {commitOrder} and {revealOrder}.
    function placeOrder(address, uint64, bool, uint16, uint64) external pure returns (uint256) {
        revert SealedMarketNoOpenOrders();
    }

    /// @inheritdoc IEnergyMarket
    /// @dev Always reverts with {SealedMarketNoOpenOrders}: orders enter by {commitOrders} and {revealOrders}.
    function placeOrders(address, OrderRequest[] calldata) external pure returns (uint256[] memory) {
        revert SealedMarketNoOpenOrders();
    }

    /// @inheritdoc IEnergyMarket
    /// @dev Orders exist only after gate closure here, so this is only the exit of a void slot (anyone may cancel).
    function cancelOrder(uint256 orderId) external {
        _cancel(orderId);
    }

    /// @inheritdoc IEnergyMarket
    /// @dev See {cancelOrder}.
    function cancelOrders(uint256[] calldata orderIds) external {
        for (uint256 i; i < orderIds.length; ++i) {
            _cancel(orderIds[i]);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISealedEnergyMarket
    function bondAmount() external view returns (uint256) {
        return _bond;
    }

    /// @inheritdoc ISealedEnergyMarket
    function revealSeconds() external view returns (uint32) {
        return _revealSeconds;
    }

    /// @inheritdoc ISealedEnergyMarket
    function revealWindow(uint64 slot) external view returns (uint256 opensAfter, uint256 closesAt) {
        return (_gateClosure(slot), _revealEnds(slot));
    }

    /// @inheritdoc ISealedEnergyMarket
    function commitmentOf(address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return _commitmentOf(owner, slot, isBuy, tick, qtyWh, salt);
    }

    /// @inheritdoc ISealedEnergyMarket
    function commitment(uint256 commitId) external view returns (Commitment memory) {
        StoredCommitment memory c = _commitmentAt(commitId);
        if (c.kind == 0) return Commitment(address(0), address(0), 0, 0);
        CommitmentExtras memory x = _extras[commitId];
        return Commitment({owner: c.owner, agent: x.agent, lockedMoney: c.lockedMoney, lockedWh: x.lockedWh});
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Sealed mode clears only after the reveal window, so that no commitment can still join the book.
    function _beforeClear(uint64 slot, uint256 closes) internal view override {
        uint256 revealEnds;
        // Cannot overflow: closes < 2^97 (see _slotStart) and _revealSeconds < 2^32.
        unchecked {
            revealEnds = closes + _revealSeconds;
        }
        if (block.timestamp <= revealEnds) revert RevealWindowOpen(slot, revealEnds);
    }

    /// @dev An unrevealed commitment is no order: the shared code sees the empty `_noOrder` instead.
    function _storedOrder(uint256 orderId) internal view override returns (StoredOrder storage o) {
        o = _orders[orderId];
        if (_commitmentAt(orderId).kind != 0) o = _noOrder;
    }

    /// @dev Checks and stores one commitment, takes its tokens from the vault; the caller debits the money (and an
    /// agent's allowances). Returns its id.
    function _commit(
        address owner,
        uint64 slot,
        bytes32 commitment_,
        uint96 lockedMoney,
        uint64 lockedWh,
        uint16 feeBps,
        bool byAgent
    ) private returns (uint256 commitId) {
        uint256 start = _slotStart(slot);
        uint256 closes;
        // Cannot overflow: see _slotStart.
        unchecked {
            closes = start + slotSeconds + _settlementSeconds;
        }
        if (block.timestamp >= closes) revert OrderWindowClosed(slot, closes);
        if (block.timestamp + _openAheadSeconds < start) revert OrderWindowNotOpen(slot, _opensAt(slot));
        if (lockedMoney < _bond) revert CommitmentBondNotCovered(lockedMoney, _bond);
        if (lockedMoney > type(uint88).max) revert CommitmentLockTooLarge(lockedMoney, type(uint88).max);

        commitId = (uint256(slot) << 192) | (uint256(feeBps) << 64) | _idBits(commitment_, owner);
        StoredCommitment storage stored = _commitmentAt(commitId);
        // A word in use holds a commitment (kind != 0) or an order (owner != 0).
        if (stored.owner != address(0)) revert CommitmentExists(commitId);
        uint8 kind = _PLAIN;
        if (byAgent || lockedWh != 0) {
            kind = _EXTRAS;
            _extras[commitId] = CommitmentExtras({agent: byAgent ? msg.sender : address(0), lockedWh: lockedWh});
            if (lockedWh != 0) _debitEnergy(owner, slot, lockedWh);
        }
        // Cannot truncate: lockedMoney <= 2^88 - 1, checked above.
        _setCommitment(stored, StoredCommitment({owner: owner, lockedMoney: uint88(lockedMoney), kind: kind}));
        emit OrderCommitted(commitId, owner, slot, lockedMoney, lockedWh);
    }

    /// @dev Opens commitment `commitId` (`c`, its stored record, known to be a commitment): checks the window, the
    /// hash and the order, books the order in the commitment's word and returns the unused collateral.
    function _reveal(uint256 commitId, StoredCommitment memory c, bool isBuy, uint16 tick, uint64 qtyWh, bytes32 salt)
        private
    {
        uint64 slot = uint64(commitId >> 192);
        uint256 closes = _gateClosure(slot);
        if (block.timestamp <= closes) revert RevealWindowNotOpen(slot, closes);
        uint256 revealEnds;
        // Cannot overflow: see _requireClearable.
        unchecked {
            revealEnds = closes + _revealSeconds;
        }
        if (block.timestamp > revealEnds) revert RevealWindowClosed(slot, revealEnds);
        if (_idBits(_commitmentOf(c.owner, slot, isBuy, tick, qtyWh, salt), c.owner) != commitId & _ID_HASH_MASK) {
            revert CommitmentMismatch(commitId);
        }
        if (qtyWh < _minOrderWh) revert OrderQtyTooSmall(qtyWh, _minOrderWh);
        if (tick > _maxTick) revert OrderTickOutOfRange(tick, _maxTick);

        uint256 lockedWh;
        if (c.kind == _EXTRAS) {
            CommitmentExtras memory x = _extras[commitId];
            if (x.agent != address(0)) _checkAgentPrice(_delegations[c.owner][x.agent], isBuy, tick);
            lockedWh = x.lockedWh;
            delete _extras[commitId];
        }
        uint256 money = c.lockedMoney;
        if (isBuy) {
            uint256 escrow = Clearing.cost(qtyWh, _price(tick));
            if (escrow > money) revert CommitmentMoneyShort(commitId, escrow, money);
            // Cannot underflow: checked above.
            unchecked {
                money -= escrow;
            }
        } else {
            if (qtyWh > lockedWh) revert CommitmentEnergyShort(commitId, qtyWh, lockedWh);
            // Cannot underflow: checked above.
            unchecked {
                lockedWh -= qtyWh;
            }
        }
        if (!_books[slot].add(tick, isBuy, qtyWh)) revert OrderLevelOverflow(slot, tick);

        // The commitment's word becomes the order's: cleared first, since a struct write keeps the byte of `kind`.
        _clearWord(_commitmentAt(commitId));
        _orders[commitId] = StoredOrder({owner: c.owner, qtyWh: qtyWh, tick: tick, isBuy: isBuy});
        if (money != 0) _balances[c.owner] += money;
        if (lockedWh != 0) _energy[c.owner][slot] += lockedWh;
        emit OrderPlaced(commitId, c.owner, slot, isBuy, tick, qtyWh);
        emit OrderRevealed(commitId, commitId);
    }

    /// @dev The commitment record in the storage word of `_orders[commitId]`.
    function _commitmentAt(uint256 commitId) private view returns (StoredCommitment storage c) {
        StoredOrder storage o = _orders[commitId];
        // Aliases the order's word (see the contract's @dev): both structs fit in one word.
        assembly ("memory-safe") {
            c.slot := o.slot
        }
    }

    /// @dev Zeroes the whole word of `stored`. `delete` of either struct would clear its members only and keep the
    /// byte of `kind`, which the order's struct does not cover.
    function _clearWord(StoredCommitment storage stored) private {
        assembly ("memory-safe") {
            sstore(stored.slot, 0)
        }
    }

    /// @dev Writes `c` over the whole word of `stored` (which is empty).
    function _setCommitment(StoredCommitment storage stored, StoredCommitment memory c) private {
        stored.owner = c.owner;
        stored.lockedMoney = c.lockedMoney;
        stored.kind = c.kind;
    }

    function _commitmentOf(address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh, bytes32 salt)
        private
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), slot, owner, isBuy, tick, qtyWh, salt));
    }

    /// @dev The 176 bits of a commit id that come from `commitment_` and its owner (see {ISealedEnergyMarket}).
    function _idBits(bytes32 commitment_, address owner) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(commitment_, owner))) & _ID_HASH_MASK;
    }

    function _revealEnds(uint64 slot) private view returns (uint256) {
        // Cannot overflow: see _requireClearable.
        unchecked {
            return _gateClosure(slot) + _revealSeconds;
        }
    }
}
