// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AdminHandover} from "./access/AdminHandover.sol";
import {ICityPool} from "./interfaces/ICityPool.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {PackedLimits} from "./libraries/PackedLimits.sol";

/// @title CityPool
/// @notice The city pool's on-chain home (issue 17, item 2): the communities that share the pool, the grid fee per
/// network level, and the transfer limits the grid operator publishes per slot and community before gate closure.
/// The pool's clearing is a later step; its storage goes beside what is here (see {_slots}), nothing here moves.
/// @dev Roles: `DEFAULT_ADMIN_ROLE` (the city admin, one holder, handed over in two steps: {AdminHandover}) adds
/// communities and grants roles; `GRID_OPERATOR_ROLE` publishes limits and sets the grid fee. The price grid and the
/// settlement window are the constructor's explicit parameters, not read from a first market: the city's calendar
/// is the city's, a pool can be deployed before any community, and every community, the first included, is checked
/// against it the same way.
contract CityPool is AdminHandover, ICityPool {
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

    /// @dev What the pool keeps per slot. Today the published limits: one word per community ({PackedLimits}). The
    /// pool's clearing will add its record and the communities' positions as further members after `limits` (a
    /// struct member appended in a mapping's value moves none before it).
    struct SlotState {
        mapping(uint16 communityId => uint256 packedLimits) limits;
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
    Community[] private _communities;
    /// @dev A market's community id + 1 (0: not a community).
    mapping(IEnergyMarket market => uint16 idPlusOne) private _communityIds;
    GridFee private _gridFee;
    mapping(uint64 slot => SlotState) private _slots;

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

        // Cannot truncate: count < MAX_COMMUNITIES, a uint16.
        communityId = uint16(count);
        _communities.push(Community({market: market, levels: levels}));
        // Cannot overflow: communityId < MAX_COMMUNITIES.
        unchecked {
            _communityIds[market] = communityId + 1;
        }
        emit CommunityAdded(communityId, market, levels);
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
    /// @dev One word per community (a cold write: 22.1k gas on first publication, 5k on a revision) and one event
    /// with both arrays: at 10 communities its log costs about 7k gas where an event per community would cost about
    /// 20k (docs/contracts.md section 17).
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
        mapping(uint16 => uint256) storage words = _slots[slot].limits;
        for (uint256 i; i < count; ++i) {
            // Cannot truncate: i < count <= MAX_COMMUNITIES.
            words[uint16(i)] = PackedLimits.pack(importWh[i], exportWh[i]);
        }
        emit LimitsPublished(slot, importWh, exportWh);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

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
        return _communities[communityId];
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
        return PackedLimits.unpack(_slots[slot].limits[communityId]);
    }

    /// @inheritdoc ICityPool
    function gridFee() external view returns (uint16 feeTicksPerLevel, address recipient) {
        GridFee memory fee = _gridFee;
        return (fee.feeTicksPerLevel, fee.recipient);
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

    function _gateClosure(uint64 slot) private view returns (uint256) {
        // Cannot overflow: epoch < 2^64, slot * slotSeconds < 2^96, slotSeconds + settlementSeconds < 2^33.
        unchecked {
            return uint256(epoch) + uint256(slot) * slotSeconds + slotSeconds + _settlementSeconds;
        }
    }
}
