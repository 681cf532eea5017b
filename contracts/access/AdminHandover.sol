// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAdminHandover} from "../interfaces/IAdminHandover.sol";

/// @title AdminHandover
/// @notice AccessControl with one admin, handed over in two steps with a delay (see {IAdminHandover}).
/// @dev A lean equivalent of OpenZeppelin's AccessControlDefaultAdminRules (the same names, events and errors, a
/// fixed delay, no renouncing): 1,290 bytes of MeterRegistry's code where the extension would take about twice that
/// (docs/contracts.md section 2). `DEFAULT_ADMIN_ROLE` is granted once by the constructor of the
/// inheriting contract and afterwards moves only by {acceptDefaultAdminTransfer}, so the admin can never be lost to
/// a mistyped `grantRole` or a `renounceRole`, and a handover proves that the new admin's key signs.
abstract contract AdminHandover is AccessControl, IAdminHandover {
    /// @inheritdoc IAdminHandover
    uint48 public constant ADMIN_TRANSFER_DELAY_SECONDS = 1 days;

    /// @dev The scheduled handover: one storage slot.
    struct PendingAdmin {
        address newAdmin;
        uint48 schedule;
    }

    address private _defaultAdmin;
    PendingAdmin private _pendingAdmin;

    /// @inheritdoc IAdminHandover
    function defaultAdmin() external view returns (address) {
        return _defaultAdmin;
    }

    /// @inheritdoc IAdminHandover
    function pendingDefaultAdmin() external view returns (address newAdmin, uint48 schedule) {
        return (_pendingAdmin.newAdmin, _pendingAdmin.schedule);
    }

    /// @inheritdoc IAdminHandover
    function beginDefaultAdminTransfer(address newAdmin) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newAdmin == address(0)) revert AccessControlInvalidDefaultAdmin(address(0));
        uint48 schedule = uint48(block.timestamp) + ADMIN_TRANSFER_DELAY_SECONDS;
        _pendingAdmin = PendingAdmin(newAdmin, schedule);
        emit DefaultAdminTransferScheduled(newAdmin, schedule);
    }

    /// @inheritdoc IAdminHandover
    function cancelDefaultAdminTransfer() external onlyRole(DEFAULT_ADMIN_ROLE) {
        delete _pendingAdmin;
        emit DefaultAdminTransferCanceled();
    }

    /// @inheritdoc IAdminHandover
    function acceptDefaultAdminTransfer() external {
        PendingAdmin memory pending = _pendingAdmin;
        if (msg.sender != pending.newAdmin) revert AccessControlInvalidDefaultAdmin(msg.sender);
        if (block.timestamp < pending.schedule) revert AccessControlEnforcedDefaultAdminDelay(pending.schedule);
        delete _pendingAdmin;
        super._revokeRole(DEFAULT_ADMIN_ROLE, _defaultAdmin);
        delete _defaultAdmin;
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    /// @dev Grants `DEFAULT_ADMIN_ROLE` only while nobody holds it (the constructor, {acceptDefaultAdminTransfer}).
    function _grantRole(bytes32 role, address account) internal virtual override returns (bool) {
        if (role == DEFAULT_ADMIN_ROLE) {
            if (_defaultAdmin != address(0)) revert AccessControlEnforcedDefaultAdminRules();
            _defaultAdmin = account;
        }
        return super._grantRole(role, account);
    }

    /// @dev `DEFAULT_ADMIN_ROLE` is never revoked or renounced, only handed over.
    function _revokeRole(bytes32 role, address account) internal virtual override returns (bool) {
        if (role == DEFAULT_ADMIN_ROLE) revert AccessControlEnforcedDefaultAdminRules();
        return super._revokeRole(role, account);
    }
}
