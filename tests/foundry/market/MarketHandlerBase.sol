// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "../../../contracts/interfaces/IEnergyToken.sol";
import {Clearing} from "../../../contracts/libraries/Clearing.sol";
import {MeterRegistry} from "../../../contracts/MeterRegistry.sol";
import {TestEuro} from "../../../contracts/test/TestEuro.sol";
import {Test} from "../base/Test.sol";

/// @title MarketHandlerBase
/// @notice What the invariant handlers of both markets ({MarketHandler}: the open order book, {SealedMarketHandler}:
/// commit and reveal) share: the parameters of tests/contracts/conftest.py, the system around the market (meter
/// registry, slot token, payment token, users with registered meters, treasuries, agent, relayer), the ghost ledger
/// of the vault, the escrow, the book and the claimed pools, and the handler's own model of a claim
/// (docs/contracts.md: EnergyMarketBase._settle), which both markets run as the same code.
/// @dev A handler deploys its market in its own constructor (after this one) and returns it from {_market}.
abstract contract MarketHandlerBase is Test {
    // ---- parameters (as in tests/contracts/conftest.py) ------------------------------------------------------

    uint32 internal constant SLOT_SECONDS = 900;
    uint32 internal constant MAX_SKEW = 120;
    uint32 internal constant SETTLEMENT_SECONDS = 900;
    uint32 internal constant OPEN_AHEAD_SECONDS = 3600;
    uint256 internal constant PRICE_FLOOR = 20_001;
    uint256 internal constant TICK_SIZE = 137;
    uint16 internal constant MAX_TICK = 1000;
    uint64 internal constant MIN_ORDER_WH = 10;
    uint64 internal constant CAPACITY_WH = 10_000_000;
    uint64 internal constant EPOCH = 1_700_000_100;
    uint256 internal constant USERS = 4;
    /// @dev Buys on ticks 3..7, sells on 0..4: books cross often, and share marginal ticks (rationing).
    uint256 internal constant BUY_TICK_LOW = 3;
    uint256 internal constant SELL_TICK_HIGH = 4;
    uint256 internal constant BOOK_TICKS = 8;

    // ---- the system ----------------------------------------------------------------------------------------

    MeterRegistry public immutable registry;
    IEnergyToken public immutable token;
    TestEuro public immutable euro;

    address[USERS] internal users;
    uint256[USERS] internal meterKeys;
    bytes32[USERS] internal meterIds;
    address[2] internal treasuries;
    address public agent;
    address public relayer;

    // ---- ghost state ---------------------------------------------------------------------------------------

    /// @notice An order the market still owes an outcome for: resting, or in a cleared slot and not yet claimed.
    struct OpenOrder {
        uint256 id;
        address owner;
        uint64 slot;
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
    }

    OpenOrder[] internal openOrders;
    uint64[] internal slotsSeen;
    mapping(uint64 slot => bool) internal slotKnown;
    mapping(uint64 slot => bool) public slotCleared;

    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    mapping(uint256 slot => uint256) public ghostEnergyIn;
    mapping(uint256 slot => uint256) public ghostEnergyOut;
    /// @notice Escrow of buys (money) and of sells (Wh per slot), as the handler computed it (which orders each
    /// market counts here: see its handler).
    uint256 public ghostBuyEscrow;
    mapping(uint256 slot => uint256) public ghostSellEscrowWh;
    /// @notice What claimed buyers paid less what claimed sellers were paid (net + fees), and per slot the Wh claimed
    /// sellers gave less the Wh claimed buyers received: rounding dust once a slot is settled (audit L-1).
    int256 public ghostMoneyPool;
    mapping(uint256 slot => int256) public ghostEnergyPool;
    /// @notice Wh claimed so far at the slot's rationed marginal level, as the handler counted it.
    mapping(uint256 slot => uint256) public ghostMarginalClaimed;
    /// @notice Quantity per (slot, tick, side) still in the book, for the book invariant.
    mapping(uint256 slot => mapping(uint256 tick => uint256)) public ghostLevelBuyWh;
    mapping(uint256 slot => mapping(uint256 tick => uint256)) public ghostLevelSellWh;

    /// @notice The agent's rolling use (buy escrow, sold Wh) and when it was last stamped, as the handler counted it
    /// (decayed by the limits in force, kept across revocations and re-authorizations).
    uint256 public ghostAgentSpent;
    uint256 public ghostAgentSoldWh;
    uint256 public ghostAgentUpdatedAt;

    /// @notice How often each action did something (or was refused as predicted): shows the run reached the states.
    mapping(string action => uint256) public done;

    /// @dev Time at slot 100 (+30 s), the registry with its slot token, the payment token, the treasuries, the agent,
    /// the relayer and `USERS` users with a meter each (capacity `CAPACITY_WH`), signed by key "meter-key-<i>".
    constructor() {
        vm.warp(EPOCH + 100 * SLOT_SECONDS + 30);
        registry = new MeterRegistry(address(this), EPOCH, SLOT_SECONDS, MAX_SKEW, "uri");
        token = registry.token();
        euro = new TestEuro();
        treasuries = [makeAddr("treasury-0"), makeAddr("treasury-1")];
        agent = makeAddr("agent");
        relayer = makeAddr("relayer");
        for (uint256 i; i < USERS; ++i) {
            users[i] = makeAddr(string.concat("user-", _digit(i)));
            (address signer, uint256 key) = makeAccount(string.concat("meter-key-", _digit(i)));
            meterKeys[i] = key;
            meterIds[i] = keccak256(abi.encode("meter", i));
            registry.registerMeter(meterIds[i], users[i], signer, CAPACITY_WH);
        }
    }

    /// @dev The market parameters of tests/contracts/conftest.py (fee 0.5 %, to treasury 0).
    function _params() internal view returns (IEnergyMarket.MarketParams memory) {
        return IEnergyMarket.MarketParams({
            priceFloor: PRICE_FLOOR,
            tickSize: TICK_SIZE,
            maxTick: MAX_TICK,
            settlementSeconds: SETTLEMENT_SECONDS,
            openAheadSeconds: OPEN_AHEAD_SECONDS,
            minOrderWh: MIN_ORDER_WH,
            feeBps: 50,
            treasury: treasuries[0]
        });
    }

    /// @dev The market under test (deployed by the handler's constructor).
    function _market() internal view virtual returns (IEnergyMarket);

    // =========================================================================================================
    //                                        SHARED ACTIONS
    // =========================================================================================================

    /// @notice A user withdraws part of the slot tokens it holds in the vault (beyond them: refused).
    function withdrawEnergy(uint256 userSeed, uint256 slotSeed, uint256 percent) external {
        address user = _user(userSeed);
        uint64 slot = _knownSlot(slotSeed);
        uint256 held = _market().energyBalanceOf(user, slot);
        uint256 amount = held * bound(percent, 1, 120) / 100;
        if (amount == 0) return;
        if (amount > held) {
            vm.prank(user);
            try _market().withdrawEnergy(slot, uint64(amount)) {
                vm.assertTrue(false, "withdrawing more energy than held must revert");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.MarketInsufficientEnergy.selector, "withdrawEnergy beyond the balance");
            }
            return;
        }
        _withdrawEnergy(user, slot, amount);
        ++done["withdrawEnergy"];
    }

    // =========================================================================================================
    //                                     VIEWS FOR THE INVARIANTS
    // =========================================================================================================

    function openOrderCount() external view returns (uint256) {
        return openOrders.length;
    }

    function slotList() external view returns (uint64[] memory) {
        return slotsSeen;
    }

    function slotCount() external view returns (uint256) {
        return slotsSeen.length;
    }

    function slotAt(uint256 k) external view returns (uint64) {
        return slotsSeen[k];
    }

    function userAt(uint256 i) external view returns (address) {
        return users[i];
    }

    function treasuryAt(uint256 i) external view returns (address) {
        return treasuries[i];
    }

    function userCount() external pure returns (uint256) {
        return USERS;
    }

    function bookTicks() external pure returns (uint256) {
        return BOOK_TICKS;
    }

    function priceOf(uint256 tick) external pure returns (uint256) {
        return _price(tick);
    }

    // =========================================================================================================
    //                                      CLAIMS: THE SHARED RULE
    // =========================================================================================================

    /// @dev Order `o` no longer rests (cancelled, or its slot cleared or void): its escrow and level share go.
    function _unrest(OpenOrder memory o) internal {
        if (o.isBuy) {
            ghostBuyEscrow -= _cost(o.qtyWh, o.tick);
            ghostLevelBuyWh[o.slot][o.tick] -= o.qtyWh;
        } else {
            ghostSellEscrowWh[o.slot] -= o.qtyWh;
            ghostLevelSellWh[o.slot][o.tick] -= o.qtyWh;
        }
    }

    /// @dev Order `o` of a cleared slot was claimed: the handler books what it paid or was paid, gave or received.
    function _settled(OpenOrder memory o, uint64 filledWh, uint256 amount, uint256 fee, uint256 refund) internal virtual;

    /// @dev Whether order `o` sits at its side's rationed marginal level (R < Q).
    function _rationed(OpenOrder memory o) internal view returns (bool) {
        IEnergyMarket.ClearingRecord memory r = _market().clearing(o.slot);
        return o.isBuy
            ? o.tick == r.buyMarginalTick && r.buyMarginalFilledWh != r.buyMarginalTotalWh
            : o.tick == r.sellMarginalTick && r.sellMarginalFilledWh != r.sellMarginalTotalWh;
    }

    /// @dev The outcome of claiming `o` now by the rule of docs/contracts.md, from the clearing record and the Wh the
    /// handler counted as claimed at the rationed level (an independent model of EnergyMarketBase._settle).
    function _outcome(OpenOrder memory o)
        internal
        view
        returns (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund)
    {
        IEnergyMarket.ClearingRecord memory r = _market().clearing(o.slot);
        (uint256 m, uint256 filled, uint256 total) = o.isBuy
            ? (r.buyMarginalTick, r.buyMarginalFilledWh, r.buyMarginalTotalWh)
            : (r.sellMarginalTick, r.sellMarginalFilledWh, r.sellMarginalTotalWh);
        uint256 x = _rationed(o)
            ? Clearing.share(o.qtyWh, ghostMarginalClaimed[o.slot], filled, total)
            : Clearing.fill(o.isBuy, o.qtyWh, o.tick, m, filled);
        filledWh = uint64(x);
        uint256 p = _price(r.clearingTick);
        if (o.isBuy) {
            amount = Clearing.cost(x, p);
            refund = _cost(o.qtyWh, o.tick) - amount;
        } else {
            uint256 gross = Clearing.proceeds(x, p);
            fee = Clearing.fee(gross, uint16(o.id >> 64));
            amount = gross - fee;
            refund = o.qtyWh - x;
        }
    }

    /// @dev An open order of a cleared slot, from a random start (found: false when there is none).
    function _claimable(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = openOrders.length;
        if (n == 0) return (false, 0);
        uint256 start = bound(seed, 0, n - 1);
        for (uint256 j; j < n; ++j) {
            uint256 k = (start + j) % n;
            if (slotCleared[openOrders[k].slot]) return (true, k);
        }
        return (false, 0);
    }

    /// @dev What a claim must credit, read from previewClaim before it.
    struct Expected {
        uint64 filledWh;
        uint256 amount;
        uint256 fee;
        uint256 refund;
        address treasury;
        uint256 money;
        uint256 energy;
        uint256 treasuryMoney;
    }

    /// @dev A relayer claims open order `k` of a cleared slot: previewClaim must say what the handler's rule says,
    /// and the claim must credit owner and treasury exactly that.
    function _claimAt(uint256 k) internal {
        IEnergyMarket market = _market();
        OpenOrder memory o = openOrders[k];
        Expected memory e;
        (e.filledWh, e.amount, e.fee, e.refund) = market.previewClaim(o.id);
        {
            (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund) = _outcome(o);
            vm.assertEq(e.filledWh, filledWh, "previewClaim fills what the rule says");
            vm.assertEq(e.amount + e.fee + e.refund, amount + fee + refund, "and pays what the rule says");
            vm.assertEq(e.amount, amount, "net");
        }
        e.treasury = market.params().treasury;
        e.money = market.balanceOf(o.owner);
        e.energy = market.energyBalanceOf(o.owner, o.slot);
        e.treasuryMoney = market.balanceOf(e.treasury);
        vm.prank(relayer);
        market.claim(o.id);
        uint256 moneyGain = market.balanceOf(o.owner) - e.money;
        uint256 energyGain = market.energyBalanceOf(o.owner, o.slot) - e.energy;
        if (o.isBuy) {
            vm.assertEq(energyGain, e.filledWh, "a buyer is credited the Wh it received");
            vm.assertEq(moneyGain, e.refund, "and the refund of its escrow");
            vm.assertEq(e.amount + e.refund, _cost(o.qtyWh, o.tick), "paid + refund = escrow");
        } else {
            vm.assertEq(moneyGain, e.amount, "a seller is credited its net proceeds");
            vm.assertEq(energyGain, e.refund, "and the Wh it did not sell");
            vm.assertEq(market.balanceOf(e.treasury) - e.treasuryMoney, e.fee, "the treasury is credited the fee");
            vm.assertEq(e.filledWh + e.refund, o.qtyWh, "given + returned = offered");
        }
        vm.assertEq(market.order(o.id).owner, address(0), "a claimed order is deleted");
        _settled(o, e.filledWh, e.amount, e.fee, e.refund);
        _removeOrder(k);
    }

    /// @dev The ids of `owner`'s open orders in cleared slots, how many (`n`), and room for `extra` ids more.
    function _claimableIds(address owner, uint256 extra) internal view returns (uint256[] memory ids, uint256 n) {
        ids = new uint256[](openOrders.length + extra);
        for (uint256 k; k < openOrders.length; ++k) {
            if (openOrders[k].owner == owner && slotCleared[openOrders[k].slot]) ids[n++] = openOrders[k].id;
        }
    }

    /// @dev Books a batch claim of the first `n` orders of `ids` by the handler's own rule (an order's share at a
    /// rationed level follows the claims before it in the batch); returns what their owner's vault must gain.
    function _bookClaims(uint256[] memory ids, uint256 n) internal returns (uint256 expected) {
        for (uint256 j; j < n; ++j) {
            OpenOrder memory o = openOrders[_orderIndex(ids[j])];
            (uint64 filledWh, uint256 amount, uint256 fee, uint256 refund) = _outcome(o);
            expected += o.isBuy ? refund : amount;
            _settled(o, filledWh, amount, fee, refund);
        }
    }

    /// @dev A relayer's claimBatch of `ids`: the first `claims` are claimable orders of `owner`, any after them no
    /// order (the batch skips them). Checks that it claims exactly the orders and credits `owner` what the handler's
    /// rule says; the orders leave the handler's list.
    function _claimBatch(address owner, uint256[] memory ids, uint256 claims) internal {
        IEnergyMarket market = _market();
        uint256 moneyBefore = market.balanceOf(owner);
        uint256 expected = _bookClaims(ids, claims);
        vm.prank(relayer);
        uint256 claimed = market.claimBatch(ids);
        vm.assertEq(claimed, claims, "claimBatch claims the orders and skips what is no order");
        vm.assertEq(market.balanceOf(owner) - moneyBefore, expected, "claimBatch credits what the rule says");
        _removeOrders(ids, claims);
    }

    /// @dev The first `n` orders of `ids` were claimed: they leave the handler's list.
    function _removeOrders(uint256[] memory ids, uint256 n) internal {
        for (uint256 j; j < n; ++j) {
            _removeOrder(_orderIndex(ids[j]));
        }
    }

    /// @dev Open order `k` is done (claimed or cancelled): it leaves the handler's list.
    function _removeOrder(uint256 k) internal virtual {
        openOrders[k] = openOrders[openOrders.length - 1];
        openOrders.pop();
    }

    function _orderIndex(uint256 id) internal view returns (uint256 k) {
        while (openOrders[k].id != id) ++k;
    }

    // =========================================================================================================
    //                                   VAULT, AGENT, SLOTS, PRICES
    // =========================================================================================================

    function _deposit(address user, uint256 amount) internal {
        euro.mint(user, amount);
        vm.startPrank(user);
        euro.approve(address(_market()), amount);
        _market().deposit(amount);
        vm.stopPrank();
        ghostDeposited += amount;
        ++done["deposit"];
    }

    function _withdrawEnergy(address user, uint64 slot, uint256 amount) internal {
        vm.prank(user);
        _market().withdrawEnergy(slot, uint64(amount));
        ghostEnergyOut[slot] += amount;
    }

    /// @dev User 0 authorizes the agent with these limits for `lifetime` seconds.
    function _authorize(uint96 budget, uint64 sellWh, uint16 maxBuyTick, uint16 minSellTick, uint256 lifetime)
        internal
    {
        vm.prank(users[0]);
        _market().authorizeAgent(agent, budget, sellWh, maxBuyTick, minSellTick, uint64(block.timestamp + lifetime));
    }

    /// @dev User 0 revokes its agent (the use so far kept), or re-authorizes it (the use kept too) with limits drawn
    /// from the seeds: a daily budget up to `maxBudget` and sell allowance up to `maxSellWh` (both from `budget`),
    /// price bounds on the book's ticks, for `lifetime` seconds.
    function _setAgent(
        bool revoke,
        uint256 budget,
        uint256 maxBudget,
        uint256 maxSellWh,
        uint256 maxBuyTick,
        uint256 minSellTick,
        uint256 lifetime
    ) internal {
        if (revoke) {
            vm.prank(users[0]);
            _market().revokeAgent(agent);
            ++done["revokeAgent"];
            return;
        }
        _authorize(
            uint96(bound(budget, 0, maxBudget)),
            uint64(bound(budget >> 128, 0, maxSellWh)),
            uint16(bound(maxBuyTick, 0, BOOK_TICKS - 1)),
            uint16(bound(minSellTick, 0, BOOK_TICKS - 1)),
            lifetime
        );
        ++done["authorizeAgent"];
    }

    /// @dev Pauses (`paused`) or unpauses the market, whichever it is not yet.
    function _pauseMarket(bool paused) internal {
        bool now_ = Pausable(address(_market())).paused();
        if (paused && !now_) _market().pause();
        else if (!paused && now_) _market().unpause();
        ++done[paused ? "pauseMarket" : "unpauseMarket"];
    }

    /// @dev The handler's own decay of the agent's use to now: linear, one daily limit per 24 hours, rounded down.
    function _agentUse(IEnergyMarket.Delegation memory d) internal view returns (uint256 spent, uint256 soldWh) {
        uint256 elapsed = block.timestamp - ghostAgentUpdatedAt;
        uint256 refill = uint256(d.budgetPerDay) * elapsed / 1 days;
        spent = ghostAgentSpent > refill ? ghostAgentSpent - refill : 0;
        refill = uint256(d.sellWhPerDay) * elapsed / 1 days;
        soldWh = ghostAgentSoldWh > refill ? ghostAgentSoldWh - refill : 0;
    }

    function _user(uint256 seed) internal view returns (address) {
        return users[bound(seed, 0, USERS - 1)];
    }

    /// @dev A user or a treasury, by `seed`.
    function _vaultAccount(uint256 seed) internal view returns (address) {
        uint256 k = bound(seed, 0, USERS + 1);
        return k < USERS ? users[k] : treasuries[k - USERS];
    }

    function _currentSlot() internal view returns (uint64) {
        return uint64((block.timestamp - EPOCH) / SLOT_SECONDS);
    }

    /// @dev The slot that ended last: its tokens exist and its order window is still open.
    function _settlingSlot() internal returns (uint64 slot) {
        slot = _currentSlot() - 1;
        _seeSlot(slot);
    }

    /// @dev Half the time the settling slot, else any slot seen so far.
    function _knownSlot(uint256 seed) internal returns (uint64) {
        if (seed % 2 == 0 || slotsSeen.length == 0) return _settlingSlot();
        return slotsSeen[bound(seed >> 1, 0, slotsSeen.length - 1)];
    }

    /// @dev Remembers `slot` for the invariants.
    function _seeSlot(uint64 slot) internal {
        if (slotKnown[slot]) return;
        slotKnown[slot] = true;
        slotsSeen.push(slot);
    }

    function _buyTick(uint256 seed) internal pure returns (uint16) {
        return uint16(BUY_TICK_LOW + bound(seed, 0, BOOK_TICKS - 1 - BUY_TICK_LOW));
    }

    function _sellTick(uint256 seed) internal pure returns (uint16) {
        return uint16(bound(seed, 0, SELL_TICK_HIGH));
    }

    function _price(uint256 tick) internal pure returns (uint256) {
        return PRICE_FLOOR + tick * TICK_SIZE;
    }

    /// @dev The escrow of a buy of `qtyWh` at `tick`.
    function _cost(uint256 qtyWh, uint256 tick) internal pure returns (uint256) {
        return Clearing.cost(qtyWh, _price(tick));
    }

    function _expect(bytes memory err, bytes4 selector, string memory what) internal pure {
        vm.assertEq(bytes32(bytes4(err)), bytes32(selector), what);
    }

    function _digit(uint256 i) internal pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + i))));
    }
}
