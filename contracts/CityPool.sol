// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AdminHandover} from "./access/AdminHandover.sol";
import {ICityPool} from "./interfaces/ICityPool.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {IPooledEnergyMarket} from "./interfaces/IPooledEnergyMarket.sol";
import {Clearing} from "./libraries/Clearing.sol";
import {PackedLimits} from "./libraries/PackedLimits.sol";
import {PoolClearing} from "./libraries/PoolClearing.sol";

/// @title CityPool
/// @notice The city pool's on-chain home (issue 17): the communities that share the pool, the grid fee per network
/// level, the transfer limits the grid operator publishes per slot and community before gate closure, and the pool's
/// clearing of each slot across communities ({clear}), and its settlement with the communities ({settle}): energy and
/// money move between the pool and the markets, whose claims then add the pool's fills (docs/pool.md).
/// @dev Roles: `DEFAULT_ADMIN_ROLE` (the city admin, one holder, handed over in two steps: {AdminHandover}) adds,
/// pauses and resumes communities and grants roles; `GRID_OPERATOR_ROLE` publishes limits and sets the grid fee. The price grid and the
/// settlement window are the constructor's explicit parameters, not read from a first market: the city's calendar
/// is the city's, a pool can be deployed before any community, and every community, the first included, is checked
/// against it the same way.
contract CityPool is AdminHandover, ReentrancyGuardTransient, ICityPool {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICityPool
    bytes32 public constant GRID_OPERATOR_ROLE = keccak256("GRID_OPERATOR_ROLE");

    /// @inheritdoc ICityPool
    uint16 public constant MAX_COMMUNITIES = 64;

    /// @inheritdoc ICityPool
    uint8 public constant MAX_LEVELS = 7;

    /// @inheritdoc ICityPool
    uint16 public constant MAX_FEE_TICKS_PER_LEVEL = 128;

    /// @inheritdoc ICityPool
    uint16 public constant MAX_TICK_LIMIT = 2047;

    /// @inheritdoc ICityPool
    uint32 public constant SETTLE_WINDOW_SECONDS = 2 days;

    /// @dev The slot's one word of state ({SlotState-record}, {_packRecord}): bits 255..128 the first 128 bits of
    /// `keccak256(abi.encode(fills))`, bits 127..112 how many communities the last publication of limits covered,
    /// bit 111 `cleared`, bits 110..103 the fee per level (<= 128), bits 102..92 p*, 91..81 m_b and 80..70 m_s (ticks
    /// <= MAX_TICK_LIMIT = 2047 < 2^11), bits 69..0 V* (< 2^70: at most the sum of MAX_COMMUNITIES uint64 import
    /// limits).
    uint256 private constant _HASH_MASK = ~uint256(0) << 128;
    uint256 private constant _COUNT_SHIFT = 112;
    uint256 private constant _COUNT_MASK = uint256(type(uint16).max) << _COUNT_SHIFT;
    uint256 private constant _CLEARED = 1 << 111;
    uint256 private constant _VOLUME_MASK = (1 << 70) - 1;

    /// @dev Highest price the grid may reach, as in the markets (qty < 2^64 times price never overflows).
    uint256 private constant _MAX_PRICE = type(uint128).max;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The grid fee: one storage slot.
    struct GridFee {
        address recipient;
        uint16 feeTicksPerLevel;
    }

    /// @dev A community as stored: its market, levels and pause flag share one word (20 + 1 + 1 bytes), so that
    /// {clear} reads each community with one SLOAD.
    struct CommunityRecord {
        IEnergyMarket market;
        uint8 levels;
        bool paused;
    }

    /// @dev What the pool keeps per slot: the published limits, one word per two communities ({PackedLimits}: word
    /// `j` holds communities `2j` and `2j + 1`), and one word `record` ({_COUNT_SHIFT}) with how many communities the
    /// last publication covered (communities `0..count - 1` have published limits; one added after it has none until
    /// the next) and, once {clear} ran, the pool's clearing ({_packRecord}). Limits are published only before gate
    /// closure and the pool clears only after it, so {publishLimits} writes a word that holds the count alone and
    /// {clear} one that the publication made non-zero (see {_packRecord}).
    /// `settled`: whether {settle} ran for the slot (a word of its own: `record` has no bit left).
    struct SlotState {
        mapping(uint16 pairIndex => uint256 packedLimits) limits;
        uint256 record;
        bool settled;
    }

    /// @inheritdoc ICityPool
    IERC20 public immutable paymentToken;

    /// @inheritdoc ICityPool
    IMeterRegistry public immutable registry;

    /// @inheritdoc ICityPool
    IEnergyToken public immutable energyToken;

    /// @inheritdoc ICityPool
    uint64 public immutable epoch;

    /// @inheritdoc ICityPool
    uint32 public immutable slotSeconds;

    uint256 private immutable _priceFloor;
    uint256 private immutable _tickSize;
    uint16 private immutable _maxTick;
    uint32 private immutable _settlementSeconds;

    /// @dev Communities by id (id = index), at most MAX_COMMUNITIES.
    CommunityRecord[] private _communities;
    /// @dev A market's community id + 1 (0: not a community).
    mapping(IEnergyMarket market => uint16 idPlusOne) private _communityIds;
    GridFee private _gridFee;
    mapping(uint64 slot => SlotState) private _slots;
    /// @dev Bit `i`: community `i` is a {IPooledEnergyMarket} of this pool (it can take its fills in {settle}).
    uint64 private _pooledMask;

    /// @param admin         receives DEFAULT_ADMIN_ROLE and GRID_OPERATOR_ROLE (it grants the latter to the grid
    ///                      operator's key and renounces its own as the deployment requires).
    /// @param paymentToken_ the ERC-20 every community market is paid in.
    /// @param registry_     the meter registry every community market trades the tokens of; epoch, slot length and
    ///                      the energy token are read from it.
    /// @param p             the city's price grid and settlement window, see {ICityPool-PoolParams}.
    constructor(address admin, IERC20 paymentToken_, IMeterRegistry registry_, PoolParams memory p) {
        if (admin == address(0) || address(paymentToken_) == address(0) || address(registry_) == address(0)) {
            revert PoolZeroAddress();
        }
        if (p.tickSize == 0) revert PoolTickSizeZero();
        if (p.maxTick > MAX_TICK_LIMIT) revert PoolMaxTickTooHigh(p.maxTick, MAX_TICK_LIMIT);
        if (p.priceFloor > _MAX_PRICE || (p.maxTick != 0 && p.tickSize > (_MAX_PRICE - p.priceFloor) / p.maxTick)) {
            revert PoolPriceRangeTooHigh(p.priceFloor, p.tickSize, p.maxTick);
        }
        if (p.settlementSeconds == 0) revert PoolSettlementWindowZero();

        paymentToken = paymentToken_;
        registry = registry_;
        energyToken = registry_.token();
        epoch = registry_.epoch();
        slotSeconds = registry_.slotSeconds();
        _priceFloor = p.priceFloor;
        _tickSize = p.tickSize;
        _maxTick = p.maxTick;
        _settlementSeconds = p.settlementSeconds;

        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GRID_OPERATOR_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                                  ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICityPool
    function addCommunity(IEnergyMarket market, uint8 levels)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint16 communityId)
    {
        if (address(market) == address(0)) revert PoolZeroAddress();
        uint16 idPlusOne = _communityIds[market];
        // Cannot underflow: checked non-zero.
        unchecked {
            if (idPlusOne != 0) revert CommunityAlreadyAdded(market, idPlusOne - 1);
        }
        uint256 count = _communities.length;
        if (count >= MAX_COMMUNITIES) revert CommunityLimitReached(MAX_COMMUNITIES);
        if (levels == 0 || levels > MAX_LEVELS) revert CommunityLevelsOutOfRange(levels, MAX_LEVELS);
        _requireCityGrid(market);
        bool pooled = _isPooledHere(market);

        // Cannot truncate: count < MAX_COMMUNITIES, a uint16.
        communityId = uint16(count);
        if (pooled) _pooledMask |= uint64(1) << communityId;
        _communities.push(CommunityRecord({market: market, levels: levels, paused: false}));
        // Cannot overflow: communityId < MAX_COMMUNITIES.
        unchecked {
            _communityIds[market] = communityId + 1;
        }
        emit CommunityAdded(communityId, market, levels);
    }

    /// @inheritdoc ICityPool
    function pauseCommunity(uint16 communityId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireCommunity(communityId);
        CommunityRecord storage c = _communities[communityId];
        if (c.paused) revert CommunityAlreadyPaused(communityId);
        c.paused = true;
        emit CommunityPaused(communityId);
    }

    /// @inheritdoc ICityPool
    function resumeCommunity(uint16 communityId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireCommunity(communityId);
        CommunityRecord storage c = _communities[communityId];
        if (!c.paused) revert CommunityNotPaused(communityId);
        c.paused = false;
        emit CommunityResumed(communityId);
    }

    /*//////////////////////////////////////////////////////////////
                              GRID OPERATOR
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICityPool
    function setGridFee(uint16 feeTicksPerLevel, address feeRecipient) external onlyRole(GRID_OPERATOR_ROLE) {
        if (feeTicksPerLevel > MAX_FEE_TICKS_PER_LEVEL) {
            revert GridFeeTooHigh(feeTicksPerLevel, MAX_FEE_TICKS_PER_LEVEL);
        }
        if (feeRecipient == address(0)) revert PoolZeroAddress();
        _gridFee = GridFee({recipient: feeRecipient, feeTicksPerLevel: feeTicksPerLevel});
        emit GridFeeChanged(feeTicksPerLevel, feeRecipient);
    }

    /// @inheritdoc ICityPool
    /// @dev One word per two communities (a cold write: 22.1k gas on first publication, 5k on a revision), one for
    /// the count published, and one event with both arrays: at 10 communities its log costs about 7k gas where an
    /// event per community would cost about 20k (docs/contracts.md section 17).
    function publishLimits(uint64 slot, uint64[] calldata importWh, uint64[] calldata exportWh)
        external
        onlyRole(GRID_OPERATOR_ROLE)
    {
        uint256 closes = _gateClosure(slot);
        if (block.timestamp >= closes) revert LimitsAfterGateClosure(slot, closes);
        uint256 count = _communities.length;
        if (count == 0) revert LimitsNoCommunities();
        if (importWh.length != count || exportWh.length != count) {
            revert LimitsLengthMismatch(count, importWh.length, exportWh.length);
        }
        SlotState storage state = _slots[slot];
        mapping(uint16 => uint256) storage words = state.limits;
        // Cannot overflow: i < count <= MAX_COMMUNITIES. Cannot truncate: i >> 1 and count < 2^16.
        unchecked {
            for (uint256 i; i < count; i += 2) {
                uint256 odd = i + 1;
                words[uint16(i >> 1)] = odd < count
                    ? PackedLimits.pack(importWh[i], exportWh[i], importWh[odd], exportWh[odd])
                    : PackedLimits.pack(importWh[i], exportWh[i], 0, 0);
            }
        }
        // The whole word: before gate closure the slot is not cleared, so the count is all it holds. Cannot
        // truncate: count <= MAX_COMMUNITIES < 2^16.
        state.record = count << _COUNT_SHIFT;
        emit LimitsPublished(slot, importWh, exportWh);
    }

    /*//////////////////////////////////////////////////////////////
                                CLEARING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICityPool
    /// @dev Per community one SLOAD of its word and one STATICCALL to its market (a view: no reentrancy), one SLOAD
    /// of limits per two communities, and its sides unpacked to one level a word in memory and hashed there
    /// ({_unpackResidual}); then {PoolClearing-clear} over them.
    /// One storage word per slot (the record, with the first 128 bits of the hash of the fills: {_packRecord}) and the
    /// fills in the event: a stored fill per community would cost a fresh word each (22.1k gas), over 200k at 10
    /// communities (docs/pool.md).
    function clear(uint64 slot, PoolClearing.Sides[] calldata residuals) external {
        uint256 closes = _gateClosure(slot);
        if (block.timestamp < closes) revert PoolGateNotClosed(slot, closes);
        SlotState storage state = _slots[slot];
        if (state.record & _CLEARED != 0) revert PoolAlreadyCleared(slot);
        uint256 count = _communities.length;
        if (count == 0) revert PoolNoCommunities();
        if (residuals.length != count) revert ResidualsLengthMismatch(count, residuals.length);
        uint16 feePerLevel = _gridFee.feeTicksPerLevel;
        // The array of `count` pointers alone: every entry is set below (`new` would first build `count` zeroed
        // structs only to replace them: 1.9k gas at 10 communities). Cannot overflow: count <= MAX_COMMUNITIES.
        PoolClearing.Community[] memory communities;
        assembly ("memory-safe") {
            communities := mload(0x40)
            mstore(communities, count)
            mstore(0x40, add(communities, shl(5, add(count, 1))))
        }
        uint256 limitsWord;
        for (uint256 i; i < count; ++i) {
            // Cannot truncate: i >> 1 < MAX_COMMUNITIES. Read before the pause check: the odd community shares it.
            if (i & 1 == 0) limitsWord = state.limits[uint16(i >> 1)];
            // Cannot truncate: i < count <= MAX_COMMUNITIES.
            communities[i] = _community(slot, uint16(i), residuals[i], limitsWord, feePerLevel);
        }
        PoolClearing.Result memory r = PoolClearing.clear(communities, _maxTick);
        // Keeps the count published (a warm read): the word holds nothing else before the clearing.
        state.record = (state.record & _COUNT_MASK) | _packRecord(feePerLevel, r, keccak256(abi.encode(r.fills)));
        emit PoolCleared(slot, r.volumeWh, r.clearingTick, r.buyMarginalTick, r.sellMarginalTick, feePerLevel, r.fills);
    }

    /*//////////////////////////////////////////////////////////////
                               SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICityPool
    /// @dev Checks, then the `settled` flag and {PoolSettled}, then the interactions: each market's {poolSettle}
    /// (its export's tokens and its import's payment come in), then each market's import tokens and export payment go
    /// out, then the rest to the fee recipient. The pool moves only the fills' amounts, never its balance.
    function settle(uint64 slot, PoolClearing.Fill[] calldata fills) external nonReentrant {
        SlotState storage state = _slots[slot];
        uint256 word = state.record;
        if (word & _CLEARED == 0) revert PoolNotCleared(slot);
        if (state.settled) revert PoolAlreadySettled(slot);
        uint256 until;
        // Cannot overflow: see _gateClosure.
        unchecked {
            until = _gateClosure(slot) + SETTLE_WINDOW_SECONDS;
        }
        if (block.timestamp >= until) revert PoolSettleWindowClosed(slot, until);
        if (uint256(keccak256(abi.encode(fills))) & _HASH_MASK != word & _HASH_MASK) revert PoolFillsMismatch(slot);
        uint256 fees = _fees(fills, word);
        state.settled = true;
        emit PoolSettled(slot, fees);
        _exchange(slot, fills, word);
        address recipient = _gridFee.recipient;
        if (fees != 0 && recipient != address(0)) paymentToken.safeTransfer(recipient, fees);
    }

    /// @notice ERC-1155 receipt hook: accepts the energy token's transfers only while {settle} runs (the markets' exports); refuses any other.
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external view returns (bytes4) {
        if (msg.sender != address(energyToken) || !_reentrancyGuardEntered()) revert PoolUnexpectedTokens(msg.sender);
        return IERC1155Receiver.onERC1155Received.selector;
    }

    /// @notice ERC-1155 batch receipt hook: always refused ({settle}'s markets send one id at a time).
    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        view
        returns (bytes4)
    {
        revert PoolUnexpectedTokens(msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ICityPool
    function isSettled(uint64 slot) external view returns (bool) {
        return _slots[slot].settled;
    }

    /// @inheritdoc ICityPool
    function isPooled(uint16 communityId) external view returns (bool) {
        _requireCommunity(communityId);
        return (_pooledMask >> communityId) & 1 != 0;
    }

    /// @inheritdoc ICityPool
    function params() external view returns (PoolParams memory) {
        return PoolParams({
            priceFloor: _priceFloor, tickSize: _tickSize, maxTick: _maxTick, settlementSeconds: _settlementSeconds
        });
    }

    /// @inheritdoc ICityPool
    function gateClosure(uint64 slot) external view returns (uint256) {
        return _gateClosure(slot);
    }

    /// @inheritdoc ICityPool
    function communityCount() external view returns (uint16) {
        // Cannot truncate: at most MAX_COMMUNITIES.
        return uint16(_communities.length);
    }

    /// @inheritdoc ICityPool
    function community(uint16 communityId) external view returns (Community memory) {
        _requireCommunity(communityId);
        CommunityRecord memory c = _communities[communityId];
        return Community({market: c.market, levels: c.levels});
    }

    /// @inheritdoc ICityPool
    function isPaused(uint16 communityId) external view returns (bool) {
        _requireCommunity(communityId);
        return _communities[communityId].paused;
    }

    /// @inheritdoc ICityPool
    function communityOf(IEnergyMarket market) external view returns (bool added, uint16 communityId) {
        uint16 idPlusOne = _communityIds[market];
        if (idPlusOne == 0) return (false, 0);
        // Cannot underflow: checked non-zero.
        unchecked {
            return (true, idPlusOne - 1);
        }
    }

    /// @inheritdoc ICityPool
    function limits(uint64 slot, uint16 communityId)
        external
        view
        returns (bool published, uint64 importWh, uint64 exportWh)
    {
        _requireCommunity(communityId);
        SlotState storage state = _slots[slot];
        if (communityId >= (state.record & _COUNT_MASK) >> _COUNT_SHIFT) return (false, 0, 0);
        (importWh, exportWh) = PackedLimits.unpack(state.limits[communityId >> 1], communityId);
        published = true;
    }

    /// @inheritdoc ICityPool
    function gridFee() external view returns (uint16 feeTicksPerLevel, address recipient) {
        GridFee memory fee = _gridFee;
        return (fee.feeTicksPerLevel, fee.recipient);
    }

    /// @inheritdoc ICityPool
    function poolClearing(uint64 slot) external view returns (PoolRecord memory) {
        uint256 word = _slots[slot].record;
        // Cannot truncate: each field is masked to its width first (8, 11 and 70 bits), see {_packRecord}.
        return PoolRecord({
            cleared: word & _CLEARED != 0,
            feeTicksPerLevel: uint16((word >> 103) & 0xff),
            clearingTick: uint16((word >> 92) & 0x7ff),
            buyMarginalTick: uint16((word >> 81) & 0x7ff),
            sellMarginalTick: uint16((word >> 70) & 0x7ff),
            volumeWh: uint128(word & _VOLUME_MASK),
            fillsHash: bytes32(word & _HASH_MASK)
        });
    }

    /// @inheritdoc ICityPool
    function verifyFills(uint64 slot, PoolClearing.Fill[] calldata fills) external view returns (bool) {
        uint256 word = _slots[slot].record;
        return word & _CLEARED != 0 && uint256(keccak256(abi.encode(fills))) & _HASH_MASK == word & _HASH_MASK;
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNALS
    //////////////////////////////////////////////////////////////*/

    function _requireCommunity(uint16 communityId) private view {
        if (communityId >= _communities.length) revert CommunityUnknown(communityId);
    }

    /// @dev Reverts unless `market` clears on the pool's registry, payment token, calendar and price grid. The calls
    /// are views (STATICCALL): `market` cannot re-enter.
    function _requireCityGrid(IEnergyMarket market) private view {
        IMeterRegistry marketRegistry = market.registry();
        IEnergyToken marketToken = market.energyToken();
        if (address(marketRegistry) != address(registry) || address(marketToken) != address(energyToken)) {
            revert CommunityRegistryMismatch(market, marketRegistry, marketToken);
        }
        IERC20 marketPayment = market.paymentToken();
        if (address(marketPayment) != address(paymentToken)) {
            revert CommunityPaymentTokenMismatch(market, marketPayment);
        }
        IEnergyMarket.MarketParams memory p = market.params();
        uint64 marketEpoch = market.epoch();
        uint32 marketSlotSeconds = market.slotSeconds();
        if (marketEpoch != epoch || marketSlotSeconds != slotSeconds || p.settlementSeconds != _settlementSeconds) {
            revert CommunityCalendarMismatch(market, marketEpoch, marketSlotSeconds, p.settlementSeconds);
        }
        if (p.priceFloor != _priceFloor || p.tickSize != _tickSize || p.maxTick != _maxTick) {
            revert CommunityPriceGridMismatch(market, p.priceFloor, p.tickSize, p.maxTick);
        }
    }

    /// @dev Community `id` as {PoolClearing-clear} takes it for `slot`: its residual `sides` checked against its
    /// market's commitment and unpacked, its fee and its limits (from `limitsWord`, the word it shares with its pair);
    /// no fee, no limits and no levels when it is paused (then `sides` must be empty). The call is a view
    /// (STATICCALL): the market cannot re-enter.
    function _community(
        uint64 slot,
        uint16 id,
        PoolClearing.Sides calldata sides,
        uint256 limitsWord,
        uint16 feePerLevel
    ) private view returns (PoolClearing.Community memory entry) {
        CommunityRecord memory c = _communities[id];
        if (c.paused) {
            // Left out: nothing of it enters the city's book.
            if (sides.buys.length != 0 || sides.sells.length != 0) revert PausedCommunityResidual(id);
            return entry;
        }
        bytes32 committed = c.market.residualCommitment(slot);
        if (committed == 0) revert CommunityNotCleared(id, c.market, slot);
        bytes32 h;
        (entry.buys, entry.sells, h) = _unpackResidual(sides);
        if (h != committed) revert ResidualMismatch(id, c.market, slot);
        (entry.importLimitWh, entry.exportLimitWh) = PackedLimits.unpack(limitsWord, id);
        // Cannot overflow: levels <= MAX_LEVELS, fee <= MAX_FEE_TICKS_PER_LEVEL (896 ticks at most).
        unchecked {
            entry.feeTicks = uint16(c.levels) * feePerLevel;
        }
    }

    /// @dev One community's residual levels, unpacked from two a word ({PoolClearing-Sides}) to one a word, and
    /// `keccak256(abi.encode(buys, sells))` of them, the format of {IEnergyMarket-residualCommitment}. The two arrays
    /// are written where `abi.encode` would put them, in one allocation: the two offsets, then the buys' length and
    /// words, then the sells' length and words, so that the hash is taken in place and `buys` and `sells` point into
    /// it (no copy). A side of `w` words holds `2w` levels, or `2w - 1` when the low half of its last word is zero.
    /// The levels are not checked here: a match with the market's commitment means they are exactly what the market
    /// committed to, non-zero levels below 2^112 (a zero half elsewhere would unpack to a zero level, which no
    /// commitment holds).
    function _unpackResidual(PoolClearing.Sides calldata sides)
        private
        pure
        returns (uint256[] memory buys, uint256[] memory sells, bytes32 h)
    {
        uint256[] calldata buyWords = sides.buys;
        uint256[] calldata sellWords = sides.sells;
        // Cannot overflow: calldata arrays are far below 2^64 words. The memory written is allocated at the end
        // (nothing else allocates meanwhile): at most the two offsets, the two lengths and two words per calldata
        // word, the unpacking loop writing a trailing zero half at most one word past a side's levels (overwritten
        // by the sells' length, or left in free memory past the end).
        assembly ("memory-safe") {
            let out := mload(0x40)
            buys := add(out, 0x40)
            let end := _unpackSide(add(buys, 0x20), buyWords.offset, buyWords.length)
            mstore(buys, shr(5, sub(end, add(buys, 0x20))))
            sells := end
            end := _unpackSide(add(sells, 0x20), sellWords.offset, sellWords.length)
            mstore(sells, shr(5, sub(end, add(sells, 0x20))))
            mstore(out, 0x40)
            mstore(add(out, 0x20), sub(sells, out))
            h := keccak256(out, sub(end, out))
            mstore(0x40, end)

            // Writes the levels of `len` calldata words from `src` one a word from `dst`; returns the end of the
            // levels (a zero low half of the last word is not a level). Four words an iteration while four are left
            // (a loop's own bookkeeping costs about as much as unpacking a word), then one at a time.
            function _unpackSide(dst, src, len) -> last {
                let mask := 0xffffffffffffffffffffffffffffffff
                let srcEnd := add(src, shl(5, len))
                for { let fourEnd := sub(srcEnd, shl(5, and(len, 3))) } lt(src, fourEnd) {
                    src := add(src, 0x80)
                    dst := add(dst, 0x100)
                } {
                    let word := calldataload(src)
                    mstore(dst, shr(128, word))
                    mstore(add(dst, 0x20), and(word, mask))
                    word := calldataload(add(src, 0x20))
                    mstore(add(dst, 0x40), shr(128, word))
                    mstore(add(dst, 0x60), and(word, mask))
                    word := calldataload(add(src, 0x40))
                    mstore(add(dst, 0x80), shr(128, word))
                    mstore(add(dst, 0xa0), and(word, mask))
                    word := calldataload(add(src, 0x60))
                    mstore(add(dst, 0xc0), shr(128, word))
                    mstore(add(dst, 0xe0), and(word, mask))
                }
                for {} lt(src, srcEnd) { src := add(src, 0x20) } {
                    let word := calldataload(src)
                    mstore(dst, shr(128, word))
                    mstore(add(dst, 0x20), and(word, mask))
                    dst := add(dst, 0x40)
                }
                last := dst
                if len { if iszero(and(calldataload(sub(srcEnd, 0x20)), mask)) { last := sub(dst, 0x20) } }
            }
        }
    }

    /// @dev The clearing's bits of a slot's one storage word (layout at {_HASH_MASK}; the published count is the
    /// caller's to keep). Sharing the word the publication of limits wrote makes the clearing's store a rewrite of a
    /// non-zero word (2.9k gas), not a fresh one (20k). The hash keeps its first 128 bits: finding other fills with
    /// the same prefix (a second preimage) takes about 2^128 hashes, and the fills it stands for are the contract's
    /// own output, not chosen by a caller. Nothing is truncated: `feePerLevel` <= MAX_FEE_TICKS_PER_LEVEL = 128 <
    /// 2^8; the ticks are pool ticks, at most `_maxTick` <= MAX_TICK_LIMIT = 2047 < 2^11; V* is at most the sum of at
    /// most MAX_COMMUNITIES uint64 import limits, below 2^70.
    function _packRecord(uint16 feePerLevel, PoolClearing.Result memory r, bytes32 fillsHash)
        private
        pure
        returns (uint256)
    {
        return (uint256(fillsHash) & _HASH_MASK) | _CLEARED | (uint256(feePerLevel) << 103)
            | (uint256(r.clearingTick) << 92) | (uint256(r.buyMarginalTick) << 81) | (uint256(r.sellMarginalTick) << 70)
            | r.volumeWh;
    }

    /// @dev What the pool keeps of `fills` under the clearing `word`: what the communities pay it less what it pays
    /// them. Reverts when a plain market got a fill. The fills are the clearing's, one per community at the time (a
    /// community added since has none for the slot).
    function _fees(PoolClearing.Fill[] calldata fills, uint256 word) private view returns (uint256) {
        uint256 pooledMask = _pooledMask;
        uint256 pays;
        uint256 paid;
        for (uint256 i; i < fills.length; ++i) {
            PoolClearing.Fill calldata f = fills[i];
            if ((pooledMask >> i) & 1 == 0) {
                // Cannot truncate: i < MAX_COMMUNITIES.
                if (f.importWh != 0 || f.exportWh != 0) revert CommunityNotPooled(uint16(i), _communities[i].market);
                continue;
            }
            (uint16 buyTick, uint16 sellTick) = _poolTicks(f, _communities[i].levels, word);
            if (f.importWh != 0) pays += Clearing.cost(f.importWh, _price(buyTick));
            paid += Clearing.proceeds(f.exportWh, _price(sellTick));
        }
        // Checked, and cannot underflow: imports and exports are the same V* Wh, bought at p* + f_k >= p* >= p* - f_j
        // and rounded up where the pool is paid, down where it pays (docs/pool.md).
        return pays - paid;
    }

    /// @dev The interactions of {settle}: every pooled market takes its fill and sends its export and its payment;
    /// then every market with a fill gets its import's tokens and its export's payment.
    function _exchange(uint64 slot, PoolClearing.Fill[] calldata fills, uint256 word) private {
        uint256 pooledMask = _pooledMask;
        uint256 n = fills.length;
        for (uint256 i; i < n; ++i) {
            if ((pooledMask >> i) & 1 == 0) continue;
            PoolClearing.Fill calldata f = fills[i];
            (uint16 buyTick, uint16 sellTick) = _poolTicks(f, _communities[i].levels, word);
            IPooledEnergyMarket(address(_communities[i].market)).poolSettle(slot, f, buyTick, sellTick);
        }
        for (uint256 i; i < n; ++i) {
            PoolClearing.Fill calldata f = fills[i];
            if (f.importWh == 0 && f.exportWh == 0) continue;
            CommunityRecord memory c = _communities[i];
            if (f.importWh != 0) energyToken.safeTransferFrom(address(this), address(c.market), slot, f.importWh, "");
            if (f.exportWh != 0) {
                (, uint16 sellTick) = _poolTicks(f, c.levels, word);
                uint256 proceeds = Clearing.proceeds(f.exportWh, _price(sellTick));
                if (proceeds != 0) paymentToken.safeTransfer(address(c.market), proceeds);
            }
        }
    }

    /// @dev Whether `market` is an {IPooledEnergyMarket} of this pool: it answers `pool()` with this pool. A market
    /// of another pool is refused; one without `pool()` (a plain market) joins but cannot take fills ({settle}).
    function _isPooledHere(IEnergyMarket market) private view returns (bool) {
        try IPooledEnergyMarket(address(market)).pool() returns (address marketPool) {
            if (marketPool != address(this)) revert CommunityPoolMismatch(market, marketPool);
            return true;
        } catch {
            return false;
        }
    }

    /// @dev Community fill `f`'s buy and sell price ticks, `p* + f_k` and `p* - f_k` (0 for a side without Wh), from
    /// the clearing `word` (p* and the fee per level in force at the clearing) and the community's `levels`.
    /// Cannot truncate or underflow: a filled buy bids `tick - f_k >= m_b >= p*` with tick <= maxTick, a filled sell
    /// asks `tick + f_k <= m_s <= p*` with tick >= 0 (checked arithmetic all the same).
    function _poolTicks(PoolClearing.Fill calldata f, uint8 levels, uint256 word)
        private
        pure
        returns (uint16 buyTick, uint16 sellTick)
    {
        uint256 feeTicks = uint256(levels) * ((word >> 103) & 0xff);
        uint256 clearingTick = (word >> 92) & 0x7ff;
        if (f.importWh != 0) buyTick = uint16(clearingTick + feeTicks);
        if (f.exportWh != 0) sellTick = uint16(clearingTick - feeTicks);
    }

    function _price(uint256 tick) private view returns (uint256) {
        // Cannot overflow: the constructor bounds priceFloor + maxTick * tickSize by 2^128, and tick <= maxTick.
        unchecked {
            return _priceFloor + tick * _tickSize;
        }
    }

    function _gateClosure(uint64 slot) private view returns (uint256) {
        // Cannot overflow: epoch < 2^64, slot * slotSeconds < 2^96, slotSeconds + settlementSeconds < 2^33.
        unchecked {
            return uint256(epoch) + uint256(slot) * slotSeconds + slotSeconds + _settlementSeconds;
        }
    }
}
