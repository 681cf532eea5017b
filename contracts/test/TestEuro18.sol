// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestEuro18
/// @notice TEST ONLY. An 18-decimal euro stand-in (as EURe and most ERC-20 stablecoins on L2s
///         are) that anyone may mint: the dApp's tests check that such amounts display and
///         submit exactly (one euro is 10^18 base units, beyond a JavaScript number's 2^53).
contract TestEuro18 is ERC20 {
    constructor() ERC20("Test Euro 18", "tEUR18") {}

    /// @notice Mints `amount` base units to `to`. Anyone may call.
    /// @param to The receiver of the new tokens.
    /// @param amount How many base units (10^18 per euro) to create.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
