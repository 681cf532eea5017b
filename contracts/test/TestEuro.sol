// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestEuro
/// @notice TEST ONLY. A 6-decimal euro stand-in that anyone may mint, for tests and local demos.
contract TestEuro is ERC20 {
    constructor() ERC20("Test Euro", "tEUR") {}

    /// @notice Mints `amount` base units to `to`. Anyone may call.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
