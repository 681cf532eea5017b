// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {InvariantTest} from "../base/InvariantTest.sol";

/// @title MarketInvariantsBase
/// @notice What the invariant suites of both markets ({MarketInvariantsTest}, {SealedMarketInvariantsTest}) check the
/// same way: a cleared record against the clearing rule of docs/contracts.md section 7 on the levels it cleared, and
/// how many of the slots seen cleared with a rationed marginal level (their scripted walks must reach one).
abstract contract MarketInvariantsBase is InvariantTest {
    /// @dev The record `r` of a cleared slot against the rule on the buy and sell levels `buyWh`, `sellWh` (Wh per
    /// tick): V* = max_t min(D(t), S(t)); no trade means every field is zero; else m_s <= p* <= m_b, the marginal
    /// ticks are the extreme ones with D >= V* and S >= V*, and R_b, R_s follow from them. Returns whether it traded.
    function _checkClearingRule(uint256[] memory buyWh, uint256[] memory sellWh, IEnergyMarket.ClearingRecord memory r)
        internal
        pure
        returns (bool traded)
    {
        uint256 ticks = buyWh.length;
        uint256[] memory demand = new uint256[](ticks + 1); // D(t), D(ticks) = 0
        uint256[] memory supply = new uint256[](ticks); // S(t)
        for (uint256 t = ticks; t > 0; --t) {
            demand[t - 1] = demand[t] + buyWh[t - 1];
        }
        uint256 best;
        for (uint256 t; t < ticks; ++t) {
            supply[t] = (t == 0 ? 0 : supply[t - 1]) + sellWh[t];
            uint256 matched = demand[t] < supply[t] ? demand[t] : supply[t];
            if (matched > best) best = matched;
        }
        vm.assertEq(r.volumeWh, best, "V* = max min(D, S) over the levels");
        if (best == 0) {
            vm.assertEq(r.buyMarginalFilledWh + r.sellMarginalFilledWh + r.clearingTick, 0, "no trade: zeros");
            return false;
        }
        uint256 mb = r.buyMarginalTick;
        uint256 ms = r.sellMarginalTick;
        vm.assertTrue(ms <= r.clearingTick && r.clearingTick <= mb, "m_s <= p* <= m_b");
        vm.assertTrue(demand[mb] >= best && demand[mb + 1] < best, "m_b = max{t: D(t) >= V*}");
        vm.assertTrue(supply[ms] >= best && (ms == 0 || supply[ms - 1] < best), "m_s = min{t: S(t) >= V*}");
        vm.assertEq(r.buyMarginalFilledWh, best - demand[mb + 1], "R_b = V* - D(m_b + 1)");
        vm.assertEq(r.sellMarginalFilledWh, best - (ms == 0 ? 0 : supply[ms - 1]), "R_s = V* - S(m_s - 1)");
        return true;
    }

    /// @dev How many of `slots` cleared with volume and a rationed marginal level (R < Q on a side).
    function _rationedSlots(IEnergyMarket market, uint64[] memory slots) internal view returns (uint256 n) {
        for (uint256 s; s < slots.length; ++s) {
            IEnergyMarket.ClearingRecord memory r = market.clearing(slots[s]);
            if (r.volumeWh == 0) continue;
            if (r.buyMarginalFilledWh < r.buyMarginalTotalWh || r.sellMarginalFilledWh < r.sellMarginalTotalWh) ++n;
        }
    }
}
