// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Clearing} from "../../../contracts/libraries/Clearing.sol";
import {Test} from "../base/Test.sol";

/// @title ClearingArithmeticTest
/// @notice Fuzz tests of the {Clearing} roundings (docs/contracts.md sections 1 and 7): every rounding is against the
/// trader and in favour of the market, by less than one unit, within the bounds the library states
/// (qty < 2^64, R <= Q < 2^96, price < 2^128, feeBps <= 10,000).
contract ClearingArithmeticTest is Test {
    uint256 private constant MAX_QTY = type(uint64).max;
    uint256 private constant MAX_TOTAL = type(uint96).max;
    uint256 private constant MAX_PRICE = type(uint128).max;

    function testFuzz_costIsTheExactValueRoundedUp(uint256 qtyWh, uint256 price) public pure {
        qtyWh = bound(qtyWh, 0, MAX_QTY);
        price = bound(price, 0, MAX_PRICE);
        uint256 paid = Clearing.cost(qtyWh, price);
        vm.assertGe(paid * 1000, qtyWh * price, "a buyer pays at least the exact value");
        if (paid != 0) vm.assertLt((paid - 1) * 1000, qtyWh * price, "and less than one unit more");
    }

    function testFuzz_proceedsAreTheExactValueRoundedDown(uint256 qtyWh, uint256 price) public pure {
        qtyWh = bound(qtyWh, 0, MAX_QTY);
        price = bound(price, 0, MAX_PRICE);
        uint256 gross = Clearing.proceeds(qtyWh, price);
        vm.assertLe(gross * 1000, qtyWh * price, "a seller is paid at most the exact value");
        vm.assertGt((gross + 1) * 1000, qtyWh * price, "and less than one unit less");
    }

    function testFuzz_whatABuyerPaysCoversWhatASellerIsPaidForTheSameEnergy(uint256 qtyWh, uint256 price) public pure {
        qtyWh = bound(qtyWh, 0, MAX_QTY);
        price = bound(price, 0, MAX_PRICE);
        uint256 paid = Clearing.cost(qtyWh, price);
        uint256 gross = Clearing.proceeds(qtyWh, price);
        vm.assertGe(paid, gross, "cost >= proceeds");
        vm.assertLe(paid - gross, 1, "the difference is at most one base unit");
    }

    function testFuzz_feeRoundsUpAndNeverExceedsTheGross(uint256 gross, uint256 feeBps) public pure {
        gross = bound(gross, 0, MAX_QTY * MAX_PRICE / 1000);
        feeBps = bound(feeBps, 0, 10_000);
        uint256 fee = Clearing.fee(gross, feeBps);
        vm.assertGe(fee * 10_000, gross * feeBps, "the fee is at least the exact share");
        if (fee != 0) vm.assertLt((fee - 1) * 10_000, gross * feeBps, "by less than one unit");
        vm.assertLe(fee, gross, "the fee never exceeds the gross");
    }

    function testFuzz_costIsMonotoneInQuantityAndPrice(uint256 qtyWh, uint256 price, uint256 moreWh, uint256 morePrice)
        public
        pure
    {
        qtyWh = bound(qtyWh, 0, MAX_QTY - 1);
        moreWh = bound(moreWh, qtyWh, MAX_QTY);
        price = bound(price, 0, MAX_PRICE - 1);
        morePrice = bound(morePrice, price, MAX_PRICE);
        vm.assertLe(Clearing.cost(qtyWh, price), Clearing.cost(moreWh, price), "more energy never costs less");
        vm.assertLe(Clearing.cost(qtyWh, price), Clearing.cost(qtyWh, morePrice), "a higher price never costs less");
    }

    /// @dev An order at a rationed marginal level, claimed after `claimed` Wh of the level: its share is the floor
    /// or the ceil of q*R/Q, never more than q.
    function testFuzz_aMarginalShareIsProRataWithinOneWh(uint256 qtyWh, uint256 claimed, uint256 filled, uint256 total)
        public
        pure
    {
        total = bound(total, 2, MAX_TOTAL);
        filled = bound(filled, 1, total - 1);
        qtyWh = bound(qtyWh, 1, total < MAX_QTY ? total : MAX_QTY);
        claimed = bound(claimed, 0, total - qtyWh);
        uint256 x = Clearing.share(qtyWh, claimed, filled, total);
        uint256 exact = qtyWh * filled; // the share times Q
        vm.assertGt((x + 1) * total, exact, "more than its exact share less one Wh");
        if (x != 0) vm.assertLt((x - 1) * total, exact, "less than its exact share plus one Wh");
        vm.assertLe(x, qtyWh, "never fills beyond its quantity");
    }

    function testFuzz_ordersBetterThanTheMarginFillFullyWorseOnesNotAtAll(
        uint256 qtyWh,
        uint16 tick,
        uint16 marginal,
        uint256 filled
    ) public pure {
        qtyWh = bound(qtyWh, 1, MAX_QTY);
        filled = bound(filled, 1, MAX_TOTAL);
        vm.assume(tick != marginal);
        uint256 bought = Clearing.fill(true, qtyWh, tick, marginal, filled);
        uint256 sold = Clearing.fill(false, qtyWh, tick, marginal, filled);
        if (tick > marginal) {
            vm.assertEq(bought, qtyWh, "a buy above the margin fills fully");
            vm.assertEq(sold, 0, "a sell above the margin not at all");
        } else {
            vm.assertEq(bought, 0, "a buy below the margin not at all");
            vm.assertEq(sold, qtyWh, "a sell below the margin fills fully");
        }
    }

    function testFuzz_aMarginWithoutRationingFillsFully(uint256 qtyWh, uint256 total) public pure {
        total = bound(total, 1, MAX_TOTAL);
        qtyWh = bound(qtyWh, 1, total < MAX_QTY ? total : MAX_QTY);
        vm.assertEq(Clearing.fill(true, qtyWh, 3, 3, total), qtyWh, "R == Q: the buy fills fully");
        vm.assertEq(Clearing.fill(false, qtyWh, 3, 3, total), qtyWh, "R == Q: the sell fills fully");
    }

    function testFuzz_noClearingFillsNothing(uint256 qtyWh, uint16 tick, uint16 marginal) public pure {
        qtyWh = bound(qtyWh, 1, MAX_QTY);
        uint256 both = Clearing.fill(true, qtyWh, tick, marginal, 0) + Clearing.fill(false, qtyWh, tick, marginal, 0);
        vm.assertEq(both, 0, "R == 0 means no trade");
    }

    /// @dev The orders resting at one rationed marginal tick share R: split Q into up to 16 orders, claim them in a
    /// random order and add their shares up: exactly R (audit L-1: no Wh owned by nobody).
    function testFuzz_theMarginalOrdersShareRExactlyInAnyClaimOrder(uint256 seed, uint256 n, uint256 filled)
        public
        pure
    {
        n = bound(n, 1, 16);
        uint256 total;
        uint256[] memory qty = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            qty[i] = bound(uint256(keccak256(abi.encode(seed, i))), 1, 1 + ((seed >> (i * 8)) & 0xffff) * 1e9);
            total += qty[i];
        }
        filled = bound(filled, 1, total);
        for (uint256 i = n; i > 1; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, "shuffle", i))) % i;
            (qty[i - 1], qty[j]) = (qty[j], qty[i - 1]);
        }
        uint256 claimed;
        uint256 shares;
        for (uint256 i; i < n; ++i) {
            shares += Clearing.share(qty[i], claimed, filled, total);
            claimed += qty[i];
        }
        vm.assertEq(shares, filled, "the level's shares add up to R");
    }
}
