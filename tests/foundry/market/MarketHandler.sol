// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EnergyMarket} from "../../../contracts/EnergyMarket.sol";
import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {IMeterRegistry} from "../../../contracts/interfaces/IMeterRegistry.sol";
import {MarketHandlerBase} from "./MarketHandlerBase.sol";

/// @title MarketHandler
/// @notice The actions forge's invariant fuzzer drives: every market action (deposit, withdraw, energy in and out,
/// place, batch place, cancel, clear, claim, batch claim, agent authorisation, agent orders, pause, fee changes),
/// signed meter readings through the registry (single, batched, resent, across gaps), redemption, token transfers
/// and time. Each action bounds its fuzzed inputs to what a real user could send, predicts whether the contracts
/// must refuse it (and with which error), and keeps ghost variables of what went in and out, so that
/// {MarketInvariantsTest} can check the identities of docs/contracts.md section 12 after every call.
/// @dev The handler deploys the system and holds every admin role. Users, treasuries and the agent are plain
/// accounts driven with `vm.prank`. An unexpected revert inside an action fails the run (fail_on_revert = true).
contract MarketHandler is MarketHandlerBase {
    // ---- the market ----------------------------------------------------------------------------------------

    EnergyMarket public immutable market;

    /// @dev Per user's meter, its last accepted reading (after a rotation: all zero but the id and the timestamp,
    /// as the registry keeps them).
    mapping(uint256 user => IMeterRegistry.MeterReading) internal meterCursor;

    // ---- ghost state (beyond MarketHandlerBase) ---------------------------------------------------------------

    /// @notice Per cleared slot: what its claimed buyers paid less what its claimed sellers were paid (net + fees).
    /// Once every order of the slot is claimed this is its rounding dust: in [0, filled orders) (audit L-1).
    mapping(uint256 slot => int256) public ghostSlotMoneyPool;
    mapping(uint256 slot => uint256) public ghostUnclaimed;
    mapping(uint256 slot => uint256) public ghostFilledOrders;
    /// @notice What cleared slots still hold for unclaimed orders: the escrow of their buys (money) and of their
    /// sells (Wh per slot). `ghostBuyEscrow` and `ghostSellEscrowWh` hold the escrow of resting orders only.
    uint256 public ghostOwedMoney;
    mapping(uint256 slot => uint256) public ghostOwedWh;

    mapping(uint256 slot => uint256) public ghostMinted;
    mapping(uint256 slot => uint256) public ghostRedeemed;
    uint256 public ghostAttributedExport;
    uint256 public ghostAttributedImport;
    uint256 public ghostUnattributedExport;
    uint256 public ghostUnattributedImport;
    uint256 public ghostReadingsAccepted;
    /// @dev Readings accepted before a rotation of their meter's signer (which restarts its `lastSeq`).
    uint256 public ghostReadingsBeforeRotation;

    /// @notice The limits in force when the agent's use last grew (the use may exceed limits lowered later).
    uint96 public ghostAgentBudgetAtLastCharge;
    uint64 public ghostAgentSellWhAtLastCharge;

    constructor() {
        market = new EnergyMarket(address(this), euro, registry, _params());
        _authorize(60_000, 2_000, 5, 2, 30 days);
    }

    function _market() internal view override returns (IEnergyMarket) {
        return market;
    }

    // =========================================================================================================
    //                                            VAULT
    // =========================================================================================================

    function deposit(uint256 userSeed, uint256 amount) external {
        address user = _user(userSeed);
        amount = bound(amount, 1, 5_000_000);
        _deposit(user, amount);
    }

    function withdraw(uint256 accountSeed, uint256 percent) external {
        address account = _vaultAccount(accountSeed);
        uint256 balance = market.balanceOf(account);
        uint256 amount = balance * bound(percent, 0, 110) / 100;
        uint256 walletBefore = euro.balanceOf(account);
        vm.prank(account);
        if (amount == 0) {
            try market.withdraw(0) {
                vm.assertTrue(false, "withdraw(0) must revert");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.MarketZeroAmount.selector, "withdraw(0)");
            }
        } else if (amount > balance) {
            try market.withdraw(amount) {
                vm.assertTrue(false, "withdrawing more than the balance must revert");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.MarketInsufficientBalance.selector, "withdraw beyond the balance");
            }
        } else {
            market.withdraw(amount);
            ghostWithdrawn += amount;
            vm.assertEq(euro.balanceOf(account) - walletBefore, amount, "the withdrawal arrived");
            ++done["withdraw"];
        }
    }

    function depositEnergy(uint256 userSeed, uint256 slotSeed, uint256 percent) external {
        address user = _user(userSeed);
        uint64 slot = _knownSlot(slotSeed);
        uint256 amount = token.balanceOf(user, slot) * bound(percent, 1, 100) / 100;
        if (amount == 0) return;
        vm.prank(user);
        token.safeTransferFrom(user, address(market), slot, amount, "");
        ghostEnergyIn[slot] += amount;
        ++done["depositEnergy"];
    }

    // =========================================================================================================
    //                                      METERS AND TOKENS
    // =========================================================================================================

    /// @notice The user's meter reports at the latest slot boundary: a baseline first, then deltas. After a gap of
    /// several slots the energy is unattributed (logged, not minted). Sometimes batched with a resend of the
    /// previous reading, which the registry must skip.
    function readMeter(uint256 userSeed, uint256 exportWh, uint256 importWh, bool batched) external {
        _readMeter(bound(userSeed, 0, USERS - 1), exportWh, importWh, batched);
    }

    /// @notice What a prosumer does after a slot: its meter reports, it moves the new tokens into the vault and
    /// offers them (part or all) in the slot's settlement window.
    function sellMeteredEnergy(uint256 userSeed, uint256 exportWh, uint256 tickSeed, uint256 percent) external {
        uint256 i = bound(userSeed, 0, USERS - 1);
        address user = users[i];
        _readMeter(i, bound(exportWh, 100, 6_000), 0, false);
        uint64 slot = _settlingSlot();
        uint256 wallet = token.balanceOf(user, slot);
        if (wallet != 0) {
            vm.prank(user);
            token.safeTransferFrom(user, address(market), slot, wallet, "");
            ghostEnergyIn[slot] += wallet;
        }
        uint64 qtyWh = _sellable(user, slot, uint64(market.energyBalanceOf(user, slot) * bound(percent, 1, 100) / 100));
        if (qtyWh == 0 || market.paused() || !_windowOpen(slot)) return;
        uint16 tick = _sellTick(tickSeed);
        vm.prank(user);
        uint256 id = market.placeOrder(user, slot, false, tick, qtyWh);
        _recordOrder(id, user, slot, false, tick, qtyWh);
        ++done["placeOrder.sell"];
    }

    function _readMeter(uint256 i, uint256 exportWh, uint256 importWh, bool batched) private {
        IMeterRegistry.MeterReading memory c = meterCursor[i];
        uint64 boundary = uint64(EPOCH + (block.timestamp - EPOCH) / SLOT_SECONDS * SLOT_SECONDS);
        if (c.timestamp >= boundary) return;
        IMeterRegistry.MeterReading memory r = IMeterRegistry.MeterReading({
            meterId: meterIds[i],
            seq: c.seq + 1,
            timestamp: boundary,
            importWh: c.importWh + uint64(bound(importWh, 0, 2_000)),
            exportWh: c.exportWh + uint64(bound(exportWh, 0, 6_000)),
            prevSeq: c.seq,
            prevTimestamp: c.timestamp
        });
        if (c.seq == 0) (r.importWh, r.exportWh) = (0, 0);
        bytes memory signature = _sign(i, r);
        if (registry.paused()) {
            vm.prank(relayer);
            try registry.submitReading(r, signature) {
                vm.assertTrue(false, "a paused registry must refuse readings");
            } catch (bytes memory err) {
                _expect(err, Pausable.EnforcedPause.selector, "reading while paused");
            }
            return;
        }
        if (batched && c.seq != 0) {
            IMeterRegistry.MeterReading[] memory batch = new IMeterRegistry.MeterReading[](2);
            bytes[] memory signatures = new bytes[](2);
            batch[0] = c; // the last accepted reading, resent
            signatures[0] = _sign(i, batch[0]);
            (batch[1], signatures[1]) = (r, signature);
            vm.prank(relayer);
            uint256 accepted = registry.submitReadings(batch, signatures, "");
            vm.assertEq(accepted, 1, "a resent reading is skipped, the new one accepted");
            ++done["readMeter.batchWithResend"];
        } else {
            vm.prank(relayer);
            registry.submitReading(r, signature);
        }
        _booked(i, c, r);
    }

    /// @notice A reading the registry must refuse, with the error of its first failed check: a wrong signer,
    /// a resent seq, a time off the slot grid, in the future, not after the previous one, a register that went
    /// down, an implausible jump, an unknown meter, a predecessor that is not the last accepted reading (a reading
    /// relayed ahead of the one it follows). Nothing may be minted or recorded (the token invariants).
    function submitBadReading(uint256 userSeed, uint256 kind, uint256 wrongKey) external {
        uint256 i = bound(userSeed, 0, USERS - 1);
        kind = bound(kind, 0, 8);
        IMeterRegistry.MeterReading memory c = meterCursor[i];
        uint64 boundary = uint64(EPOCH + (block.timestamp - EPOCH) / SLOT_SECONDS * SLOT_SECONDS);
        bool fresh = c.timestamp < boundary;
        IMeterRegistry.MeterReading memory r =
            IMeterRegistry.MeterReading(meterIds[i], c.seq + 1, boundary, c.importWh, c.exportWh, c.seq, c.timestamp);
        bytes4 expected;
        if (kind == 0 && fresh) {
            expected = IMeterRegistry.ReadingSignatureInvalid.selector;
        } else if (kind == 1) {
            r.seq = c.seq;
            expected = IMeterRegistry.ReadingSeqNotIncreasing.selector;
        } else if (kind == 2) {
            r.timestamp = boundary + 1;
            expected = IMeterRegistry.ReadingNotOnSlotBoundary.selector;
        } else if (kind == 3) {
            r.timestamp = boundary + 2 * SLOT_SECONDS;
            expected = IMeterRegistry.ReadingInFuture.selector;
        } else if (kind == 4 && c.timestamp != 0) {
            // Also after a rotation (seq 0): the kept timestamp is the floor.
            r.timestamp = c.timestamp;
            expected = IMeterRegistry.ReadingNotAfterPrevious.selector;
        } else if (kind == 5 && c.seq != 0 && fresh && c.exportWh != 0) {
            r.exportWh = c.exportWh - 1;
            expected = IMeterRegistry.ReadingRegisterDecreased.selector;
        } else if (kind == 6 && c.seq != 0 && fresh) {
            r.importWh = c.importWh + uint64(CAPACITY_WH * ((boundary - c.timestamp) / SLOT_SECONDS)) + 1;
            expected = IMeterRegistry.ReadingImplausible.selector;
        } else if (kind == 7) {
            r.meterId = keccak256(abi.encode("no such meter", wrongKey));
            expected = IMeterRegistry.MeterUnknown.selector;
        } else if (kind == 8) {
            // Relayed ahead of the reading it follows (seq + 1 at the same boundary, say).
            (r.seq, r.prevSeq) = (c.seq + 2, c.seq + 1);
            expected = IMeterRegistry.ReadingPredecessorMismatch.selector;
        } else {
            return;
        }
        bytes memory signature = _sign(i, r);
        if (kind == 0) {
            // Never the meter's own key: a rotation may have made the fuzzer's wrong key the right one.
            uint256 key = bound(wrongKey, 1, 1e30);
            if (key == meterKeys[i]) key = key == 1e30 ? 1 : key + 1;
            (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(key, registry.readingDigest(r));
            signature = abi.encodePacked(rr, ss, v);
        }
        if (registry.paused()) expected = Pausable.EnforcedPause.selector;
        vm.prank(relayer);
        try registry.submitReading(r, signature) {
            vm.assertTrue(false, "the registry accepted a bad reading");
        } catch (bytes memory err) {
            _expect(err, expected, "bad reading refused with the error of its first failed check");
            ++done["submitBadReading"];
        }
    }

    function redeem(uint256 userSeed, uint256 slotSeed, uint256 amount) external {
        address user = _user(userSeed);
        uint64 slot = _knownSlot(slotSeed);
        uint256 redeemable = token.importedWh(user, slot) - token.redeemedWh(user, slot);
        uint256 held = token.balanceOf(user, slot);
        uint256 cap = redeemable < held ? redeemable : held;
        if (cap == 0) return;
        amount = bound(amount, 1, cap);
        vm.prank(user);
        token.redeem(slot, uint64(amount));
        ghostRedeemed[slot] += amount;
        ++done["redeem"];
    }

    function transferTokens(uint256 fromSeed, uint256 toSeed, uint256 slotSeed, uint256 percent) external {
        address from = _user(fromSeed);
        address to = _user(toSeed);
        uint64 slot = _knownSlot(slotSeed);
        uint256 amount = token.balanceOf(from, slot) * bound(percent, 1, 100) / 100;
        if (amount == 0 || from == to) return;
        vm.prank(from);
        token.safeTransferFrom(from, to, slot, amount, "");
        ++done["transferTokens"];
    }

    // =========================================================================================================
    //                                            ORDERS
    // =========================================================================================================

    /// @notice A buy (topped up from the user's wallet when the vault is short, or not) or a sell of energy held
    /// in the vault, for the slot before, at or after the current one.
    function placeOrder(uint256 userSeed, bool isBuy, uint256 tickSeed, uint256 qty, uint256 slotSeed, bool topUp)
        external
    {
        address user = _user(userSeed);
        // Sells trade energy already metered: the slot that just ended, in its settlement window.
        uint64 slot = isBuy ? _orderSlot(slotSeed) : _settlingSlot();
        uint16 tick = isBuy ? _buyTick(tickSeed) : _sellTick(tickSeed);
        uint64 qtyWh = uint64(bound(qty, 1, 3_000));
        if (!isBuy) qtyWh = _sellable(user, slot, qtyWh);
        if (qtyWh == 0) return;
        uint256 escrow = isBuy ? _cost(qtyWh, tick) : 0;
        if (isBuy && topUp && market.balanceOf(user) < escrow) _deposit(user, escrow - market.balanceOf(user));
        bytes4 refusal = _refusal(user, slot, isBuy, qtyWh, escrow);
        vm.prank(user);
        try market.placeOrder(user, slot, isBuy, tick, qtyWh) returns (uint256 id) {
            vm.assertEq(uint256(uint32(refusal)), 0, "placeOrder succeeded where the market must refuse");
            _recordOrder(id, user, slot, isBuy, tick, qtyWh);
            ++done[isBuy ? "placeOrder.buy" : "placeOrder.sell"];
        } catch (bytes memory err) {
            vm.assertTrue(refusal != bytes4(0), "placeOrder refused a valid order");
            _expect(err, refusal, "placeOrder refusal");
        }
    }

    /// @notice placeOrders: up to four orders for the current slot, trimmed to what the vault covers (all or none).
    function placeOrders(uint256 userSeed, uint256 seed, uint256 count) external {
        address user = _user(userSeed);
        uint64 slot = _orderSlot(seed);
        count = bound(count, 1, 4);
        IEnergyMarket.OrderRequest[] memory requests = new IEnergyMarket.OrderRequest[](count);
        uint256 money = market.balanceOf(user);
        uint256 energy = market.energyBalanceOf(user, slot);
        uint256 n;
        for (uint256 k; k < count; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            bool isBuy = r & 1 == 1;
            uint16 tick = isBuy ? _buyTick(r >> 8) : _sellTick(r >> 8);
            uint64 qtyWh = uint64(bound(r >> 64, MIN_ORDER_WH, 1_500));
            if (isBuy && _cost(qtyWh, tick) <= money) money -= _cost(qtyWh, tick);
            else if (!isBuy && qtyWh <= energy) energy -= qtyWh;
            else continue;
            requests[n++] = IEnergyMarket.OrderRequest(slot, isBuy, tick, qtyWh);
        }
        if (n == 0 || market.paused() || !_windowOpen(slot)) return;
        assembly ("memory-safe") {
            mstore(requests, n)
        }
        vm.prank(user);
        uint256[] memory ids = market.placeOrders(user, requests);
        for (uint256 k; k < n; ++k) {
            IEnergyMarket.OrderRequest memory q = requests[k];
            _recordOrder(ids[k], user, q.slot, q.isBuy, q.tick, q.qtyWh);
        }
        ++done["placeOrders"];
    }

    /// @notice Cancels an open order, by its owner, its owner's agent, or a stranger (who must be refused).
    function cancelOrder(uint256 orderSeed, uint256 byWhom) external {
        if (openOrders.length == 0) return;
        uint256 k = bound(orderSeed, 0, openOrders.length - 1);
        OpenOrder memory o = openOrders[k];
        uint256 who = bound(byWhom, 0, 2);
        address caller = who == 0 ? o.owner : who == 1 ? agent : _otherUser(o.owner);
        // A slot nobody cleared within the clear window is void: anyone may cancel its orders.
        bool isVoid = !slotCleared[o.slot] && block.timestamp >= market.voidAt(o.slot);
        bool allowed = isVoid || caller == o.owner || (caller == agent && _agentActive(o.owner));
        // The last half of the settlement window is firm (audit L-3): owners and agents cancel before the cut-off.
        bool open = isVoid || block.timestamp < market.cancelCutoff(o.slot);
        vm.prank(caller);
        try market.cancelOrder(o.id) {
            vm.assertTrue(allowed && open, "cancelOrder succeeded where it must be refused");
            _unrest(o);
            _removeOrder(k);
            ++done[isVoid ? "cancelOrder.void" : caller == agent ? "cancelOrder.agent" : "cancelOrder.owner"];
        } catch (bytes memory err) {
            if (!allowed) {
                bool expired = caller == agent && market.delegation(o.owner, agent).expiry != 0;
                bytes4 expected = expired ? IEnergyMarket.AgentExpired.selector : IEnergyMarket.NotOwnerOrAgent.selector;
                _expect(err, expected, "cancel by a stranger or an expired agent");
                ++done["cancelOrder.strangerRefused"];
            } else {
                vm.assertFalse(open, "cancelOrder refused an open order");
                _expect(err, IEnergyMarket.CancelWindowClosed.selector, "cancel from the cut-off");
            }
        }
    }

    // =========================================================================================================
    //                                         CLEAR AND CLAIM
    // =========================================================================================================

    /// @notice Clears a slot whose gate has closed (refused before it, and a second time); its orders are owed their
    /// escrow until claimed (an outcome depends on the claims before it at a rationed level).
    function clear(uint256 slotSeed) external {
        uint64 slot = _knownSlot(slotSeed);
        if (slotCleared[slot]) {
            try market.clear(slot) {
                vm.assertTrue(false, "a slot clears once");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.AlreadyCleared.selector, "second clear");
            }
            return;
        }
        if (block.timestamp < market.gateClosure(slot)) {
            try market.clear(slot) {
                vm.assertTrue(false, "clear before gate closure must revert");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.GateNotClosed.selector, "clear before gate closure");
            }
            return;
        }
        if (block.timestamp >= market.voidAt(slot)) {
            try market.clear(slot) {
                vm.assertTrue(false, "a void slot never clears");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.SlotVoid.selector, "clear of a void slot");
            }
            return;
        }
        vm.prank(relayer);
        market.clear(slot);
        slotCleared[slot] = true;
        for (uint256 k; k < openOrders.length; ++k) {
            OpenOrder memory o = openOrders[k];
            if (o.slot != slot) continue;
            (uint64 filledWh,,,) = market.previewClaim(o.id);
            vm.assertLe(filledWh, o.qtyWh, "no order fills beyond its quantity");
            _unrest(o);
            if (o.isBuy) ghostOwedMoney += _cost(o.qtyWh, o.tick);
            else ghostOwedWh[slot] += o.qtyWh;
            ++ghostUnclaimed[slot];
        }
        ++done[market.clearing(slot).volumeWh == 0 ? "clear.noVolume" : "clear.volume"];
    }

    /// @notice Claims one order of a cleared slot (by anyone) and checks it credits exactly what previewClaim said.
    function claim(uint256 orderSeed) external {
        (bool found, uint256 k) = _claimable(orderSeed);
        if (!found) {
            if (openOrders.length != 0) _claimUncleared(orderSeed);
            return;
        }
        _claimAt(k);
        ++done["claim"];
    }

    /// @notice claimBatch: every claimable order of one owner.
    function claimBatch(uint256 userSeed) external {
        address owner = _user(userSeed);
        (uint256[] memory ids, uint256 n) = _claimableIds(owner, 0);
        if (n == 0) return;
        assembly ("memory-safe") {
            mstore(ids, n)
        }
        _claimBatch(owner, ids, n);
        ++done["claimBatch"];
    }

    // =========================================================================================================
    //                                            AGENTS
    // =========================================================================================================

    /// @notice The agent of user 0 places an order for it, within or beyond its price bounds and rolling limits.
    function agentPlaceOrder(bool isBuy, uint256 tickSeed, uint256 qty, uint256 slotSeed) external {
        address owner = users[0];
        uint64 slot = _orderSlot(slotSeed);
        uint16 tick = uint16(bound(tickSeed, 0, BOOK_TICKS - 1));
        uint64 qtyWh = uint64(bound(qty, MIN_ORDER_WH, 3_000));
        if (!isBuy) qtyWh = _sellable(owner, slot, qtyWh);
        if (qtyWh == 0) return;
        uint256 escrow = isBuy ? _cost(qtyWh, tick) : 0;
        bytes4 refusal = _agentRefusal(slot, isBuy, tick, qtyWh, escrow);
        vm.prank(agent);
        try market.placeOrder(owner, slot, isBuy, tick, qtyWh) returns (uint256 id) {
            vm.assertEq(uint256(uint32(refusal)), 0, "the agent placed an order the market must refuse");
            _recordOrder(id, owner, slot, isBuy, tick, qtyWh);
            _chargeAgent(escrow, isBuy ? 0 : qtyWh);
            ++done["agentPlaceOrder"];
        } catch (bytes memory err) {
            vm.assertTrue(refusal != bytes4(0), "the market refused a valid agent order");
            _expect(err, refusal, "agent order refusal");
            ++done["agentPlaceOrder.refused"];
        }
    }

    /// @notice User 0 re-authorizes its agent (new limits, the use so far kept) or revokes it (the use kept too).
    function setAgent(uint256 budget, uint256 maxBuyTick, uint256 minSellTick, uint256 days_, bool revoke) external {
        _setAgent(revoke, budget, 200_000, 5_000, maxBuyTick, minSellTick, bound(days_, 1, 3) * 1 days);
    }

    // =========================================================================================================
    //                                     ADMIN, PAUSE AND TIME
    // =========================================================================================================

    function pauseMarket(bool paused) external {
        _pauseMarket(paused);
    }

    /// @notice The meter admin rotates a meter's signing key: the meter's sequence and baseline restart, its last
    /// timestamp stays (the next reading names seq 0 and that timestamp, and mints nothing).
    function rotateMeterKey(uint256 userSeed, uint256 keySeed) external {
        uint256 i = bound(userSeed, 0, USERS - 1);
        uint256 key = bound(keySeed, 1, 1e30);
        registry.rotateSigner(meterIds[i], vm.addr(key));
        meterKeys[i] = key;
        IMeterRegistry.MeterReading memory c = meterCursor[i];
        ghostReadingsBeforeRotation += c.seq;
        meterCursor[i] = IMeterRegistry.MeterReading(meterIds[i], 0, c.timestamp, 0, 0, 0, 0);
        IMeterRegistry.Meter memory m = registry.meter(meterIds[i]);
        vm.assertEq(m.lastSeq, 0, "a rotation restarts the sequence");
        vm.assertEq(m.lastTimestamp, c.timestamp, "a rotation keeps the last timestamp");
        ++done[c.timestamp != 0 ? "rotateMeterKey.afterReadings" : "rotateMeterKey"];
    }

    function pauseRegistry(bool paused) external {
        if (paused && !registry.paused()) registry.pause();
        else if (!paused && registry.paused()) registry.unpause();
        ++done[paused ? "pauseRegistry" : "unpauseRegistry"];
    }

    /// @notice Changes the fee (for orders placed from now on) and the treasury; a stranger is refused.
    function setFee(uint256 feeBps, uint256 treasurySeed, bool asStranger) external {
        uint16 bps = uint16(bound(feeBps, 0, 1000));
        address treasury = treasuries[bound(treasurySeed, 0, 1)];
        if (asStranger) {
            vm.prank(users[0]);
            try market.setFee(bps, treasury) {
                vm.assertTrue(false, "a stranger changed the fee");
            } catch (bytes memory err) {
                _expect(err, IAccessControl.AccessControlUnauthorizedAccount.selector, "setFee by a stranger");
            }
            return;
        }
        market.setFee(bps, treasury);
        ++done["setFee"];
    }

    /// @notice Moves time forward by up to 20 minutes (slots are 15 minutes).
    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 1200));
        ++done["warp"];
    }

    // =========================================================================================================
    //                                     VIEWS FOR THE INVARIANTS
    // =========================================================================================================

    function openOrderAt(uint256 k) external view returns (OpenOrder memory) {
        return openOrders[k];
    }

    function meterIdAt(uint256 i) external view returns (bytes32) {
        return meterIds[i];
    }

    // =========================================================================================================
    //                                           INTERNALS
    // =========================================================================================================

    function _otherUser(address user) private view returns (address) {
        return users[0] == user ? users[1] : users[0];
    }

    /// @dev One of the slots before, at or after the current one; also remembered for the invariants.
    function _orderSlot(uint256 seed) private returns (uint64 slot) {
        slot = _currentSlot() - 1 + uint64(bound(seed, 0, 2));
        _seeSlot(slot);
    }

    function _windowOpen(uint64 slot) private view returns (bool) {
        (uint256 opensAt, uint256 closesAt) = market.orderWindow(slot);
        return block.timestamp >= opensAt && block.timestamp < closesAt;
    }

    /// @dev A sell quantity the user holds in the vault for `slot` (or zero when it holds too little).
    function _sellable(address user, uint64 slot, uint64 wanted) private view returns (uint64) {
        uint256 held = market.energyBalanceOf(user, slot);
        if (held < MIN_ORDER_WH) return 0;
        return wanted < MIN_ORDER_WH ? MIN_ORDER_WH : wanted > held ? uint64(held) : wanted;
    }

    /// @dev The error placeOrder must revert with, or zero when the order is valid.
    function _refusal(address owner, uint64 slot, bool isBuy, uint64 qtyWh, uint256 escrow)
        private
        view
        returns (bytes4)
    {
        if (market.paused()) return Pausable.EnforcedPause.selector;
        if (qtyWh < MIN_ORDER_WH) return IEnergyMarket.OrderQtyTooSmall.selector;
        (uint256 opensAt, uint256 closesAt) = market.orderWindow(slot);
        if (block.timestamp >= closesAt) return IEnergyMarket.OrderWindowClosed.selector;
        if (block.timestamp < opensAt) return IEnergyMarket.OrderWindowNotOpen.selector;
        if (isBuy && market.balanceOf(owner) < escrow) return IEnergyMarket.MarketInsufficientBalance.selector;
        return bytes4(0);
    }

    function _agentActive(address owner) private view returns (bool) {
        IEnergyMarket.Delegation memory d = market.delegation(owner, agent);
        return d.expiry != 0 && block.timestamp < d.expiry;
    }

    /// @dev The error an agent's placeOrder must revert with, in the contract's order of checks: pause, delegation,
    /// price bounds, the order itself, the daily budget, then the owner's balance.
    function _agentRefusal(uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh, uint256 escrow)
        private
        view
        returns (bytes4)
    {
        IEnergyMarket.Delegation memory d = market.delegation(users[0], agent);
        if (market.paused()) return Pausable.EnforcedPause.selector;
        if (d.expiry == 0) return IEnergyMarket.NotOwnerOrAgent.selector;
        if (block.timestamp >= d.expiry) return IEnergyMarket.AgentExpired.selector;
        if (isBuy && tick > d.maxBuyTick) return IEnergyMarket.AgentPriceOutOfBounds.selector;
        if (!isBuy && tick < d.minSellTick) return IEnergyMarket.AgentPriceOutOfBounds.selector;
        bytes4 orderRefusal = _refusal(users[0], slot, isBuy, qtyWh, 0);
        if (orderRefusal != bytes4(0)) return orderRefusal;
        (uint256 spent, uint256 soldWh) = _agentUse(d);
        if (escrow != 0 && spent + escrow > d.budgetPerDay) return IEnergyMarket.AgentBudgetExceeded.selector;
        if (!isBuy && soldWh + qtyWh > d.sellWhPerDay) return IEnergyMarket.AgentSellLimitExceeded.selector;
        if (market.balanceOf(users[0]) < escrow) return IEnergyMarket.MarketInsufficientBalance.selector;
        return bytes4(0);
    }

    function _chargeAgent(uint256 escrow, uint256 sellWh) private {
        IEnergyMarket.Delegation memory d = market.delegation(users[0], agent);
        (uint256 spent, uint256 soldWh) = _agentUse(d);
        ghostAgentSpent = spent + escrow;
        ghostAgentSoldWh = soldWh + sellWh;
        ghostAgentUpdatedAt = block.timestamp;
        ghostAgentBudgetAtLastCharge = d.budgetPerDay;
        ghostAgentSellWhAtLastCharge = d.sellWhPerDay;
    }

    function _sign(uint256 i, IMeterRegistry.MeterReading memory r) private view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(meterKeys[i], registry.readingDigest(r));
        return abi.encodePacked(rr, s, v);
    }

    /// @dev Books an accepted reading `r` following cursor `c` of meter `i` into the ghost totals.
    function _booked(uint256 i, IMeterRegistry.MeterReading memory c, IMeterRegistry.MeterReading memory r) private {
        meterCursor[i] = r;
        ++ghostReadingsAccepted;
        if (c.seq == 0) {
            ++done["readMeter.baseline"];
            return;
        }
        uint256 exported = r.exportWh - c.exportWh;
        uint256 imported = r.importWh - c.importWh;
        if (r.timestamp - c.timestamp == SLOT_SECONDS) {
            uint64 slot = uint64((r.timestamp - EPOCH) / SLOT_SECONDS - 1);
            _seeSlot(slot);
            ghostMinted[slot] += exported;
            ghostAttributedExport += exported;
            ghostAttributedImport += imported;
            ++done["readMeter.attributed"];
        } else {
            ghostUnattributedExport += exported;
            ghostUnattributedImport += imported;
            ++done["readMeter.unattributed"];
        }
    }

    function _recordOrder(uint256 id, address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh) private {
        openOrders.push(OpenOrder(id, owner, slot, isBuy, tick, qtyWh));
        _seeSlot(slot);
        if (isBuy) {
            ghostBuyEscrow += _cost(qtyWh, tick);
            ghostLevelBuyWh[slot][tick] += qtyWh;
        } else {
            ghostSellEscrowWh[slot] += qtyWh;
            ghostLevelSellWh[slot][tick] += qtyWh;
        }
    }

    /// @dev Order `o` of a cleared slot was claimed: its escrow is no longer owed; what it paid or was paid, gave or
    /// received moves its slot's pools.
    function _settled(OpenOrder memory o, uint64 filledWh, uint256 amount, uint256 fee, uint256 refund)
        internal
        override
    {
        if (o.isBuy) {
            ghostOwedMoney -= amount + refund;
            ghostMoneyPool += int256(amount);
            ghostSlotMoneyPool[o.slot] += int256(amount);
            ghostEnergyPool[o.slot] -= int256(uint256(filledWh));
        } else {
            ghostOwedWh[o.slot] -= filledWh + refund;
            ghostMoneyPool -= int256(amount + fee);
            ghostSlotMoneyPool[o.slot] -= int256(amount + fee);
            ghostEnergyPool[o.slot] += int256(uint256(filledWh));
        }
        --ghostUnclaimed[o.slot];
        if (filledWh != 0) ++ghostFilledOrders[o.slot];
        if (_rationed(o)) ghostMarginalClaimed[o.slot] += o.qtyWh;
    }

    function _claimUncleared(uint256 seed) private {
        OpenOrder memory o = openOrders[bound(seed, 0, openOrders.length - 1)];
        try market.claim(o.id) {
            vm.assertTrue(false, "an order of an uncleared slot cannot be claimed");
        } catch (bytes memory err) {
            _expect(err, IEnergyMarket.SlotNotCleared.selector, "claim before clear");
        }
    }
}
