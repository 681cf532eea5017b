// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title EnergyToken
/// @notice ERC-1155 slot tokens: id = slot, one unit = one Wh metered as exported in that slot. Deployed by the
/// MeterRegistry, which alone mints. Freely transferable; burned by {redeem} against metered import.
/// @dev Total supply is tracked per id here (minted minus redeemed): mint and redeem are the only two paths that
/// change it, so OpenZeppelin's ERC1155Supply (which also writes a grand total on every mint) is not needed.
/// Balances and metered imports of three consecutive slots of one holder share one storage word (see {_slots}):
/// a meter's readings of consecutive slots write a fresh word only for the first slot of every three. In return a
/// holder's balance of one slot, and its import recorded in one slot, are capped at {MAX_AMOUNT_WH}.
///
/// WARNING: {mintFromReading} credits the meter owner without calling `onERC1155Received`, on purpose: a meter owner
/// is vetted by the registry's METER_ADMIN_ROLE, and the oracle path must never be blocked or re-entered by a
/// receiver hook (one rejecting owner would otherwise block a whole batch of readings). A contract owner must be able
/// to move ERC-1155 tokens by itself. Transfers use the regular safe-transfer acceptance checks.
contract EnergyToken is ERC1155, IEnergyToken {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyToken
    uint256 public constant MAX_AMOUNT_WH = (1 << 42) - 1;

    /// @dev Slots per storage word: slot `s` is lane `s % 3` of word `s / 3`.
    uint256 private constant _SLOTS_PER_WORD = 3;

    /// @dev Bits of one lane: an amount field below and one above, 42 bits each (3 x 84 = 252 of 256 bits used).
    uint256 private constant _LANE_BITS = 84;

    /// @dev Bits of one amount field; the import field of a lane starts here.
    uint256 private constant _AMOUNT_BITS = 42;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyToken
    address public immutable registry;

    /// @dev Balances and imports, three slots per word: word `s / 3` of a holder holds slot `s` in bits
    /// `84 * (s % 3)` upwards, its balance in the low 42 bits of that lane and its metered import in the high 42.
    /// Every field stays <= MAX_AMOUNT_WH (checked where it grows), so adding to a field never carries into the next.
    mapping(uint256 word => mapping(address holder => uint256)) private _slots;

    /// @dev Redeemed amounts in the same lanes (the low 42 bits of each; redeemed <= imported <= MAX_AMOUNT_WH).
    /// Written by {redeem} only, so a reading never touches it.
    mapping(uint256 word => mapping(address holder => uint256)) private _redeemed;

    mapping(uint256 slot => uint256) private _totalSupply;

    /// @param uri_ ERC-1155 metadata URI (clients substitute `{id}`).
    constructor(string memory uri_) ERC1155(uri_) {
        registry = msg.sender;
    }

    /*//////////////////////////////////////////////////////////////
                                 MINTING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyToken
    function mintFromReading(address owner, uint256 slot, uint64 exportWh, uint64 importWh) external {
        if (msg.sender != registry) revert EnergyTokenUnauthorized(msg.sender);
        // One read and one write of the owner's word for both amounts. No acceptance check, see the contract
        // WARNING; otherwise the checks and the event of {ERC1155-_mint} for one id.
        (uint256 index, uint256 shift) = _lane(slot);
        uint256 word = _slots[index][owner];
        uint256 lane = word >> shift;
        // Cannot overflow: a 42-bit field plus a uint64.
        uint256 balance;
        uint256 imported;
        unchecked {
            balance = (lane & MAX_AMOUNT_WH) + exportWh;
            imported = (lane >> _AMOUNT_BITS & MAX_AMOUNT_WH) + importWh;
        }
        if (balance > MAX_AMOUNT_WH) revert EnergyTokenBalanceOverflow(owner, slot, balance);
        if (imported > MAX_AMOUNT_WH) revert EnergyTokenImportOverflow(owner, slot, imported);
        // Cannot overflow: both sums fit their fields (checked above), so the additions carry out of neither; the
        // amounts are below 2^42 here and shifted by at most 168 + 42 bits.
        unchecked {
            _slots[index][owner] = word + ((uint256(exportWh) | uint256(importWh) << _AMOUNT_BITS) << shift);
        }
        if (exportWh != 0) {
            // Overflow check kept: the supply of an id is a sum of uint64 deltas.
            _totalSupply[slot] += exportWh;
            emit TransferSingle(msg.sender, address(0), owner, slot, exportWh);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               REDEMPTION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyToken
    function redeem(uint256 slot, uint64 amountWh) external {
        if (amountWh == 0) revert EnergyTokenZeroAmount();
        (uint256 index, uint256 shift) = _lane(slot);
        uint256 imported = _slots[index][msg.sender] >> (shift + _AMOUNT_BITS) & MAX_AMOUNT_WH;
        uint256 redeemedWord = _redeemed[index][msg.sender];
        uint256 redeemed = redeemedWord >> shift & MAX_AMOUNT_WH;
        // Cannot underflow: redeemed <= imported is an invariant of this function.
        uint256 redeemable;
        unchecked {
            redeemable = imported - redeemed;
        }
        if (amountWh > redeemable) {
            revert EnergyTokenRedeemExceedsImport(msg.sender, slot, amountWh, redeemable);
        }
        // Cannot overflow or carry into the next lane: redeemed + amountWh <= imported <= MAX_AMOUNT_WH.
        unchecked {
            _redeemed[index][msg.sender] = redeemedWord + (uint256(amountWh) << shift);
        }
        // Reverts with ERC1155InsufficientBalance when the caller holds too few tokens.
        _burn(msg.sender, slot, amountWh);
        // Cannot underflow: the burn succeeded, so the supply held at least amountWh.
        unchecked {
            _totalSupply[slot] -= amountWh;
        }
        emit Redeemed(msg.sender, slot, amountWh);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyToken
    function importedWh(address owner, uint256 slot) external view returns (uint256) {
        (uint256 index, uint256 shift) = _lane(slot);
        return _slots[index][owner] >> (shift + _AMOUNT_BITS) & MAX_AMOUNT_WH;
    }

    /// @inheritdoc IEnergyToken
    function redeemedWh(address owner, uint256 slot) external view returns (uint256) {
        (uint256 index, uint256 shift) = _lane(slot);
        return _redeemed[index][owner] >> shift & MAX_AMOUNT_WH;
    }

    /// @inheritdoc IEnergyToken
    function totalSupply(uint256 slot) external view returns (uint256) {
        return _totalSupply[slot];
    }

    /// @inheritdoc IERC1155
    function balanceOf(address account, uint256 id) public view override(ERC1155, IERC1155) returns (uint256) {
        (uint256 index, uint256 shift) = _lane(id);
        return _slots[index][account] >> shift & MAX_AMOUNT_WH;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Where slot `slot` lives: its word's index in {_slots} and {_redeemed}, and its lane's first bit.
    /// @return index `slot / 3`.
    /// @return shift `84 * (slot % 3)`.
    function _lane(uint256 slot) private pure returns (uint256 index, uint256 shift) {
        // Cannot overflow: slot % 3 <= 2, so the product is at most 168.
        unchecked {
            index = slot / _SLOTS_PER_WORD;
            shift = (slot % _SLOTS_PER_WORD) * _LANE_BITS;
        }
    }

    /// @dev OpenZeppelin's balance bookkeeping, moved into {_slots} (OpenZeppelin's own balance mapping stays
    /// unused). Same checks, errors and events as {ERC1155-_update}, plus the cap: a receiver's balance of an id
    /// above MAX_AMOUNT_WH reverts with {EnergyTokenBalanceOverflow}.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[i];
            uint256 value = values[i];
            (uint256 index, uint256 shift) = _lane(id);
            if (from != address(0)) {
                uint256 word = _slots[index][from];
                uint256 fromBalance = word >> shift & MAX_AMOUNT_WH;
                if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
                // Cannot underflow or borrow from another field: value <= fromBalance, the field's content.
                unchecked {
                    _slots[index][from] = word - (value << shift);
                }
            }
            if (to != address(0)) {
                // Read after the sender's write: a transfer to oneself adds back what it took.
                uint256 word = _slots[index][to];
                // Overflow check kept: `value` is any uint256 when nothing is taken from a sender.
                uint256 toBalance = (word >> shift & MAX_AMOUNT_WH) + value;
                if (toBalance > MAX_AMOUNT_WH) revert EnergyTokenBalanceOverflow(to, id, toBalance);
                // Cannot overflow or carry into another field: the field's new content, toBalance, fits it.
                unchecked {
                    _slots[index][to] = word + (value << shift);
                }
            }
        }
        if (ids.length == 1) {
            emit TransferSingle(_msgSender(), from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(_msgSender(), from, to, ids, values);
        }
    }
}
