// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @title IEnergyToken
/// @notice ERC-1155 certificates of locally generated energy. Token id = delivery slot; one unit = one Wh that a
/// registered meter measured as exported in that slot. Only the MeterRegistry mints; holders burn (redeem) tokens
/// against energy their own meters imported in the same slot.
interface IEnergyToken is IERC1155 {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `caller` is not the MeterRegistry that deployed this token.
    error EnergyTokenUnauthorized(address caller);

    /// @notice {redeem} was called with a zero amount.
    error EnergyTokenZeroAmount();

    /// @notice `holder` tries to redeem `amountWh` in `slot` but only `redeemableWh` (imported minus already
    /// redeemed) is left.
    error EnergyTokenRedeemExceedsImport(address holder, uint256 slot, uint256 amountWh, uint256 redeemableWh);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `holder` burned `amountWh` tokens of `slot` against its metered import of that slot (for billing).
    event Redeemed(address indexed holder, uint256 indexed slot, uint64 amountWh);

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The MeterRegistry that deployed this token; the only account allowed to mint.
    function registry() external view returns (address);

    /// @notice Mints `exportWh` tokens of id `slot` to `owner` and records `importWh` as imported by `owner` in
    /// `slot`, in one call. Either amount may be zero.
    /// @dev Requirements:
    /// - the caller is {registry}.
    function mintFromReading(address owner, uint256 slot, uint64 exportWh, uint64 importWh) external;

    /// @notice Burns `amountWh` of the caller's tokens of id `slot` against energy the caller's meters imported in
    /// that slot. Emits {Redeemed}.
    /// @dev Requirements:
    /// - `amountWh` > 0;
    /// - `importedWh(caller, slot) - redeemedWh(caller, slot) >= amountWh`;
    /// - the caller holds at least `amountWh` tokens of id `slot`.
    function redeem(uint256 slot, uint64 amountWh) external;

    /// @notice Wh that the meters of `owner` imported in `slot` (all meters of the owner summed).
    function importedWh(address owner, uint256 slot) external view returns (uint256);

    /// @notice Wh that `owner` already redeemed in `slot`.
    function redeemedWh(address owner, uint256 slot) external view returns (uint256);

    /// @notice Tokens of id `slot` in existence: minted minus redeemed.
    function totalSupply(uint256 slot) external view returns (uint256);
}
