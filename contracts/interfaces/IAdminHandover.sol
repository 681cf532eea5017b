// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IAdminHandover
/// @notice A single holder of `DEFAULT_ADMIN_ROLE`, handed over in two steps: the admin schedules a new admin, who
/// accepts once {ADMIN_TRANSFER_DELAY_SECONDS} have passed. Names, events and errors follow OpenZeppelin's
/// `IAccessControlDefaultAdminRules` (a subset of it: no delay changes, no renouncing the admin role).
interface IAdminHandover {
    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The admin scheduled `newAdmin` to take over; it can accept from `acceptSchedule` (unix time) on.
    event DefaultAdminTransferScheduled(address indexed newAdmin, uint48 acceptSchedule);

    /// @notice The admin cancelled a scheduled handover.
    event DefaultAdminTransferCanceled();

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `DEFAULT_ADMIN_ROLE` changes hands only through {beginDefaultAdminTransfer} and
    /// {acceptDefaultAdminTransfer}: never by `grantRole`, `revokeRole` or `renounceRole`.
    error AccessControlEnforcedDefaultAdminRules();

    /// @notice `admin` cannot become the admin: the zero address, or a caller that is not the pending admin.
    error AccessControlInvalidDefaultAdmin(address admin);

    /// @notice The handover can be accepted only from `schedule` (unix time) on.
    error AccessControlEnforcedDefaultAdminDelay(uint48 schedule);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Seconds between {beginDefaultAdminTransfer} and the earliest {acceptDefaultAdminTransfer}.
    /// @return delaySeconds the handover delay.
    function ADMIN_TRANSFER_DELAY_SECONDS() external view returns (uint48 delaySeconds);

    /// @notice The one holder of `DEFAULT_ADMIN_ROLE`.
    /// @return admin the current admin.
    function defaultAdmin() external view returns (address admin);

    /// @notice The scheduled handover (both zero when none is pending).
    /// @return newAdmin the account that may accept.
    /// @return schedule unix time from which it may accept.
    function pendingDefaultAdmin() external view returns (address newAdmin, uint48 schedule);

    /// @notice Schedules `newAdmin` to take over the admin role after {ADMIN_TRANSFER_DELAY_SECONDS}; replaces a
    /// pending handover. Emits {DefaultAdminTransferScheduled}.
    /// Requirements: the caller holds `DEFAULT_ADMIN_ROLE`; `newAdmin` is not zero.
    /// @param newAdmin the account that may accept.
    function beginDefaultAdminTransfer(address newAdmin) external;

    /// @notice Cancels the pending handover. Emits {DefaultAdminTransferCanceled}.
    /// Requirements: the caller holds `DEFAULT_ADMIN_ROLE`.
    function cancelDefaultAdminTransfer() external;

    /// @notice The pending admin takes over: the role moves from the current admin to the caller (`RoleRevoked`,
    /// then `RoleGranted`). Requirements: the caller is the pending admin; the schedule has passed.
    function acceptDefaultAdminTransfer() external;
}
