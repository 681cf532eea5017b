// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title EnergyToken
/// @notice ERC-1155 slot tokens: id = slot, one unit = one Wh metered as exported in that slot. Deployed by the
/// MeterRegistry, which alone mints. Freely transferable; burned by {redeem} against metered import.
/// @dev Total supply is tracked per id here (minted minus redeemed): mint and redeem are the only two paths that
/// change it, so OpenZeppelin's ERC1155Supply (which also writes a grand total on every mint) is not needed.
/// Balances live in one word per (slot, holder) together with the holder's metered import, see {Account}.
///
/// WARNING: {mintFromReading} credits the meter owner without calling `onERC1155Received`, on purpose: a meter owner
/// is vetted by the registry's METER_ADMIN_ROLE, and the oracle path must never be blocked or re-entered by a
/// receiver hook (one rejecting owner would otherwise block a whole batch of readings). A contract owner must be able
/// to move ERC-1155 tokens by itself. Transfers use the regular safe-transfer acceptance checks.
contract EnergyToken is ERC1155, IEnergyToken {
    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Everything about one holder and one slot in one storage word: the token balance, the import its meters
    /// recorded and how much of it was redeemed. A reading that mints and records import, and a redemption that
    /// burns and books, each touch one word.
    struct Account {
        uint128 balance;
        uint64 importedWh;
        uint64 redeemedWh;
    }

    /// @inheritdoc IEnergyToken
    address public immutable registry;

    mapping(uint256 slot => mapping(address account => Account)) private _accounts;
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
        Account memory account = _accounts[slot][owner];
        if (exportWh != 0) {
            // Overflow check kept: the supply of an id is a sum of uint64 deltas.
            _totalSupply[slot] += exportWh;
            account.balance = SafeCast.toUint128(uint256(account.balance) + exportWh);
        }
        // Overflow check kept (the sum over all meters of one owner in one slot); the registry caps meter
        // capacity at 2^40 Wh per slot, so it takes 2^24 meters of one owner to get near it.
        account.importedWh += importWh;
        _accounts[slot][owner] = account;
        if (exportWh != 0) emit TransferSingle(msg.sender, address(0), owner, slot, exportWh);
    }

    /*//////////////////////////////////////////////////////////////
                               REDEMPTION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEnergyToken
    function redeem(uint256 slot, uint64 amountWh) external {
        if (amountWh == 0) revert EnergyTokenZeroAmount();
        Account storage account = _accounts[slot][msg.sender];
        uint256 imported = account.importedWh;
        uint256 redeemed = account.redeemedWh;
        // Cannot underflow: redeemed <= imported is an invariant of this function.
        uint256 redeemable;
        unchecked {
            redeemable = imported - redeemed;
        }
        if (amountWh > redeemable) {
            revert EnergyTokenRedeemExceedsImport(msg.sender, slot, amountWh, redeemable);
        }
        // Cannot overflow: redeemed + amountWh <= imported, a uint64.
        unchecked {
            account.redeemedWh = uint64(redeemed + amountWh);
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
        return _accounts[slot][owner].importedWh;
    }

    /// @inheritdoc IEnergyToken
    function redeemedWh(address owner, uint256 slot) external view returns (uint256) {
        return _accounts[slot][owner].redeemedWh;
    }

    /// @inheritdoc IEnergyToken
    function totalSupply(uint256 slot) external view returns (uint256) {
        return _totalSupply[slot];
    }

    /// @inheritdoc IERC1155
    function balanceOf(address account, uint256 id) public view override(ERC1155, IERC1155) returns (uint256) {
        return _accounts[id][account].balance;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev OpenZeppelin's balance bookkeeping, moved into {Account} (OpenZeppelin's own balance mapping stays
    /// unused). Same checks, errors and events as {ERC1155-_update}.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[i];
            uint256 value = values[i];
            if (from != address(0)) {
                Account storage sender = _accounts[id][from];
                uint256 fromBalance = sender.balance;
                if (fromBalance < value) revert ERC1155InsufficientBalance(from, fromBalance, value, id);
                // Cannot underflow: checked above; the result fits the uint128 it came from.
                unchecked {
                    sender.balance = uint128(fromBalance - value);
                }
            }
            if (to != address(0)) {
                Account storage receiver = _accounts[id][to];
                receiver.balance = SafeCast.toUint128(receiver.balance + value);
            }
        }
        if (ids.length == 1) {
            emit TransferSingle(_msgSender(), from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(_msgSender(), from, to, ids, values);
        }
    }
}
