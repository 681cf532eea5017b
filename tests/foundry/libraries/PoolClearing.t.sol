// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoolClearing} from "../../../contracts/libraries/PoolClearing.sol";
import {PoolClearingHarness} from "../../../contracts/test/PoolClearingHarness.sol";
import {Test} from "../base/Test.sol";

/// @title PoolClearingTest
/// @notice Fuzz tests of the city pool's rule (docs/pool.md) on random cities of 1 to 5 communities, each with up to 8
/// residual levels a side on ticks 0..40, limits zero, small or unbounded, fees of 0 to 15 ticks: the pool's imports
/// and exports are the same Wh; no community crosses a limit or takes more than its residual; a community's marginal
/// levels lie within its residual and its pool prices within its orders' limits. The Python reference
/// (`market/pool.py`) is compared to the unit in `tests/market/test_pool_library.py`.
contract PoolClearingTest is Test {
    uint16 internal constant MAX_TICK = 40;

    PoolClearingHarness internal harness;

    function setUp() public {
        harness = new PoolClearingHarness();
    }

    function testFuzz_importsEqualExportsEqualTheVolume(uint256 seed) public view {
        (PoolClearing.Community[] memory city, PoolClearing.Result memory r) = _cleared(seed);
        uint256 imports;
        uint256 exports;
        for (uint256 i; i < city.length; ++i) {
            imports += r.fills[i].importWh;
            exports += r.fills[i].exportWh;
        }
        vm.assertEq(imports, r.volumeWh, "imports are the volume");
        vm.assertEq(exports, r.volumeWh, "exports are the volume");
    }

    function testFuzz_noCommunityCrossesItsLimitOrItsResidual(uint256 seed) public view {
        (PoolClearing.Community[] memory city, PoolClearing.Result memory r) = _cleared(seed);
        for (uint256 i; i < city.length; ++i) {
            PoolClearing.Fill memory fill = r.fills[i];
            vm.assertLe(fill.importWh, city[i].importLimitWh, "import within the limit");
            vm.assertLe(fill.exportWh, city[i].exportLimitWh, "export within the limit");
            vm.assertLe(fill.importWh, _sum(city[i].buys), "import within the residual buys");
            vm.assertLe(fill.exportWh, _sum(city[i].sells), "export within the residual sells");
        }
    }

    function testFuzz_poolPricesStayWithinTheFilledOrdersLimits(uint256 seed) public view {
        (PoolClearing.Community[] memory city, PoolClearing.Result memory r) = _cleared(seed);
        if (r.volumeWh == 0) return;
        vm.assertLe(r.sellMarginalTick, r.clearingTick, "m_s <= p*");
        vm.assertLe(r.clearingTick, r.buyMarginalTick, "p* <= m_b");
        for (uint256 i; i < city.length; ++i) {
            PoolClearing.Fill memory fill = r.fills[i];
            uint256 fee = city[i].feeTicks;
            // Every filled buy bids at least its marginal tick, which pays p* + fee; every filled sell asks at most
            // its marginal tick, which is paid p* - fee.
            if (fill.importWh != 0) vm.assertGe(fill.buyMarginalTick, r.clearingTick + fee, "buyers pay within limit");
            if (fill.exportWh != 0) vm.assertLe(fill.sellMarginalTick + fee, r.clearingTick, "sellers paid within");
        }
    }

    function testFuzz_marginalLevelsLieWithinTheResidual(uint256 seed) public view {
        (PoolClearing.Community[] memory city, PoolClearing.Result memory r) = _cleared(seed);
        for (uint256 i; i < city.length; ++i) {
            PoolClearing.Fill memory fill = r.fills[i];
            _checkMarginal(
                city[i].buys, fill.importWh, fill.buyMarginalTick, fill.buyMarginalFilledWh, fill.buyMarginalTotalWh
            );
            _checkMarginal(
                city[i].sells, fill.exportWh, fill.sellMarginalTick, fill.sellMarginalFilledWh, fill.sellMarginalTotalWh
            );
        }
    }

    /// @dev Filled Wh = the levels better than the marginal tick, whole, plus R of the marginal level's Q.
    function _checkMarginal(uint256[] memory levels, uint256 filledWh, uint256 tick, uint256 r, uint256 q)
        internal
        pure
    {
        if (filledWh == 0) {
            vm.assertEq(r + q + tick, 0, "no marginal level without a fill");
            return;
        }
        uint256 better;
        bool found;
        for (uint256 j; j < levels.length; ++j) {
            if (levels[j] >> 96 == tick) {
                found = true;
                vm.assertEq(levels[j] & type(uint96).max, q, "Q is the residual at the marginal tick");
                break;
            }
            better += levels[j] & type(uint96).max;
        }
        vm.assertTrue(found, "the marginal tick is a residual level");
        vm.assertTrue(r > 0 && r <= q, "0 < R <= Q");
        vm.assertEq(better + r, filledWh, "better levels whole plus R");
    }

    function _cleared(uint256 seed)
        internal
        view
        returns (PoolClearing.Community[] memory city, PoolClearing.Result memory r)
    {
        city = _city(seed);
        r = harness.clear(city, MAX_TICK);
    }

    /// @dev A random city from `seed`: residual levels on distinct ticks, bids highest first and asks lowest first.
    function _city(uint256 seed) internal pure returns (PoolClearing.Community[] memory city) {
        city = new PoolClearing.Community[](bound(seed, 1, 5));
        for (uint256 i; i < city.length; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            city[i].feeTicks = uint16(s % 16);
            city[i].importLimitWh = _limit(s >> 8);
            city[i].exportLimitWh = _limit(s >> 40);
            city[i].buys = _side(s >> 72, true);
            city[i].sells = _side(s >> 136, false);
        }
    }

    function _limit(uint256 s) internal pure returns (uint64) {
        uint256 kind = s % 3;
        if (kind == 0) return 0;
        if (kind == 1) return uint64((s >> 2) % 60 + 1);
        return type(uint64).max;
    }

    /// @dev Up to 8 levels on distinct ticks of 0..MAX_TICK, quantities 1..30 or up to 10^12.
    function _side(uint256 s, bool highestFirst) internal pure returns (uint256[] memory levels) {
        uint256 n = s % 9;
        levels = new uint256[](n);
        uint256 tick = highestFirst ? MAX_TICK : 0;
        for (uint256 j; j < n; ++j) {
            uint256 r = uint256(keccak256(abi.encode(s, j)));
            uint256 step = r % 5;
            if (highestFirst) {
                if (tick < step) return _shorten(levels, j);
                tick -= step;
            } else {
                tick += step;
                if (tick > MAX_TICK) return _shorten(levels, j);
            }
            if (j > 0 && step == 0) {
                // Keep ticks distinct: move one further in the walk's direction.
                if (highestFirst) {
                    if (tick == 0) return _shorten(levels, j);
                    --tick;
                } else {
                    if (tick == MAX_TICK) return _shorten(levels, j);
                    ++tick;
                }
            }
            uint256 qty = (r >> 8) % 2 == 0 ? (r >> 16) % 30 + 1 : (r >> 16) % 1e12 + 1;
            levels[j] = tick << 96 | qty;
        }
    }

    function _shorten(uint256[] memory levels, uint256 n) internal pure returns (uint256[] memory) {
        assembly ("memory-safe") {
            mstore(levels, n)
        }
        return levels;
    }

    function _sum(uint256[] memory levels) internal pure returns (uint256 total) {
        for (uint256 j; j < levels.length; ++j) {
            total += levels[j] & type(uint96).max;
        }
    }
}
