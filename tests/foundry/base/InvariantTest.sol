// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";

/// @title InvariantTest
/// @notice What forge's invariant fuzzer reads from a test contract: the contracts to call, the selectors of each,
/// and the senders to avoid. forge calls these public getters after `setUp()`, then sends random sequences of the
/// targeted calls and checks every `invariant*` function after each call (foundry.toml: runs x depth calls).
abstract contract InvariantTest is Test {
    /// @dev Same layout as forge-std's StdInvariant.FuzzSelector (forge decodes it by ABI).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;
    address[] private _excludeSenders;

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selection) internal {
        _targetSelectors.push(selection);
    }

    function excludeSender(address sender) internal {
        _excludeSenders.push(sender);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludeSenders;
    }
}
