// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {CityPool} from "../../../contracts/CityPool.sol";
import {EnergyMarket} from "../../../contracts/EnergyMarket.sol";
import {MeterRegistry} from "../../../contracts/MeterRegistry.sol";
import {ICityPool} from "../../../contracts/interfaces/ICityPool.sol";
import {IEnergyMarket} from "../../../contracts/interfaces/IEnergyMarket.sol";
import {MarketLookalike} from "../../../contracts/test/MarketLookalike.sol";
import {TestEuro} from "../../../contracts/test/TestEuro.sol";
import {Test} from "../base/Test.sol";

/// @title CityPoolTest
/// @notice Fuzz tests of the city pool's limits (docs/contracts.md section 17) over random slots, limits and times:
/// what the grid operator publishes before gate closure reads back for every community, a revision replaces every
/// limit, nothing is accepted from gate closure on, a slot never published reads as zero limits, only the grid
/// operator publishes, and the pool's gate closure is the markets'. Eight communities: one real market and seven
/// {MarketLookalike} copies of it.
contract CityPoolTest is Test {
    uint64 private constant EPOCH = 1_700_000_000;
    uint32 private constant SLOT_SECONDS = 900;
    uint32 private constant SETTLEMENT_SECONDS = 900;
    uint256 private constant COMMUNITIES = 8;
    /// @dev How far ahead of the chain the fuzzed slots reach (about 28 years of 15-minute slots).
    uint256 private constant AHEAD = 1_000_000;

    CityPool private pool;
    EnergyMarket private market;
    address private operator;
    uint64 private nowSlot;

    function setUp() public {
        vm.warp(EPOCH + 100 * SLOT_SECONDS + 30);
        nowSlot = 100;
        MeterRegistry registry = new MeterRegistry(address(this), EPOCH, SLOT_SECONDS, 120, "uri");
        TestEuro euro = new TestEuro();
        market = new EnergyMarket(
            address(this),
            euro,
            registry,
            IEnergyMarket.MarketParams({
                priceFloor: 20_001,
                tickSize: 137,
                maxTick: 1_000,
                settlementSeconds: SETTLEMENT_SECONDS,
                openAheadSeconds: 86_400,
                minOrderWh: 10,
                feeBps: 50,
                treasury: address(this)
            })
        );
        pool = new CityPool(
            address(this),
            euro,
            registry,
            ICityPool.PoolParams({
                priceFloor: 20_001, tickSize: 137, maxTick: 1_000, settlementSeconds: SETTLEMENT_SECONDS
            })
        );
        operator = makeAddr("grid-operator");
        pool.grantRole(pool.GRID_OPERATOR_ROLE(), operator);
        pool.renounceRole(pool.GRID_OPERATOR_ROLE(), address(this));
        pool.addCommunity(market, 1);
        for (uint256 i = 1; i < COMMUNITIES; ++i) {
            pool.addCommunity(IEnergyMarket(address(new MarketLookalike(market))), uint8(1 + i % 7));
        }
    }

    function _dynamic(uint64[COMMUNITIES] memory values) private pure returns (uint64[] memory out) {
        out = new uint64[](COMMUNITIES);
        for (uint256 i; i < COMMUNITIES; ++i) {
            out[i] = values[i];
        }
    }

    /// @dev A slot from the current one up to AHEAD slots later, and a time before its gate closure.
    function _openSlotAndTime(uint256 slotSeed, uint256 timeSeed) private view returns (uint64 slot, uint256 time) {
        slot = uint64(bound(slotSeed, nowSlot, nowSlot + AHEAD));
        time = bound(timeSeed, block.timestamp, pool.gateClosure(slot) - 1);
    }

    function _publish(uint64 slot, uint64[COMMUNITIES] memory imports, uint64[COMMUNITIES] memory exports) private {
        vm.prank(operator);
        pool.publishLimits(slot, _dynamic(imports), _dynamic(exports));
    }

    function _assertLimits(uint64 slot, uint64[COMMUNITIES] memory imports, uint64[COMMUNITIES] memory exports)
        private
        view
    {
        for (uint256 i; i < COMMUNITIES; ++i) {
            (bool published, uint64 importWh, uint64 exportWh) = pool.limits(slot, uint16(i));
            vm.assertTrue(published, "published");
            vm.assertEq(uint256(importWh), uint256(imports[i]), "import limit of community i");
            vm.assertEq(uint256(exportWh), uint256(exports[i]), "export limit of community i");
        }
    }

    function testFuzz_limitsPublishedBeforeGateClosureReadBack(
        uint256 slotSeed,
        uint256 timeSeed,
        uint64[COMMUNITIES] memory imports,
        uint64[COMMUNITIES] memory exports
    ) public {
        (uint64 slot, uint256 time) = _openSlotAndTime(slotSeed, timeSeed);
        vm.warp(time);
        _publish(slot, imports, exports);
        _assertLimits(slot, imports, exports);
    }

    function testFuzz_revisionReplacesEveryLimit(
        uint256 slotSeed,
        uint64[COMMUNITIES] memory first,
        uint64[COMMUNITIES] memory second,
        uint64[COMMUNITIES] memory secondExports
    ) public {
        (uint64 slot,) = _openSlotAndTime(slotSeed, 0);
        _publish(slot, first, first);
        _publish(slot, second, secondExports);
        _assertLimits(slot, second, secondExports);
    }

    function testFuzz_nothingIsAcceptedFromGateClosureOn(uint256 slotSeed, uint256 lateSeed) public {
        uint64 slot = uint64(bound(slotSeed, 0, nowSlot + AHEAD));
        uint256 closes = pool.gateClosure(slot);
        vm.warp(bound(lateSeed, closes > block.timestamp ? closes : block.timestamp, closes + 365 days));
        uint64[COMMUNITIES] memory limits;
        vm.expectRevert(abi.encodeWithSelector(ICityPool.LimitsAfterGateClosure.selector, slot, closes));
        _publish(slot, limits, limits);
    }

    function testFuzz_aSlotNeverPublishedReadsAsZeroLimits(uint64 slot, uint256 idSeed) public view {
        (bool published, uint64 importWh, uint64 exportWh) =
            pool.limits(slot, uint16(bound(idSeed, 0, COMMUNITIES - 1)));
        vm.assertFalse(published, "not published");
        vm.assertEq(uint256(importWh) + uint256(exportWh), 0, "zero limits");
    }

    function testFuzz_onlyTheGridOperatorPublishes(address caller, uint256 slotSeed) public {
        vm.assume(caller != operator);
        (uint64 slot,) = _openSlotAndTime(slotSeed, 0);
        uint64[COMMUNITIES] memory limits;
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, caller, pool.GRID_OPERATOR_ROLE()
            )
        );
        vm.prank(caller);
        pool.publishLimits(slot, _dynamic(limits), _dynamic(limits));
    }

    function testFuzz_gateClosureIsTheMarkets(uint64 slot) public view {
        vm.assertEq(pool.gateClosure(slot), market.gateClosure(slot), "pool gate closure == market gate closure");
    }
}
