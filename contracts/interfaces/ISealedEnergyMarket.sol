// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEnergyMarket} from "./IEnergyMarket.sol";

/// @title ISealedEnergyMarket
/// @notice The sealed-bid mode of {IEnergyMarket}: during a slot's order window a trader (or its agent) posts only a
/// commitment, a hash of the order and a secret salt, and locks collateral from the vault; after gate closure, in
/// the reveal window, anyone opens it with the order and the salt, and the order joins the book exactly as an open
/// order would. {clear} waits for the end of the reveal window; clearing, rounding and claims are those of
/// {IEnergyMarket}. A commitment not revealed forfeits its bond to the treasury and gets the rest back by
/// {reclaimCommitment}. {placeOrder} and {placeOrders} always revert ({SealedMarketNoOpenOrders}); {cancelOrder}
/// is left only as the void-slot exit.
/// @dev The commitment is `keccak256(abi.encode(block.chainid, market, slot, owner, isBuy, tick, qtyWh, salt))`
/// ({commitmentOf}). The commit id is also the id of the revealed order and keeps the order id layout:
/// `commitId = slot << 192 | feeBps << 64 | h`, where `h` is `uint256(keccak256(abi.encode(commitment, owner)))`
/// with bits 64..79 and 192..255 cleared (176 bits): no nonce is stored, and a copy of someone's commitment under
/// another owner lands on another id.
interface ISealedEnergyMarket is IEnergyMarket {
    /*//////////////////////////////////////////////////////////////
                                 STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice One commitment of a {commitOrders} batch, see {commitOrder}.
    struct CommitRequest {
        uint64 slot;
        bytes32 commitment;
        uint96 lockedMoney;
        uint64 lockedWh;
    }

    /// @notice One reveal of a {revealOrders} batch, see {revealOrder}.
    struct RevealRequest {
        uint256 commitId;
        bool isBuy;
        uint16 tick;
        uint64 qtyWh;
        bytes32 salt;
    }

    /// @notice An unrevealed commitment, decoded (all zero when the id holds none: never committed, revealed or
    /// reclaimed). `agent` is the agent that committed it (zero when the owner did).
    struct Commitment {
        address owner;
        address agent;
        uint96 lockedMoney;
        uint64 lockedWh;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice The reveal window `revealSeconds` is zero or not shorter than `maxRevealSeconds` (CLEAR_WINDOW_SECONDS).
    error SealedRevealWindowInvalid(uint32 revealSeconds, uint32 maxRevealSeconds);

    /// @notice The bond is zero or above `maxBond` (the most a commitment can lock).
    error SealedBondInvalid(uint256 bond, uint256 maxBond);

    /// @notice In a sealed market orders enter the book only by {commitOrder} and {revealOrder}.
    error SealedMarketNoOpenOrders();

    /// @notice A commitment must lock at least the bond in money: `lockedMoney` is below `bond`.
    error CommitmentBondNotCovered(uint256 lockedMoney, uint256 bond);

    /// @notice A commitment can lock at most `maxLockedMoney` (2^88 - 1) payment units.
    error CommitmentLockTooLarge(uint256 lockedMoney, uint256 maxLockedMoney);

    /// @notice `commitId` already holds a commitment or an order (the same commitment committed twice).
    error CommitmentExists(uint256 commitId);

    /// @notice `commitId` holds no unrevealed commitment (never committed, already revealed or reclaimed).
    error CommitmentNotFound(uint256 commitId);

    /// @notice The order and salt given do not hash to the commitment of `commitId` (wrong salt, contents or owner).
    error CommitmentMismatch(uint256 commitId);

    /// @notice The buy revealed for `commitId` escrows `needed` payment units, its commitment locked `locked`.
    error CommitmentMoneyShort(uint256 commitId, uint256 needed, uint256 locked);

    /// @notice The sell revealed for `commitId` needs `neededWh` slot tokens, its commitment locked `lockedWh`.
    error CommitmentEnergyShort(uint256 commitId, uint256 neededWh, uint256 lockedWh);

    /// @notice Commitments of `slot` can be revealed only after its gate closure `gateClosure`.
    error RevealWindowNotOpen(uint64 slot, uint256 gateClosure);

    /// @notice The reveal window of `slot` ended at `revealEnds` (inclusive).
    error RevealWindowClosed(uint64 slot, uint256 revealEnds);

    /// @notice `slot` cannot be cleared, nor its commitments reclaimed, until its reveal window ends at `revealEnds`.
    error RevealWindowOpen(uint64 slot, uint256 revealEnds);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A commitment was posted for `owner` and `slot` and its collateral locked from the owner's vault. The
    /// order it hides is not in the event.
    event OrderCommitted(
        uint256 indexed commitId, address indexed owner, uint64 indexed slot, uint256 lockedMoney, uint64 lockedWh
    );

    /// @notice The commitment `commitId` was opened; its order `orderId` joined the book (see {OrderPlaced}).
    event OrderRevealed(uint256 indexed commitId, uint256 indexed orderId);

    /// @notice The commitment `commitId` of `owner` was not revealed in time: `bond` went to the treasury's vault,
    /// `refundMoney` and `refundWh` back to the owner's.
    event CommitmentForfeited(
        uint256 indexed commitId, address indexed owner, uint256 bond, uint256 refundMoney, uint64 refundWh
    );

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The money every commitment must lock, kept by the treasury when the commitment is not revealed.
    /// @return The bond, payment base units.
    function bondAmount() external view returns (uint256);

    /// @notice Length of the reveal window that follows every gate closure.
    /// @return The reveal window, seconds.
    function revealSeconds() external view returns (uint32);

    /// @notice The reveal window of `slot`: reveals are accepted when `opensAfter < block.timestamp <= closesAt`;
    /// {clear} and {reclaimCommitment} from `closesAt + 1` on.
    /// @return opensAfter Gate closure of `slot` (exclusive).
    /// @return closesAt Gate closure + {revealSeconds} (inclusive).
    function revealWindow(uint64 slot) external view returns (uint256 opensAfter, uint256 closesAt);

    /// @notice The commitment hiding an order of `owner` in `slot` on this market and chain, for salt `salt`.
    /// @return `keccak256(abi.encode(block.chainid, address(this), slot, owner, isBuy, tick, qtyWh, salt))`.
    function commitmentOf(address owner, uint64 slot, bool isBuy, uint16 tick, uint64 qtyWh, bytes32 salt)
        external
        view
        returns (bytes32);

    /// @notice The unrevealed commitment `commitId`, see {Commitment}.
    /// @return The commitment, all zero when `commitId` holds none.
    function commitment(uint256 commitId) external view returns (Commitment memory);

    /*//////////////////////////////////////////////////////////////
                               COMMITMENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Posts `commitment_` (see {commitmentOf}) for `owner` and `slot` and locks `lockedMoney` payment units
    /// and `lockedWh` tokens of `slot` from the owner's vault; the amounts are the trader's choice (a buy needs its
    /// escrow, a sell its tokens, and more hides the size). Emits {OrderCommitted}.
    /// @dev Requirements:
    /// - not paused;
    /// - the caller is `owner`, or an unexpired agent of `owner` whose rolling budget covers `lockedMoney` and whose
    ///   sell limit covers `lockedWh` (its price bounds are checked at reveal);
    /// - `opensAt <= block.timestamp < gateClosure` for `slot` (the order window);
    /// - `bondAmount <= lockedMoney < 2^88`; the owner's vault covers both amounts;
    /// - the commit id is free (the same commitment for the same owner twice is refused).
    /// @return commitId The id of the commitment, which the revealed order keeps.
    function commitOrder(address owner, uint64 slot, bytes32 commitment_, uint96 lockedMoney, uint64 lockedWh)
        external
        returns (uint256 commitId);

    /// @notice Posts several commitments for `owner`, all or none. Emits {OrderCommitted} for each.
    /// @dev Requirements: those of {commitOrder}, for every commitment; an agent's rolling allowances cover their sums.
    /// @return commitIds The ids of the commitments, in the order of `commits`.
    function commitOrders(address owner, CommitRequest[] calldata commits)
        external
        returns (uint256[] memory commitIds);

    /// @notice Opens commitment `commitId`: the order joins the book (as {placeOrder} would book it, {OrderPlaced}
    /// under the id `commitId`), its escrow is taken from the locked collateral and the rest, bond included, goes
    /// back to the owner's vault. Anyone may send it: the commitment binds the owner. Works while paused.
    /// Emits {OrderPlaced} and {OrderRevealed}.
    /// @dev Requirements:
    /// - `commitId` holds an unrevealed commitment;
    /// - `gateClosure < block.timestamp <= gateClosure + revealSeconds` for its slot (the reveal window);
    /// - the order and `salt` hash to the commitment of its owner, slot, market and chain;
    /// - `qtyWh >= minOrderWh`; `tick <= maxTick`; if an agent committed, `tick` within its current price bounds;
    /// - the locked money covers a buy's escrow, the locked tokens a sell's quantity.
    /// @return orderId The id of the order, equal to `commitId`.
    function revealOrder(uint256 commitId, bool isBuy, uint16 tick, uint64 qtyWh, bytes32 salt)
        external
        returns (uint256 orderId);

    /// @notice {revealOrder} for several commitments. A commitment no longer stored (revealed by someone else
    /// meanwhile, reclaimed, or never posted) is skipped with order id 0, so that a keeper's batch survives a
    /// copied reveal; any other failure reverts the whole batch.
    /// @dev Requirements: those of {revealOrder}, for every commitment still stored.
    /// @return orderIds The ids of the orders, in the order of `reveals` (0 where skipped).
    function revealOrders(RevealRequest[] calldata reveals) external returns (uint256[] memory orderIds);

    /// @notice Ends a commitment not revealed in its reveal window: the bond goes to the treasury's vault, the rest
    /// of the collateral back to the owner's. Anyone may call: credits only go to the owner and the treasury.
    /// Works while paused. Emits {CommitmentForfeited}.
    /// @dev Requirements:
    /// - `commitId` holds an unrevealed commitment; its reveal window has ended.
    function reclaimCommitment(uint256 commitId) external;
}
