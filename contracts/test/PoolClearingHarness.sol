// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoolClearing} from "../libraries/PoolClearing.sol";

/// @title PoolClearingHarness
/// @notice TEST ONLY. Exposes {PoolClearing-clear}, to compare it with the Python reference (`market/pool.py`) and to
/// measure its gas.
contract PoolClearingHarness {
    function clear(PoolClearing.Community[] memory communities, uint16 maxTick)
        external
        pure
        returns (PoolClearing.Result memory)
    {
        return PoolClearing.clear(communities, maxTick);
    }

    /// @notice The gas {PoolClearing-clear} itself uses on `communities` (no transaction base, no calldata).
    function clearGas(PoolClearing.Community[] memory communities, uint16 maxTick)
        external
        view
        returns (uint256 gasUsed)
    {
        gasUsed = gasleft();
        PoolClearing.clear(communities, maxTick);
        gasUsed -= gasleft();
    }
}
