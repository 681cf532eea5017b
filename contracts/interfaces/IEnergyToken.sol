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

    /// @notice A mint or transfer would give `holder` a balance of `balanceWh` tokens of `slot`, above
    /// {MAX_AMOUNT_WH}.
    error EnergyTokenBalanceOverflow(address holder, uint256 slot, uint256 balanceWh);

    /// @notice A reading would bring the import recorded for `holder` in `slot` to `importedWh`, above
    /// {MAX_AMOUNT_WH}.
    error EnergyTokenImportOverflow(address holder, uint256 slot, uint256 importedWh);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `holder` burned `amountWh` tokens of `slot` against its metered import of that slot (for billing).
    event Redeemed(address indexed holder, uint256 indexed slot, uint64 amountWh);

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The largest balance one holder can have of one slot, and the largest import that can be recorded
    /// for one holder in one slot: 2^42 - 1 Wh (4.4 TWh; the registry caps a meter at 2^40 Wh per slot). Three
    /// slots of a holder share one storage word, so each amount has 42 bits.
    function MAX_AMOUNT_WH() external view returns (uint256);

    /// @notice The MeterRegistry that deployed this token; the only account allowed to mint.
    function registry() external view returns (address);

    /// @notice Mints `exportWh` tokens of id `slot` to `owner` and records `importWh` as imported by `owner` in
    /// `slot`, in one call. Either amount may be zero.
    /// @dev Requirements:
    /// - the caller is {registry};
    /// - `balanceOf(owner, slot) + exportWh <= MAX_AMOUNT_WH` ({EnergyTokenBalanceOverflow});
    /// - `importedWh(owner, slot) + importWh <= MAX_AMOUNT_WH` ({EnergyTokenImportOverflow}).
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
