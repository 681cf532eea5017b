// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title Test
/// @notice The base of every Foundry test here: the cheatcodes, input bounding for fuzz tests, and named accounts.
/// forge runs `setUp()` then every `test*` function (fuzz tests take arguments); a test fails when it reverts,
/// which every assertion of {Vm} does with its message.
abstract contract Test {
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @notice Maps any `x` into `[lo, hi]` (uniform enough for fuzzing; keeps `x` unchanged when it already fits).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 width = hi - lo;
        if (width == type(uint256).max) return x;
        return lo + x % (width + 1);
    }

    /// @notice A fresh account named `name` (labelled in traces) and its private key.
    function makeAccount(string memory name) internal returns (address account, uint256 key) {
        key = uint256(keccak256(bytes(name)));
        account = vm.addr(key);
        vm.label(account, name);
    }

    /// @notice A fresh account named `name`.
    function makeAddr(string memory name) internal returns (address account) {
        (account,) = makeAccount(name);
    }
}
