// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";

/// @title BookLens
/// @notice Reads the non-empty levels of one slot's book in a single `eth_call`; never deployed.
/// @dev A deployless lens (viem's "deployless call"; Uniswap v3's TickLens reads the same kind of page but is
/// deployed): the caller sends this contract's creation code with the constructor arguments as the `data` of an
/// `eth_call` without `to`. The constructor walks the market's tick bitmap ({IEnergyMarket-nextActiveTick}), reads
/// each level ({IEnergyMarket-level}) and returns the page as the call's answer instead of runtime code, so a book
/// of n levels costs one JSON-RPC round trip instead of 2n + 1. Only `view` functions of the market are called, and
/// nothing persists: an `eth_call` discards its state. Any EVM node answers it (a contract creation in `eth_call` is
/// plain JSON-RPC); the page size bounds the call's gas (about 5k gas per level) under a node's `eth_call` gas cap.
///
/// The answer is `abi.encode(uint16[] ticks, uint128[] buyWh, uint128[] sellWh, bool more, uint16 nextTick)`: the
/// first `maxLevels` non-empty ticks `>= fromTick` in ascending order with their resting Wh, and whether another
/// non-empty tick follows (`nextTick`, the `fromTick` of the next page; 0 when `more` is false).
contract BookLens {
    /// @notice A page of no levels was asked for (it would never move on).
    error EmptyPage();

    /// @notice The page of `slot`'s book described in the contract's documentation, returned by the constructor.
    /// @param market The market (or a sealed or pooled market: they share {IEnergyMarket-level}).
    /// @param slot The slot whose book is read.
    /// @param fromTick The lowest tick of the page.
    /// @param maxLevels The most levels in the page (at least 1).
    constructor(IEnergyMarket market, uint64 slot, uint16 fromTick, uint256 maxLevels) {
        if (maxLevels == 0) revert EmptyPage();
        uint16[] memory ticks = new uint16[](maxLevels);
        uint128[] memory buyWh = new uint128[](maxLevels);
        uint128[] memory sellWh = new uint128[](maxLevels);
        uint256 count;
        bool more;
        uint16 nextTick;
        (bool found, uint16 tick) = market.nextActiveTick(slot, fromTick);
        while (found) {
            if (count == maxLevels) {
                (more, nextTick) = (true, tick);
                break;
            }
            IEnergyMarket.Level memory level = market.level(slot, tick);
            (ticks[count], buyWh[count], sellWh[count]) = (tick, level.buyWh, level.sellWh);
            ++count;
            if (tick == type(uint16).max) break;
            (found, tick) = market.nextActiveTick(slot, tick + 1);
        }
        // The arrays were allocated for maxLevels: cut their length word down to the levels found.
        assembly ("memory-safe") {
            mstore(ticks, count)
            mstore(buyWh, count)
            mstore(sellWh, count)
        }
        bytes memory page = abi.encode(ticks, buyWh, sellWh, more, nextTick);
        // Return the page as the creation's output: the caller's eth_call answers these bytes.
        assembly ("memory-safe") {
            return(add(page, 0x20), mload(page))
        }
    }
}
