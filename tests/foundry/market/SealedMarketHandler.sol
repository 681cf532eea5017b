// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {IMeterRegistry} from "../../../contracts/interfaces/IMeterRegistry.sol";
import {ISealedEnergyMarket} from "../../../contracts/interfaces/ISealedEnergyMarket.sol";
import {SealedEnergyMarket} from "../../../contracts/SealedEnergyMarket.sol";
import {MarketHandlerBase} from "./MarketHandlerBase.sol";

/// @title SealedMarketHandler
/// @notice The actions forge's invariant fuzzer drives on the sealed market (docs/contracts.md section 16): commit
/// (single and batch, by the owner and by its agent, over-collateralised, under-collateralised, and bad: outside the
/// order window, below the bond, beyond the vault, the same commitment twice), reveal (single and batch, by the owner,
/// a keeper or a stranger; wrong salt or contents, outside the reveal window, twice; a batch with a copied reveal),
/// commitments deliberately never revealed, reclaim after the window (and a second time), clear (before the gate, in
/// the reveal window, twice, void), claim and claimBatch, the void-slot cancel, deposits and withdrawals of money and
/// slot tokens (the tokens minted by signed meter readings), agent authorisation, pause, fee and treasury changes,
/// and time, warped onto the edges of the order and reveal windows. Each action predicts whether the market must
/// refuse it and with which error, and keeps ghost variables of what went in and out, so that
/// {SealedMarketInvariantsTest} can check solvency, the bond count and that only revealed orders trade after every
/// call; {sweep} ends every commitment and order and checks that all collateral is back in the vaults.
/// @dev The same parameters, users, treasuries, agent and relayer as {MarketHandler}, plus a reveal window and a
/// bond (as in tests/contracts/conftest.py). An unexpected revert inside an action fails the run (fail_on_revert).
contract SealedMarketHandler is MarketHandlerBase {
    // ---- parameters beyond MarketHandlerBase (as in tests/contracts/conftest.py) -----------------------------

    uint32 internal constant REVEAL_SECONDS = 600;
    uint256 internal constant BOND = 50_000;
    /// @dev Revealed orders use the book ticks of MarketHandlerBase; commitments never revealed hide any tick up to
    /// MAX_TICK (a level beyond BOOK_TICKS would betray them).

    /// @dev The bits of a commit id taken from the commitment (ISealedEnergyMarket: all but slot and fee).
    uint256 internal constant ID_HASH_MASK = ((1 << 192) - 1) ^ (uint256(type(uint16).max) << 64);

    /// @dev What the handler means to do with a commitment: reveal it, never reveal it, or try to reveal it with
    /// too little collateral (refused: it can only be reclaimed).
    uint8 internal constant PLAN_REVEAL = 0;
    uint8 internal constant PLAN_NEVER = 1;
    uint8 internal constant PLAN_SHORT = 2;

    // ---- the market ----------------------------------------------------------------------------------------

    SealedEnergyMarket public immutable market;

    struct MeterCursor {
        uint64 seq;
        uint64 timestamp;
        uint64 importWh;
        uint64 exportWh;
    }

    mapping(uint256 user => MeterCursor) internal meterCursor;

    // ---- ghost state (beyond MarketHandlerBase) --------------------------------------------------------------

    /// @notice A commitment not yet revealed nor reclaimed, with the order and salt it hides.
    struct Pending {
        uint256 id;
        address owner;
        address agent;
        uint64 slot;
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
        bytes32 salt;
        uint96 lockedMoney;
        uint64 lockedWh;
        uint8 plan;
    }

    /// @dev `openOrders` (MarketHandlerBase): the revealed orders the market still owes an outcome for, resting or
    /// in a cleared slot and unclaimed; `ghostBuyEscrow` and `ghostSellEscrowWh` hold the escrow of all of them.
    Pending[] internal pending;
    /// @notice Ids that held a commitment and hold nothing any more (reclaimed, or revealed and then claimed or
    /// cancelled); `forfeitedIds` the reclaimed ones.
    uint256[] internal retiredIds;
    uint256[] internal forfeitedIds;
    /// @notice Every id a reveal turned into an order: the only ids the market may ever hold an order under.
    mapping(uint256 id => bool) public wasRevealed;

    /// @notice Collateral locked in commitments not yet revealed nor reclaimed: money, and Wh per slot.
    uint256 public ghostLockedMoney;
    mapping(uint256 slot => uint256) public ghostLockedWh;
    uint256 public ghostFilledOrders;
    /// @notice Everything ever revealed per slot and side (a cleared volume never exceeds either).
    mapping(uint256 slot => uint256) public ghostRevealedBuyWh;
    mapping(uint256 slot => uint256) public ghostRevealedSellWh;

    /// @notice Commitments reclaimed unrevealed, and what the treasuries' vaults received from reclaims (bonds), from
    /// claims (fees), and what they withdrew.
    uint256 public ghostForfeited;
    uint256 public ghostBondReceipts;
    uint256 public ghostFeeReceipts;
    uint256 public ghostTreasuryWithdrawn;

    uint256 internal saltNonce;

    constructor() {
        market = new SealedEnergyMarket(address(this), euro, registry, _params(), REVEAL_SECONDS, BOND);
        for (uint256 i; i < USERS; ++i) {
            _read(i, 0); // the baseline
        }
        _authorize(500_000, 5_000, 5, 2, 30 days);
    }

    function _market() internal view override returns (IEnergyMarket) {
        return market;
    }

    // =========================================================================================================
    //                                     VAULT AND SLOT TOKENS
    // =========================================================================================================

    function deposit(uint256 userSeed, uint256 amount) external {
        _deposit(_user(userSeed), bound(amount, 1, 500_000));
    }

    /// @notice A user or a treasury withdraws part of its vault balance (beyond it: refused).
    function withdraw(uint256 accountSeed, uint256 percent) external {
        address account = _vaultAccount(accountSeed);
        uint256 balance = market.balanceOf(account);
        uint256 amount = balance * bound(percent, 1, 110) / 100;
        if (amount == 0) return;
        if (amount > balance) {
            vm.prank(account);
            try market.withdraw(amount) {
                vm.assertTrue(false, "withdrawing more than the balance must revert");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.MarketInsufficientBalance.selector, "withdraw beyond the balance");
            }
            return;
        }
        _withdraw(account, amount);
        ++done["withdraw"];
    }

    /// @notice A user's meter reports the slot that just ended (exported energy is minted as that slot's tokens) and
    /// the user moves part of its tokens into the vault, where sell commitments lock them.
    function produce(uint256 userSeed, uint256 exportWh, uint256 percent) external {
        uint256 i = bound(userSeed, 0, USERS - 1);
        _read(i, bound(exportWh, 100, 6_000));
        uint64 slot = _settlingSlot();
        uint256 amount = token.balanceOf(users[i], slot) * bound(percent, 50, 100) / 100;
        if (amount == 0) return;
        vm.prank(users[i]);
        token.safeTransferFrom(users[i], address(market), slot, amount, "");
        ghostEnergyIn[slot] += amount;
        ++done["produce"];
    }

    // =========================================================================================================
    //                                          COMMITMENTS
    // =========================================================================================================

    /// @dev What a commit action asks for, before the market answers.
    struct Intent {
        address owner;
        bool byAgent;
        uint64 slot;
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
        uint96 lockedMoney;
        uint64 lockedWh;
        uint8 plan;
        bytes32 salt;
        uint256 id;
    }

    /// @notice One commitment by its owner (or, with `byAgent`, by user 0's agent): a buy for the slot before, at or
    /// after the current one, or a sell of the settling slot's tokens, collateralised exactly, over-collateralised
    /// (size hidden) or with both money and tokens (side hidden); some meant never to be revealed, some too short
    /// to be revealed. `bad` sends the refusals: a slot outside its order window, less than the bond, more than
    /// 2^88 - 1, the same commitment twice.
    function commit(uint256 userSeed, uint256 orderSeed, uint256 lockSeed, bool byAgent, uint256 bad) external {
        Intent memory it = _intent(byAgent ? users[0] : _user(userSeed), byAgent, orderSeed, lockSeed);
        if (it.qtyWh == 0) return;
        bad = bound(bad, 0, 23);
        if (bad == 0) it.slot = _currentSlot() - 2; // its gate has closed
        else if (bad == 1) it.slot = _currentSlot() + 6; // its order window is not open yet
        else if (bad == 2) it.lockedMoney = uint96(BOND - 1);
        else if (bad == 3) it.lockedMoney = uint96(1 << 88);
        if (bad <= 1) (it.isBuy, it.lockedWh) = (true, 0); // refused: the slot need not be watched
        _fill(it);
        if (bad == 4 && pending.length != 0) {
            // The same commitment again: a copy of a pending one by its owner (refused while the id is taken), one
            // whose order window is still open when there is one.
            Pending memory p = pending[bound(orderSeed, 0, pending.length - 1)];
            for (uint256 j; j < pending.length; ++j) {
                (uint256 gc,) = _revealWindow(pending[j].slot);
                if (block.timestamp < gc && pending[j].agent == address(0)) p = pending[j];
            }
            if (p.agent != address(0)) return;
            (it.owner, it.byAgent, it.slot, it.isBuy, it.tick, it.qtyWh, it.salt) =
            (p.owner, false, p.slot, p.isBuy, p.tick, p.qtyWh, p.salt);
            // It keeps the plan of the one it copies: a copy of a commitment never to be revealed is never revealed
            // either (under a new fee it lands on a new id and is accepted).
            (it.lockedMoney, it.lockedWh, it.plan) = (uint96(BOND), 0, p.plan);
            it.id = _commitId(it.owner, it.slot, _commitment(it));
            vm.assertEq(it.id == p.id, market.params().feeBps == uint16(p.id >> 64), "a commit id follows the fee");
        }
        _topUp(it.owner, it.lockedMoney);
        bytes4 refusal = _commitRefusal(it);
        bytes32 commitment_ = _commitment(it);
        vm.prank(it.byAgent ? agent : it.owner);
        try market.commitOrder(it.owner, it.slot, commitment_, it.lockedMoney, it.lockedWh) returns (uint256 id) {
            vm.assertEq(uint256(uint32(refusal)), 0, "commitOrder succeeded where the market must refuse");
            vm.assertEq(id, it.id, "the commit id is the one the client computes before sending");
            _recordCommit(it);
            if (it.byAgent) _chargeAgent(it.lockedMoney, it.lockedWh);
            ++done[it.byAgent ? "commit.agent" : it.isBuy ? "commit.buy" : "commit.sell"];
            if (it.lockedMoney > _need(it) && it.plan == PLAN_REVEAL) ++done["commit.overCollateralised"];
        } catch (bytes memory err) {
            vm.assertTrue(refusal != bytes4(0), "commitOrder refused a valid commitment");
            _expect(err, refusal, "commitOrder refusal");
            ++done[
                refusal == ISealedEnergyMarket.CommitmentExists.selector ? "commit.duplicateRefused" : "commit.refused"
            ];
        }
    }

    /// @notice commitOrders: up to five commitments of one owner (or of user 0 by its agent), all or none, some for
    /// the same slot, some never to be revealed.
    function commitBatch(uint256 userSeed, uint256 seed, uint256 count, bool byAgent) external {
        address owner = byAgent ? users[0] : _user(userSeed);
        count = bound(count, 1, 5);
        ISealedEnergyMarket.CommitRequest[] memory requests = new ISealedEnergyMarket.CommitRequest[](count);
        Intent[] memory intents = new Intent[](count);
        uint256 n;
        uint256 totalMoney;
        uint256 totalWh;
        for (uint256 k; k < count; ++k) {
            Intent memory it = _intent(
                owner, byAgent, uint256(keccak256(abi.encode(seed, k, 1))), uint256(keccak256(abi.encode(seed, k, 2)))
            );
            // The Wh of one slot are shared by the batch: only what the vault still holds after the earlier ones.
            if (it.qtyWh == 0 || (it.lockedWh != 0 && it.slot != _currentSlot() - 1)) continue;
            if (it.lockedWh != 0 && it.lockedWh > market.energyBalanceOf(owner, it.slot) - totalWh) continue;
            _fill(it);
            intents[n] = it;
            requests[n++] = ISealedEnergyMarket.CommitRequest(it.slot, _commitment(it), it.lockedMoney, it.lockedWh);
            totalMoney += it.lockedMoney;
            totalWh += it.lockedWh;
        }
        if (n == 0) return;
        assembly ("memory-safe") {
            mstore(requests, n)
        }
        _topUp(owner, totalMoney);
        bytes4 refusal = _batchRefusal(owner, byAgent, totalMoney, totalWh);
        vm.prank(byAgent ? agent : owner);
        try market.commitOrders(owner, requests) returns (uint256[] memory ids) {
            vm.assertEq(uint256(uint32(refusal)), 0, "commitOrders succeeded where the market must refuse");
            for (uint256 k; k < n; ++k) {
                vm.assertEq(ids[k], intents[k].id, "batch commit ids are the ones computed before sending");
                _recordCommit(intents[k]);
            }
            if (byAgent) _chargeAgent(totalMoney, totalWh);
            ++done[byAgent ? "commitBatch.agent" : "commitBatch"];
        } catch (bytes memory err) {
            vm.assertTrue(refusal != bytes4(0), "commitOrders refused a valid batch");
            _expect(err, refusal, "commitOrders refusal");
            ++done["commitBatch.refused"];
        }
    }

    // =========================================================================================================
    //                                            REVEALS
    // =========================================================================================================

    /// @notice Reveals a commitment meant to be revealed (not those deliberately left unrevealed), by its owner, a
    /// keeper or a stranger: booked in its reveal window, refused before or after it, and refused when its
    /// collateral falls short or an agent's price bounds moved.
    function reveal(uint256 seed, uint256 byWhom) external {
        (bool found, uint256 k) = _revealable(seed);
        if (!found) return;
        Pending memory p = pending[k];
        address caller = _anyone(p.owner, byWhom);
        bytes4 refusal = _revealRefusal(p);
        uint256 money = market.balanceOf(p.owner);
        uint256 energy = market.energyBalanceOf(p.owner, p.slot);
        vm.prank(caller);
        try market.revealOrder(p.id, p.isBuy, p.tick, p.qtyWh, p.salt) returns (uint256 orderId) {
            vm.assertEq(uint256(uint32(refusal)), 0, "revealOrder succeeded where the market must refuse");
            vm.assertEq(orderId, p.id, "the order keeps the commit id");
            _checkRevealCredit(p, money, energy);
            _recordReveal(k);
            ++done[caller == p.owner ? "reveal.owner" : "reveal.keeper"];
        } catch (bytes memory err) {
            vm.assertTrue(refusal != bytes4(0), "revealOrder refused a valid reveal");
            _expect(err, refusal, "revealOrder refusal");
            ++done[p.plan == PLAN_SHORT ? "reveal.shortRefused" : "reveal.refused"];
        }
    }

    /// @notice revealOrders by a keeper: every revealable commitment of one slot in its reveal window, plus a copy of
    /// an already revealed or reclaimed one, which the batch skips (order id 0).
    function revealBatch(uint256 seed) external {
        (bool found, uint256 k0) = _revealable(seed);
        if (!found || _revealRefusal(pending[k0]) != bytes4(0)) return;
        uint64 slot = pending[k0].slot;
        ISealedEnergyMarket.RevealRequest[] memory requests = new ISealedEnergyMarket.RevealRequest[](7);
        uint256[] memory picked = new uint256[](7);
        uint256 n;
        for (uint256 k; k < pending.length && n < 6; ++k) {
            Pending memory p = pending[k];
            if (p.slot != slot || p.plan == PLAN_NEVER || _revealRefusal(p) != bytes4(0)) continue;
            picked[n] = p.id;
            requests[n++] = ISealedEnergyMarket.RevealRequest(p.id, p.isBuy, p.tick, p.qtyWh, p.salt);
        }
        uint256 copies;
        if (retiredIds.length != 0) {
            uint256 gone = retiredIds[bound(seed >> 8, 0, retiredIds.length - 1)];
            requests[n++] = ISealedEnergyMarket.RevealRequest(gone, true, 3, MIN_ORDER_WH, bytes32(seed));
            copies = 1;
        }
        assembly ("memory-safe") {
            mstore(requests, n)
        }
        vm.prank(relayer);
        uint256[] memory orderIds = market.revealOrders(requests);
        for (uint256 j; j + copies < n; ++j) {
            vm.assertEq(orderIds[j], picked[j], "a batch reveal books the order under its commit id");
            _recordReveal(_pendingIndex(picked[j]));
        }
        if (copies != 0) vm.assertEq(orderIds[n - 1], 0, "a batch skips a commitment no longer stored");
        ++done[copies != 0 ? "revealBatch.withCopy" : "revealBatch"];
    }

    /// @notice Reveals that must be refused whoever sends them: a wrong salt, another tick, side or quantity (all
    /// CommitmentMismatch in the window, the window's error outside it), a commitment already revealed or reclaimed,
    /// or an id that never held one (CommitmentNotFound). Kind 4 sends the right opening from anyone: booked for
    /// the owner (the hash binds it), refused only as the owner's own reveal would be.
    function revealWrong(uint256 seed, uint256 kind) external {
        kind = bound(kind, 0, 5);
        if (kind == 5 || pending.length == 0) {
            uint256 id = retiredIds.length != 0 && seed % 2 == 0
                ? retiredIds[bound(seed >> 1, 0, retiredIds.length - 1)]
                : (uint256(_currentSlot()) << 192) | uint256(keccak256(abi.encode("never committed", seed))) >> 80;
            vm.prank(relayer);
            try market.revealOrder(id, true, 3, MIN_ORDER_WH, bytes32(seed)) {
                vm.assertTrue(false, "a reveal of nothing succeeded");
            } catch (bytes memory err) {
                _expect(err, ISealedEnergyMarket.CommitmentNotFound.selector, "reveal of no commitment");
                ++done["revealWrong.notFound"];
            }
            return;
        }
        Pending memory p = pending[_inWindow(seed)];
        if (kind == 0) p.salt = keccak256(abi.encode(p.salt));
        else if (kind == 1) p.tick = p.tick == 0 ? 1 : p.tick - 1;
        else if (kind == 2) p.isBuy = !p.isBuy;
        else if (kind == 3) p.qtyWh += 1;
        (uint256 gc, uint256 revealEnds) = market.revealWindow(p.slot);
        bytes4 expected = block.timestamp <= gc
            ? ISealedEnergyMarket.RevealWindowNotOpen.selector
            : block.timestamp > revealEnds
                ? ISealedEnergyMarket.RevealWindowClosed.selector
                : ISealedEnergyMarket.CommitmentMismatch.selector;
        if (kind == 4) {
            // The right opening sent by a stranger: anyone may reveal, and the order is booked for the owner.
            if (p.plan == PLAN_NEVER) return;
            expected = _revealRefusal(p);
        }
        address caller = _anyone(p.owner, seed >> 2);
        vm.prank(caller);
        try market.revealOrder(p.id, p.isBuy, p.tick, p.qtyWh, p.salt) {
            vm.assertTrue(kind == 4 && expected == bytes4(0), "a wrong reveal succeeded");
        } catch (bytes memory err) {
            vm.assertTrue(expected != bytes4(0), "a stranger's valid reveal was refused");
            _expect(err, expected, "wrong reveal refusal");
            ++done[expected == ISealedEnergyMarket.CommitmentMismatch.selector ? "revealWrong.mismatch" : "revealWrong"];
            return;
        }
        // A stranger revealed it: exactly the committed order for its owner.
        _recordReveal(_pendingIndex(p.id));
        ++done[caller == p.owner ? "reveal.owner" : "reveal.keeper"];
    }

    // =========================================================================================================
    //                                       RECLAIM, CLEAR, CLAIM
    // =========================================================================================================

    /// @notice Reclaims an unrevealed commitment (by anyone): refused until its reveal window has ended, then the bond
    /// goes to the treasury and the rest of the collateral back to the owner. Sometimes a second reclaim of one
    /// already reclaimed, or of a revealed one, which must be refused.
    function reclaim(uint256 seed, bool again) external {
        if (again || pending.length == 0) {
            if (retiredIds.length == 0) return;
            uint256 id = retiredIds[bound(seed, 0, retiredIds.length - 1)];
            vm.prank(relayer);
            try market.reclaimCommitment(id) {
                vm.assertTrue(false, "a commitment was reclaimed twice, or after its reveal");
            } catch (bytes memory err) {
                _expect(err, ISealedEnergyMarket.CommitmentNotFound.selector, "second reclaim");
                ++done["reclaim.againRefused"];
            }
            return;
        }
        uint256 k = bound(seed, 0, pending.length - 1);
        (, uint256 revealEnds) = market.revealWindow(pending[k].slot);
        if (block.timestamp <= revealEnds) {
            vm.prank(relayer);
            try market.reclaimCommitment(pending[k].id) {
                vm.assertTrue(false, "a commitment was reclaimed in its reveal window");
            } catch (bytes memory err) {
                _expect(err, ISealedEnergyMarket.RevealWindowOpen.selector, "reclaim before the window ends");
                ++done["reclaim.earlyRefused"];
            }
            return;
        }
        _reclaimAt(k);
    }

    /// @notice Clears a slot: refused before its gate closes, in its reveal window, a second time, and once void.
    function clear(uint256 slotSeed) external {
        uint256 pick = slotSeed % 4;
        uint64 slot = pick == 3 ? _knownSlot(slotSeed >> 2) : _currentSlot() - 3 + uint64(pick);
        _seeSlot(slot);
        bytes4 refusal;
        (uint256 gc, uint256 revealEnds) = market.revealWindow(slot);
        if (block.timestamp < gc) refusal = IEnergyMarket.GateNotClosed.selector;
        else if (block.timestamp <= revealEnds) refusal = ISealedEnergyMarket.RevealWindowOpen.selector;
        else if (slotCleared[slot]) refusal = IEnergyMarket.AlreadyCleared.selector;
        else if (block.timestamp >= market.voidAt(slot)) refusal = IEnergyMarket.SlotVoid.selector;
        if (refusal != bytes4(0)) {
            vm.prank(relayer);
            try market.clear(slot) {
                vm.assertTrue(false, "clear succeeded where the market must refuse");
            } catch (bytes memory err) {
                _expect(err, refusal, "clear refusal");
                ++done[
                    refusal == ISealedEnergyMarket.RevealWindowOpen.selector ? "clear.inRevealRefused" : "clear.refused"
                ];
            }
            return;
        }
        _clear(slot);
    }

    /// @notice Claims one order of a cleared slot (by a relayer), checked against the handler's own model of the rule.
    function claim(uint256 orderSeed) external {
        (bool found, uint256 k) = _claimable(orderSeed);
        if (!found) return;
        _claimAt(k);
        ++done["claim"];
    }

    /// @notice claimBatch: every claimable order of one owner, with an unrevealed commitment of it slipped in (the
    /// batch skips it: a commitment is no order).
    function claimBatch(uint256 userSeed) external {
        address owner = _user(userSeed);
        (uint256[] memory ids, uint256 n) = _claimableIds(owner, 1);
        if (n == 0) return;
        uint256 claims = n;
        if (pending.length != 0) ids[n++] = pending[bound(userSeed >> 8, 0, pending.length - 1)].id;
        assembly ("memory-safe") {
            mstore(ids, n)
        }
        uint256 feesBefore = ghostFeeReceipts;
        uint256 treasuryBefore = market.balanceOf(market.params().treasury);
        _claimBatch(owner, ids, claims);
        vm.assertEq(
            market.balanceOf(market.params().treasury) - treasuryBefore,
            ghostFeeReceipts - feesBefore,
            "claimBatch credits the treasury the fees"
        );
        ++done["claimBatch"];
    }

    /// @notice cancelOrder in the sealed market: only the exit of a void slot (by anyone). Before that an owner is
    /// refused (CancelWindowClosed: orders exist only after gate closure) and so is a stranger; an unrevealed
    /// commitment is no order (OrderNotFound).
    function cancel(uint256 seed, uint256 byWhom) external {
        if (seed % 4 == 0 && pending.length != 0) {
            vm.prank(pending[bound(seed, 0, pending.length - 1)].owner);
            try market.cancelOrder(pending[bound(seed, 0, pending.length - 1)].id) {
                vm.assertTrue(false, "an unrevealed commitment was cancelled");
            } catch (bytes memory err) {
                _expect(err, IEnergyMarket.OrderNotFound.selector, "cancel of a commitment");
                ++done["cancel.commitmentRefused"];
            }
            return;
        }
        if (openOrders.length == 0) return;
        uint256 k = bound(seed, 0, openOrders.length - 1);
        OpenOrder memory o = openOrders[k];
        address caller = _anyone(o.owner, byWhom);
        bool isVoid = !slotCleared[o.slot] && block.timestamp >= market.voidAt(o.slot);
        bytes4 refusal;
        if (!isVoid) {
            if (caller != o.owner && !(caller == agent && o.owner == users[0] && _agentActive())) {
                bool expired = caller == agent && market.delegation(o.owner, agent).expiry != 0;
                refusal = expired ? IEnergyMarket.AgentExpired.selector : IEnergyMarket.NotOwnerOrAgent.selector;
            } else {
                refusal = IEnergyMarket.CancelWindowClosed.selector;
            }
        }
        uint256 money = market.balanceOf(o.owner);
        uint256 energy = market.energyBalanceOf(o.owner, o.slot);
        vm.prank(caller);
        try market.cancelOrder(o.id) {
            vm.assertEq(uint256(uint32(refusal)), 0, "cancelOrder succeeded where the market must refuse");
            if (o.isBuy) {
                vm.assertEq(market.balanceOf(o.owner) - money, _cost(o.qtyWh, o.tick), "a void buy's escrow back");
            } else {
                vm.assertEq(market.energyBalanceOf(o.owner, o.slot) - energy, o.qtyWh, "a void sell's Wh back");
            }
            _unrest(o);
            _removeOrder(k);
            ++done["cancel.void"];
        } catch (bytes memory err) {
            vm.assertTrue(refusal != bytes4(0), "cancelOrder refused the exit of a void slot");
            _expect(err, refusal, "cancel refusal");
            ++done["cancel.refused"];
        }
    }

    /// @notice What an unrevealed commitment looks like to the shared code: no order (all zero), previewClaim and
    /// claim OrderNotFound; and the open-market entry points are closed.
    function probeCommitment(uint256 seed) external {
        vm.prank(relayer);
        try market.placeOrder(users[0], _currentSlot(), true, 3, MIN_ORDER_WH) {
            vm.assertTrue(false, "a sealed market took an open order");
        } catch (bytes memory err) {
            _expect(err, ISealedEnergyMarket.SealedMarketNoOpenOrders.selector, "placeOrder in a sealed market");
        }
        if (pending.length == 0) return;
        Pending memory p = pending[bound(seed, 0, pending.length - 1)];
        vm.assertEq(market.order(p.id).owner, address(0), "an unrevealed commitment reads as no order");
        try market.previewClaim(p.id) {
            vm.assertTrue(false, "previewClaim of a commitment");
        } catch (bytes memory err) {
            _expect(err, IEnergyMarket.OrderNotFound.selector, "previewClaim of a commitment");
        }
        vm.prank(relayer);
        try market.claim(p.id) {
            vm.assertTrue(false, "a commitment was claimed");
        } catch (bytes memory err) {
            _expect(err, IEnergyMarket.OrderNotFound.selector, "claim of a commitment");
        }
        ++done["probeCommitment"];
    }

    // =========================================================================================================
    //                                     AGENTS, ADMIN AND TIME
    // =========================================================================================================

    /// @notice User 0 re-authorizes its agent (new limits and price bounds, the use so far kept) or revokes it.
    function setAgent(uint256 budget, uint256 maxBuyTick, uint256 minSellTick, bool revoke) external {
        _setAgent(revoke, budget, 1_000_000, 8_000, maxBuyTick, minSellTick, 1 days);
    }

    /// @notice Pauses the market a quarter of the time it is called (commits are refused, reveals, reclaims, clears and
    /// claims go on), unpauses it otherwise.
    function pauseMarket(uint256 seed) external {
        _pauseMarket(seed % 4 == 0);
    }

    /// @notice Changes the fee (for commitments from now on: the fee is in the commit id) and the treasury (where
    /// bonds and fees go from now on).
    function setFee(uint256 feeBps, uint256 treasurySeed) external {
        market.setFee(uint16(bound(feeBps, 0, 1000)), treasuries[bound(treasurySeed, 0, 1)]);
        ++done["setFee"];
    }

    /// @notice Moves time forward: by up to a slot, onto an edge of a pending commitment's windows (the last commit
    /// second, gate closure, the first and last reveal seconds, the first second of clearing and reclaim), or
    /// rarely past the clear window (the slots of that time become void).
    function warp(uint256 seed, uint256 mode) external {
        mode = bound(mode, 0, 15);
        uint256 target = block.timestamp + bound(seed, 1, mode == 0 ? SLOT_SECONDS : SLOT_SECONDS / 3);
        if (mode >= 6 && mode < 15) {
            // The next edge in time of the nearest reveal window still ahead (of a pending commitment, else of the
            // settling slot), sometimes the one after it.
            (uint256 gc, uint256 revealEnds) = market.revealWindow(_currentSlot() - 1);
            for (uint256 k; k < pending.length; ++k) {
                (uint256 g, uint256 e) = _revealWindow(pending[k].slot);
                if (e >= block.timestamp && e < revealEnds) (gc, revealEnds) = (g, e);
            }
            uint256[6] memory edges = [gc - 1, gc, gc + 1, gc + REVEAL_SECONDS / 2, revealEnds, revealEnds + 1];
            uint256 skip = seed % 3 == 0 ? 1 : 0;
            for (uint256 j; j < 6; ++j) {
                if (edges[j] <= block.timestamp) continue;
                if (skip != 0 && j < 5) {
                    --skip;
                    continue;
                }
                target = edges[j];
                ++done["warp.edge"];
                break;
            }
        } else if (mode == 15 && seed % 4 == 0) {
            target = block.timestamp + 1 days + bound(seed >> 8, 0, 3600);
            ++done["warp.pastTheClearWindow"];
        }
        vm.warp(target);
        ++done["warp"];
    }

    // =========================================================================================================
    //                                          FINAL SWEEP
    // =========================================================================================================

    /// @notice Ends everything: past every reveal window, every commitment reclaimed, every slot with orders cleared
    /// (or, when void, its orders cancelled), every order claimed. Invariant 4 then checks the vaults hold it all.
    function sweep() external {
        uint256 latest = block.timestamp;
        for (uint256 k; k < pending.length; ++k) {
            (, uint256 revealEnds) = _revealWindow(pending[k].slot);
            if (revealEnds + 1 > latest) latest = revealEnds + 1;
        }
        for (uint256 k; k < openOrders.length; ++k) {
            (, uint256 revealEnds) = _revealWindow(openOrders[k].slot);
            if (revealEnds + 1 > latest) latest = revealEnds + 1;
        }
        vm.warp(latest);
        while (pending.length != 0) {
            _reclaimAt(pending.length - 1);
        }
        for (uint256 k; k < openOrders.length; ++k) {
            uint64 slot = openOrders[k].slot;
            if (!slotCleared[slot] && block.timestamp < market.voidAt(slot)) _clear(slot);
        }
        while (openOrders.length != 0) {
            uint256 k = openOrders.length - 1;
            OpenOrder memory o = openOrders[k];
            if (slotCleared[o.slot]) {
                _claimAt(k);
                continue;
            }
            vm.prank(relayer);
            market.cancelOrder(o.id);
            _unrest(o);
            _removeOrder(k);
            ++done["sweep.voidCancel"];
        }
        ++done["sweep"];
    }

    /// @notice After {sweep}: every account withdraws its whole vault, money and slot tokens.
    function withdrawAll() external {
        for (uint256 i; i < USERS + 2; ++i) {
            address account = i < USERS ? users[i] : treasuries[i - USERS];
            uint256 balance = market.balanceOf(account);
            if (balance != 0) _withdraw(account, balance);
            if (i >= USERS) continue;
            for (uint256 s; s < slotsSeen.length; ++s) {
                uint256 held = market.energyBalanceOf(account, slotsSeen[s]);
                if (held != 0) _withdrawEnergy(account, slotsSeen[s], held);
            }
        }
    }

    // =========================================================================================================
    //                                     VIEWS FOR THE INVARIANTS
    // =========================================================================================================

    /// @notice The handler's ledger of one slot, read in one call by the invariants.
    struct SlotLedger {
        bool cleared;
        uint256 energyIn;
        uint256 energyOut;
        uint256 lockedWh;
        uint256 sellEscrowWh;
        int256 energyPool;
        uint256 revealedBuyWh;
        uint256 revealedSellWh;
    }

    function slotLedger(uint64 slot) external view returns (SlotLedger memory l) {
        (l.cleared, l.energyIn, l.energyOut) = (slotCleared[slot], ghostEnergyIn[slot], ghostEnergyOut[slot]);
        (l.lockedWh, l.sellEscrowWh) = (ghostLockedWh[slot], ghostSellEscrowWh[slot]);
        l.energyPool = ghostEnergyPool[slot];
        (l.revealedBuyWh, l.revealedSellWh) = (ghostRevealedBuyWh[slot], ghostRevealedSellWh[slot]);
    }

    /// @notice The revealed quantity still in the book per tick of `slot`, buys and sells.
    function slotLevels(uint64 slot) external view returns (uint256[] memory buyWh, uint256[] memory sellWh) {
        (buyWh, sellWh) = (new uint256[](BOOK_TICKS), new uint256[](BOOK_TICKS));
        for (uint256 t; t < BOOK_TICKS; ++t) {
            (buyWh[t], sellWh[t]) = (ghostLevelBuyWh[slot][t], ghostLevelSellWh[slot][t]);
        }
    }

    function pendingList() external view returns (Pending[] memory) {
        return pending;
    }

    function openOrderList() external view returns (OpenOrder[] memory) {
        return openOrders;
    }

    function retiredList() external view returns (uint256[] memory) {
        return retiredIds;
    }

    function forfeitedList() external view returns (uint256[] memory) {
        return forfeitedIds;
    }

    function pendingCount() external view returns (uint256) {
        return pending.length;
    }

    function bond() external pure returns (uint256) {
        return BOND;
    }

    // =========================================================================================================
    //                                           INTERNALS
    // =========================================================================================================

    /// @dev A commitment's contents from the seeds: plan, side, slot, tick, quantity and collateral (`_fill` then
    /// computes salt and id). Quantity zero: nothing to commit (a sell without tokens in the vault).
    function _intent(address owner, bool byAgent, uint256 orderSeed, uint256 lockSeed)
        private
        returns (Intent memory it)
    {
        it.owner = owner;
        it.byAgent = byAgent;
        uint256 r = orderSeed % 16;
        it.plan = r < 3 ? PLAN_NEVER : r == 3 ? PLAN_SHORT : PLAN_REVEAL;
        it.isBuy = (orderSeed >> 8) % 2 == 0;
        if (it.isBuy) {
            // Mostly the slot that settles now and the next one: their reveal windows come within the run.
            uint256 ahead = bound(orderSeed >> 16, 0, 9);
            it.slot = _currentSlot() - 1 + uint64(ahead < 8 ? ahead / 4 : ahead == 8 ? 2 : 5);
            it.tick = _buyTick(orderSeed >> 24);
            it.qtyWh = uint64(bound(orderSeed >> 40, MIN_ORDER_WH, 3_000));
        } else {
            it.slot = _settlingSlot();
            it.tick = _sellTick(orderSeed >> 24);
            uint256 held = market.energyBalanceOf(owner, it.slot);
            if (held < MIN_ORDER_WH) return _intent(owner, byAgent, orderSeed & ~uint256(1 << 8), lockSeed); // a buy
            it.qtyWh = uint64(bound(orderSeed >> 40, MIN_ORDER_WH, held < 3_000 ? held : 3_000));
        }
        _seeSlot(it.slot);
        if (it.plan == PLAN_NEVER) {
            // Never opened: it may hide any tick; if it ever reached the book, a level beyond BOOK_TICKS would show.
            it.tick = uint16(bound(orderSeed >> 56, BOOK_TICKS, MAX_TICK));
        }
        if (it.plan == PLAN_SHORT && it.isBuy && it.qtyWh < 2_500) it.qtyWh = 2_500; // escrow above the bond
        // Collateral: exactly what the order needs, or more (size hidden), or tokens beside money (side hidden).
        uint256 extra = lockSeed % 3 == 0 ? 0 : bound(lockSeed >> 8, 1, 40_000);
        uint256 need = it.isBuy ? _cost(it.qtyWh, it.tick) : 0;
        it.lockedMoney = uint96((need > BOND ? need : BOND) + extra);
        if (!it.isBuy) it.lockedWh = it.qtyWh;
        uint256 heldWh = market.energyBalanceOf(owner, it.slot);
        if (lockSeed % 5 == 1 && it.slot == _currentSlot() - 1) {
            // Extra tokens: a sell's size or a buy's side hidden.
            uint256 extraWh = bound(lockSeed >> 32, 1, 500);
            if (it.lockedWh + extraWh <= heldWh) it.lockedWh += uint64(extraWh);
        }
        if (it.plan == PLAN_SHORT) {
            if (it.isBuy) it.lockedMoney = uint96(need - 1);
            else it.lockedWh = it.qtyWh - 1;
        }
        if (byAgent && it.lockedMoney > 150_000) it.lockedMoney = 150_000;
        if (byAgent && it.isBuy && it.plan == PLAN_REVEAL && it.lockedMoney < need) it.plan = PLAN_SHORT;
    }

    /// @dev The salt and the commit id of `it`.
    function _fill(Intent memory it) private {
        it.salt = keccak256(abi.encode("salt", ++saltNonce));
        it.id = _commitId(it.owner, it.slot, _commitment(it));
    }

    function _commitment(Intent memory it) private view returns (bytes32 c) {
        c = keccak256(
            abi.encode(block.chainid, address(market), it.slot, it.owner, it.isBuy, it.tick, it.qtyWh, it.salt)
        );
        vm.assertEq(c, market.commitmentOf(it.owner, it.slot, it.isBuy, it.tick, it.qtyWh, it.salt), "commitmentOf");
    }

    function _commitId(address owner, uint64 slot, bytes32 commitment_) private view returns (uint256) {
        return (uint256(slot) << 192) | (uint256(market.params().feeBps) << 64) | _idBits(commitment_, owner);
    }

    function _idBits(bytes32 commitment_, address owner) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(commitment_, owner))) & ID_HASH_MASK;
    }

    /// @dev What the order of `it` needs locked: a buy's escrow in money (a sell needs its tokens and the bond).
    function _need(Intent memory it) private pure returns (uint256) {
        uint256 need = it.isBuy ? _cost(it.qtyWh, it.tick) : 0;
        return need > BOND ? need : BOND;
    }

    /// @dev The error commitOrder must revert with, in the contract's order of checks: pause, delegation and the
    /// agent's allowances, the order window, the bond, the size, a taken id, the tokens, the money.
    function _commitRefusal(Intent memory it) private view returns (bytes4) {
        if (market.paused()) return Pausable.EnforcedPause.selector;
        if (it.byAgent) {
            bytes4 agentRefusal = _agentRefusal(it.lockedMoney, it.lockedWh);
            if (agentRefusal != bytes4(0)) return agentRefusal;
        }
        (uint256 opensAt, uint256 closesAt) = market.orderWindow(it.slot);
        if (block.timestamp >= closesAt) return IEnergyMarket.OrderWindowClosed.selector;
        if (block.timestamp < opensAt) return IEnergyMarket.OrderWindowNotOpen.selector;
        if (it.lockedMoney < BOND) return ISealedEnergyMarket.CommitmentBondNotCovered.selector;
        if (it.lockedMoney > type(uint88).max) return ISealedEnergyMarket.CommitmentLockTooLarge.selector;
        if (_taken(it.id)) return ISealedEnergyMarket.CommitmentExists.selector;
        if (it.lockedWh > market.energyBalanceOf(it.owner, it.slot)) {
            return IEnergyMarket.MarketInsufficientEnergy.selector;
        }
        if (it.lockedMoney > market.balanceOf(it.owner)) return IEnergyMarket.MarketInsufficientBalance.selector;
        return bytes4(0);
    }

    /// @dev commitOrders checks the delegation first, then each commitment (the handler sends only valid ones), then
    /// the agent's allowances on the sums, then the money.
    function _batchRefusal(address owner, bool byAgent, uint256 money, uint256 wh) private view returns (bytes4) {
        if (market.paused()) return Pausable.EnforcedPause.selector;
        if (byAgent) {
            bytes4 agentRefusal = _agentRefusal(money, wh);
            if (agentRefusal != bytes4(0)) return agentRefusal;
        }
        if (money > market.balanceOf(owner)) return IEnergyMarket.MarketInsufficientBalance.selector;
        return bytes4(0);
    }

    function _agentRefusal(uint256 money, uint256 wh) private view returns (bytes4) {
        IEnergyMarket.Delegation memory d = market.delegation(users[0], agent);
        if (d.expiry == 0) return IEnergyMarket.NotOwnerOrAgent.selector;
        if (block.timestamp >= d.expiry) return IEnergyMarket.AgentExpired.selector;
        (uint256 spent, uint256 soldWh) = _agentUse(d);
        if (money != 0 && spent + money > d.budgetPerDay) return IEnergyMarket.AgentBudgetExceeded.selector;
        if (wh != 0 && soldWh + wh > d.sellWhPerDay) return IEnergyMarket.AgentSellLimitExceeded.selector;
        return bytes4(0);
    }

    /// @dev Whether `id` holds a commitment or an order now.
    function _taken(uint256 id) private view returns (bool) {
        for (uint256 k; k < pending.length; ++k) {
            if (pending[k].id == id) return true;
        }
        for (uint256 k; k < openOrders.length; ++k) {
            if (openOrders[k].id == id) return true;
        }
        return false;
    }

    function _recordCommit(Intent memory it) private {
        pending.push(
            Pending({
                id: it.id,
                owner: it.owner,
                agent: it.byAgent ? agent : address(0),
                slot: it.slot,
                isBuy: it.isBuy,
                tick: it.tick,
                qtyWh: it.qtyWh,
                salt: it.salt,
                lockedMoney: it.lockedMoney,
                lockedWh: it.lockedWh,
                plan: it.plan
            })
        );
        ghostLockedMoney += it.lockedMoney;
        ghostLockedWh[it.slot] += it.lockedWh;
        ISealedEnergyMarket.Commitment memory c = market.commitment(it.id);
        vm.assertEq(c.owner, it.owner, "the commitment's owner");
        vm.assertEq(c.agent, it.byAgent ? agent : address(0), "the commitment's agent");
        vm.assertEq(c.lockedMoney, it.lockedMoney, "the money locked");
        vm.assertEq(c.lockedWh, it.lockedWh, "the Wh locked");
    }

    /// @dev The error revealOrder of `p` (its right opening) must revert with: the window, then the collateral
    /// and an agent's price bounds, in the contract's order.
    function _revealRefusal(Pending memory p) private view returns (bytes4) {
        (uint256 gc, uint256 revealEnds) = market.revealWindow(p.slot);
        if (block.timestamp <= gc) return ISealedEnergyMarket.RevealWindowNotOpen.selector;
        if (block.timestamp > revealEnds) return ISealedEnergyMarket.RevealWindowClosed.selector;
        if (p.qtyWh < MIN_ORDER_WH) return IEnergyMarket.OrderQtyTooSmall.selector;
        if (p.tick > MAX_TICK) return IEnergyMarket.OrderTickOutOfRange.selector;
        if (p.agent != address(0)) {
            IEnergyMarket.Delegation memory d = market.delegation(p.owner, p.agent);
            if (p.isBuy ? p.tick > d.maxBuyTick : p.tick < d.minSellTick) {
                return IEnergyMarket.AgentPriceOutOfBounds.selector;
            }
        }
        if (p.isBuy && _cost(p.qtyWh, p.tick) > p.lockedMoney) {
            return ISealedEnergyMarket.CommitmentMoneyShort.selector;
        }
        if (!p.isBuy && p.qtyWh > p.lockedWh) return ISealedEnergyMarket.CommitmentEnergyShort.selector;
        return bytes4(0);
    }

    /// @dev A pending commitment the handler means to reveal and that is in its reveal window; a quarter of the
    /// time, when there is none, one outside it (the reveal must then be refused).
    function _revealable(uint256 seed) private view returns (bool found, uint256 k) {
        uint256 n = pending.length;
        if (n == 0) return (false, 0);
        uint256 start = bound(seed, 0, n - 1);
        for (uint256 j; j < n; ++j) {
            uint256 i = (start + j) % n;
            if (pending[i].plan == PLAN_NEVER) continue;
            (uint256 gc, uint256 revealEnds) = _revealWindow(pending[i].slot);
            if (block.timestamp > gc && block.timestamp <= revealEnds) return (true, i);
            if (!found) (found, k) = (true, i);
        }
        if (seed % 4 != 0) found = false;
    }

    /// @dev A pending commitment in its reveal window, starting the search at `seed`; else the one at `seed`.
    function _inWindow(uint256 seed) private view returns (uint256) {
        uint256 n = pending.length;
        uint256 start = bound(seed, 0, n - 1);
        for (uint256 j; j < n; ++j) {
            uint256 i = (start + j) % n;
            (uint256 gc, uint256 revealEnds) = _revealWindow(pending[i].slot);
            if (block.timestamp > gc && block.timestamp <= revealEnds) return i;
        }
        return start;
    }

    /// @dev A reveal credits the owner the collateral its order does not need, bond included.
    function _checkRevealCredit(Pending memory p, uint256 money, uint256 energy) private view {
        uint256 escrow = p.isBuy ? _cost(p.qtyWh, p.tick) : 0;
        vm.assertEq(market.balanceOf(p.owner) - money, p.lockedMoney - escrow, "the money not needed is back");
        vm.assertEq(
            market.energyBalanceOf(p.owner, p.slot) - energy,
            p.lockedWh - (p.isBuy ? 0 : p.qtyWh),
            "the Wh not needed are back"
        );
        IEnergyMarket.Order memory o = market.order(p.id);
        vm.assertEq(o.owner, p.owner, "the revealed order's owner");
        vm.assertTrue(o.isBuy == p.isBuy && o.tick == p.tick && o.qtyWh == p.qtyWh, "the committed order");
        vm.assertEq(market.commitment(p.id).owner, address(0), "a revealed commitment is gone");
    }

    function _recordReveal(uint256 k) private {
        Pending memory p = pending[k];
        pending[k] = pending[pending.length - 1];
        pending.pop();
        ghostLockedMoney -= p.lockedMoney;
        ghostLockedWh[p.slot] -= p.lockedWh;
        wasRevealed[p.id] = true;
        openOrders.push(OpenOrder(p.id, p.owner, p.slot, p.isBuy, p.tick, p.qtyWh));
        if (p.isBuy) {
            ghostBuyEscrow += _cost(p.qtyWh, p.tick);
            ghostLevelBuyWh[p.slot][p.tick] += p.qtyWh;
            ghostRevealedBuyWh[p.slot] += p.qtyWh;
        } else {
            ghostSellEscrowWh[p.slot] += p.qtyWh;
            ghostLevelSellWh[p.slot][p.tick] += p.qtyWh;
            ghostRevealedSellWh[p.slot] += p.qtyWh;
        }
    }

    /// @dev Reclaims pending commitment `k` (its window has ended) and checks where the collateral went.
    function _reclaimAt(uint256 k) private {
        Pending memory p = pending[k];
        address treasury = market.params().treasury;
        uint256 treasuryBefore = market.balanceOf(treasury);
        uint256 money = market.balanceOf(p.owner);
        uint256 energy = market.energyBalanceOf(p.owner, p.slot);
        vm.prank(relayer);
        market.reclaimCommitment(p.id);
        uint256 received = market.balanceOf(treasury) - treasuryBefore;
        vm.assertEq(received, BOND, "the treasury receives the bond, once");
        vm.assertEq(market.balanceOf(p.owner) - money, p.lockedMoney - BOND, "the rest of the money back");
        vm.assertEq(market.energyBalanceOf(p.owner, p.slot) - energy, p.lockedWh, "every locked Wh back");
        vm.assertEq(market.commitment(p.id).owner, address(0), "a reclaimed commitment is gone");
        pending[k] = pending[pending.length - 1];
        pending.pop();
        ghostLockedMoney -= p.lockedMoney;
        ghostLockedWh[p.slot] -= p.lockedWh;
        ++ghostForfeited;
        ghostBondReceipts += received;
        retiredIds.push(p.id);
        forfeitedIds.push(p.id);
        ++done[p.plan == PLAN_NEVER ? "reclaim.neverRevealed" : p.plan == PLAN_SHORT ? "reclaim.short" : "reclaim.late"];
    }

    function _clear(uint64 slot) private {
        vm.prank(relayer);
        market.clear(slot);
        slotCleared[slot] = true;
        for (uint256 k; k < openOrders.length; ++k) {
            if (openOrders[k].slot != slot) continue;
            (uint64 filledWh,,,) = market.previewClaim(openOrders[k].id);
            vm.assertLe(filledWh, openOrders[k].qtyWh, "no order fills beyond its quantity");
        }
        ++done[market.clearing(slot).volumeWh == 0 ? "clear.noVolume" : "clear.volume"];
    }

    /// @dev Order `o` of a cleared slot was claimed: its escrow is no longer owed; what it paid or was paid, gave or
    /// received moves the pools.
    function _settled(OpenOrder memory o, uint64 filledWh, uint256 amount, uint256 fee, uint256 refund)
        internal
        override
    {
        if (o.isBuy) {
            ghostBuyEscrow -= amount + refund;
            ghostMoneyPool += int256(amount);
            ghostEnergyPool[o.slot] -= int256(uint256(filledWh));
        } else {
            ghostSellEscrowWh[o.slot] -= filledWh + refund;
            ghostMoneyPool -= int256(amount + fee);
            ghostEnergyPool[o.slot] += int256(uint256(filledWh));
            ghostFeeReceipts += fee;
        }
        if (filledWh != 0) ++ghostFilledOrders;
        if (_rationed(o)) ghostMarginalClaimed[o.slot] += o.qtyWh;
    }

    /// @dev The order's id is retired: it holds nothing any more.
    function _removeOrder(uint256 k) internal override {
        retiredIds.push(openOrders[k].id);
        super._removeOrder(k);
    }

    function _pendingIndex(uint256 id) private view returns (uint256 k) {
        while (pending[k].id != id) ++k;
    }

    // ---- meters, vault, agent ------------------------------------------------------------------------------

    /// @dev Meter `i` reports at the latest slot boundary with `exportWh` more exported. When it missed a boundary,
    /// it first reports the one before (a gap: unattributed, nothing minted), so the new energy is attributed to the
    /// slot that just ended and minted to the user.
    function _read(uint256 i, uint256 exportWh) private {
        uint64 boundary = uint64(EPOCH + (block.timestamp - EPOCH) / SLOT_SECONDS * SLOT_SECONDS);
        MeterCursor memory c = meterCursor[i];
        if (c.timestamp >= boundary) return;
        if (c.seq != 0 && c.timestamp < boundary - SLOT_SECONDS) {
            _submit(i, c, boundary - SLOT_SECONDS, 0);
            c = meterCursor[i];
        }
        _submit(i, c, boundary, c.seq == 0 ? 0 : exportWh);
    }

    function _submit(uint256 i, MeterCursor memory c, uint64 timestamp, uint256 exportWh) private {
        IMeterRegistry.MeterReading memory r = IMeterRegistry.MeterReading({
            meterId: meterIds[i],
            seq: c.seq + 1,
            timestamp: timestamp,
            importWh: c.importWh,
            exportWh: c.exportWh + uint64(exportWh),
            prevSeq: c.seq,
            prevTimestamp: c.timestamp
        });
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(meterKeys[i], registry.readingDigest(r));
        vm.prank(relayer);
        registry.submitReading(r, abi.encodePacked(rr, s, v));
        meterCursor[i] = MeterCursor(r.seq, r.timestamp, r.importWh, r.exportWh);
    }

    /// @dev Deposits what `owner`'s vault lacks for `amount` (most of the time: the rest are refusals to predict).
    function _topUp(address owner, uint256 amount) private {
        uint256 balance = market.balanceOf(owner);
        if (balance < amount && amount <= type(uint88).max && saltNonce % 8 != 0) _deposit(owner, amount - balance);
    }

    function _withdraw(address account, uint256 amount) private {
        uint256 walletBefore = euro.balanceOf(account);
        vm.prank(account);
        market.withdraw(amount);
        ghostWithdrawn += amount;
        if (account == treasuries[0] || account == treasuries[1]) ghostTreasuryWithdrawn += amount;
        vm.assertEq(euro.balanceOf(account) - walletBefore, amount, "the withdrawal arrived");
    }

    function _agentActive() private view returns (bool) {
        IEnergyMarket.Delegation memory d = market.delegation(users[0], agent);
        return d.expiry != 0 && block.timestamp < d.expiry;
    }

    /// @dev Books an agent's commitment(s) of `money` and `wh` into the handler's model of its rolling use and checks
    /// the market counted the same.
    function _chargeAgent(uint256 money, uint256 wh) private {
        IEnergyMarket.Delegation memory d = market.delegation(users[0], agent);
        (uint256 spent, uint256 soldWh) = _agentUse(d);
        ghostAgentSpent = spent + money;
        ghostAgentSoldWh = soldWh + wh;
        ghostAgentUpdatedAt = block.timestamp;
        vm.assertEq(d.spent, ghostAgentSpent, "the agent's budget is charged the money it locks");
        vm.assertEq(d.soldWh, ghostAgentSoldWh, "and its sell allowance the Wh it locks");
        vm.assertEq(d.updatedAt, block.timestamp, "stamped when it commits");
    }

    // ---- slots, prices, accounts ---------------------------------------------------------------------------

    /// @dev The owner, a keeper (the relayer), another user or the agent, by `seed`.
    function _anyone(address owner, uint256 seed) private view returns (address) {
        uint256 who = seed % 4;
        return who == 0 ? owner : who == 1 ? relayer : who == 2 ? agent : users[0] == owner ? users[1] : users[0];
    }

    /// @dev The reveal window of `slot` by its definition (section 16; {SealedEnergyMarket-revealWindow} without a
    /// call, for the loops): gate closure (exclusive) and gate closure + the reveal window (inclusive).
    function _revealWindow(uint64 slot) private pure returns (uint256 gc, uint256 revealEnds) {
        gc = EPOCH + (uint256(slot) + 1) * SLOT_SECONDS + SETTLEMENT_SECONDS;
        revealEnds = gc + REVEAL_SECONDS;
    }
}
