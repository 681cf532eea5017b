// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IEnergyMarket} from "./IEnergyMarket.sol";
import {IEnergyToken} from "./IEnergyToken.sol";
import {IMeterRegistry} from "./IMeterRegistry.sol";
import {PoolClearing} from "../libraries/PoolClearing.sol";

/// @title ICityPool
/// @notice The city pool's register (issue 17): the community markets that share one city-level pool, the network
/// levels between each community and the pool, the grid fee per level crossed, and for every slot and community the
/// transfer limits the grid operator published before the slot's gate closure: the most energy the community may
/// import from and export to the pool; and the pool's clearing of each slot ({clear}): the residuals the community
/// markets committed to, cleared across communities by {PoolClearing}; and its settlement ({settle}): energy and money
/// move between the pool and the communities' {IPooledEnergyMarket}s, whose claims add the pool's fills (docs/pool.md).
/// @dev Units: energy in whole Wh; the grid fee in price ticks per network level; time in unix seconds, slots counted
/// as the registry and the markets count them (`slot = (timestamp - epoch) / slotSeconds`). Every community clears
/// on the pool's price grid (`price(tick) = priceFloor + tick * tickSize`, `0 <= tick <= maxTick`) and calendar
/// (registry, epoch, slot length, settlement window): {addCommunity} refuses a market on another.
interface ICityPool {
    /*//////////////////////////////////////////////////////////////
                                 STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The city's shared price grid and settlement window, fixed at deployment. A community market's
    /// {IEnergyMarket-MarketParams} must hold the same four values.
    /// @param priceFloor        price of tick 0, payment base units per kWh.
    /// @param tickSize          price step per tick, payment base units per kWh (> 0).
    /// @param maxTick           highest tick (<= MAX_TICK_LIMIT).
    /// @param settlementSeconds gate closure = slot end + settlementSeconds (> 0).
    struct PoolParams {
        uint256 priceFloor;
        uint256 tickSize;
        uint16 maxTick;
        uint32 settlementSeconds;
    }

    /// @notice A community of the pool.
    /// @param market the community's market (open or sealed mode).
    /// @param levels network levels between the community and the pool (1..MAX_LEVELS); the grid fee is charged per
    ///               level crossed.
    struct Community {
        IEnergyMarket market;
        uint8 levels;
    }

    /// @notice The pool's clearing of one slot, as {clear} stored it (one storage word, shared with the count of
    /// communities the limits were published for: the header and the first 128 bits of the hash of the fills).
    /// @param cleared          whether {clear} ran for the slot (even if nothing crossed).
    /// @param feeTicksPerLevel the grid fee per level in force at the clearing (a community's fee is its levels times
    ///                         this; buyers pay `clearingTick + fee`, sellers are paid `clearingTick - fee`).
    /// @param clearingTick     p*, 0 when nothing crossed.
    /// @param buyMarginalTick  m_b in pool (fee-shifted) ticks, 0 when nothing crossed.
    /// @param sellMarginalTick m_s in pool ticks, 0 when nothing crossed.
    /// @param volumeWh         V*, the Wh that crossed community boundaries (imports = exports = V*).
    /// @param fillsHash        the first 16 bytes (128 bits) of `keccak256(abi.encode(fills))` of the
    ///                         {PoolClearing-Fill}s of {PoolCleared}, one per community in id order, the last 16 bytes
    ///                         zero: {verifyFills} checks a copy against it.
    struct PoolRecord {
        bool cleared;
        uint16 feeTicksPerLevel;
        uint16 clearingTick;
        uint16 buyMarginalTick;
        uint16 sellMarginalTick;
        uint128 volumeWh;
        bytes32 fillsHash;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice An address argument is the zero address.
    error PoolZeroAddress();

    /// @notice The price grid's `tickSize` is zero.
    error PoolTickSizeZero();

    /// @notice `maxTick` exceeds `maxTickLimit` ({MAX_TICK_LIMIT}).
    error PoolMaxTickTooHigh(uint16 maxTick, uint16 maxTickLimit);

    /// @notice The top of the price grid, `priceFloor + maxTick * tickSize`, exceeds 2^128 - 1.
    error PoolPriceRangeTooHigh(uint256 priceFloor, uint256 tickSize, uint16 maxTick);

    /// @notice The settlement window (`settlementSeconds`) is zero.
    error PoolSettlementWindowZero();

    /// @notice `market` is already community `communityId`.
    error CommunityAlreadyAdded(IEnergyMarket market, uint16 communityId);

    /// @notice The pool holds `maxCommunities` communities ({MAX_COMMUNITIES}): no more can be added.
    error CommunityLimitReached(uint16 maxCommunities);

    /// @notice `levels` is zero or above `maxLevels` ({MAX_LEVELS}).
    error CommunityLevelsOutOfRange(uint8 levels, uint8 maxLevels);

    /// @notice `market` trades another registry's slot tokens: its `registry` and `energyToken` are given.
    error CommunityRegistryMismatch(IEnergyMarket market, IMeterRegistry registry, IEnergyToken energyToken);

    /// @notice `market` is paid in another ERC-20, `paymentToken`.
    error CommunityPaymentTokenMismatch(IEnergyMarket market, IERC20 paymentToken);

    /// @notice `market` runs on another calendar: its `epoch`, `slotSeconds` and `settlementSeconds` are given.
    error CommunityCalendarMismatch(IEnergyMarket market, uint64 epoch, uint32 slotSeconds, uint32 settlementSeconds);

    /// @notice `market` prices on another grid: its `priceFloor`, `tickSize` and `maxTick` are given.
    error CommunityPriceGridMismatch(IEnergyMarket market, uint256 priceFloor, uint256 tickSize, uint16 maxTick);

    /// @notice No community has id `communityId` (ids run from 0 to {communityCount} - 1).
    error CommunityUnknown(uint16 communityId);

    /// @notice `feeTicksPerLevel` exceeds `maxFeeTicksPerLevel` ({MAX_FEE_TICKS_PER_LEVEL}).
    error GridFeeTooHigh(uint16 feeTicksPerLevel, uint16 maxFeeTicksPerLevel);

    /// @notice Limits of `slot` could be published only before its `gateClosure`.
    error LimitsAfterGateClosure(uint64 slot, uint256 gateClosure);

    /// @notice A publication needs one import and one export limit per community (`communities` of them); it held
    /// `importEntries` and `exportEntries`.
    error LimitsLengthMismatch(uint256 communities, uint256 importEntries, uint256 exportEntries);

    /// @notice The pool has no community yet: there is nothing to publish limits for.
    error LimitsNoCommunities();

    /// @notice `slot` can be cleared by the pool only from its `gateClosure` on.
    error PoolGateNotClosed(uint64 slot, uint256 gateClosure);

    /// @notice The pool already cleared `slot`: a slot clears once.
    error PoolAlreadyCleared(uint64 slot);

    /// @notice The pool has no community: there is nothing to clear.
    error PoolNoCommunities();

    /// @notice {clear} needs one entry of residual sides per community (`communities` of them); it got `entries`.
    error ResidualsLengthMismatch(uint256 communities, uint256 entries);

    /// @notice Community `communityId`'s `market` has not cleared `slot` yet (its residual commitment is zero): the
    /// pool clears a slot only after every active community has.
    error CommunityNotCleared(uint16 communityId, IEnergyMarket market, uint64 slot);

    /// @notice The residual sides given for community `communityId` are not what its `market` committed to when it
    /// cleared `slot` (`keccak256(abi.encode(buys, sells))` of the levels unpacked from them, one a word, differs
    /// from its {IEnergyMarket-residualCommitment}).
    error ResidualMismatch(uint16 communityId, IEnergyMarket market, uint64 slot);

    /// @notice Community `communityId` is paused: it takes no part in the clearing, and its residual sides must be
    /// empty.
    error PausedCommunityResidual(uint16 communityId);

    /// @notice Community `communityId` is paused already.
    error CommunityAlreadyPaused(uint16 communityId);

    /// @notice Community `communityId` is not paused.
    error CommunityNotPaused(uint16 communityId);

    /// @notice `market` is the pooled market of another pool, `marketPool`.
    error CommunityPoolMismatch(IEnergyMarket market, address marketPool);

    /// @notice Community `communityId`'s `market` is a plain market (not an {IPooledEnergyMarket} of this pool) and
    /// got a fill: it cannot take it, so the slot cannot be settled.
    error CommunityNotPooled(uint16 communityId, IEnergyMarket market);

    /// @notice The pool has not cleared `slot`: there is nothing to settle.
    error PoolNotCleared(uint64 slot);

    /// @notice The pool settled `slot` already: a slot settles once.
    error PoolAlreadySettled(uint64 slot);

    /// @notice `slot` could be settled only before `settleWindowEnd` (gate closure + {SETTLE_WINDOW_SECONDS}); its
    /// orders now claim their local fills alone.
    error PoolSettleWindowClosed(uint64 slot, uint256 settleWindowEnd);

    /// @notice The fills given for `slot` are not the ones the pool cleared (see {verifyFills}).
    error PoolFillsMismatch(uint64 slot);

    /// @notice The pool takes energy tokens only from its markets during {settle}; `sender` sent some otherwise.
    error PoolUnexpectedTokens(address sender);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `market` joined the pool as community `communityId`, `levels` network levels below it.
    event CommunityAdded(uint16 indexed communityId, IEnergyMarket indexed market, uint8 levels);

    /// @notice The grid fee is now `feeTicksPerLevel` price ticks per network level crossed, paid to `recipient`.
    event GridFeeChanged(uint16 feeTicksPerLevel, address indexed recipient);

    /// @notice The transfer limits of `slot` were published, or revised (a later event for the same slot replaces
    /// every limit of an earlier one): entry `i` of each array is community `i`'s, for all communities at the time.
    event LimitsPublished(uint64 indexed slot, uint64[] importWh, uint64[] exportWh);

    /// @notice The pool cleared `slot`: `volumeWh` (V*) crossed community boundaries at `clearingTick` (p*), with the
    /// marginal ticks `buyMarginalTick` (m_b) and `sellMarginalTick` (m_s) in pool ticks, under the grid fee of
    /// `feeTicksPerLevel` ticks per level; `fills` holds every community's {PoolClearing-Fill} in id order (all zero
    /// for a paused community or one that got nothing). The fills are not stored, only their hash: keep them from
    /// this event and check them with {verifyFills}.
    event PoolCleared(
        uint64 indexed slot,
        uint256 volumeWh,
        uint16 clearingTick,
        uint16 buyMarginalTick,
        uint16 sellMarginalTick,
        uint16 feeTicksPerLevel,
        PoolClearing.Fill[] fills
    );

    /// @notice The pool settled `slot` with every community and paid `feesPaid` (the grid fees and the rounding) to the
    /// grid fee recipient (kept by the pool when none is set).
    event PoolSettled(uint64 indexed slot, uint256 feesPaid);

    /// @notice Community `communityId` was paused: from now on it takes no part in the pool's clearings.
    event CommunityPaused(uint16 indexed communityId);

    /// @notice Community `communityId` was resumed: it takes part in the pool's clearings again.
    event CommunityResumed(uint16 indexed communityId);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Role allowed to publish transfer limits and set the grid fee (the grid operator's key).
    /// @return The role identifier, `keccak256("GRID_OPERATOR_ROLE")`.
    function GRID_OPERATOR_ROLE() external view returns (bytes32);

    /// @notice Most communities the pool holds, so that a loop over them (publication, the pool's clearing) stays
    /// bounded.
    /// @return The community limit, 64.
    function MAX_COMMUNITIES() external view returns (uint16);

    /// @notice Most network levels between a community and the pool: the seven levels of a European distribution
    /// and transmission grid (extra-high voltage down to low voltage, with the transformations between them).
    /// @return The level limit, 7.
    function MAX_LEVELS() external view returns (uint8);

    /// @notice Highest grid fee per level: the fee of the longest path between two communities
    /// (2 x MAX_LEVELS levels) stays within the tick range any market may have (MAX_TICK_LIMIT).
    /// @return The fee limit, 128 ticks per level.
    function MAX_FEE_TICKS_PER_LEVEL() external view returns (uint16);

    /// @notice Highest `maxTick` of the pool's price grid (the markets' {IEnergyMarket-MAX_TICK_LIMIT}).
    /// @return The tick limit, 2047.
    function MAX_TICK_LIMIT() external view returns (uint16);

    /// @notice How long after a slot's gate closure {settle} accepts it: the markets' clearing window
    /// ({IEnergyMarket-CLEAR_WINDOW_SECONDS}, 1 day) plus a day for the pool. Equal to the pooled markets'
    /// {IPooledEnergyMarket-POOL_WINDOW_SECONDS}, after which their orders claim local fills alone.
    /// @return The window, 2 days.
    function SETTLE_WINDOW_SECONDS() external view returns (uint32);

    /// @notice Whether {settle} ran for `slot`.
    /// @return True once settled.
    function isSettled(uint64 slot) external view returns (bool);

    /// @notice Whether community `communityId` is a pooled market of this pool (one that takes its fills).
    /// @dev Requirements:
    /// - `communityId < communityCount()`.
    /// @return True for an {IPooledEnergyMarket} whose `pool()` is this pool.
    function isPooled(uint16 communityId) external view returns (bool);

    /// @notice The ERC-20 every community market is paid in.
    /// @return The payment token.
    function paymentToken() external view returns (IERC20);

    /// @notice The meter registry every community market trades the slot tokens of.
    /// @return The meter registry.
    function registry() external view returns (IMeterRegistry);

    /// @notice The ERC-1155 slot token of the registry.
    /// @return The energy token.
    function energyToken() external view returns (IEnergyToken);

    /// @notice Unix time of the start of slot 0 (from the registry).
    /// @return The epoch, unix seconds.
    function epoch() external view returns (uint64);

    /// @notice Slot length in seconds (from the registry).
    /// @return The slot length, seconds.
    function slotSeconds() external view returns (uint32);

    /// @notice The city's price grid and settlement window.
    /// @return The parameters given at deployment.
    function params() external view returns (PoolParams memory);

    /// @notice Slot end + settlementSeconds, the markets' gate closure: limits of `slot` are accepted strictly before
    /// it.
    /// @return The gate closure of `slot`, unix seconds.
    function gateClosure(uint64 slot) external view returns (uint256);

    /// @notice How many communities the pool holds; their ids are 0 to this - 1, in the order they were added.
    /// @return The number of communities.
    function communityCount() external view returns (uint16);

    /// @notice The community `communityId`.
    /// @dev Requirements:
    /// - `communityId < communityCount()`.
    /// @return The community's market and its network levels.
    function community(uint16 communityId) external view returns (Community memory);

    /// @notice The community id of `market`, if it is one.
    /// @return added Whether `market` is a community of the pool.
    /// @return communityId Its id (0 when not added).
    function communityOf(IEnergyMarket market) external view returns (bool added, uint16 communityId);

    /// @notice The transfer limits of community `communityId` in `slot`, as last published. Not published (no
    /// publication for the slot yet, or the community joined after the slot's last one) reads as zero limits:
    /// the pool will clear nothing across that community's boundary in that slot.
    /// @dev Requirements:
    /// - `communityId < communityCount()`.
    /// @return published Whether the grid operator published limits for the community and slot.
    /// @return importWh Most Wh the community may take from the pool in `slot` (0 when not published).
    /// @return exportWh Most Wh the community may give to the pool in `slot` (0 when not published).
    function limits(uint64 slot, uint16 communityId)
        external
        view
        returns (bool published, uint64 importWh, uint64 exportWh);

    /// @notice The grid fee and who is paid it (zero and the zero address until {setGridFee}).
    /// @return feeTicksPerLevel Price ticks per network level crossed.
    /// @return recipient Who is paid the fee.
    function gridFee() external view returns (uint16 feeTicksPerLevel, address recipient);

    /// @notice Whether community `communityId` is paused (see {pauseCommunity}).
    /// @dev Requirements:
    /// - `communityId < communityCount()`.
    /// @return True while paused.
    function isPaused(uint16 communityId) external view returns (bool);

    /// @notice The pool's clearing of `slot` (all zero, `cleared` false, before {clear}).
    /// @return The stored record.
    function poolClearing(uint64 slot) external view returns (PoolRecord memory);

    /// @notice Whether `fills` are the fills the pool cleared for `slot` (those of its {PoolCleared} event): false
    /// before the slot is cleared. For settlement to trust a copy of the fills kept off-chain or passed in calldata.
    /// @return True when the first 128 bits of `keccak256(abi.encode(fills))` equal the stored ones of a cleared slot.
    function verifyFills(uint64 slot, PoolClearing.Fill[] calldata fills) external view returns (bool);

    /*//////////////////////////////////////////////////////////////
                                  ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Adds `market` as the next community, `levels` network levels below the pool. Emits {CommunityAdded}.
    /// Communities are never removed (a later step may pause one: issue 17's bad inputs).
    /// @dev Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE;
    /// - `market` is not zero and not a community yet; fewer than MAX_COMMUNITIES communities;
    /// - `1 <= levels <= MAX_LEVELS`;
    /// - `market` has the pool's registry, energy token, payment token, epoch, slot length, price grid (priceFloor,
    ///   tickSize, maxTick) and settlement window;
    /// - a market that answers `pool()` (an {IPooledEnergyMarket}) answers this pool (else {CommunityPoolMismatch}).
    ///   One that does not (a plain market) joins unpooled ({isPooled} false): it can take no fill, so {settle} refuses
    ///   a slot in which it got one, and such a slot's orders claim their local fills after the window.
    /// WARNING: the checks read `market`'s own answers; the admin is trusted to add real community markets (their
    /// code hash is for the deployment record to check).
    /// @return communityId The new community's id (the number of communities before it).
    function addCommunity(IEnergyMarket market, uint8 levels) external returns (uint16 communityId);

    /// @notice Sets the grid fee charged per network level crossed in the pool, and who is paid it. Emits
    /// {GridFeeChanged}.
    /// @dev Requirements:
    /// - the caller has GRID_OPERATOR_ROLE; `feeTicksPerLevel <= MAX_FEE_TICKS_PER_LEVEL`; `feeRecipient` is not zero.
    function setGridFee(uint16 feeTicksPerLevel, address feeRecipient) external;

    /// @notice Publishes (or revises) the transfer limits of `slot`: entry `i` of `importWh` and `exportWh` is the
    /// most community `i` may import from and export to the pool in `slot`, in whole Wh. A revision replaces every
    /// community's limits of the slot. Emits {LimitsPublished}.
    /// @dev Requirements:
    /// - the caller has GRID_OPERATOR_ROLE;
    /// - `block.timestamp < gateClosure(slot)`;
    /// - at least one community; `importWh.length == exportWh.length == communityCount()`.
    /// Limits are unsigned: a negative limit cannot be encoded (the Python client refuses it before sending).
    function publishLimits(uint64 slot, uint64[] calldata importWh, uint64[] calldata exportWh) external;

    /// @notice Pauses community `communityId`: every slot the pool clears from now on leaves it out (zero limits, no
    /// residual required, an all-zero fill), including slots past their gate closure that the pool has not cleared
    /// yet. Emits {CommunityPaused}.
    /// @dev Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE (the city admin, who decides which markets share the pool: a pause is a
    ///   membership decision; the grid operator isolates a community for network reasons with zero limits, which
    ///   are fixed at gate closure);
    /// - `communityId < communityCount()`; the community is not paused.
    /// Applying to slots past gate closure is deliberate: a community whose market does not clear a slot (keeper
    /// down, a void slot) would otherwise block the pool's clearing of that slot for the whole city; pausing it lets
    /// the others clear. Slots the pool already cleared keep their result.
    function pauseCommunity(uint16 communityId) external;

    /// @notice Resumes community `communityId`: it takes part in every slot the pool clears from now on. Emits
    /// {CommunityResumed}.
    /// @dev Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE (see {pauseCommunity});
    /// - `communityId < communityCount()`; the community is paused.
    function resumeCommunity(uint16 communityId) external;

    /// @notice Clears the pool for `slot` (docs/pool.md): every active community's residual, shifted by its grid fee
    /// (its levels times the fee per level) and capped by its limits of the slot (unpublished: zero), cleared as one
    /// uniform-price book by {PoolClearing}. Stores {PoolRecord} and emits {PoolCleared} with every community's fill.
    /// Anyone may call it, once per slot.
    /// @param slot      the slot.
    /// @param residuals one entry per community in id order: the residual sides its market committed to when it
    ///                  cleared `slot` (buys highest tick first, sells lowest first, each level `tick << 96 | Wh`, as
    ///                  {IEnergyMarket-residualCommitment} documents), two levels a word ({PoolClearing-Sides}); both
    ///                  empty for a paused community.
    /// @dev Requirements:
    /// - `block.timestamp >= gateClosure(slot)`; the pool has not cleared `slot`; at least one community;
    /// - `residuals.length == communityCount()`;
    /// - every active community's market cleared `slot`, and its entry hashes to the market's commitment;
    /// - a paused community's entry is empty.
    function clear(uint64 slot, PoolClearing.Sides[] calldata residuals) external;

    /// @notice Settles the pool's clearing of `slot` with every community (docs/pool.md, "Money and energy between
    /// communities"): each pooled community's market takes its fill ({IPooledEnergyMarket-poolSettle}, a paused
    /// community's all-zero one too, so that its orders need not wait) and sends the pool its export's slot tokens
    /// and `ceil(importWh * price(p* + f_k) / 1000)`; the pool sends each market its import's slot tokens and
    /// `floor(exportWh * price(p* - f_k) / 1000)`; what is left, the grid fees and the rounding, goes to the grid fee
    /// recipient. Emits {PoolSettled}. Anyone may call it, once per slot.
    /// @param slot  the slot.
    /// @param fills the fills of {PoolCleared} for `slot`, in community id order.
    /// @dev Requirements:
    /// - the pool cleared `slot` and has not settled it; `block.timestamp < gateClosure(slot) +
    ///   SETTLE_WINDOW_SECONDS`;
    /// - `fills` pass {verifyFills};
    /// - every community with a non-zero fill is pooled ({isPooled}): a plain market cannot take a fill.
    /// WARNING: assumes a standard payment token (no fee on transfer) and trusts the markets the admin added to
    /// send what they owe (a market that does not makes the pool's own transfers, and so the settlement, revert).
    function settle(uint64 slot, PoolClearing.Fill[] calldata fills) external;
}
