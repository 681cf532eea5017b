// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoolClearing} from "../../../contracts/libraries/PoolClearing.sol";
import {PoolClearingHarness} from "../../../contracts/test/PoolClearingHarness.sol";
import {Test} from "../base/Test.sol";

contract PoolGasTmp is Test {
    function test_gas() public {
        PoolClearingHarness h = new PoolClearingHarness();
        PoolClearing.Community[] memory city = new PoolClearing.Community[](10);
        for (uint256 k; k < 10; ++k) {
            city[k].feeTicks = uint16(1 + k % 3);
            city[k].importLimitWh = type(uint64).max;
            city[k].exportLimitWh = type(uint64).max;
            uint256[] memory lv = new uint256[](64);
            for (uint256 j; j < 64; ++j) {
                uint256 q = 1000 + uint256(keccak256(abi.encode(k, j))) % 49000;
                lv[j] = (k % 2 == 0 ? (95 - j) : j) << 96 | q;
            }
            if (k % 2 == 0) city[k].buys = lv; else city[k].sells = lv;
        }
        uint256 g = h.clearGas(city, 255);
        vm.assertEq(g, 1, "gas");
    }
}
